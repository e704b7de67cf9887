import type { TcpConn } from '../flow/types.js';
import * as constantsMod from '../resp/constants.js';
import type { ReplyFrame } from '../resp/types.js';
import { BigValues } from './big-values.js';
import * as bigValuesMod from './big-values.js';
import * as commandInfoMod from './command-info.js';
import type { CommandSpec } from './command-spec.js';
import { CommandStats } from './command-stats.js';
import { ErrorCodes } from './error-codes.js';
import * as errorCodesMod from './error-codes.js';
import { SlotCounts } from './hash-slots.js';
import { LargestN } from './bounded.js';
import { PeerStats, type ConnPeers } from './peer-stats.js';
import { ReplicationStats } from './replication-stats.js';
import { ServerCommands } from './server-commands.js';
import * as slowRequestsMod from './slow-requests.js';
import { Timeline } from './timeline.js';
import { TopKeys } from './top-keys.js';
import type { TrackedRequest } from './tracked-request.js';
import type { UnpairedKind } from './session.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { RESP_TYPES } = constantsMod;
const { severalKeys } = bigValuesMod;
const { requestChannels, requestKeys } = commandInfoMod;
const { errorCode } = errorCodesMod;
const { slower } = slowRequestsMod;

export interface StatsOptions {
  /** Requests at or above this latency are slow (µs). */
  slowUs: number;
  /** Distinct keys counted exactly before Space-Saving takes over. */
  maxKeys: number;
  /** Slowest requests kept. */
  keepSlow: number;
  /** Biggest values kept. */
  keepBig: number;
  /** Redis Cluster given (--cluster): hot keys are also counted per node. */
  cluster?: boolean;
}

/** Nodes whose hot keys are counted apart (--cluster), and keys counted exactly per node. */
const MAX_NODES = 256;
const NODE_KEYS = 1000;

export interface SlowRequest {
  tsUs: number;
  client: string;
  server: string;
  db: number | null;
  /** The first arguments as kept (previews of at most --max-arg-bytes). */
  args: string[];
  /** The wire size of each of `args`: a preview's full size. */
  argLens: number[];
  argc: number;
  latencyUs: number;
  blocking: boolean;
}

export interface Counters {
  connections: number;
  commands: number;
  /** Replies paired with a request. */
  replies: number;
  errors: number;
  unanswered: number;
  noreply: number;
  pushes: number;
  pubsubMessages: number;
  monitorLines: number;
  unexpectedReplies: number;
  violations: number;
  slowRequests: number;
  /** Key positions past the arguments the decoder kept (counted, not named). */
  unnamedKeys: number;
  requestBytes: number;
  replyBytes: number;
  /** Requests and replies counted whole although bytes inside their values were not captured. */
  partialValues: number;
  /** Requests given up, counted unanswered, because their connection had more awaiting replies than it keeps. */
  pendingOverflows: number;
}

function zeroCounters(): Counters {
  return {
    connections: 0, commands: 0, replies: 0, errors: 0, unanswered: 0, noreply: 0, pushes: 0,
    pubsubMessages: 0, monitorLines: 0, unexpectedReplies: 0, violations: 0, slowRequests: 0,
    unnamedKeys: 0, requestBytes: 0, replyBytes: 0, partialValues: 0, pendingOverflows: 0,
  };
}

/** Key prefix as redis-faina groups keys: up to and including the first ':'. */
export function keyPrefix(key: string): string {
  const i = key.indexOf(':');
  return i < 0 ? '(no prefix)' : key.slice(0, i + 1);
}

/** Bytes of a reply's value: the string length for bulk kinds, otherwise its wire size. */
function replyValueBytes(reply: ReplyFrame): number {
  const t = reply.type;
  return t === RESP_TYPES.BLOB_STRING || t === RESP_TYPES.VERBATIM_STRING || t === RESP_TYPES.BLOB_ERROR ? Math.max(0, reply.count) : reply.wireBytes;
}

/** Position of the longest argument that is neither the command name nor a key (keyPos[0..nKeys)); 0 if none. */
function largestNonKey(argLens: readonly number[], keyPos: readonly number[], nKeys: number, marks: Uint8Array): number {
  for (let i = 0; i < nKeys; i++) if (keyPos[i]! < marks.length) marks[keyPos[i]!] = 1;
  let at = 0;
  let biggest = 0;
  const n = Math.min(argLens.length, marks.length);
  for (let i = 1; i < n; i++) {
    if (argLens[i]! > biggest && marks[i] === 0) {
      biggest = argLens[i]!;
      at = i;
    }
  }
  for (let i = 0; i < nKeys; i++) if (keyPos[i]! < marks.length) marks[keyPos[i]!] = 0;
  return at;
}

/** MSET k1 v1 k2 v2: each key is followed by its own value (the key spec steps over it). */
function valuesFollowKeys(spec: CommandSpec | null): boolean {
  return spec !== null && spec.keys.length === 1 && spec.keys[0]!.keyStep === 2;
}

/** Wire size of a key's own name and value (MSET's), as far as the lengths were kept. */
function ownBytes(argLens: readonly number[], p: number): number {
  return (argLens[p] ?? 0) + (argLens[p + 1] ?? 0);
}

/** Whether argument p names a key known by its name: kept, and not cut by a gap (a snap length). */
function nameKnown(f: TrackedRequest['frame'], p: number): boolean {
  return p < f.args.length && !(f.missingBytes > 0 && f.args[p]!.length < f.argLens[p]!);
}

/** Every aggregator, fed completed requests; all bounded in memory. */
export class Stats {
  counters = zeroCounters();
  readonly commands = new CommandStats();
  /** Requests by server endpoint and command, latency in fixed buckets (the agent's Prometheus counters). */
  readonly serverCommands = new ServerCommands();
  /** Every error reply by code: paired, unexpected, and inside EXEC (and script) replies. */
  readonly errorCodes = new ErrorCodes();
  keys: TopKeys;
  private prefixTable: TopKeys;
  readonly bigValues: BigValues;
  readonly slow: LargestN<SlowRequest>;
  readonly peers = new PeerStats();
  readonly timeline = new Timeline();
  /**
   * Key occurrences by Redis Cluster hash slot, counted as they come with --cluster (or filled
   * from a merged report); otherwise slotCounts() derives them from the hot-key table, which
   * costs nothing per request.
   */
  readonly slots = new SlotCounts();
  slotsCounted: boolean;
  /** With --cluster: hot keys per server endpoint (node). */
  readonly nodeKeys = new Map<string, TopKeys>();
  /** Replication links: counted apart, never as client commands or replies. */
  readonly replication: ReplicationStats;
  private readonly keyPos: number[] = [];
  /** Scratch marks of key positions, reused so finding the biggest value stays O(argc). */
  private readonly isKey = new Uint8Array(65536);
  /** No key or value is kept anywhere (monitor's analysis): requests' keys are not even found. */
  private readonly countsOnly: boolean;

  constructor(readonly opts: StatsOptions) {
    this.keys = new TopKeys(opts.maxKeys);
    this.prefixTable = new TopKeys(Math.min(opts.maxKeys, 10_000));
    // The prefix is cut once per tracked key, not once per occurrence.
    this.keys.onCounted = (e, bytes, key) => this.prefixTable.add((e.tag ??= keyPrefix(key)), bytes);
    this.bigValues = new BigValues(opts.keepBig);
    this.replication = new ReplicationStats(opts.maxKeys);
    this.slotsCounted = opts.cluster === true;
    this.slow = new LargestN(opts.keepSlow, (s) => s.latencyUs, slower);
    this.countsOnly = opts.maxKeys === 0 && opts.keepBig === 0 && opts.cluster !== true;
  }

  /** Key prefixes, counted as keys are: reading them counts the keys still queued first. */
  get prefixes(): TopKeys {
    this.keys.flush();
    return this.prefixTable;
  }

  /** Tables rebuilt from merged summaries (./merge/stats-state.ts) take the place of these. */
  adoptKeyTables(keys: TopKeys, prefixes: TopKeys): void {
    this.keys = keys;
    this.prefixTable = prefixes;
  }

  /**
   * Key occurrences by hash slot: as counted (--cluster), or from the hot-key table (exact
   * while it is: every key with its count; past it, the keys it holds). `exact` says which.
   */
  slotCounts(): { slots: SlotCounts; exact: boolean } {
    if (this.slotsCounted) return { slots: this.slots, exact: true };
    const derived = new SlotCounts();
    this.keys.forEachCodes((codes, n, count) => derived.addCodes(codes, n, count));
    return { slots: derived, exact: this.keys.exact };
  }

  /** Counts the keys still queued (see TopKeys.queue). */
  flush(): void {
    this.keys.flush();
  }

  open(conn: TcpConn): ConnPeers {
    this.counters.connections++;
    return this.peers.open(conn);
  }

  request(r: TrackedRequest): void {
    this.timeline.add(r.frame.endTsUs);
  }

  complete(r: TrackedRequest, peers: ConnPeers): void {
    const c = this.counters;
    c.commands++;
    c.requestBytes += r.frame.wireBytes;
    c.replyBytes += r.replyBytes;
    if (r.frame.missingBytes > 0) c.partialValues++;
    if (r.reply !== null && r.reply.missingBytes > 0) c.partialValues++;
    if (r.outcome === 'unanswered') c.unanswered++;
    else if (r.outcome === 'noreply') c.noreply++;
    else {
      c.replies++;
      if (r.outcome === 'error') c.errors++;
    }
    const code = r.outcome === 'error' && r.reply !== null ? errorCode(r.reply.error ?? '') : null;
    if (code !== null) this.errorCodes.add(code);
    this.commands.add(r, code);
    this.serverCommands.add(r);
    this.peers.add(peers, r, code);
    if (r.reply !== null && r.reply.innerErrors !== null) this.innerErrors(r, peers);
    this.addKeysAndValues(r);
    if (r.latencyUs >= this.opts.slowUs) this.addSlow(r);
  }

  /** `peers`: the connection's, when it is known (to credit a rejected line's error to its server). */
  unpaired(reply: ReplyFrame, kind: UnpairedKind, peers: ConnPeers | null = null): void {
    const c = this.counters;
    c.replyBytes += reply.wireBytes;
    if (peers !== null) this.peers.addReplyBytes(peers, reply.wireBytes);
    if (reply.missingBytes > 0) c.partialValues++;
    if (kind === 'push') c.pushes++;
    else if (kind === 'message') c.pubsubMessages++;
    else if (kind === 'monitor') c.monitorLines++;
    else if (kind === 'overflow') return; // its request was counted (unanswered): its bytes only
    else if (kind === 'rejected') {
      const code = errorCode(reply.error ?? '');
      c.errors++;
      this.errorCodes.add(code);
      if (peers !== null) this.peers.addError(peers, code);
    } else {
      c.unexpectedReplies++;
      if (reply.error !== null) {
        const code = errorCode(reply.error);
        c.errors++;
        this.errorCodes.add(code);
        if (peers !== null) this.peers.addError(peers, code);
      }
    }
  }

  clear(): void {
    this.counters = zeroCounters();
    this.commands.clear();
    this.serverCommands.clear();
    this.errorCodes.clear();
    this.keys.clear();
    this.prefixTable.clear();
    this.bigValues.clear();
    this.slow.clear();
    this.peers.clear();
    this.timeline.clear();
    this.replication.clear();
    this.slots.clear();
    this.nodeKeys.clear();
  }

  /**
   * Errors that are elements of a reply, each counted as INFO errorstats counts it: Redis counts
   * every error it replies, wherever it sits (a script's returned {err=...}; a redis.pcall error
   * it returns was counted when the call failed, once). In an EXEC reply each is credited to
   * the queued command it answers: the n-th element answers the n-th request that was answered
   * QUEUED (EXEC itself when the transaction was not seen whole); otherwise to the command.
   */
  private innerErrors(r: TrackedRequest, peers: ConnPeers): void {
    const exec = r.info.name === 'EXEC';
    const queued = !exec || r.queued === null ? null : r.queued.filter((q) => q.reply !== null && q.reply.head[0] === 'QUEUED');
    for (const e of r.reply!.innerErrors!) {
      const code = errorCode(e.text);
      this.counters.errors++;
      this.errorCodes.add(code);
      const name = queued?.[e.index]?.info.name ?? r.info.name;
      this.commands.addError(name, code);
      this.serverCommands.addError(r.conn.server, name);
      this.peers.addError(peers, code);
    }
  }

  private addKeysAndValues(r: TrackedRequest): void {
    if (this.countsOnly) return;
    const { args, argLens, argc } = r.frame;
    const pos = this.keyPos;
    if (this.opts.cluster === true && r.info.spec?.keys[0]?.notKey === true) this.channelSlots(r);
    const nKeys = requestKeys(r.info, args, argc, pos);
    // Bytes by key: MSET's keys each get their own name and value; the rest (and a multi-key
    // reply, whose elements' sizes are not kept) is split evenly over the keys.
    const paired = nKeys > 1 && valuesFollowKeys(r.info.spec);
    let shared = r.frame.wireBytes + r.replyBytes;
    if (paired) for (let i = 0; i < nKeys; i++) shared -= ownBytes(argLens, pos[i]!);
    const per = nKeys === 0 ? 0 : Math.round(Math.max(0, shared) / nKeys);
    for (let i = 0; i < nKeys; i++) {
      const p = pos[i]!;
      if (!nameKnown(r.frame, p)) {
        this.counters.unnamedKeys++;
        continue;
      }
      const key = args[p]!;
      const bytes = paired ? per + ownBytes(argLens, p) : per;
      if (this.opts.cluster === true) {
        this.slots.add(key);
        this.nodeKey(r.conn.server, key, bytes);
      }
      if (this.keys.capacity > 0) this.keys.queue(key, bytes);
      else this.prefixTable.add(keyPrefix(key), bytes);
    }
    const at = largestNonKey(argLens, pos, nKeys, this.isKey);
    const sent = at === 0 ? 0 : argLens[at]!;
    const returned = r.reply === null ? 0 : replyValueBytes(r.reply);
    // Most requests move small values: build nothing unless one could make the list.
    const big = this.bigValues;
    const bigSent = big.wants(sent);
    const bigReturned = big.wants(returned);
    if (bigSent || bigReturned) this.addBig(r, nKeys, paired ? at - 1 : -1, bigSent ? sent : -1, bigReturned ? returned : -1);
  }

  /**
   * The request's values that could make the big-values list, -1 for one that cannot: `owner`
   * is the position of the sent value's key when values follow keys. Apart from
   * addKeysAndValues so that, called for few requests, it does not take the inlining room of
   * what runs for all of them.
   */
  private addBig(r: TrackedRequest, nKeys: number, owner: number, sent: number, returned: number): void {
    const big = this.bigValues;
    const { name } = r.info;
    if (sent >= 0) big.add(this.valueKey(r, nKeys, owner), sent, 'request', name, r.frame.endTsUs, r.conn.client);
    if (returned >= 0) big.add(this.valueKey(r, nKeys, -1), returned, 'reply', name, r.frame.endTsUs, r.conn.client);
  }

  /**
   * The key a big value belongs to: the request's one key, or its key at `owner` (MSET's key
   * before the value); '' when it has none or the name is not known; else severalKeys().
   */
  private valueKey(r: TrackedRequest, nKeys: number, owner: number): string {
    if (nKeys === 0) return '';
    const p = nKeys === 1 ? this.keyPos[0]! : owner;
    if (p < 0) return severalKeys(r.info.name, nKeys);
    return nameKnown(r.frame, p) ? r.frame.args[p]! : '';
  }

  /** Shard channels are no hot keys, but each lands on its hash slot's node as a key does. */
  private channelSlots(r: TrackedRequest): void {
    const n = requestChannels(r.info, r.frame.args, r.frame.argc, this.keyPos);
    for (let i = 0; i < n; i++) {
      const p = this.keyPos[i]!;
      if (nameKnown(r.frame, p)) this.slots.add(r.frame.args[p]!);
    }
  }

  private nodeKey(server: string, key: string, bytes: number): void {
    let t = this.nodeKeys.get(server);
    if (t === undefined) {
      if (this.nodeKeys.size >= MAX_NODES) return;
      t = new TopKeys(Math.min(NODE_KEYS, this.opts.maxKeys));
      this.nodeKeys.set(server, t);
    }
    t.add(key, bytes);
  }

  private addSlow(r: TrackedRequest): void {
    this.counters.slowRequests++;
    if (!this.slow.wants(r.latencyUs)) return;
    this.slow.add({
      tsUs: r.frame.endTsUs,
      client: r.conn.client,
      server: r.conn.server,
      db: r.db,
      args: r.frame.args.slice(0, 32),
      argLens: r.frame.argLens.slice(0, 32),
      argc: r.frame.argc,
      latencyUs: r.latencyUs,
      blocking: r.info.blocking,
    });
  }
}
