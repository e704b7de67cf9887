/**
 * Where the bytes of one capture come from: a file or stdin, decompressed on the way when the
 * first bytes say gzip (1f 8b, RFC 1952) or Zstandard (28 b5 2f fd, RFC 8878), whatever the
 * name. Everything streams: a capture may be larger than memory.
 */
import { fstatSync } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { UserError } from '../errors.js';
import { closeQuietly, openOrExplain, readOrExplain, reason } from './file-reader.js';

/** The name that means stdin, as for tcpdump -r. */
export const STDIN_NAME = '-';

export type Compression = 'gzip' | 'zstd';

const MAGIC = {
  /** gzip member header: ID1 ID2. */
  GZIP: [0x1f, 0x8b],
  /** Zstandard frame magic 0xFD2FB528, little-endian. */
  ZSTD: [0x28, 0xb5, 0x2f, 0xfd],
} as const;

/** Bytes needed to tell a compressed input from a plain one. */
const MAGIC_BYTES = 4;
/** Size of a decompressed chunk handed to the parser. */
const OUT_CHUNK_BYTES = 256 * 1024;

/**
 * The data is damaged past what the decompressor can read (or it ends early): what was read
 * before stands, the rest of this input cannot be read.
 */
export class DecompressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecompressError';
  }
}

/** Capture bytes from one input. */
export interface CaptureInput {
  /** The name in messages: the path as given, or 'stdin'. */
  readonly name: string;
  readonly compression: Compression | null;
  /** Stored size (compressed, for a compressed file); 0 when not known (a pipe). */
  readonly totalBytes: number;
  /** Stored bytes consumed so far. */
  readonly bytesRead: number;
  /**
   * The next chunk of capture bytes, valid until the next call; null at the end. Rejects with a
   * DecompressError when compressed data is damaged, with a UserError when reading fails.
   */
  next(): Promise<Uint8Array | null>;
  close(): void;
}

/** Stored bytes, before any decompression. */
interface ByteSource {
  readonly totalBytes: number;
  bytesRead: number;
  next(): Promise<Uint8Array | null>;
  close(): void;
}

/** A regular file (or stdin redirected from one), read with big synchronous reads. */
class FileSource implements ByteSource {
  bytesRead = 0;
  /**
   * Every chunk in a buffer of its own, for a consumer that holds chunks (a decompressor); a
   * plain input reuses one buffer, its parser done with each chunk before the next read.
   */
  fresh = true;
  private readonly buf: Buffer;
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly fd: number,
    readonly totalBytes: number,
    chunkBytes: number,
    private readonly ownsFd: boolean,
  ) {
    this.buf = Buffer.allocUnsafe(chunkBytes);
  }

  async next(): Promise<Uint8Array | null> {
    if (this.closed) return null;
    const buf = this.fresh ? Buffer.allocUnsafe(this.buf.length) : this.buf;
    const n = readOrExplain(this.name, this.fd, buf);
    this.bytesRead += n;
    return n === 0 ? null : buf.subarray(0, n);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsFd) closeQuietly(this.fd);
  }
}

/** A pipe (stdin): chunks as the stream delivers them, each its own buffer. */
class StreamSource implements ByteSource {
  readonly totalBytes = 0;
  bytesRead = 0;
  private readonly it: AsyncIterator<Buffer>;

  constructor(
    private readonly name: string,
    private readonly stream: NodeJS.ReadableStream & { destroy(): void },
  ) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async next(): Promise<Uint8Array | null> {
    let r: IteratorResult<Buffer>;
    try {
      r = await this.it.next();
    } catch (err) {
      throw new UserError(`${this.name}: cannot read: ${reason(err)}`);
    }
    if (r.done === true) return null;
    this.bytesRead += r.value.length;
    return r.value;
  }

  close(): void {
    this.stream.destroy();
  }
}

/** A source with chunks already read put back in front. */
class Pushback {
  constructor(
    readonly src: ByteSource,
    private readonly ahead: Uint8Array[],
  ) {}

  async next(): Promise<Uint8Array | null> {
    return this.ahead.shift() ?? this.src.next();
  }
}

/** Capture bytes as stored. */
class PlainInput implements CaptureInput {
  readonly compression = null;
  constructor(
    readonly name: string,
    private readonly src: Pushback,
  ) {}
  get totalBytes(): number {
    return this.src.src.totalBytes;
  }
  get bytesRead(): number {
    return this.src.src.bytesRead;
  }
  next(): Promise<Uint8Array | null> {
    return this.src.next();
  }
  close(): void {
    this.src.src.close();
  }
}

/** gzip, through node:zlib (several members, as `cat a.gz b.gz` makes, are read in turn). */
class GunzipInput implements CaptureInput {
  readonly compression = 'gzip';
  private readonly out: AsyncIterator<Buffer>;
  private outBytes = 0;

  constructor(
    readonly name: string,
    private readonly src: Pushback,
  ) {
    const gunzip = createGunzip({ chunkSize: OUT_CHUNK_BYTES });
    const feed = Readable.from(chunksOf(src), { objectMode: false });
    // Errors reach the reader through the iterator below; the callback only keeps them handled.
    pipeline(feed, gunzip, () => undefined);
    this.out = gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  get totalBytes(): number {
    return this.src.src.totalBytes;
  }
  get bytesRead(): number {
    return this.src.src.bytesRead;
  }

  async next(): Promise<Uint8Array | null> {
    try {
      const r = await this.out.next();
      if (r.done === true) return null;
      this.outBytes += r.value.length;
      return r.value;
    } catch (err) {
      if (err instanceof UserError) throw err;
      const code = (err as NodeJS.ErrnoException | null)?.code;
      const why = err instanceof Error ? err.message : String(err);
      if (code === 'Z_BUF_ERROR') throw new DecompressError(`gzip data ends early (${why}) after ${this.outBytes} bytes of capture: the file was cut`);
      throw new DecompressError(`gzip data is corrupt (${why}) after ${this.outBytes} bytes of capture; the rest of the file is skipped`);
    }
  }

  close(): void {
    void this.out.return?.();
    this.src.src.close();
  }
}

/** Zstandard, through fzstd (pure JavaScript; Node 20's zlib has no zstd). */
class ZstdInput implements CaptureInput {
  readonly compression = 'zstd';
  private readonly queue: Uint8Array[] = [];
  private readonly dec = new Decompress((chunk) => {
    if (chunk.length > 0) this.queue.push(chunk);
  });
  private ended = false;
  private outBytes = 0;

  constructor(
    readonly name: string,
    private readonly src: Pushback,
  ) {}

  get totalBytes(): number {
    return this.src.src.totalBytes;
  }
  get bytesRead(): number {
    return this.src.src.bytesRead;
  }

  async next(): Promise<Uint8Array | null> {
    while (this.queue.length === 0) {
      if (this.ended) return null;
      const raw = await this.src.next();
      try {
        if (raw === null) {
          this.ended = true;
          this.dec.push(new Uint8Array(0), true);
        } else this.dec.push(raw);
      } catch (err) {
        this.ended = true;
        const why = err instanceof Error ? err.message : String(err);
        if (why === 'unexpected EOF') throw new DecompressError(`zstd data ends early after ${this.outBytes} bytes of capture: the file was cut`);
        throw new DecompressError(`zstd data is corrupt (${why}) after ${this.outBytes} bytes of capture; the rest of the file is skipped`);
      }
    }
    const chunk = this.queue.shift()!;
    this.outBytes += chunk.length;
    return chunk;
  }

  close(): void {
    this.ended = true;
    this.src.src.close();
  }
}

async function* chunksOf(src: Pushback): AsyncGenerator<Uint8Array> {
  for (let c = await src.next(); c !== null; c = await src.next()) yield c;
}

/**
 * Opens a capture input by name ('-' is stdin) and looks at its first bytes to choose the
 * decompressor. Throws UserError when it cannot be read or is empty.
 */
export async function openInput(name: string, chunkBytes: number): Promise<CaptureInput> {
  const display = name === STDIN_NAME ? 'stdin' : name;
  const src = name === STDIN_NAME ? stdinSource(chunkBytes) : fileSource(name, chunkBytes);
  try {
    const head = await readHead(src);
    if (head.length === 0) {
      throw new UserError(name === STDIN_NAME ? 'stdin: no data (nothing was piped in)' : `${name}: empty file`);
    }
    const first = head.length === 1 ? head[0]! : Buffer.concat(head);
    const back = new Pushback(src, head);
    if (startsWith(first, MAGIC.GZIP)) return new GunzipInput(display, back);
    if (startsWith(first, MAGIC.ZSTD)) return new ZstdInput(display, back);
    if (src instanceof FileSource) src.fresh = false;
    return new PlainInput(display, back);
  } catch (e) {
    src.close();
    throw e;
  }
}

function fileSource(path: string, chunkBytes: number): ByteSource {
  const fd = openOrExplain(path);
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new UserError(`${path}: is a directory, not a capture file`);
    return new FileSource(path, fd, st.isFile() ? st.size : 0, chunkBytes, true);
  } catch (e) {
    closeQuietly(fd);
    throw e;
  }
}

function stdinSource(chunkBytes: number): ByteSource {
  if (process.stdin.isTTY === true) {
    throw new UserError("stdin is a terminal: pipe a capture in (tcpdump -w - 'tcp port 6379' | redis-tap analyze -)");
  }
  let st;
  try {
    st = fstatSync(0);
  } catch (err) {
    throw new UserError(`stdin: cannot read: ${reason(err)}`);
  }
  // Redirected from a file (`< x.pcap`): read it like one, its size known for progress.
  if (st.isFile()) return new FileSource('stdin', 0, st.size, chunkBytes, false);
  return new StreamSource('stdin', process.stdin);
}

/** Reads until MAGIC_BYTES are in hand or the input ends. */
async function readHead(src: ByteSource): Promise<Uint8Array[]> {
  const head: Uint8Array[] = [];
  let n = 0;
  while (n < MAGIC_BYTES) {
    const c = await src.next();
    if (c === null) break;
    head.push(c);
    n += c.length;
  }
  return head;
}

function startsWith(b: Uint8Array, magic: readonly number[]): boolean {
  if (b.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (b[i] !== magic[i]) return false;
  return true;
}
