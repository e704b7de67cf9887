/** Synchronous capture file reading in big chunks: the fastest way through a file in page cache. */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from '../errors.js';
import { CaptureParser, notACaptureError, sniffFormat } from './capture-parser.js';
import type { CaptureStats, Packet } from './packet.js';

/** Read size per readSync call; big enough that syscalls cost nothing next to parsing. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

export interface ReadCaptureOptions {
  /** Called after each chunk; totalBytes is 0 when the size is not known (a pipe). */
  onProgress?(bytesRead: number, totalBytes: number): void;
  chunkBytes?: number;
}

/**
 * Reads a pcap or pcapng file, calling onPacket for each packet (the Packet object and its data
 * are reused after the callback returns). Throws UserError when the file cannot be read or is
 * not a capture; damage inside the file is counted and warned about in the returned stats.
 */
export function readCaptureFile(
  path: string,
  onPacket: (p: Packet) => void,
  opts: ReadCaptureOptions = {},
): CaptureStats {
  const fd = openOrExplain(path);
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new UserError(`${path}: is a directory, not a capture file`);
    const total = st.isFile() ? st.size : 0;
    const chunk = Buffer.allocUnsafe(Math.max(4096, opts.chunkBytes ?? DEFAULT_CHUNK_BYTES));
    let n = readOrExplain(path, fd, chunk);
    if (n === 0) throw new UserError(`${path}: empty file`);
    if (sniffFormat(chunk.subarray(0, n)) === null) throw notACaptureError(path, chunk.subarray(0, n));
    const parser = new CaptureParser(onPacket, path);
    let read = 0;
    while (n > 0) {
      parser.push(chunk.subarray(0, n));
      read += n;
      opts.onProgress?.(read, total);
      n = readOrExplain(path, fd, chunk);
    }
    parser.end();
    return parser.stats;
  } finally {
    closeSync(fd);
  }
}

function openOrExplain(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    throw new UserError(`${path}: cannot open: ${reason(err)}`);
  }
}

function readOrExplain(path: string, fd: number, buf: Buffer): number {
  try {
    return readSync(fd, buf, 0, buf.length, null);
  } catch (err) {
    throw new UserError(`${path}: cannot read: ${reason(err)}`);
  }
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
};

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code !== undefined && REASONS[code] !== undefined) return REASONS[code];
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}
