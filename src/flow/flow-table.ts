/**
 * Follows the TCP connections of watched ports: finds the connection of each packet, decides
 * client and server, feeds both directions' reassembly and reports opens, data, gaps and closes.
 */
import type { Packet } from '../capture/packet.js';
import { TcpSegment } from './decode.js';
import * as decodeMod from './decode.js';
import type { FlowLimits } from './limits.js';
import * as limitsMod from './limits.js';
import { FlowEntry } from './flow-entry.js';
import * as flowEntryMod from './flow-entry.js';
import { ClosedFlows } from './closed-flows.js';
import { FlowIndex } from './flow-index.js';
import { IdleSweep } from './idle-sweep.js';
import * as idleSweepMod from './idle-sweep.js';
import type { ReassemblyContext } from './reassembly.js';
import * as reassemblyMod from './reassembly.js';
import { Wait, WaitQueue, type KeptPacket, type SegmentView } from './reorder.js';
import * as reorderMod from './reorder.js';
import type { FlowHandler, FlowStats } from './types.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { DECODE, TCP_FLAG, decodeTcp } = decodeMod;
const { DEFAULT_FLOW_LIMITS } = limitsMod;
const { LATE_SYN_BYTES, newEntry, tupleHash } = flowEntryMod;
const { idlestTenth } = idleSweepMod;
const { seqDiff } = reassemblyMod;
const { dataSeq, isReady } = reorderMod;

export type { FlowLimits } from './limits.js';

export interface FlowTableOptions {
  /** Ports of the servers to follow (Redis, proxies); other TCP traffic is only counted. */
  serverPorts: ReadonlySet<number>;
  limits?: Partial<FlowLimits>;
  /** Count into this object rather than a new one (shared with a KindSniffer in front of the handler). */
  stats?: FlowStats;
}

export function emptyFlowStats(): FlowStats {
  return {
    packets: 0, nonTcpPackets: 0, otherPortPackets: 0, malformedPackets: 0, unknownLinkTypes: {},
    ipFragments: 0, connections: 0, payloadBytes: 0, deliveredBytes: 0, duplicateBytes: 0, afterCloseBytes: 0, lateBytes: 0,
    outOfOrderSegments: 0, gaps: 0, gapBytes: 0, evictedConnections: 0, expiredConnections: 0, ignoredResets: 0,
    tlsConnections: 0, tlsBytes: 0, clusterBusConnections: 0, clusterBusBytes: 0, refusedConnections: 0,
  };
}

export class FlowTable {
  readonly stats: FlowStats;
  /** 1 at the index of each watched port. */
  private readonly watched = new Uint8Array(65536);
  /** Open connections by 4-tuple, and those closed lately. */
  private readonly conns = new FlowIndex();
  private readonly closed = new ClosedFlows();
  private readonly seg = new TcpSegment();
  private readonly ctx: ReassemblyContext;
  private nextId = 1;
  private openCount = 0;
  /** Connections waiting for bytes (./reorder.ts), by the end of their windows. */
  private readonly deadlines = new WaitQueue<{ e: FlowEntry; w: Wait }>();
  /** Latest capture time seen (packets or tick()). */
  private nowTs = -Infinity;
  /** Payload bytes kept over all waits (bounded by maxKeptBytesTotal). */
  private keptBytes = 0;
  /** Closes connections whose close was never captured (./idle-sweep.ts). */
  private readonly sweep: IdleSweep;

  constructor(opts: FlowTableOptions, handler: FlowHandler) {
    this.stats = opts.stats ?? emptyFlowStats();
    for (const port of opts.serverPorts) if (port >= 0 && port < 65536) this.watched[port] = 1;
    this.ctx = { stats: this.stats, handler, limits: { ...DEFAULT_FLOW_LIMITS, ...opts.limits } };
    this.sweep = new IdleSweep(this.ctx.limits);
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
    let e = this.conns.find(hash, seg);
    const clientSyn = (seg.flags & (TCP_FLAG.SYN | TCP_FLAG.ACK)) === TCP_FLAG.SYN;
    if (p.tsUs > this.nowTs) this.nowTs = p.tsUs;
    // Joining, its packets kept: bytes past a RST or FIN kept from the same side are of a later
    // connection on the 4-tuple (handshake not captured). The joined one ends first, or both
    // would be lost behind its close.
    if (e !== null && e.joining && seg.wireLen > 0 && e.wait !== null && e.wait.closedBefore(this.conns.fromClient, seg.seq)) {
      this.end(e, p.tsUs, true);
      e = null;
    }
    if (e !== null && clientSyn && this.isNewConnection(e, seg)) {
      this.end(e, p.tsUs, true);
      e = null;
    }
    if (e === null) {
      if (this.lateSyn(hash, seg)) return;
      e = this.create(hash, seg, p.tsUs);
      if (e === null) return;
      if (this.openCount > this.ctx.limits.maxOpenConnections) this.evictIdlest(e, p.tsUs);
    }
    e.lastTsUs = p.tsUs;
    e.idleSweeps = 0;
    // The common case first: no wait, no FIN, and an ACK of nothing beyond what was delivered.
    const f = seg.flags;
    const fromClient = this.conns.fromClient;
    const o = fromClient ? e.toClient : e.toServer;
    if (e.wait === null && !e.joining && (f & TCP_FLAG.FIN) === 0 && ((f & TCP_FLAG.ACK) === 0 || (o.started && seqDiff(seg.ack, o.nextSeq) <= 0))) {
      this.apply(e, fromClient, seg, p.tsUs);
    } else this.applyOrKeep(e, fromClient, seg, p.tsUs);
    if (this.nowTs >= this.deadlines.first()) this.expireWaits();
    if (this.nowTs >= this.sweep.nextTs) this.sweepIdle();
  }

  /** Closes the connections that IdleSweep finds idle too long; counted in expiredConnections. */
  private sweepIdle(): void {
    for (const e of this.sweep.expired(this.conns.all(), this.nowTs)) if (this.end(e, this.nowTs)) this.stats.expiredConnections++;
  }

  /** Too many open: closes the idlest tenth (but keep); counted in evictedConnections. */
  private evictIdlest(keep: FlowEntry, tsUs: number): void {
    for (const e of idlestTenth(this.conns.all(), keep)) if (this.end(e, tsUs)) this.stats.evictedConnections++;
  }

  /** End of input: holes become gaps, held bytes are delivered, every open connection closes. */
  finish(tsUs: number): void {
    const all = this.conns.all();
    all.sort((a, b) => a.conn.id - b.conn.id);
    for (const e of all) this.end(e, tsUs);
  }

  /**
   * Ends a connection as the capture ending would (or as its FINs did, with finIfSeen): kept
   * packets go through, holes become gaps, held bytes are delivered. False if it was closed already.
   */
  private end(e: FlowEntry, tsUs: number, finIfSeen = false): boolean {
    this.settle(e);
    if (e.closed) return false;
    e.toServer.flushAll(tsUs);
    e.toClient.flushAll(tsUs);
    this.close(e, finIfSeen && (e.toServer.finSeen || e.toClient.finSeen) ? 'fin' : 'end', tsUs);
    return true;
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

  /** A client SYN on a known 4-tuple starts a new connection unless it repeats this one's SYN. */
  private isNewConnection(e: FlowEntry, s: TcpSegment): boolean {
    if (!this.conns.fromClient) return true;
    // This connection's own SYN, captured late or sent again.
    if (e.toServer.synSeq === s.seq) return false;
    if (e.toServer.finSeen || e.toClient.finSeen) return true;
    // Followed from its data, then its SYN (captured late): the same connection, if the SYN
    // comes just before where the stream was joined. Still joining (its packets kept, the start
    // not decided), the first client byte kept stands for it: a SYN for a reused 4-tuple lies
    // past the old connection's bytes, and taking it as theirs would lose both connections.
    const d = e.toServer;
    if (d.synSeq !== -1) return d.synSeq !== s.seq;
    const first = d.started ? d.startSeq : e.wait === null ? -1 : e.wait.lowestSeq(true);
    if (first === -1) return false;
    const ahead = seqDiff(first, (s.seq + 1) >>> 0);
    return ahead < 0 || ahead > LATE_SYN_BYTES;
  }

  /** The SYN, or a SYN-ACK answering it, of a connection already closed: captured late, not a new one. */
  private lateSyn(hash: number, s: TcpSegment): boolean {
    if ((s.flags & TCP_FLAG.SYN) === 0) return false;
    const clientIsn = (s.flags & TCP_FLAG.ACK) !== 0 ? (s.ack - 1) >>> 0 : s.seq;
    if (!this.closed.closedWithIsn(hash, clientIsn)) return false;
    this.stats.duplicateBytes += s.payloadLen;
    return true;
  }

  private create(hash: number, s: TcpSegment, tsUs: number): FlowEntry | null {
    const f = s.flags;
    const syn = (f & TCP_FLAG.SYN) !== 0;
    // Bare ACKs and RSTs of connections not followed start nothing. A FIN does (it may have been
    // captured ahead of the connection's last data), unless its connection has just closed.
    if (!syn && s.wireLen === 0 && ((f & TCP_FLAG.FIN) === 0 || this.closed.closedLately(hash))) return null;
    if ((f & TCP_FLAG.RST) !== 0) return null;
    // Data of a connection that closed (a retransmission, bytes in flight at a RST) is its own.
    if (!syn && this.closed.absorb(hash, s, this.stats)) return null;
    const srcIsClient = syn ? (f & TCP_FLAG.ACK) === 0 : this.sourceIsClient(s.srcPort, s.dstPort);
    const e = newEntry(hash, s, srcIsClient, this.nextId++, tsUs, this.ctx);
    e.joining = !syn;
    this.conns.add(e, srcIsClient);
    this.stats.connections++;
    this.openCount++;
    this.ctx.handler.onOpen(e.conn, tsUs);
    return e;
  }

  /** Without a handshake: the watched port is the server's; if both are watched, the lower one. */
  private sourceIsClient(srcPort: number, dstPort: number): boolean {
    const srcWatched = this.watched[srcPort] === 1;
    const dstWatched = this.watched[dstPort] === 1;
    if (srcWatched !== dstWatched) return dstWatched;
    return dstPort <= srcPort;
  }

  /** A packet of a known connection: applied now if it is ready, else kept (./reorder.ts). */
  private applyOrKeep(e: FlowEntry, fromClient: boolean, s: SegmentView, tsUs: number): void {
    const d = fromClient ? e.toServer : e.toClient;
    const o = fromClient ? e.toClient : e.toServer;
    const finOfO = (s.flags & TCP_FLAG.ACK) !== 0 && !e.joining && o.finNotCaptured(s.ack, (s.flags & TCP_FLAG.FIN) !== 0);
    if (e.wait === null) {
      if (!e.joining && isReady(d, o, s, fromClient, null)) {
        this.apply(e, fromClient, s, tsUs);
        // The last ACK acknowledged a FIN not captured: nothing else will close the connection.
        if (finOfO && !e.closed && e.wait === null && d.done && o.done) this.close(e, 'fin', tsUs);
        return;
      }
      e.wait = new Wait(tsUs);
      this.deadlines.push(tsUs + this.ctx.limits.reorderWindowUs, { e, w: e.wait });
    }
    const w = e.wait;
    w.keep(fromClient, s, tsUs);
    this.keptBytes += s.payloadLen;
    // Joining, only a SYN is applied; keeping another packet makes no kept one ready.
    if (!e.joining || (s.flags & TCP_FLAG.SYN) !== 0) this.drain(e);
    const limits = this.ctx.limits;
    if (e.wait !== null && (w.kept.length > limits.maxKeptPackets || w.keptBytes > limits.maxKeptBytes)) this.settle(e);
    if (this.keptBytes > limits.maxKeptBytesTotal) this.settleOldest();
  }

  /** Applies every kept packet that has become ready, in capture order, until none is. */
  private drain(e: FlowEntry): void {
    const w = e.wait!;
    let lastTs = w.sinceTs;
    for (let i = 0; i < w.kept.length && !e.closed; ) {
      const k = w.kept[i]!;
      const d = k.fromClient ? e.toServer : e.toClient;
      const o = k.fromClient ? e.toClient : e.toServer;
      if ((e.joining && (k.flags & TCP_FLAG.SYN) === 0) || !isReady(d, o, k, k.fromClient, w)) {
        i++;
        continue;
      }
      this.release(w, i);
      this.apply(e, k.fromClient, k, k.tsUs);
      lastTs = Math.max(lastTs, k.tsUs);
      i = 0; // an applied packet may make an earlier kept one ready
    }
    if (w.kept.length > 0 && !e.closed) return;
    for (let i = w.kept.length - 1; i >= 0; i--) this.stats.duplicateBytes += this.release(w, i).payloadLen; // behind a reset: TCP discards them too
    e.wait = null;
    if (!e.closed && e.toServer.done && e.toClient.done) this.close(e, 'fin', lastTs);
  }

  private release(w: Wait, i: number): KeptPacket {
    const k = w.take(i);
    this.keptBytes -= k.payloadLen;
    return k;
  }

  /**
   * Ends e's wait: what blocks the first kept packet is declared missing, and so on, until every
   * kept packet is applied. Each round declares a hole (the stream moves past it), gives up on a
   * direction never seen, or applies the packet as it is.
   */
  private settle(e: FlowEntry): void {
    while (e.wait !== null) {
      const w = e.wait;
      const k = w.kept[0]!;
      if (!this.unblock(e, w, k)) {
        // Nothing to declare (or declaring moved nothing: bytes past a FIN): it goes as it is.
        this.release(w, 0);
        this.apply(e, k.fromClient, k, k.tsUs);
      }
      this.drain(e);
    }
  }

  /** Declares missing what keeps packet k waiting; false when that moved nothing. */
  private unblock(e: FlowEntry, w: Wait, k: KeptPacket): boolean {
    const d = k.fromClient ? e.toServer : e.toClient;
    const o = k.fromClient ? e.toClient : e.toServer;
    if (e.joining) {
      e.joining = false;
      return true;
    }
    if ((k.flags & TCP_FLAG.ACK) !== 0 && (k.flags & TCP_FLAG.SYN) === 0) {
      if (o.finNotCaptured(k.ack, (k.flags & TCP_FLAG.FIN) !== 0)) return true;
      if (!o.seen && !o.silent) {
        o.silent = true;
        return true;
      }
      const missing = o.started ? o.missingUpTo(k.ack) : null;
      if (missing !== null) {
        const before = o.nextSeq;
        // Bytes of o held past the ACK were sent after this packet: it goes first, then they.
        o.declareLost(missing, w.sinceTs, true);
        if (isReady(d, o, k, k.fromClient, w)) {
          this.release(w, 0);
          this.apply(e, k.fromClient, k, k.tsUs);
        }
        o.deliverHeld();
        if (o.nextSeq !== before || w.kept[0] !== k) return true;
      }
    }
    if ((k.wireLen > 0 || (k.flags & TCP_FLAG.FIN) !== 0) && d.started && seqDiff(dataSeq(k), d.nextSeq) > 0) {
      const before = d.nextSeq;
      d.declareLost(dataSeq(k), w.sinceTs);
      return d.nextSeq !== before;
    }
    return false;
  }

  /** Too many bytes kept over all connections: the oldest wait ends first. */
  private settleOldest(): void {
    while (this.keptBytes > this.ctx.limits.maxKeptBytesTotal && this.deadlines.size > 0) {
      const { e, w } = this.deadlines.pop();
      if (e.wait === w) this.settle(e);
    }
  }

  private apply(e: FlowEntry, fromClient: boolean, s: SegmentView, tsUs: number): void {
    const d = fromClient ? e.toServer : e.toClient;
    const o = fromClient ? e.toClient : e.toServer;
    const { flags, seq, ack, wireLen } = s;
    // A RST out of the window: the receiver ignores it, and so does the segment.
    if ((flags & TCP_FLAG.RST) !== 0 && !d.resetInWindow(seq)) {
      this.stats.ignoredResets++;
      return;
    }
    if ((flags & TCP_FLAG.ACK) !== 0) {
      d.noteAck(ack);
      // Seen from its SYN, d's packets at its first byte acknowledge the peer's SYN: that fixes
      // where the peer starts, even if its SYN-ACK comes later in the file.
      if (!o.started && d.synSeq !== -1 && (flags & TCP_FLAG.SYN) === 0 && seq === d.startSeq) o.syn((ack - 1) >>> 0);
    }
    d.seen = true;
    if (!d.started) d.seqHint = seq;
    let at = seq;
    if ((flags & TCP_FLAG.SYN) !== 0) {
      e.joining = false;
      d.syn(seq);
      // A SYN-ACK acknowledges the client's SYN: that fixes the client's start even if its SYN was missed.
      if ((flags & TCP_FLAG.ACK) !== 0) {
        o.syn((ack - 1) >>> 0);
        e.conn.accepted = true;
      }
      at = (seq + 1) >>> 0;
    }
    if (wireLen > 0) d.segment(at, s.data, s.payloadOff, s.payloadLen, wireLen, tsUs);
    if ((flags & TCP_FLAG.RST) !== 0) {
      d.flushAll(tsUs);
      o.flushAll(tsUs);
      return this.close(e, 'rst', tsUs, fromClient ? 1 : 2);
    }
    if ((flags & TCP_FLAG.FIN) !== 0) {
      d.fin((at + wireLen) >>> 0);
      if (e.wait === null && d.done && o.done) this.close(e, 'fin', tsUs);
    }
  }

  /** Ends the waits whose reorder window has passed in capture time. */
  private expireWaits(): void {
    while (this.deadlines.first() <= this.nowTs) {
      const { e, w } = this.deadlines.pop();
      if (e.wait === w) this.settle(e);
    }
  }

  /**
   * The capture clock moved on without packets (a live capture gone quiet): waits whose window
   * has passed by `nowUs` end.
   */
  tick(nowUs: number): void {
    if (nowUs > this.nowTs) this.nowTs = nowUs;
    if (this.nowTs >= this.deadlines.first()) this.expireWaits();
    if (this.nowTs >= this.sweep.nextTs) this.sweepIdle();
  }

  /** resetBy: see ClosedFlows.remember. */
  private close(e: FlowEntry, how: 'fin' | 'rst' | 'end', tsUs: number, resetBy = 0): void {
    if (e.closed) return;
    // Packets still kept (behind a reset) are discarded by drain().
    e.closed = true;
    this.conns.remove(e);
    this.closed.remember(e, how !== 'end', resetBy);
    this.openCount--;
    this.ctx.handler.onClose(e.conn, tsUs, how);
  }
}
