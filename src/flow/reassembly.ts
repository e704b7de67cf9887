/**
 * One direction of a TCP connection put back in order (RFC 9293 sequence space, 32-bit
 * wrap-around). In-order bytes go to the handler as views of the packet buffer; segments that
 * arrive ahead of a hole are copied and held, within FlowLimits, until the hole fills or is
 * declared a gap (by the flow table: see ./reorder.ts for when).
 */
import type { FlowLimits } from './limits.js';
import type { FlowHandler, FlowStats, TcpConn } from './types.js';

/** What every direction of every connection shares. */
export interface ReassemblyContext {
  readonly stats: FlowStats;
  readonly handler: FlowHandler;
  readonly limits: Readonly<FlowLimits>;
}

/**
 * An ACK further ahead than this is not believed: no TCP window (at most 2^30 with window
 * scaling) lets a peer acknowledge more than that beyond what it was sent.
 */
export const MAX_ACK_AHEAD = 2 ** 30;

/**
 * A RST further than this from where its sender's stream is (either way) is ignored, as Linux
 * ignores a RST outside the receive window (RFC 5961 3.2): no window is larger than 2^30
 * (RFC 7323 2.3), and a forged or stale RST is typically 2^31 off.
 */
export const RST_WINDOW = 2 ** 30;

interface HeldSegment {
  seq: number;
  /** The captured bytes (a copy). */
  bytes: Uint8Array;
  /** Sequence space the segment covers; more than bytes.length when a snap length cut it. */
  len: number;
  tsUs: number;
}

/**
 * A copy of b[off, off + len), for bytes kept past the packet's callback (the capture reuses its
 * buffer, and a Buffer's subarray is a view). A Buffer, as the capture's are, so the decoders the
 * bytes go to see one kind of array; taken without subarray(), which builds a Buffer the slow way.
 */
export function copyBytes(b: Uint8Array, off: number, len: number): Uint8Array {
  const out = Buffer.allocUnsafeSlow(len);
  out.set(new Uint8Array(b.buffer, b.byteOffset + off, len));
  return out;
}

/** Signed distance a - b in sequence space. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export class StreamDirection {
  /** The sequence number of the next byte to deliver is known. */
  started = false;
  nextSeq = 0;
  /** Where the stream started (the byte after the SYN, or the first byte seen mid-stream). */
  startSeq = 0;
  /** Sequence number of this direction's SYN (-1: none seen or inferred). */
  synSeq = -1;
  finSeen = false;
  finSeq = 0;
  /** Highest ACK this direction sent about the other one. */
  ackSent = 0;
  ackValid = false;
  /** The opposite direction of the same connection; set right after construction. */
  peer: StreamDirection = this;
  /**
   * Before the stream starts: the sequence number of a packet of this direction already seen
   * (a bare ACK carries where the next byte will be), or -1. Bytes before it came before the
   * capture.
   */
  seqHint = -1;
  /**
   * No packet of this direction applied yet (it may have been started by the peer's handshake
   * ACK), and a wait for its bytes ran out: the peer's ACKs no longer wait for it. A capture of
   * one direction only (a `dst port` filter) never sees the other.
   */
  silent = false;
  /** A packet of this direction has been applied. */
  seen = false;
  private held: HeldSegment[] | null = null;
  private heldBytes = 0;
  /** The last hole declared a gap, [gapStart, gapEnd) (empty: none). */
  private gapStart = 0;
  private gapEnd = 0;

  constructor(
    private readonly ctx: ReassemblyContext,
    readonly conn: TcpConn,
    readonly fromClient: boolean,
  ) {}

  /** A SYN (or a SYN-ACK's acknowledgment, seq = ack - 1) fixes the start of the stream. */
  syn(seq: number): void {
    // A SYN captured after the stream was joined still names the connection (see FlowTable).
    if (this.synSeq === -1) this.synSeq = seq;
    if (this.started) return;
    this.started = true;
    this.nextSeq = this.startSeq = (seq + 1) >>> 0;
  }

  noteAck(ack: number): void {
    if (!this.ackValid || seqDiff(ack, this.ackSent) > 0) {
      this.ackSent = ack;
      this.ackValid = true;
    }
  }

  /**
   * Whether a RST of this direction at seq is within RST_WINDOW of where its next byte is
   * (from its own bytes, or the peer's ACKs); true when neither is known.
   */
  resetInWindow(seq: number): boolean {
    const ref = this.started ? this.nextSeq : this.peer.ackValid ? this.peer.ackSent : -1;
    if (ref === -1) return true;
    const d = seqDiff(seq, ref);
    return d >= -RST_WINDOW && d <= RST_WINDOW;
  }

  /** Payload b[off, off+have) at seq; the segment covers wireLen bytes of sequence space. */
  segment(seq: number, b: Uint8Array, off: number, have: number, wireLen: number, tsUs: number): void {
    const stats = this.ctx.stats;
    if (!this.started) {
      // A keep-alive probe (0 or 1 byte the peer already acknowledged) is not a start. Longer
      // segments are: in a capture out of order, the peer's ACK of them may come first.
      const peer = this.peer;
      if (wireLen <= 1 && peer.ackValid && seqDiff(peer.ackSent, (seq + wireLen) >>> 0) >= 0) {
        stats.duplicateBytes += have;
        return;
      }
      this.started = true;
      this.nextSeq = this.startSeq = seq;
    }
    const rel = seqDiff(seq, this.nextSeq);
    if (rel > 0) return this.hold(seq, b, off, have, wireLen, tsUs);
    const skip = -rel;
    if (skip >= wireLen) return this.behind(seq, have);
    if (skip > 0) this.behind(seq, Math.min(skip, have));
    this.deliver(b, off, have, wireLen, skip, tsUs);
    if (this.held !== null) this.drain(true);
  }

  /**
   * n captured bytes at seq that the stream has passed: duplicates, or, where they fall in the
   * last hole declared a gap, bytes captured after their wait ended (lateBytes; each counted
   * once: the hole shrinks from the end they fill).
   */
  private behind(seq: number, n: number): void {
    const stats = this.ctx.stats;
    let late = 0;
    if (this.gapEnd !== this.gapStart) {
      const end = (seq + n) >>> 0;
      const from = seqDiff(seq, this.gapStart) > 0 ? seq : this.gapStart;
      const to = seqDiff(end, this.gapEnd) < 0 ? end : this.gapEnd;
      late = Math.max(0, seqDiff(to, from));
      if (late > 0 && from === this.gapStart) this.gapStart = to;
      else if (late > 0 && to === this.gapEnd) this.gapEnd = from;
    }
    stats.lateBytes += late;
    stats.duplicateBytes += n - late;
  }

  /**
   * The peer acknowledged up to ack: the end of the bytes it vouches were sent that have not
   * been delivered (a FIN's own sequence slot is no byte), or null when there are none.
   */
  missingUpTo(ack: number): number | null {
    if (!this.started) return null;
    const ahead = seqDiff(ack, this.nextSeq);
    if (ahead <= 0 || ahead > MAX_ACK_AHEAD) return null;
    const to = this.byteEnd(ack);
    return seqDiff(to, this.nextSeq) > 0 ? to : null;
  }

  /** FIN at finSeq. Bytes before it that have not arrived yet are missing (see missingBeforeFin). */
  fin(finSeq: number): void {
    this.finSeen = true;
    this.finSeq = finSeq;
    if (!this.started) {
      this.started = true;
      this.nextSeq = this.startSeq = finSeq;
    }
  }

  /**
   * The peer, closing (its FIN seen, or in the packet at hand), acknowledges one past the end of
   * this stream: that is this direction's FIN, not captured, and its sequence slot is no byte.
   * It is taken as seen (true), so no 1-byte gap is declared for it.
   */
  finNotCaptured(ack: number, peerCloses: boolean): boolean {
    if (this.finSeen || !this.started || this.held !== null || !(peerCloses || this.peer.finSeen)) return false;
    if (seqDiff(ack, this.nextSeq) !== 1) return false;
    this.fin(this.nextSeq);
    return true;
  }

  /** Whether bytes before this direction's FIN have not arrived (within a believable distance). */
  missingBeforeFin(): boolean {
    const d = seqDiff(this.finSeq, this.nextSeq);
    return this.finSeen && d > 0 && d <= MAX_ACK_AHEAD;
  }

  /**
   * The bytes before `to` that have not arrived will not come: they are gaps now. With
   * `holdRest`, bytes held from `to` on stay held (deliverHeld() releases them): the packet
   * whose ACK declared the gap was sent before them and goes first.
   */
  declareLost(to: number, tsUs: number, holdRest = false): void {
    if (!this.started) return;
    const limit = this.byteEnd(to);
    this.flushTo(limit, tsUs, holdRest ? limit : undefined);
  }

  /** Delivers held bytes the stream has reached (see declareLost). */
  deliverHeld(): void {
    if (this.held !== null) this.drain(false);
  }

  private byteEnd(to: number): number {
    return this.finSeen && seqDiff(to, this.finSeq) > 0 ? this.finSeq : to;
  }

  /** FIN seen and every byte before it delivered or declared a gap. */
  get done(): boolean {
    return this.finSeen && this.held === null && !this.missingBeforeFin();
  }

  /** RST or end of capture: every hole becomes a gap and all held bytes are delivered. */
  flushAll(tsUs: number): void {
    while (this.held !== null) this.skipHole(this.held[0]!.seq, tsUs);
  }

  /** Declares gaps and delivers held bytes (those starting before `before`, if given) until nextSeq reaches `limit`. */
  private flushTo(limit: number, tsUs: number, before?: number): void {
    while (seqDiff(limit, this.nextSeq) > 0) {
      const first = this.held === null ? limit : this.held[0]!.seq;
      this.skipHole(seqDiff(first, limit) < 0 ? first : limit, tsUs, before);
    }
  }

  /** The bytes before `to` are lost: report them as a gap, then deliver what is held after. */
  private skipHole(to: number, tsUs: number, before?: number): void {
    const missing = seqDiff(to, this.nextSeq);
    if (missing > 0) {
      this.nextSeq = to;
      this.gap(missing, tsUs);
    }
    if (this.held !== null) this.drain(false, before);
  }

  /** Delivers bytes [skip, wireLen) of a segment; the part past `have` was not captured. */
  private deliver(b: Uint8Array, off: number, have: number, wireLen: number, skip: number, tsUs: number): void {
    this.nextSeq = (this.nextSeq + wireLen - skip) >>> 0;
    if (have > skip) {
      const n = have - skip;
      this.ctx.stats.deliveredBytes += n;
      this.ctx.handler.onData(this.conn, this.fromClient, b, off + skip, n, tsUs);
    }
    const lost = wireLen - Math.max(have, skip);
    if (lost > 0) this.gap(lost, tsUs);
  }

  /** The bytes before nextSeq are lost (see behind() for when they turn up later). */
  private gap(missing: number, tsUs: number): void {
    this.gapStart = (this.nextSeq - missing) >>> 0;
    this.gapEnd = this.nextSeq;
    this.ctx.stats.gaps++;
    this.ctx.stats.gapBytes += missing;
    this.ctx.handler.onGap(this.conn, this.fromClient, missing, tsUs);
  }

  private hold(seq: number, b: Uint8Array, off: number, have: number, wireLen: number, tsUs: number): void {
    const stats = this.ctx.stats;
    const held = this.held ?? (this.held = []);
    let i = held.length;
    while (i > 0 && seqDiff(held[i - 1]!.seq, seq) > 0) i--;
    const prev = held[i - 1];
    if (prev !== undefined && seqDiff((prev.seq + prev.len) >>> 0, seq) >= wireLen) {
      stats.duplicateBytes += have;
      return;
    }
    const bytes = copyBytes(b, off, have);
    held.splice(i, 0, { seq, bytes, len: wireLen, tsUs });
    this.heldBytes += have;
    const limits = this.ctx.limits;
    while (this.held !== null && (this.held.length > limits.maxHeldSegments || this.heldBytes > limits.maxHeldBytesPerDirection)) {
      this.skipHole(this.held[0]!.seq, tsUs);
    }
  }

  /**
   * Delivers held segments that the stream has reached. `filled`: a segment that arrived late
   * filled the hole before them, so they came out of order (counted); after a hole declared a
   * gap they did not: the segment before them was never captured.
   */
  private drain(filled: boolean, before?: number): void {
    const held = this.held!;
    const stats = this.ctx.stats;
    let i = 0;
    for (; i < held.length; i++) {
      const s = held[i]!;
      const rel = seqDiff(s.seq, this.nextSeq);
      if (rel > 0 || (before !== undefined && seqDiff(s.seq, before) >= 0)) break;
      this.heldBytes -= s.bytes.length;
      const skip = -rel;
      if (skip >= s.len) {
        stats.duplicateBytes += s.bytes.length;
        continue;
      }
      if (skip > 0) stats.duplicateBytes += Math.min(skip, s.bytes.length);
      if (filled) stats.outOfOrderSegments++;
      this.deliver(s.bytes, 0, s.bytes.length, s.len, skip, s.tsUs);
    }
    if (i === held.length) {
      this.held = null;
      this.heldBytes = 0;
    } else held.splice(0, i);
  }
}
