/**
 * A capture's order is not always the wire's: two tapped directions merged with a little skew,
 * `tcpdump -i any` writing from several CPUs, a FIN stamped before the last data. So a packet
 * is applied only when what it depends on has been: the bytes its ACK acknowledges (a reply
 * comes after the request it answers) and, while the connection waits, the bytes before its
 * own (nothing overtakes a kept packet). A packet that is not ready is kept, in capture order,
 * and every packet applied may make kept ones ready. The wait ends when nothing is kept, or
 * when the reorder window has passed in capture time, the kept packets reach their limit, or
 * the connection ends: then what blocks the first kept packet is declared missing (a gap), and
 * so on until all are applied.
 */
import * as decodeMod from './decode.js';
import type { StreamDirection } from './reassembly.js';
import * as reassemblyMod from './reassembly.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { TCP_FLAG } = decodeMod;
const { copyBytes, MAX_ACK_AHEAD, seqDiff } = reassemblyMod;

/** What the flow table applies of a TCP segment (a TcpSegment, or a kept copy). */
export interface SegmentView {
  readonly flags: number;
  readonly seq: number;
  readonly ack: number;
  /** Payload bytes at data[payloadOff, payloadOff + payloadLen), as captured. */
  readonly data: Uint8Array;
  readonly payloadOff: number;
  readonly payloadLen: number;
  /** Payload length on the wire (more than payloadLen when a snap length cut it). */
  readonly wireLen: number;
}

/** A packet kept during a wait: what applying it later needs, its payload copied. */
export interface KeptPacket extends SegmentView {
  fromClient: boolean;
  tsUs: number;
}

const { FIN, SYN, RST, ACK } = TCP_FLAG;

/** Whether sequence number a is after b, and not absurdly far. */
function seqAfter(a: number, b: number): boolean {
  const d = seqDiff(a, b);
  return d > 0 && d <= MAX_ACK_AHEAD;
}

/** Sequence number of a segment's first data byte (a SYN takes one). */
export function dataSeq(s: SegmentView): number {
  return (s.flags & SYN) !== 0 ? (s.seq + 1) >>> 0 : s.seq;
}

export class Wait {
  readonly kept: KeptPacket[] = [];
  keptBytes = 0;

  constructor(
    /** Capture time the wait began: the gaps it declares are stamped with it. */
    readonly sinceTs: number,
  ) {}

  keep(fromClient: boolean, s: SegmentView, tsUs: number): void {
    const len = s.payloadLen;
    // A copy: the capture reuses its buffer for the next frame (and Buffer.slice is a view).
    const data = copyBytes(s.data, s.payloadOff, len);
    this.kept.push({ fromClient, flags: s.flags, seq: s.seq, ack: s.ack, data, payloadOff: 0, payloadLen: len, wireLen: s.wireLen, tsUs });
    this.keptBytes += len;
  }

  /** Takes out kept packet i. */
  take(i: number): KeptPacket {
    const k = this.kept.splice(i, 1)[0]!;
    this.keptBytes -= k.payloadLen;
    return k;
  }

  /** Whether a kept packet of one direction carries a FIN that ends at seq (nothing before it missing). */
  finAt(fromClient: boolean, seq: number): boolean {
    for (const k of this.kept) if (k.fromClient === fromClient && (k.flags & FIN) !== 0 && ((dataSeq(k) + k.wireLen) >>> 0) === seq) return true;
    return false;
  }

  /** Whether a kept ACK packet of one direction acknowledges less than ack. */
  lowerAck(fromClient: boolean, ack: number): boolean {
    for (const k of this.kept) if (k.fromClient === fromClient && (k.flags & ACK) !== 0 && seqDiff(k.ack, ack) < 0) return true;
    return false;
  }

  /**
   * Whether a kept RST or FIN of one direction ends it at or before seq (within a window): that
   * side sends nothing more on this connection, so its bytes at seq are a later connection's.
   */
  closedBefore(fromClient: boolean, seq: number): boolean {
    for (const k of this.kept) {
      if (k.fromClient !== fromClient || (k.flags & (RST | FIN)) === 0) continue;
      const end = (k.flags & RST) !== 0 ? k.seq : (dataSeq(k) + k.wireLen) >>> 0;
      const d = seqDiff(seq, end);
      if (d >= 0 && d <= MAX_ACK_AHEAD) return true;
    }
    return false;
  }

  /** Lowest sequence number among the kept packets of one direction, or -1 if none. */
  lowestSeq(fromClient: boolean): number {
    let low = -1;
    for (const k of this.kept) if (k.fromClient === fromClient && (low === -1 || seqDiff(k.seq, low) < 0)) low = k.seq;
    return low;
  }
}

/**
 * Whether a packet of direction d (peer o) can be applied now. `wait` is the connection's
 * wait, if any: while there is one, data must also follow on from what was delivered.
 */
export function isReady(d: StreamDirection, o: StreamDirection, s: SegmentView, fromClient: boolean, wait: Wait | null): boolean {
  const flags = s.flags;
  if ((flags & ACK) !== 0 && (flags & SYN) === 0 && !ackReady(d, o, s.seq, s.ack, !fromClient, wait)) return false;
  const carries = s.wireLen > 0 || (flags & FIN) !== 0;
  if (!carries) return true;
  // Without a wait, data past a hole is held by reassembly as always; a FIN waits for it.
  if (wait === null && (flags & FIN) === 0) return true;
  if (d.started) return seqDiff(dataSeq(s), d.nextSeq) <= 0;
  // Not started: the lowest kept packet of the direction goes first.
  const low = wait === null ? -1 : wait.lowestSeq(fromClient);
  return low === -1 || seqDiff(s.seq, low) <= 0;
}

/** Whether the bytes of o an ACK acknowledges have all been delivered (or never will be). */
function ackReady(d: StreamDirection, o: StreamDirection, seq: number, ack: number, oFromClient: boolean, wait: Wait | null): boolean {
  if (o.silent && !o.seen) return true;
  if (o.started) {
    const missing = o.missingUpTo(ack);
    if (missing === null) return true;
    // One past the last byte acknowledges a FIN: fine if that FIN is kept, nothing else missing.
    return wait !== null && seqDiff(missing, o.nextSeq) === 1 && wait.finAt(oFromClient, o.nextSeq);
  }
  // d saw its own SYN, so a packet at d's first byte acknowledges o's SYN and starts o
  // (FlowTable.apply): the lowest such ACK kept goes first.
  if (d.synSeq !== -1 && seq === d.startSeq) return wait === null || !wait.lowerAck(!oFromClient, ack);
  // o not started: what it acknowledges is known only against a packet of o seen or kept.
  const kept = wait === null ? -1 : wait.lowestSeq(oFromClient);
  const base = kept !== -1 && (o.seqHint === -1 || seqDiff(kept, o.seqHint) < 0) ? kept : o.seqHint;
  if (base !== -1) return !seqAfter(ack, base);
  // Nothing of o seen yet: an ACK that is news may be of bytes captured later.
  return d.ackValid && !seqAfter(ack, d.ackSent);
}

/**
 * The waits of all connections by the end of their window, earliest first (a binary heap).
 * A wait that ended early stays in until its turn and is then skipped (the caller checks it is still current: `e.wait === w` in FlowTable).
 */
export class WaitQueue<T> {
  private readonly at: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.at.length;
  }

  /** End of the earliest window; Infinity when empty. */
  first(): number {
    return this.at.length === 0 ? Infinity : this.at[0]!;
  }

  push(at: number, item: T): void {
    let i = this.at.length;
    this.at.push(at);
    this.items.push(item);
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (this.at[up]! <= at) break;
      this.at[i] = this.at[up]!;
      this.items[i] = this.items[up]!;
      i = up;
    }
    this.at[i] = at;
    this.items[i] = item;
  }

  pop(): T {
    const top = this.items[0]!;
    const lastAt = this.at.pop()!;
    const last = this.items.pop()!;
    const n = this.at.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const c = l + 1 < n && this.at[l + 1]! < this.at[l]! ? l + 1 : l;
        if (this.at[c]! >= lastAt) break;
        this.at[i] = this.at[c]!;
        this.items[i] = this.items[c]!;
        i = c;
      }
      this.at[i] = lastAt;
      this.items[i] = last;
    }
    return top;
  }
}
