/**
 * What is remembered of connections closed lately, by 4-tuple hash: the client's ISN (a SYN or
 * SYN-ACK captured after the close repeats it) and, for a connection closed by its own FINs or
 * RST, where each direction's stream ended. A segment without SYN that lies within the old
 * stream (a retransmission, a late copy) or continues it from its end (bytes in flight when a
 * RST came, which the peer discarded) belongs to the closed connection: it opens nothing.
 */
import type { TcpSegment } from './decode.js';
import type { FlowEntry } from './flow-entry.js';
import type { StreamDirection } from './reassembly.js';
import * as reassemblyMod from './reassembly.js';
import type { FlowStats } from './types.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { MAX_ACK_AHEAD } = reassemblyMod;

/** Closed connections remembered at once (the oldest is forgotten first). */
export const RECENT_CLOSED = 4096;

/** End of stream unknown: the direction never started, or the close was not the connection's own. */
const UNKNOWN = -1;

/** One closed connection: its client endpoint, server endpoint (port and last address word), ISN and stream ends. */
class ClosedFlow {
  constructor(
    readonly cPort: number, readonly c3: number, readonly sPort: number, readonly s3: number,
    /** Client ISN (-1: not seen). */
    readonly isn: number,
    /** Per direction: the first byte followed and the byte after the last (UNKNOWN: see above). */
    readonly toServerStart: number, public toServerEnd: number,
    readonly toClientStart: number, public toClientEnd: number,
    /** Closed by a RST of the client (1), of the server (2), or not by a RST (0). */
    readonly resetBy: number,
  ) {}
}

function start(d: StreamDirection, own: boolean): number {
  return own && d.started ? d.startSeq : UNKNOWN;
}

function end(d: StreamDirection, own: boolean): number {
  return own && d.started ? d.nextSeq : UNKNOWN;
}

export class ClosedFlows {
  private readonly byHash = new Map<number, ClosedFlow>();

  /**
   * e closed; `own` when by its FINs or a RST (not by the capture ending, an idle sweep, an
   * eviction or a new SYN on its 4-tuple): only then are its stream ends final. `resetBy` as in
   * ClosedFlow.
   */
  remember(e: FlowEntry, own: boolean, resetBy: number): void {
    this.byHash.delete(e.hash); // set again below, as the newest: forgotten last
    if (this.byHash.size >= RECENT_CLOSED) this.byHash.delete(this.byHash.keys().next().value!);
    const cs = e.toServer;
    const sc = e.toClient;
    this.byHash.set(e.hash, new ClosedFlow(
      e.cPort, e.c3, e.sPort, e.s3, cs.synSeq,
      start(cs, own), end(cs, own), start(sc, own), end(sc, own), resetBy,
    ));
  }

  /** Did a connection whose 4-tuple hashes to `hash` close lately? */
  closedLately(hash: number): boolean {
    return this.byHash.has(hash);
  }

  /** Did one close lately whose client's SYN had sequence number isn? */
  closedWithIsn(hash: number, isn: number): boolean {
    const seen = this.byHash.get(hash);
    return seen !== undefined && seen.isn !== -1 && seen.isn === isn;
  }

  /**
   * Whether data segment s (no SYN, no open connection) belongs to a connection closed lately:
   * it starts within that direction's old stream or right at its end. Its bytes already
   * followed count as duplicates; bytes past the end from the peer of the side that reset
   * (sent before the RST reached it) are counted in afterCloseBytes, and the end moves past
   * them, so the next one continues.
   */
  absorb(hash: number, s: TcpSegment, stats: FlowStats): boolean {
    const c = this.byHash.get(hash);
    if (c === undefined) return false;
    let fromClient: boolean;
    if (s.srcPort === c.cPort && s.s3 === c.c3 && s.dstPort === c.sPort && s.d3 === c.s3) fromClient = true;
    else if (s.srcPort === c.sPort && s.s3 === c.s3 && s.dstPort === c.cPort && s.d3 === c.c3) fromClient = false;
    else return false; // another 4-tuple with the same hash
    const first = fromClient ? c.toServerStart : c.toClientStart;
    const last = fromClient ? c.toServerEnd : c.toClientEnd;
    if (last === UNKNOWN) return false;
    // Within [first, last] (at most 2^30 back: no window reaches further); else a new connection.
    const behind = (last - s.seq) >>> 0;
    if (behind > Math.min((last - first) >>> 0, MAX_ACK_AHEAD)) return false;
    const fresh = Math.max(0, s.payloadLen - behind);
    // New bytes are the old connection's only from the peer of a side that reset (sent before
    // the RST reached it). After FINs, or from the side that sent the RST (its RST evidently
    // never reached the peer), they are followed as before, as a connection joined mid-stream.
    if (fresh > 0 && c.resetBy !== (fromClient ? 2 : 1)) return false;
    stats.duplicateBytes += s.payloadLen - fresh;
    stats.afterCloseBytes += fresh;
    if (s.wireLen > behind) {
      const next = (s.seq + s.wireLen) >>> 0;
      if (fromClient) c.toServerEnd = next;
      else c.toClientEnd = next;
    }
    return true;
  }
}
