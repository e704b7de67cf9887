/** Synchronous capture file reading in big chunks: the fastest way through a file in page cache. */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from '../errors.js';
import { CaptureParser } from './capture-parser.js';
import * as captureParserMod from './capture-parser.js';
import type { CaptureStats, Packet } from './packet.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { notACaptureError, sniffFormat } = captureParserMod;

/** Read size per readSync call: cache-sized, as DEFAULT_SET_CHUNK_BYTES (./capture-set.ts) says why. */
export const DEFAULT_CHUNK_BYTES = 256 * 1024;

export interface ReadCaptureOptions {
  /** Called after each chunk; totalBytes is 0 when the size is not known (a pipe). */
  onProgress?(bytesRead: number, totalBytes: number): void;
  chunkBytes?: number;
}

/**
 * A capture file read chunk by chunk: each step() reads one chunk and delivers its packets.
 * Lets a caller pace the reading (replay at capture speed) or run it to the end at once.
 * Opening throws UserError when the file cannot be read or is not a capture.
 */
export class CaptureFileCursor {
  private readonly fd: number;
  private readonly chunk: Buffer;
  private readonly parser: CaptureParser;
  /** File size, or 0 when it is not known (a pipe). */
  readonly totalBytes: number;
  bytesRead = 0;
  private pending: number;
  private closed = false;

  constructor(
    readonly path: string,
    onPacket: (p: Packet) => void,
    chunkBytes: number = DEFAULT_CHUNK_BYTES,
  ) {
    this.fd = openOrExplain(path);
    try {
      const st = fstatSync(this.fd);
      if (st.isDirectory()) throw new UserError(`${path}: is a directory, not a capture file`);
      this.totalBytes = st.isFile() ? st.size : 0;
      this.chunk = Buffer.allocUnsafe(Math.max(4096, chunkBytes));
      this.pending = readOrExplain(path, this.fd, this.chunk);
      if (this.pending === 0) throw new UserError(`${path}: empty file`);
      const head = this.chunk.subarray(0, this.pending);
      if (sniffFormat(head) === null) throw notACaptureError(path, head);
      this.parser = new CaptureParser(onPacket, path);
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  get stats(): CaptureStats {
    return this.parser.stats;
  }

  /** Parses the next chunk; false once the file is done (and closed). */
  step(): boolean {
    if (this.closed) return false;
    if (this.pending === 0) {
      this.parser.end();
      this.close();
      return false;
    }
    this.parser.push(this.chunk.subarray(0, this.pending));
    this.bytesRead += this.pending;
    this.pending = readOrExplain(this.path, this.fd, this.chunk);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
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
  const cursor = new CaptureFileCursor(path, onPacket, opts.chunkBytes);
  try {
    while (cursor.step()) opts.onProgress?.(cursor.bytesRead, cursor.totalBytes);
    return cursor.stats;
  } finally {
    cursor.close();
  }
}

/** Closes fd, ignoring errors: used on paths that are already failing or done. */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // nothing more can be done about it
  }
}

export function openOrExplain(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    throw new UserError(`${path}: cannot open: ${reason(err)}`);
  }
}

export function readOrExplain(path: string, fd: number, buf: Buffer): number {
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

export function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code !== undefined && REASONS[code] !== undefined) return REASONS[code];
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}
