/**
 * Every aggregate of a Stats as plain data that merges exactly: what a report carries (its
 * `merge` section) so that reports of shards, windows and hosts add up to the report of the
 * whole. Counts add; latency histograms add bucket by bucket (percentiles from the merged
 * buckets); hot-key tables merge as summaries with a stated error (./key-summary.ts); the
 * largest-N lists (slow requests, big values) keep the largest N of the union.
 * Keys, names and arguments are kept as raw bytes (latin1 strings), never as display text,
 * so the same key from two reports is one key.
 */
import { bigger, type BigValue } from '../big-values.js';
import { ErrorCodes } from '../error-codes.js';
import type { HistogramState } from '../histogram.js';
import { addPeerCounts, type PeerEntry, type PeerTable } from '../peer-stats.js';
import type { TimelineSeries } from '../timeline.js';
import { slower } from '../slow-requests.js';
import { Stats, type Counters, type SlowRequest, type StatsOptions } from '../stats.js';
import { emptySummary, mergeSummaries, summarize, topKeysOf, type KeySummary } from './key-summary.js';

export const STATE_VERSION = 1;
/** Hot keys (and prefixes) a report lists for merging; beyond them the floor bounds the rest. */
export const MERGE_KEYS = 2_000;
/** Connections a report lists for merging; the rest fold into one "(other)" row. */
export const MERGE_CONNECTIONS = 1_000;

interface CommandState {
  name: string; count: number; errors: number; errorCodes: Record<string, number>; unanswered: number; noreply: number;
  blocking: number; requestBytes: number; replyBytes: number; latency: HistogramState; subs: Record<string, number>;
}

/** A slow request as a state lists it. Reports made before argLens was kept lack it: their args are their sizes. */
type SlowState = Omit<SlowRequest, 'argLens'> & { argLens?: number[] };

type PeerState = Omit<PeerEntry, 'errorCodes'> & { errorCodes: Record<string, number> | null };

interface ReplicationState {
  links: number; rdbTransfers: number; rdbBytes: number; missingRdbBytes: number; streamBytes: number; missingStreamBytes: number; acks: number;
  handshake: Record<string, number>; commands: Record<string, number>; keys: KeySummary;
}

export interface StatsState {
  version: number;
  counters: Counters;
  all: HistogramState;
  commands: CommandState[];
  errorCodes: Record<string, number>;
  keys: KeySummary;
  prefixes: KeySummary;
  bigValues: BigValue[];
  slow: SlowState[];
  clients: PeerState[];
  servers: PeerState[];
  connections: PeerState[];
  timeline: TimelineSeries;
  slots: Array<[number, number]>;
  nodeKeys: Record<string, KeySummary>;
  replication: ReplicationState;
}

/**
 * A map as a record with its keys in order: shards meet names (subcommands, error codes, nodes)
 * in another order than one thread, and the merge section is the same to the byte either way.
 */
function sortedRecord<V>(entries: Iterable<[string, V]>): Record<string, V> {
  return Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const codesOf = (c: ErrorCodes | null): Record<string, number> | null => (c === null ? null : sortedRecord(c.counts));

function peersOf(t: PeerTable, limit: number): PeerState[] {
  const rows = [...t.byId.values()].sort((a, b) => b.commands - a.commands || (a.id < b.id ? -1 : 1));
  const out: PeerState[] = rows.slice(0, limit).map((e) => ({ ...e, errorCodes: codesOf(e.errorCodes), who: e.who === null ? null : { ...e.who } }));
  if (rows.length > limit) {
    const other: PeerState = { id: '(other)', connections: 0, commands: 0, errors: 0, requestBytes: 0, replyBytes: 0, latencySumUs: 0, latencyCount: 0, errorCodes: null, who: null };
    for (const e of rows.slice(limit)) addPeer(other, { ...e, errorCodes: null });
    out.push(other);
  }
  return out;
}

/** Rows a state lists: a report's (bounded), or a shard's (everything, so shards merge exactly). */
export interface StateLimits {
  /** Hot keys and prefixes. */
  keys: number;
  /** Hot keys per node (--cluster) and replicated keys. */
  otherKeys: number;
  connections: number;
  /** Hash slots derived from the key table when they are not counted (a shard's merged keys derive them again). */
  derivedSlots: boolean;
}

const REPORT_LIMITS: StateLimits = { keys: MERGE_KEYS, otherKeys: MERGE_KEYS, connections: MERGE_CONNECTIONS, derivedSlots: true };

/** The state of `st`: what a report carries for merging. */
export function stateOf(st: Stats, limits: StateLimits = REPORT_LIMITS): StatsState {
  st.flush();
  const r = st.replication;
  return {
    version: STATE_VERSION,
    counters: { ...st.counters },
    all: st.commands.all.toState(),
    commands: [...st.commands.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((e) => ({
      name: e.name, count: e.count, errors: e.errors, errorCodes: sortedRecord(e.errorCodes.counts), unanswered: e.unanswered,
      noreply: e.noreply, blocking: e.blocking, requestBytes: e.requestBytes, replyBytes: e.replyBytes, latency: e.latency.toState(),
      subs: sortedRecord(e.subs),
    })),
    errorCodes: sortedRecord(st.errorCodes.counts),
    keys: summarize(st.keys, limits.keys),
    prefixes: summarize(st.prefixes, limits.keys),
    bigValues: st.bigValues.sorted(),
    slow: st.slow.sorted(),
    clients: peersOf(st.peers.clients, Infinity),
    servers: peersOf(st.peers.servers, Infinity),
    connections: peersOf(st.peers.connections, limits.connections),
    timeline: st.timeline.series(),
    slots: st.slotsCounted || limits.derivedSlots ? st.slotCounts().slots.top(16384).map((x) => [x.slot, x.count]) : [],
    nodeKeys: sortedRecord([...st.nodeKeys.entries()].map(([server, t]) => [server, summarize(t, limits.otherKeys)])),
    replication: {
      links: r.links, rdbTransfers: r.rdbTransfers, rdbBytes: r.rdbBytes, missingRdbBytes: r.missingRdbBytes, streamBytes: r.streamBytes,
      missingStreamBytes: r.missingStreamBytes, acks: r.acks, handshake: sortedRecord(r.handshake), commands: sortedRecord(r.commands), keys: summarize(r.keys, limits.otherKeys),
    },
  };
}

function addCounts(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
  return into;
}

function addPeer(into: PeerState, e: PeerState): void {
  addPeerCounts(into, e);
  if (e.errorCodes !== null) into.errorCodes = addCounts(into.errorCodes ?? {}, e.errorCodes);
  if (into.who === null && e.who !== null) into.who = { ...e.who };
}

function mergePeers(a: PeerState[], b: PeerState[]): PeerState[] {
  const byId = new Map(a.map((e) => [e.id, { ...e, errorCodes: e.errorCodes === null ? null : { ...e.errorCodes }, who: e.who === null ? null : { ...e.who } }]));
  for (const e of b) {
    const m = byId.get(e.id);
    if (m === undefined) byId.set(e.id, { ...e, errorCodes: e.errorCodes === null ? null : { ...e.errorCodes }, who: e.who === null ? null : { ...e.who } });
    else addPeer(m, e);
  }
  return [...byId.values()];
}

function mergeHist(a: HistogramState, b: HistogramState): HistogramState {
  const buckets = new Map(a.buckets);
  for (const [i, n] of b.buckets) buckets.set(i, (buckets.get(i) ?? 0) + n);
  const mins = [a.min, b.min].filter((x): x is number => x !== null);
  return {
    count: a.count + b.count, sum: a.sum + b.sum, min: mins.length === 0 ? null : Math.min(...mins), max: Math.max(a.max, b.max),
    buckets: [...buckets.entries()].sort((x, y) => x[0] - y[0]),
  };
}

function mergeCommands(a: CommandState[], b: CommandState[]): CommandState[] {
  const byName = new Map(a.map((c) => [c.name, { ...c, errorCodes: { ...c.errorCodes }, subs: { ...c.subs } }]));
  for (const c of b) {
    const m = byName.get(c.name);
    if (m === undefined) {
      byName.set(c.name, { ...c, errorCodes: { ...c.errorCodes }, subs: { ...c.subs } });
      continue;
    }
    m.count += c.count;
    m.errors += c.errors;
    m.unanswered += c.unanswered;
    m.noreply += c.noreply;
    m.blocking += c.blocking;
    m.requestBytes += c.requestBytes;
    m.replyBytes += c.replyBytes;
    addCounts(m.errorCodes, c.errorCodes);
    addCounts(m.subs, c.subs);
    m.latency = mergeHist(m.latency, c.latency);
  }
  return [...byName.values()];
}

/** Two states as one: the state of the union of what both saw. `keep`: slow and big rows kept. */
export function mergeStates(a: StatsState, b: StatsState, keep: { slow: number; big: number }): StatsState {
  const counters = { ...a.counters };
  for (const k of Object.keys(counters) as Array<keyof Counters>) counters[k] += b.counters[k] ?? 0;
  const nodes: Record<string, KeySummary> = { ...a.nodeKeys };
  for (const [server, s] of Object.entries(b.nodeKeys)) nodes[server] = mergeSummaries(nodes[server] ?? emptySummary(), s, MERGE_KEYS);
  const slots = new Map(a.slots);
  for (const [slot, n] of b.slots) slots.set(slot, (slots.get(slot) ?? 0) + n);
  const ra = a.replication;
  const rb = b.replication;
  return {
    version: STATE_VERSION,
    counters,
    all: mergeHist(a.all, b.all),
    commands: mergeCommands(a.commands, b.commands),
    errorCodes: addCounts({ ...a.errorCodes }, b.errorCodes),
    keys: mergeSummaries(a.keys, b.keys, MERGE_KEYS),
    prefixes: mergeSummaries(a.prefixes, b.prefixes, MERGE_KEYS),
    bigValues: mergeBig(a.bigValues, b.bigValues, keep.big),
    slow: [...a.slow, ...b.slow].sort(slower).slice(0, keep.slow),
    clients: mergePeers(a.clients, b.clients),
    servers: mergePeers(a.servers, b.servers),
    connections: mergePeers(a.connections, b.connections),
    timeline: mergeTimeline(a.timeline, b.timeline),
    slots: [...slots.entries()],
    nodeKeys: nodes,
    replication: {
      links: ra.links + rb.links, rdbTransfers: ra.rdbTransfers + rb.rdbTransfers, rdbBytes: ra.rdbBytes + rb.rdbBytes,
      missingRdbBytes: ra.missingRdbBytes + rb.missingRdbBytes, streamBytes: ra.streamBytes + rb.streamBytes,
      missingStreamBytes: (ra.missingStreamBytes ?? 0) + (rb.missingStreamBytes ?? 0), acks: ra.acks + rb.acks,
      handshake: addCounts({ ...ra.handshake }, rb.handshake), commands: addCounts({ ...ra.commands }, rb.commands),
      keys: mergeSummaries(ra.keys, rb.keys, MERGE_KEYS),
    },
  };
}

/** One entry per key and direction: the biggest, with the counts of that size added. */
function mergeBig(a: BigValue[], b: BigValue[], n: number): BigValue[] {
  const byKey = new Map(a.map((v) => [v.direction + '\n' + v.key, { ...v }]));
  for (const v of b) {
    const id = v.direction + '\n' + v.key;
    const m = byKey.get(id);
    if (m === undefined) byKey.set(id, { ...v });
    // The largest value, with how often that size was seen; of equal ones the first request's time.
    else if (v.bytes > m.bytes) byKey.set(id, { ...v });
    else if (v.bytes === m.bytes) byKey.set(id, { ...(v.tsUs < m.tsUs ? v : m), count: m.count + v.count });
  }
  return [...byKey.values()].sort(bigger).slice(0, n);
}

function mergeTimeline(a: TimelineSeries, b: TimelineSeries): TimelineSeries {
  const st = new Stats({ slowUs: 0, maxKeys: 0, keepSlow: 0, keepBig: 0 });
  st.timeline.addSeries(a);
  st.timeline.addSeries(b);
  return st.timeline.series();
}

function restorePeers(t: PeerTable, rows: PeerState[]): void {
  for (const e of rows) {
    const p = t.get(e.id);
    const { errorCodes, who, id: _id, ...counts } = e;
    Object.assign(p, counts);
    if (errorCodes !== null) for (const [code, n] of Object.entries(errorCodes)) p.errorCodes?.add(code, n);
    if (who !== null) p.who = { ...who };
  }
}

/** A Stats holding a state, for the report builder. */
export function statsOf(s: StatsState, opts: StatsOptions): Stats {
  const st = new Stats(opts);
  Object.assign(st.counters, s.counters);
  st.commands.all.addState(s.all);
  for (const c of s.commands) {
    const e = st.commands.row(c.name);
    Object.assign(e, { count: c.count, errors: c.errors, unanswered: c.unanswered, noreply: c.noreply, blocking: c.blocking, requestBytes: c.requestBytes, replyBytes: c.replyBytes });
    for (const [code, n] of Object.entries(c.errorCodes)) e.errorCodes.add(code, n);
    for (const [sub, n] of Object.entries(c.subs)) e.subs.set(sub, n);
    e.latency.addState(c.latency);
  }
  for (const [code, n] of Object.entries(s.errorCodes)) st.errorCodes.add(code, n);
  st.adoptKeyTables(topKeysOf(s.keys, opts.maxKeys), topKeysOf(s.prefixes, Math.min(opts.maxKeys, 10_000)));
  for (const v of s.bigValues) st.bigValues.restore(v);
  for (const x of s.slow) st.slow.add({ ...x, argLens: x.argLens ?? x.args.map((a) => a.length) });
  restorePeers(st.peers.clients, s.clients);
  restorePeers(st.peers.servers, s.servers);
  restorePeers(st.peers.connections, s.connections);
  st.timeline.addSeries(s.timeline);
  for (const [slot, n] of s.slots) st.slots.counts[slot] = n;
  st.slotsCounted = true;
  for (const [server, k] of Object.entries(s.nodeKeys)) st.nodeKeys.set(server, topKeysOf(k, k.entries.length));
  const r = st.replication;
  const sr = s.replication;
  Object.assign(r, {
    links: sr.links, rdbTransfers: sr.rdbTransfers, rdbBytes: sr.rdbBytes, missingRdbBytes: sr.missingRdbBytes, streamBytes: sr.streamBytes,
    missingStreamBytes: sr.missingStreamBytes ?? 0, acks: sr.acks,
  });
  for (const [k, n] of Object.entries(sr.handshake)) r.handshake.set(k, n);
  for (const [k, n] of Object.entries(sr.commands)) r.commands.set(k, n);
  for (const [key, count, bytes, error] of sr.keys.entries) r.keys.restore(key, count, bytes, error);
  r.keys.restoreBounds(sr.keys.total, sr.keys.floor);
  return st;
}
