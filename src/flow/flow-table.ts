/**
 * Follows the TCP connections of watched ports: finds the connection of each packet, decides
 * client and server, feeds both directions' reassembly and reports opens, data, gaps and closes.
 */
import type { Packet } from '../capture/packet.js';
import { endpointText, formatIPv4, formatIPv6 } from './addr.js';
import { DECODE, TCP_FLAG, TcpSegment, decodeTcp } from './decode.js';
import { DEFAULT_FLOW_LIMITS, type FlowLimits } from './limits.js';
import { StreamDirection, type ReassemblyContext } from './reassembly.js';
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
    if (e !== null && clientSyn && this.isNewConnection(e, seg)) {
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
    this.apply(e, this.fromClient, seg, p.tsUs);
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
      midstream: !(syn && srcIsClient),
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

  private apply(e: FlowEntry, fromClient: boolean, s: TcpSegment, tsUs: number): void {
    const d = fromClient ? e.toServer : e.toClient;
    const o = fromClient ? e.toClient : e.toServer;
    const f = s.flags;
    let seq = s.seq;
    if ((f & TCP_FLAG.SYN) !== 0) {
      d.syn(seq);
      // A SYN-ACK acknowledges the client's SYN: that fixes the client's start even if its SYN was missed.
      if ((f & TCP_FLAG.ACK) !== 0) o.syn((s.ack - 1) >>> 0);
      seq = (seq + 1) >>> 0;
    }
    // The ACK first: requests it proves complete reach the handler before this packet's reply.
    if ((f & TCP_FLAG.ACK) !== 0) {
      d.noteAck(s.ack);
      o.acked(s.ack, tsUs);
    }
    if (s.wireLen > 0) d.segment(seq, s.data, s.payloadOff, s.payloadLen, s.wireLen, tsUs);
    if ((f & TCP_FLAG.RST) !== 0) {
      d.flushAll(tsUs);
      o.flushAll(tsUs);
      return this.close(e, 'rst', tsUs);
    }
    if ((f & TCP_FLAG.FIN) !== 0) {
      d.fin((seq + s.wireLen) >>> 0, tsUs);
      if (o.finSeen && !d.hasHeld() && !o.hasHeld()) this.close(e, 'fin', tsUs);
    }
  }

  private close(e: FlowEntry, how: 'fin' | 'rst' | 'end', tsUs: number): void {
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
