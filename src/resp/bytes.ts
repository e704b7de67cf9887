/** Byte-array helpers shared by the decoders. */

/** First index of a pushed chunk, clamped into the array (bad arguments never throw). */
export function chunkStart(data: Uint8Array, off: number): number {
  if (!(off > 0)) return 0;
  const s = Math.floor(off);
  return s < data.length ? s : data.length;
}

/** End index (exclusive) of a pushed chunk that begins at `start`. */
export function chunkEnd(data: Uint8Array, start: number, len: number): number {
  if (!(len > 0)) return start;
  const e = start + Math.floor(len);
  return e < data.length ? e : data.length;
}

/** Index of byte b in u[from..to), or -1. Never looks past `to`. */
export function findByte(u: Uint8Array, b: number, from: number, to: number): number {
  if (to - from <= 64) {
    for (let i = from; i < to; i++) if (u[i] === b) return i;
    return -1;
  }
  const i = u.subarray(from, to).indexOf(b);
  return i < 0 ? -1 : from + i;
}

/**
 * Runs a frame or violation callback. An exception there must not unwind the decoder in the
 * middle of a chunk, so the first one is kept and thrown once the chunk is fully decoded.
 */
export class CallbackGuard {
  private failed = false;
  private error: unknown = undefined;

  call<T>(fn: (arg: T) => void, arg: T): void {
    try {
      fn(arg);
    } catch (err) {
      if (!this.failed) {
        this.failed = true;
        this.error = err;
      }
    }
  }

  /** Throws the kept callback error, if any, after the decoder state is consistent again. */
  rethrow(): void {
    if (!this.failed) return;
    const err = this.error;
    this.failed = false;
    this.error = undefined;
    throw err;
  }
}

/** Bytes of one line that straddles pushes; grows by doubling, never past `cap`. */
export class LineBuffer {
  bytes = new Uint8Array(0);
  length = 0;

  constructor(private readonly cap: number) {}

  append(d: Uint8Array, s: number, e: number): void {
    const need = this.length + e - s;
    if (need > this.bytes.length) {
      const size = Math.max(need, Math.min(Math.max(this.bytes.length * 2, 256), this.cap));
      const grown = new Uint8Array(size);
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(d.subarray(s, e), this.length);
    this.length = need;
  }
}
