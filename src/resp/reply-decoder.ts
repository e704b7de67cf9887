import * as bytesMod from './bytes.js';
import { ReplyFramer } from './reply-framer.js';
import * as replyFramerMod from './reply-framer.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { chunkEnd, chunkStart } = bytesMod;
const { DISCARD, HANDED, TYPE } = replyFramerMod;

/**
 * Frames server -> client bytes into replies (see ReplyFramer), over a stream pushed in chunks:
 * keeps its offsets and byte counts, steps over gaps inside values, resynchronises, and hands
 * the rest of the stream to another parser when asked.
 */
export class ReplyDecoder extends ReplyFramer {
  /** Stream offset just past the last pushed byte. */
  private pos = 0;
  private cut = 0;

  /**
   * Decodes data[off..off+len), received at tsUs. The bytes are not kept after the call.
   * Returns how many were consumed: all of them, unless a reply callback called handOver().
   */
  push(data: Uint8Array, off: number, len: number, tsUs: number): number {
    const s = chunkStart(data, off);
    const e = chunkEnd(data, s, len);
    if (s >= e || this.state === HANDED) return 0;
    this.ts = tsUs;
    this.base = this.pos - s;
    this.pos += e - s;
    let p = s;
    while (p < e && this.state !== HANDED) p = this.step(data, p, e);
    this.pos -= e - p; // bytes left to the parser the stream was handed to
    this.guard.rethrow();
    return p - s;
  }

  /**
   * Called from a reply callback: the bytes after that reply are not replies (a replication
   * link's RDB transfer and command stream follow PSYNC's answer). push() stops there and
   * returns what it consumed; nothing more is decoded until resume().
   */
  handOver(): void {
    this.reset();
    this.state = HANDED;
  }

  /**
   * The next n bytes of the stream were never captured. When they lie inside a bulk value (or
   * streamed-string chunk) of known length and its CRLF, they are skipped and the reply is
   * still framed, with the value's lost bytes in `missingBytes`. False when the hole reaches
   * framing, after framing the reply whose last value it cut: resync().
   */
  skip(n: number): boolean {
    const used = this.skipInValue(n, this.pos);
    this.pos += used;
    this.guard.rethrow();
    return used > 0 && used === n;
  }

  /** Drops any partial reply and discards every byte until resume(). */
  resync(): void {
    this.unparsed += this.partialFrameBytes;
    this.reset();
    this.state = DISCARD;
  }

  /** The next pushed byte begins a fresh reply. */
  resume(): void {
    this.unparsed += this.partialFrameBytes;
    this.reset();
    this.state = TYPE;
  }

  /** The stream is over: an incomplete reply is counted as unparsed. */
  end(): void {
    this.cut += this.partialFrameBytes;
    this.unparsed += this.partialFrameBytes;
    this.reset();
    if (this.state !== DISCARD) this.state = TYPE;
  }

  get streamOffset(): number {
    return this.pos;
  }

  /** Bytes discarded: part of a violation, pushed while discarding, incomplete at end(). */
  get unparsedBytes(): number {
    return this.unparsed;
  }

  /** Of unparsedBytes: those of a reply the stream ended inside (its connection closed, the capture ended). */
  get cutBytes(): number {
    return this.cut;
  }

  /** Bytes the decoder holds for the incomplete reply: its previews. */
  get pendingBytes(): number {
    return this.reply.open ? this.pre.text.length + this.reply.heldBytes() : 0;
  }

  /**
   * Wire bytes of the incomplete reply, not yet counted anywhere. Between pushes:
   * streamOffset = sum of frame wireBytes + unparsedBytes + partialFrameBytes.
   */
  get partialFrameBytes(): number {
    return this.reply.open ? this.pos - this.reply.start : 0;
  }

  /** True while bytes are being discarded (after a violation or resync(), until resume()). */
  get discarding(): boolean {
    return this.state === DISCARD;
  }
}
