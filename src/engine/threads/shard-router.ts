/**
 * Which shard a packet belongs to: each shard sees every packet of its connections and nothing
 * else. What is no TCP segment (other protocols, fragments, damage) goes to shard 0, which
 * counts it once.
 */
import type { Packet } from '../../capture/packet.js';
import { TcpSegment } from '../../flow/decode.js';
import * as decodeMod from '../../flow/decode.js';
import * as flowEntryMod from '../../flow/flow-entry.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { DECODE, decodeTcp } = decodeMod;
const { ipText, tupleHash } = flowEntryMod;

/**
 * Capture time between the clock records a shard gets from other shards' packets: connections
 * age (reorder waits of 100 ms, idle sweeps) as one thread ages them.
 */
export const TICK_US = 1000;

/**
 * Connections whose shard is remembered; past it a new connection's shard is its hash's. Every
 * reader of the same packets makes the same choices, so shards that each read a file agree.
 */
const MAX_ASSIGNED = 1 << 20;

/**
 * Which shard owns each packet's connection: in turn, as connections are first seen, so a
 * handful of connections still spread evenly, which a hash does not promise (63/37 of the
 * commands on redis-benchmark's 100 connections; giving each new connection to the shard with
 * the fewest bytes so far was worse, 73/27, as a connection's load comes after its first
 * packet). Both directions and every later packet follow the first. Only link, IP and TCP
 * headers are read.
 */
export class ShardRouter {
  /** The last packet's headers, when it was a TCP segment (tcp true). */
  readonly seg = new TcpSegment();
  tcp = false;
  /** The last TCP packet's connection hash. */
  hash = 0;
  private readonly owner = new Map<number, number>();
  private next = 0;

  constructor(readonly shards: number) {}

  shardOf(p: Packet): number {
    this.tcp = decodeTcp(p, this.seg) === DECODE.TCP;
    if (!this.tcp) return 0;
    const h = (this.hash = tupleHash(this.seg));
    let k = this.owner.get(h);
    return k === undefined ? this.assign(h) : k;
  }

  private assign(h: number): number {
    if (this.owner.size >= MAX_ASSIGNED) return ((Math.imul(h, 0x9e3779b1) >>> 0) >>> 16) % this.shards;
    const k = this.next;
    this.next = (k + 1) % this.shards;
    this.owner.set(h, k);
    return k;
  }
}

/** Connections of other shards whose server a shard is told of (bounded, as the analyzer's own tables are). */
const MAX_OTHER_CONNECTIONS = 1 << 16;

/**
 * What a shard learns from other shards' packets: the server endpoint of each of their
 * connections, once (a proxy's IP, the port an IP serves: facts that span connections).
 */
export class OtherServers {
  private readonly seen = new Set<number>();
  private readonly watched = new Uint8Array(65536);

  constructor(ports: readonly number[], private readonly onServer: (ip: string, port: number) => void) {
    for (const port of ports) this.watched[port] = 1;
  }

  /** After router.shardOf() gave another shard. */
  packet(router: ShardRouter): void {
    if (!router.tcp || this.seen.has(router.hash) || this.seen.size >= MAX_OTHER_CONNECTIONS) return;
    const s = router.seg;
    const toServer = this.watched[s.dstPort] === 1;
    if (!toServer && this.watched[s.srcPort] === 0) return;
    this.seen.add(router.hash);
    const v6 = s.ipVersion === 6;
    if (toServer) this.onServer(ipText(v6, s.d0, s.d1, s.d2, s.d3), s.dstPort);
    else this.onServer(ipText(v6, s.s0, s.s1, s.s2, s.s3), s.srcPort);
  }
}
