import * as bytesMod from './bytes.js';
import { RequestFramer } from './request-framer.js';
import * as requestFramerMod from './request-framer.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { chunkEnd, chunkStart } = bytesMod;
const { HALTED, INLINE, SCAN, START } = requestFramerMod;

/**
 * Frames client -> server bytes into requests (see RequestFramer), over a stream pushed in
 * chunks: keeps its offsets and byte counts, steps over gaps inside values, resynchronises
 * after a violation or a gap, and stops at a line Redis rejects.
 */
export class RequestDecoder extends RequestFramer {
  /** Stream offset just past the last pushed byte. */
  private pos = 0;
  private cut = 0;

  /** Decodes data[off..off+len), received at tsUs. The bytes are not kept after the call. */
  push(data: Uint8Array, off: number, len: number, tsUs: number): void {
    const s = chunkStart(data, off);
    const e = chunkEnd(data, s, len);
    if (s >= e) return;
    this.ts = tsUs;
    this.chunkOff = s;
    this.base = this.pos - s;
    this.pos += e - s;
    let p = s;
    while (p < e) p = this.step(data, p, e);
    this.guard.rethrow();
  }

  /**
   * The next n bytes of the stream were never captured. When they lie inside the value of the
   * bulk argument being read and its closing CRLF, they are skipped: the request is still
   * framed, and reports the value's lost bytes in `missingBytes` (see skipInValue). When the
   * hole goes on past the request's last argument, that request is framed, and false says the
   * rest reached framing (as does any hole in a header or a length): the caller must resync().
   */
  skip(n: number): boolean {
    const used = this.skipInValue(n, this.pos);
    this.pos += used;
    this.guard.rethrow();
    return used > 0 && used === n;
  }

  /**
   * Redis closes the connection after what came before (a request it rejects with `-ERR
   * Protocol error`, or QUIT): no later byte is a request. May be called from a violation or
   * request callback; takes effect at the next byte.
   */
  halt(): void {
    this.unparsed += this.partialFrameBytes;
    this.dropPartial();
    this.state = HALTED;
  }

  /** Drops any partial request and scans for the next `*<n>\r\n$` boundary. */
  resync(): void {
    if (this.state === HALTED) return;
    this.unparsed += this.partialFrameBytes;
    this.enterScan(true);
  }

  /** The stream is over: an incomplete request is counted as unparsed. */
  end(): void {
    // A request the stream ended inside (not a partial boundary match while scanning).
    if (this.state !== SCAN) this.cut += this.partialFrameBytes;
    this.unparsed += this.partialFrameBytes;
    this.dropPartial();
    this.state = START;
  }

  /** Of unparsedBytes: those of a request the stream ended inside (its connection closed, the capture ended). */
  get cutBytes(): number {
    return this.cut;
  }

  /** Of unparsedBytes: those sent after halt(), which the server never read. */
  get haltedBytes(): number {
    return this.halted;
  }

  /** Bytes pushed so far. */
  get streamOffset(): number {
    return this.pos;
  }

  /** Bytes discarded: skipped while resyncing, part of a violation, or incomplete at end(). */
  get unparsedBytes(): number {
    return this.unparsed;
  }

  /** Well-formed bytes that make no request: `*0`, `*-1`, empty inline lines. */
  get ignoredBytes(): number {
    return this.ignored;
  }

  /** Bytes the decoder holds for the incomplete request: buffered line and previews. */
  get pendingBytes(): number {
    if (this.state === INLINE) return this.line.length;
    if (this.state === START || this.state === SCAN) return 0;
    return this.pre.text.length + this.kept.heldChars();
  }

  /**
   * Wire bytes of the incomplete request (or of a partial boundary match while scanning),
   * not yet counted anywhere. Between pushes: streamOffset = sum of frame wireBytes +
   * ignoredBytes + unparsedBytes + partialFrameBytes.
   */
  get partialFrameBytes(): number {
    if (this.state === SCAN) return this.scanner.partialBytes(this.pos);
    if (this.state === HALTED) return 0;
    return this.state === START ? 0 : this.pos - this.fStart;
  }
}
