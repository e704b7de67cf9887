/**
 * Follows the TCP connections of watched ports: finds the connection of each packet, decides
 * client and server, feeds both directions' reassembly and reports opens, data, gaps and closes.
 */
import type { Packet } from '../capture/packet.js';
import { endpointText, formatIPv4, formatIPv6 } from './addr.js';
import { DECODE, TCP_FLAG, TcpSegment, decodeTcp } from './decode.js';
import { DEFAULT_FLOW_LIMITS, type FlowLimits } from './limits.js';
import { MAX_ACK_AHEAD, StreamDirection, type ReassemblyContext } from './reassembly.js';
import { Wait, type SegmentView } from './reorder.js';
import type { FlowHandler, FlowStats, TcpConn } from './types.js';

export type { FlowLimits } from './limits.js';

export interface FlowTableOptions {
  /** Ports of the servers to follow (Redis, proxies); other TCP traffic is only counted. */
  serverPorts: ReadonlySet<number>;
  limits?: Partial<FlowLimits>;
}

/** One followed connection: its endpoints as numbers (for matching) and its two directions. */
class FlowEntry {
  /** Next entry with the same hash. */
  next: FlowEntry | null = null;
  /** Capture time of the last packet, for evicting the idlest when too many are open. */
  lastTsUs = 0;
  /** Bytes shown sent have not arrived yet: see ./reorder.ts. */
  wait: Wait | null = null;
  closed = false;
  readonly toServer: StreamDirection;
  readonly toClient: StreamDirection;

  constructor(
    readonly hash: number,
    readonly conn: TcpConn,
    readonly v6: boolean,
    readonly c0: number, readonly c1: number, readonly c2: number, readonly c3: number, readonly cPort: number,
    readonly s0: number, readonly s1: number, readonly s2: number, readonly s3: number, readonly sPort: number,
    ctx: ReassemblyContext,
  ) {
    this.toServer = new StreamDirection(ctx, conn, true);
    this.toClient = new StreamDirection(ctx, conn, false);
    this.toServer.peer = this.toClient;
    this.toClient.peer = this.toServer;
  }
}

export function emptyFlowStats(): FlowStats {
  return {
    packets: 0, nonTcpPackets: 0, otherPortPackets: 0, malformedPackets: 0, unknownLinkTypes: {},
    ipFragments: 0, connections: 0, payloadBytes: 0, deliveredBytes: 0, duplicateBytes: 0,
    outOfOrderSegments: 0, gaps: 0, gapBytes: 0, evictedConnections: 0,
  };
}

export class FlowTable {
  readonly stats: FlowStats = emptyFlowStats();
  /** 1 at the index of each watched port. */
  private readonly watched = new Uint8Array(65536);
  /** Connections by a direction-independent hash of their 4-tuple; collisions chain via `next`. */
  private readonly index = new Map<number, FlowEntry>();
  private readonly seg = new TcpSegment();
  private readonly ctx: ReassemblyContext;
  private nextId = 1;
  private openCount = 0;
  /** Set by find(): whether the packet found goes from client to server. */
  private fromClient = false;
  /** Connections waiting for bytes (./reorder.ts), the earliest end of their windows, and the latest capture time seen. */
  private readonly waiting = new Set<FlowEntry>();
  private nextDeadline = Infinity;
  private nowTs = -Infinity;

  constructor(opts: FlowTableOptions, handler: FlowHandler) {
    for (const port of opts.serverPorts) if (port >= 0 && port < 65536) this.watched[port] = 1;
    this.ctx = { stats: this.stats, handler, limits: { ...DEFAULT_FLOW_LIMITS, ...opts.limits } };
  }

  openConnections(): number {
    return this.openCount;
  }

  packet(p: Packet): void {
    const stats = this.stats;
    const seg = this.seg;
    stats.packets++;
    const r = decodeTcp(p, seg);
    if (r !== DECODE.TCP) return this.notTcp(r, p.linkType);
    if (this.watched[seg.srcPort] === 0 && this.watched[seg.dstPort] === 0) {
      stats.otherPortPackets++;
      return;
    }
    stats.payloadBytes += seg.payloadLen;
    const hash = tupleHash(seg);
    let e = this.find(hash, seg);
    const clientSyn = (seg.flags & (TCP_FLAG.SYN | TCP_FLAG.ACK)) === TCP_FLAG.SYN;
    if (p.tsUs > this.nowTs) this.nowTs = p.tsUs;
    if (e !== null && clientSyn && this.isNewConnection(e, seg)) {
      this.settle(e);
      e.toServer.flushAll(p.tsUs);
      e.toClient.flushAll(p.tsUs);
      this.close(e, e.toServer.finSeen || e.toClient.finSeen ? 'fin' : 'end', p.tsUs);
      e = null;
    }
    if (e === null) {
      e = this.create(hash, seg, p.tsUs);
      if (e === null) return;
      if (this.openCount > this.ctx.limits.maxOpenConnections) this.evictIdlest(e, p.tsUs);
    }
    e.lastTsUs = p.tsUs;
    if (e.wait === null) this.apply(e, this.fromClient, seg, p.tsUs);
    else this.route(e, this.fromClient, seg, p.tsUs);
    if (this.nowTs >= this.nextDeadline) this.expireWaits();
  }

  /** Every open connection, in the order they were first seen. */
  private allOpen(): FlowEntry[] {
    const all: FlowEntry[] = [];
    for (const head of this.index.values()) for (let e: FlowEntry | null = head; e !== null; e = e.next) all.push(e);
    return all;
  }

  /**
   * Over the limit (a SYN flood, FINs never captured in a long run): the idlest tenth of the
   * open connections are closed as at the end of a capture, so their pending requests become
   * unanswered; counted in evictedConnections. A tenth at a time keeps the sort rare.
   */
  private evictIdlest(keep: FlowEntry, tsUs: number): void {
    const all = this.allOpen().filter((e) => e !== keep);
    all.sort((a, b) => a.lastTsUs - b.lastTsUs);
    const n = Math.max(1, Math.floor(all.length / 10));
    for (let i = 0; i < n && i < all.length; i++) {
      const e = all[i]!;
      this.settle(e);
      if (e.closed) continue;
      e.toServer.flushAll(tsUs);
      e.toClient.flushAll(tsUs);
      this.close(e, 'end', tsUs);
      this.stats.evictedConnections++;
    }
  }

  /** End of input: holes become gaps, held bytes are delivered, every open connection closes. */
  finish(tsUs: number): void {
    const all = this.allOpen();
    all.sort((a, b) => a.conn.id - b.conn.id);
    for (const e of all) {
      this.settle(e);
      if (e.closed) continue;
      e.toServer.flushAll(tsUs);
      e.toClient.flushAll(tsUs);
      this.close(e, 'end', tsUs);
    }
  }

  private notTcp(r: number, linkType: number): void {
    const stats = this.stats;
    if (r === DECODE.MALFORMED) stats.malformedPackets++;
    else if (r === DECODE.FRAGMENT) stats.ipFragments++;
    else {
      stats.nonTcpPackets++;
      if (r === DECODE.UNKNOWN_LINK) stats.unknownLinkTypes[linkType] = (stats.unknownLinkTypes[linkType] ?? 0) + 1;
    }
  }

  private find(hash: number, s: TcpSegment): FlowEntry | null {
    const v6 = s.ipVersion === 6;
    for (let e = this.index.get(hash) ?? null; e !== null; e = e.next) {
      if (e.v6 !== v6) continue;
      if (e.cPort === s.srcPort && e.sPort === s.dstPort && e.c3 === s.s3 && e.s3 === s.d3 &&
          (!v6 || (e.c0 === s.s0 && e.c1 === s.s1 && e.c2 === s.s2 && e.s0 === s.d0 && e.s1 === s.d1 && e.s2 === s.d2))) {
        this.fromClient = true;
        return e;
      }
      if (e.sPort === s.srcPort && e.cPort === s.dstPort && e.s3 === s.s3 && e.c3 === s.d3 &&
          (!v6 || (e.s0 === s.s0 && e.s1 === s.s1 && e.s2 === s.s2 && e.c0 === s.d0 && e.c1 === s.d1 && e.c2 === s.d2))) {
        this.fromClient = false;
        return e;
      }
    }
    return null;
  }

  /** A client SYN on a known 4-tuple starts a new connection unless it repeats this one's SYN. */
  private isNewConnection(e: FlowEntry, s: TcpSegment): boolean {
    if (!this.fromClient) return true;
    if (e.toServer.finSeen || e.toClient.finSeen) return true;
    return e.toServer.synSeq !== s.seq;
  }

  private create(hash: number, s: TcpSegment, tsUs: number): FlowEntry | null {
    const f = s.flags;
    const syn = (f & TCP_FLAG.SYN) !== 0;
    // Packets without SYN or payload (ACKs, FINs, RSTs of connections not followed) start nothing.
    if (!syn && s.wireLen === 0) return null;
    if ((f & TCP_FLAG.RST) !== 0) return null;
    const srcIsClient = syn ? (f & TCP_FLAG.ACK) === 0 : this.sourceIsClient(s.srcPort, s.dstPort);
    const v6 = s.ipVersion === 6;
    const src = ipText(v6, s.s0, s.s1, s.s2, s.s3);
    const dst = ipText(v6, s.d0, s.d1, s.d2, s.d3);
    const [clientIp, clientPort, serverIp, serverPort] = srcIsClient
      ? [src, s.srcPort, dst, s.dstPort]
      : [dst, s.dstPort, src, s.srcPort];
    const conn: TcpConn = {
      id: this.nextId++,
      clientIp, clientPort, serverIp, serverPort,
      client: endpointText(clientIp, clientPort, v6),
      server: endpointText(serverIp, serverPort, v6),
      // A SYN-ACK fixes the client's start too (its ack is the client's ISN + 1): a capture that
      // has it before the client's SYN (reordered) or without it still saw the stream begin.
      midstream: !syn,
      firstTsUs: tsUs,
      handlerState: null,
    };
    const e = srcIsClient
      ? new FlowEntry(hash, conn, v6, s.s0, s.s1, s.s2, s.s3, s.srcPort, s.d0, s.d1, s.d2, s.d3, s.dstPort, this.ctx)
      : new FlowEntry(hash, conn, v6, s.d0, s.d1, s.d2, s.d3, s.dstPort, s.s0, s.s1, s.s2, s.s3, s.srcPort, this.ctx);
    e.next = this.index.get(hash) ?? null;
    this.index.set(hash, e);
    this.stats.connections++;
    this.openCount++;
    this.fromClient = srcIsClient;
    this.ctx.handler.onOpen(conn, tsUs);
    return e;
  }

  /** Without a handshake: the watched port is the server's; if both are watched, the lower one. */
  private sourceIsClient(srcPort: number, dstPort: number): boolean {
    const srcWatched = this.watched[srcPort] === 1;
    const dstWatched = this.watched[dstPort] === 1;
    if (srcWatched !== dstWatched) return dstWatched;
    return dstPort <= srcPort;
  }

  /** A packet of a known connection: applied now, or kept while the connection waits. */
  private route(e: FlowEntry, fromClient: boolean, s: SegmentView, tsUs: number): void {
    if (e.closed) {
      // Kept behind a reset that closed the connection: TCP discards these too.
      this.stats.duplicateBytes += s.payloadLen;
      return;
    }
    const w = e.wait;
    if (w === null) return this.apply(e, fromClient, s, tsUs);
    const { flags, seq, ack, wireLen } = s;
    if ((flags & TCP_FLAG.RST) !== 0) {
      // A reset ends everything: what was kept goes first, then the reset.
      this.settle(e);
      return this.route(e, fromClient, s, tsUs);
    }
    if ((fromClient ? e.toServer : e.toClient) === w.holed) {
      if (!w.holed.started && wireLen > 0 && seqDiff(seq, w.holeTo) >= 0) {
        // The first bytes of a direction joined mid-stream, all after what the kept packets
        // acknowledged: those answer bytes sent before the capture, and go first.
        this.endWait(e, false);
        return this.route(e, fromClient, s, tsUs);
      }
      // It goes on unless it does not reach the hole and acknowledges kept bytes: then it too
      // came out of order, and waits its turn.
      const kept = fromClient ? e.toClient : e.toServer;
      const fills = wireLen > 0 && (!w.holed.started || seqDiff(seq, w.holed.nextSeq) <= 0);
      if (fills || (flags & TCP_FLAG.ACK) === 0 || kept.missingUpTo(ack) === null) {
        this.apply(e, fromClient, s, tsUs);
        if (e.wait === w && w.holed.reached(w.holeTo)) this.endWait(e, false);
        return;
      }
    }
    w.keep(fromClient, s, tsUs);
    const limits = this.ctx.limits;
    if (w.kept.length > limits.maxKeptPackets || w.keptBytes > limits.maxKeptBytes) this.endWait(e, true);
  }

  private apply(e: FlowEntry, fromClient: boolean, s: SegmentView, tsUs: number): void {
    const d = fromClient ? e.toServer : e.toClient;
    const o = fromClient ? e.toClient : e.toServer;
    const { flags, seq, ack, wireLen } = s;
    if ((flags & TCP_FLAG.ACK) !== 0) {
      // The ACK vouches for bytes of the other direction not delivered yet: this packet (a
      // reply, say) waits for them. While already waiting, what it vouches for is kept. Of a
      // direction not started (joined mid-stream) nothing is known: an ACK that is news may
      // be of bytes captured later. A SYN-ACK's ACK is of the client's SYN, started below.
      const missing = e.wait !== null || (flags & TCP_FLAG.SYN) !== 0 ? null
        : o.started ? o.missingUpTo(ack)
        : d.ackValid && !seqAfter(ack, d.ackSent) ? null : ack;
      d.noteAck(ack);
      if (missing !== null) {
        this.startWait(e, o, missing, tsUs).keep(fromClient, s, tsUs);
        return;
      }
    }
    let dataSeq = seq;
    if ((flags & TCP_FLAG.SYN) !== 0) {
      d.syn(seq);
      // A SYN-ACK acknowledges the client's SYN: that fixes the client's start even if its SYN was missed.
      if ((flags & TCP_FLAG.ACK) !== 0) o.syn((ack - 1) >>> 0);
      dataSeq = (seq + 1) >>> 0;
    }
    if (wireLen > 0) d.segment(dataSeq, s.data, s.payloadOff, s.payloadLen, wireLen, tsUs);
    if ((flags & TCP_FLAG.RST) !== 0) {
      d.flushAll(tsUs);
      o.flushAll(tsUs);
      return this.close(e, 'rst', tsUs);
    }
    if ((flags & TCP_FLAG.FIN) !== 0) {
      d.fin((dataSeq + wireLen) >>> 0);
      if (d.missingBeforeFin()) {
        if (e.wait === null) this.startWait(e, d, d.finSeq, tsUs);
        else if (e.wait.holed === d) e.wait.holeTo = d.finSeq;
      } else if (e.wait === null && d.done && o.done) this.close(e, 'fin', tsUs);
    }
  }

  private startWait(e: FlowEntry, holed: StreamDirection, holeTo: number, tsUs: number): Wait {
    const w = new Wait(holed, holeTo, tsUs);
    e.wait = w;
    this.waiting.add(e);
    this.nextDeadline = Math.min(this.nextDeadline, tsUs + this.ctx.limits.reorderWindowUs);
    return w;
  }

  /**
   * Ends e's wait: the hole filled, or (`declare`) it is a gap now. Kept packets then go
   * through in their order; one of them may start a new wait.
   */
  private endWait(e: FlowEntry, declare: boolean): void {
    const w = e.wait!;
    e.wait = null;
    this.waiting.delete(e);
    if (declare) w.holed.declareLost(w.holeTo, w.sinceTs);
    for (const k of w.kept) this.route(e, k.fromClient, k, k.tsUs);
    if (!e.closed && e.wait === null && e.toServer.done && e.toClient.done) this.close(e, 'fin', w.kept.at(-1)?.tsUs ?? w.sinceTs);
  }

  /** Ends every wait of e, declaring its holes gaps: the connection is ending. */
  private settle(e: FlowEntry): void {
    while (e.wait !== null) this.endWait(e, true);
  }

  /** Ends the waits whose reorder window has passed in capture time. */
  private expireWaits(): void {
    const window = this.ctx.limits.reorderWindowUs;
    let next = Infinity;
    for (const e of [...this.waiting]) {
      const w = e.wait;
      if (w === null) continue;
      if (w.sinceTs + window <= this.nowTs) this.endWait(e, true);
    }
    for (const e of this.waiting) next = Math.min(next, e.wait!.sinceTs + window);
    this.nextDeadline = next;
  }

  private close(e: FlowEntry, how: 'fin' | 'rst' | 'end', tsUs: number): void {
    if (e.closed) return;
    e.closed = true;
    if (e.wait !== null) {
      e.wait = null;
      this.waiting.delete(e);
    }
    this.unlink(e);
    this.openCount--;
    this.ctx.handler.onClose(e.conn, tsUs, how);
  }

  private unlink(e: FlowEntry): void {
    const head = this.index.get(e.hash);
    if (head === e) {
      if (e.next === null) this.index.delete(e.hash);
      else this.index.set(e.hash, e.next);
      return;
    }
    for (let p = head ?? null; p !== null; p = p.next) {
      if (p.next === e) {
        p.next = e.next;
        return;
      }
    }
  }
}

function ipText(v6: boolean, w0: number, w1: number, w2: number, w3: number): string {
  return v6 ? formatIPv6(w0, w1, w2, w3) : formatIPv4(w3);
}

/** Whether sequence number a is after b (and not absurdly far: see MAX_ACK_AHEAD). */
function seqAfter(a: number, b: number): boolean {
  const d = (a - b) | 0;
  return d > 0 && d <= MAX_ACK_AHEAD;
}

function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** Hash of one endpoint (address words and port). */
function endpointHash(w0: number, w1: number, w2: number, w3: number, port: number): number {
  let h = Math.imul(w3 ^ Math.imul(port, 0x9e3779b1), 0x85ebca6b);
  h ^= Math.imul(w0, 0xc2b2ae35) ^ Math.imul(w1, 0x27d4eb2f) ^ Math.imul(w2, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return h ^ (h >>> 13);
}

/** Same value for both directions (sum of endpoint hashes), kept in V8's small-integer range. */
function tupleHash(s: TcpSegment): number {
  return (endpointHash(s.s0, s.s1, s.s2, s.s3, s.srcPort) + endpointHash(s.d0, s.d1, s.d2, s.d3, s.dstPort)) & 0x3fffffff;
}
