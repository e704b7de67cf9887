/**
 * A capture's order is not always the wire's: two tapped directions merged with a little skew,
 * `tcpdump -i any` writing from several CPUs, a FIN stamped before the last data. So when a
 * packet shows that bytes were sent which the capture has not delivered yet (the peer
 * acknowledges them, or a FIN lies past them), those bytes are not declared lost at once: the
 * connection waits. Packets of the direction with the hole go on (one of them may fill it);
 * packets of the other direction are kept, in capture order, so that replies never reach the
 * analysis ahead of the requests they answer. The wait ends when the hole fills, when the
 * reorder window has passed in capture time, when the kept packets reach their limit, or when
 * the connection ends; only then is a hole that did not fill a gap. Kept packets then go
 * through in their order.
 */
import type { StreamDirection } from './reassembly.js';

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

/** A packet kept during a wait: what replaying it needs, its payload copied. */
export interface KeptPacket extends SegmentView {
  fromClient: boolean;
  tsUs: number;
}

export class Wait {
  readonly kept: KeptPacket[] = [];
  keptBytes = 0;

  constructor(
    /** The direction with bytes missing, up to holeTo. */
    readonly holed: StreamDirection,
    public holeTo: number,
    /** Capture time of the packet that showed the hole: the gap's time if it never fills. */
    readonly sinceTs: number,
  ) {}

  keep(fromClient: boolean, s: SegmentView, tsUs: number): void {
    const len = s.payloadLen;
    const data = s.data.slice(s.payloadOff, s.payloadOff + len);
    this.kept.push({ fromClient, flags: s.flags, seq: s.seq, ack: s.ack, data, payloadOff: 0, payloadLen: len, wireLen: s.wireLen, tsUs });
    this.keptBytes += len;
  }
}
