import type { Analyzer } from '../analysis/analyzer.js';
import { stateOf, type StatsState } from '../analysis/merge/stats-state.js';
import { severalKeysCount } from '../analysis/big-values.js';
import type { LatencyHistogram } from '../analysis/histogram.js';
import type { NameSource } from '../analysis/apps/app-namer.js';
import { appEntries } from '../analysis/apps/app-rows.js';
import type { ReplicationSnapshot } from '../analysis/replication-stats.js';
import type { Stats } from '../analysis/stats.js';
import { skewOf, type PeerEntry, type Skew } from '../analysis/peer-stats.js';
import { DEFAULT_MAX_PENDING, MAX_PENDING_BYTES } from '../analysis/pending-limits.js';
import type { TimelineSeries } from '../analysis/timeline.js';
import type { CaptureStats } from '../capture/packet.js';
import type { FlowStats } from '../flow/types.js';
import { commandLine, displayString, displayText } from './strings.js';

/** The report every output renders: plain data, the JSON contract (`version` 1) and more. */
export interface Report {
  version: 1;
  source: {
    kind: 'file' | 'live';
    name: string;
    format: string;
    ports: number[];
    filter: string | null;
    /** Files only: every file read, in the order read (their first packets' time order). */
    files?: string[];
    /** Live only: the CPU priority the analysis ran at (see src/engine/cpu-priority.ts). */
    cpuPriority?: 'idle' | 'normal';
  };
  span: { startTs: number | null; endTs: number | null; seconds: number };
  /** Counters by name; also `errorsByCode` (an object: read it with errorsByCodeOf). */
  totals: Record<string, number | null>;
  latencyUs: LatencySummary & { histogram: Array<{ leUs: number; count: number }> };
  commands: Array<{
    name: string; count: number; errors: number; errorsByCode: Record<string, number>; unanswered: number; blocking: number;
    requestBytes: number; replyBytes: number; perSec: number; share: number;
    subcommands: Record<string, number>; latencyUs: LatencySummary;
  }>;
  hotKeys: Array<{ key: string; count: number; bytes: number; error: number }>;
  hotKeysByBytes: Array<{ key: string; count: number; bytes: number; error: number }>;
  hotKeysExact: boolean;
  /** Most any hot-key count may overstate the truth (0 while exact). */
  hotKeysErrorBound: number;
  prefixes: Array<{ prefix: string; count: number; bytes: number }>;
  bigKeys: Array<{ key: string; bytes: number; command: string; direction: string; count: number; ts: number; client: string }>;
  slow: Array<{ ts: number; client: string; server: string; db: number | null; command: string; latencyUs: number; blocking: boolean }>;
  clients: Array<PeerRow & { ip: string }>;
  servers: Array<PeerRow & { endpoint: string; errorsByCode: Record<string, number> }>;
  /** Connections, with the name and client library each gave itself (CLIENT SETNAME, SETINFO), or null. */
  connections: Array<PeerRow & { connection: string; name: string | null; lib: string | null }>;
  /**
   * Clients by application: the name a connection gives itself, else --clients, else reverse
   * DNS (--resolve), else its IP; busiest first, at most max(--top, 1000) rows.
   */
  apps: Array<PeerRow & { name: string; source: NameSource; ips: string[]; libs: string[] }>;
  skew: { clients: Skew | null; servers: Skew | null; connections: Skew | null; apps: Skew | null };
  /** Commands per bucket of `bucketSeconds` (1 s up to an hour, wider past it: at most 3600 buckets). */
  timeline: TimelineSeries;
  /**
   * With --proxy-port: the 'client' hop (everything but the proxies' own connections to the
   * servers behind them: what applications sent, as the totals count it) and the 'backend'
   * hop (what the proxies forwarded), each counted once.
   */
  hops: Array<{
    hop: 'client' | 'backend'; ports: number[]; connections: number; commandCount: number; errors: number;
    commands: Array<{ name: string; count: number }>; hotKeys: Array<{ key: string; count: number }>;
  }>;
  /** Redis Cluster traffic seen (redirections, CLUSTER/ASKING answered, the bus) or --cluster given. */
  cluster: boolean;
  /**
   * Key occurrences by hash slot, busiest first (--top rows), when `cluster`: counted as they
   * come with --cluster, else from the hot-key table (`hotSlotsExact` false once that table is
   * an estimate).
   */
  hotSlots: Array<{ slot: number; count: number }>;
  hotSlotsExact: boolean;
  /** With --cluster: the hottest keys of each node (server endpoint). */
  hotKeysByNode: Array<{ server: string; hotKeys: Array<{ key: string; count: number; bytes: number; error: number }> }>;
  /**
   * Everything needed to merge this report with others exactly (`redis-tap merge`): the
   * aggregates as plain data, keys as raw bytes. See src/analysis/merge/stats-state.ts.
   */
  merge: StatsState;
  /** Replication links: propagated commands and the replicas' requests are never in `commands` or `totals.commands`. */
  replication: ReplicationSnapshot;
  violations: Array<{ ts: number; connection: string; direction: string; offset: number; reason: string }>;
  warnings: string[];
}

export interface LatencySummary {
  p50: number; p90: number; p99: number; p999: number; max: number; mean: number;
}

interface PeerRow {
  connections: number; commands: number; errors: number; requestBytes: number; replyBytes: number;
  share: number; meanLatencyUs: number;
}

/** What a report is built from besides the capture's and flows' counts. */
export type ReportSource = Pick<Analyzer, 'stats' | 'internalErrors' | 'firstInternalError' | 'valueGaps' | 'valueGapBytes' | 'openConnections'
  | 'unparsedBytes' | 'cutBytes' | 'haltedBytes' | 'violations' | 'backendStats' | 'proxyPorts' | 'suspectedProxies' | 'apps'>;

export interface ReportInput {
  /** An Analyzer, or what `redis-tap merge` rebuilds of one from reports. */
  analyzer: ReportSource;
  /** Which aggregates to report: the analyzer's whole-run stats unless an interval's are given. */
  stats?: Stats;
  capture: CaptureStats;
  flow: FlowStats;
  source: Report['source'];
  top: number;
  /** Capture time span in µs, from the earliest and latest packet stamps. */
  firstTsUs: number | null;
  lastTsUs: number | null;
  /** Packets stamped earlier than the packet before them (a merged capture), and the largest step back. */
  backwardsPackets: number;
  maxBackwardsUs: number;
}

/** Subcommands most first; equal counts by name, so the order does not depend on which was met first (threads). */
function bySubCount(a: [string, number], b: [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

/** `totals.errorsByCode`, the one object among the totals' numbers. */
export function errorsByCodeOf(r: Report): Record<string, number> {
  return (r.totals as unknown as { errorsByCode?: Record<string, number> }).errorsByCode ?? {};
}

/** Log buckets for the latency histogram drawing, in µs. */
export const HISTOGRAM_BOUNDS = [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, Infinity];

function latency(h: LatencyHistogram): LatencySummary {
  // A sum of many huge latencies passes 2^53: its mean may round above the max.
  return { p50: h.quantile(0.5), p90: h.quantile(0.9), p99: h.quantile(0.99), p999: h.quantile(0.999), max: h.max, mean: Math.min(h.max, Math.round(h.mean())) };
}

function peerRow(e: PeerEntry, total: number): PeerRow {
  return {
    connections: e.connections, commands: e.commands, errors: e.errors, requestBytes: e.requestBytes, replyBytes: e.replyBytes,
    share: total === 0 ? 0 : e.commands / total,
    meanLatencyUs: e.latencyCount === 0 ? 0 : Math.round(e.latencySumUs / e.latencyCount),
  };
}

const sec = (us: number) => us / 1e6;

/** A step back in packet time larger than this (µs) is no CPU disorder (seen up to ~1.1 ms on one loaded `-i lo`): warned about. */
const MISLEADING_BACKWARDS_US = 10_000;

/** What the gaps cost: only values' bytes where a hole fell inside a value of known length. */
function gapWarning(flow: FlowStats, analyzer: ReportSource, partialValues: number, snapped: number): string {
  // A snap length (tcpdump -s) cuts every longer packet: name it, it is the likely cause.
  const cut = snapped > 0 ? `; ${snapped} packets were cut by the capture's snap length` : '';
  const late = Math.min(flow.lateBytes, flow.gapBytes);
  const head = late === 0
    ? `${flow.gaps} gaps (${flow.gapBytes} bytes never captured${cut})`
    : `${flow.gaps} gaps (${flow.gapBytes} bytes: ${flow.gapBytes - late} never captured, ${late} captured after the reorder wait for them had ended, not decoded${cut})`;
  const framing = flow.gaps - analyzer.valueGaps;
  const atFraming = `requests pending at ${framing === flow.gaps ? 'a gap' : `the other ${framing}`} are counted as unanswered (at a gap in the requests, once those sent before it are answered)`;
  if (analyzer.valueGaps === 0) return `${head}: ${atFraming}`;
  const inValues = `${analyzer.valueGaps} fell inside values or RDB transfers (${analyzer.valueGapBytes} bytes), whose framing was intact: ${partialValues} requests, replies or propagated commands counted, paired and timed with their values partially captured`;
  return framing === 0 ? `${head}: ${inValues}` : `${head}: ${inValues}; ${atFraming}`;
}

function hopRow(hop: 'client' | 'backend', ports: number[], st: Stats, top: number): Report['hops'][number] {
  const c = st.counters;
  return {
    hop, ports, connections: c.connections, commandCount: c.commands, errors: c.errors,
    commands: st.commands.sorted().map((e) => ({ name: displayString(e.name), count: e.count })),
    hotKeys: st.keys.top(top).map((k) => ({ key: displayString(k.key), count: k.count })),
  };
}

function hopRows(analyzer: ReportSource, st: Stats, ports: number[], top: number): Report['hops'] {
  const backend = analyzer.backendStats;
  if (backend === null || st !== analyzer.stats) return [];
  const proxy = [...analyzer.proxyPorts];
  return [hopRow('client', proxy, st, top), hopRow('backend', ports.filter((p) => !analyzer.proxyPorts.has(p)), backend, top)];
}

function connectionName(e: PeerEntry): { name: string | null; lib: string | null } {
  const who = e.who;
  const lib = who?.lib == null ? null : who.libVer === null ? who.lib : `${who.lib} ${who.libVer}`;
  return { name: who?.name == null ? null : displayString(who.name), lib: lib === null ? null : displayString(lib) };
}

/** A big value's key as shown: the key, "(no key)", or "(N keys)" for a value of several. */
function bigValueKey(key: string): string {
  const several = severalKeysCount(key);
  return several > 0 ? `(${several} keys)` : key === '' ? '(no key)' : displayString(key);
}

/** Error codes that only a Redis Cluster gives. */
const CLUSTER_CODES = ['MOVED', 'ASK', 'CLUSTERDOWN', 'CROSSSLOT', 'TRYAGAIN'];
/** Commands only a cluster node answers: a standalone server refuses them all ("cluster support disabled"). */
const CLUSTER_COMMANDS = ['ASKING', 'CLUSTER', 'READONLY', 'READWRITE'];

/** Replies to `name` that were no error (an error inside EXEC's reply answering it counts as one). */
function answeredOk(st: Stats, name: string): number {
  const e = st.commands.byName.get(name);
  return e === undefined ? 0 : e.count - e.errors - e.unanswered - e.noreply;
}

function clusterSeen(st: Stats, flow: FlowStats): boolean {
  if (flow.clusterBusConnections > 0) return true;
  if (CLUSTER_CODES.some((c) => (st.errorCodes.counts.get(c) ?? 0) > 0)) return true;
  return CLUSTER_COMMANDS.some((c) => answeredOk(st, c) > 0);
}

export function buildReport(input: ReportInput): Report {
  const { analyzer, capture, flow, top } = input;
  const st = input.stats ?? analyzer.stats;
  const c = st.counters;
  const seconds = input.firstTsUs !== null && input.lastTsUs !== null ? Math.max(0, sec(input.lastTsUs - input.firstTsUs)) : 0;
  const perSec = (n: number) => (seconds > 0 ? n / seconds : n);
  const clients = st.peers.clients.sorted();
  const servers = st.peers.servers.sorted();
  const conns = st.peers.connections.sorted();
  const apps = appEntries(st.peers.connections, analyzer.apps);
  const warnings = [...capture.warnings];
  if (analyzer.internalErrors > 0) warnings.push(`${analyzer.internalErrors} internal errors in aggregators (first: ${analyzer.firstInternalError})`);
  if (!st.keys.exact) warnings.push(`more than ${st.keys.capacity} distinct keys: hot-key counts are Space-Saving estimates, each at most ${st.keys.errorBound} high`);
  if (c.commands === 0 && flow.otherPortPackets > 0) {
    warnings.push(`no Redis commands on port ${input.source.ports.join(', ')}, but ${flow.otherPortPackets} TCP packets on other ports: is the server on another port? (-p PORT)`);
  }
  if (capture.shedFrames > 0) warnings.push(`${capture.shedFrames} captured frames thrown away because analysis fell behind (see --buffer-mb)`);
  if (flow.evictedConnections > 0) {
    warnings.push(`${flow.evictedConnections} idle connections closed early to stay within the open-connection limit: requests pending on them are counted as unanswered`);
  }
  if (flow.expiredConnections > 0) {
    warnings.push(`${flow.expiredConnections} connections closed after going quiet with their close never captured (10 minutes without a packet, 30 s after one side's FIN): requests pending on them are counted as unanswered`);
  }
  const unknownLinks = Object.entries(flow.unknownLinkTypes);
  if (unknownLinks.length > 0) {
    const list = unknownLinks.map(([type, n]) => `${n} of link type ${type}`).join(', ');
    warnings.push(`frames of a link type redis-tap cannot decode were skipped (${list}): only Ethernet, Linux cooked v1/v2, BSD loopback and raw IP are read`);
  }
  if (flow.ipFragments > 0) {
    warnings.push(`${flow.ipFragments} IP fragments skipped (fragments are not reassembled): their TCP bytes show as gaps`);
  }
  // One interface's capture steps back by microseconds (CPUs stamp in parallel): worth a word
  // only past a millisecond, or when interfaces were merged.
  if (input.backwardsPackets > 0 && (input.maxBackwardsUs > MISLEADING_BACKWARDS_US || capture.interfaces > 1)) {
    const ms = Number((input.maxBackwardsUs / 1000).toFixed(3));
    warnings.push(`${input.backwardsPackets} packets are stamped earlier than the packet before them, by up to ${ms} ms (a merged capture?): the span runs from the earliest to the latest`);
  }
  if (flow.tlsConnections > 0) {
    warnings.push(`${flow.tlsConnections} TLS connections on watched ports (${flow.tlsBytes} bytes): their contents are encrypted and cannot be decoded; their commands are not in this report`);
  }
  if (flow.refusedConnections > 0) {
    warnings.push(`${flow.refusedConnections} connection attempts refused (SYN answered by a reset): not counted as connections`);
  }
  if (flow.clusterBusConnections > 0) {
    warnings.push(`${flow.clusterBusConnections} Redis Cluster bus connections (${flow.clusterBusBytes} bytes) recognised and skipped`);
  }
  if (flow.gaps > 0) warnings.push(gapWarning(flow, analyzer, c.partialValues, capture.snappedPackets));
  if (flow.afterCloseBytes > 0) {
    warnings.push(`${flow.afterCloseBytes} bytes were sent on connections already reset (in flight when the reset came): the peer discarded them; not decoded`);
  }
  if (c.pendingOverflows > 0) {
    warnings.push(`${c.pendingOverflows} requests were given up because their connection had more awaiting replies than it keeps (${DEFAULT_MAX_PENDING}, or ${MAX_PENDING_BYTES / 1024 / 1024} MiB of their arguments: one pipeline that long): each counted unanswered, its reply not paired; the others were`);
  }
  const unparsed = analyzer.unparsedBytes;
  if (unparsed > 0) {
    const joined = st.replication.links > 0 ? '; a replication link joined during its RDB transfer skips the rest of the RDB' : '';
    warnings.push(`${unparsed} bytes could not be placed in a request or reply and were skipped (${unparsedWhy(unparsed, analyzer.cutBytes, analyzer.haltedBytes)})${joined}`);
  }
  // --cluster: hash slots (and hot keys per node) even when no cluster traffic is seen.
  const cluster = st.opts.cluster === true || clusterSeen(st, flow);
  const slots = cluster ? st.slotCounts() : { slots: st.slots, exact: true };
  if (analyzer.suspectedProxies.size > 0) {
    // Most connections first, then by name: shards meet them in another order than one thread.
    const list = [...analyzer.suspectedProxies.entries()]
      .sort(([a, na], [b, nb]) => nb - na || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, 3).map(([k, n]) => `${n} from ${k}`).join(', ');
    warnings.push(`connections from a watched server's own IP to another watched port (${list}): a proxy in front of the servers? Every command through it is counted twice, once per hop; give its port with --proxy-port to count the hops apart`);
  }
  const keyRow = (k: { key: string; count: number; bytes: number; error: number }) => ({ ...k, key: displayString(k.key) });
  const report: Report = {
    version: 1,
    source: { ...input.source, name: displayText(input.source.name) },
    span: { startTs: input.firstTsUs === null ? null : sec(input.firstTsUs), endTs: input.lastTsUs === null ? null : sec(input.lastTsUs), seconds },
    totals: {
      packets: capture.packets, bytes: capture.bytes, connections: c.connections, openConnections: analyzer.openConnections,
      commands: c.commands, commandsPerSec: perSec(c.commands), replies: c.replies, errors: c.errors, unanswered: c.unanswered,
      noreply: c.noreply, pushes: c.pushes, pubsubMessages: c.pubsubMessages, monitorLines: c.monitorLines,
      unexpectedReplies: c.unexpectedReplies, slowRequests: c.slowRequests, requestBytes: c.requestBytes, replyBytes: c.replyBytes,
      gaps: flow.gaps, gapBytes: flow.gapBytes, violations: c.violations, unparsedBytes: analyzer.unparsedBytes,
      duplicateBytes: flow.duplicateBytes, afterCloseBytes: flow.afterCloseBytes, lateBytes: flow.lateBytes, outOfOrderSegments: flow.outOfOrderSegments, evictedConnections: flow.evictedConnections,
      expiredConnections: flow.expiredConnections, ignoredResets: flow.ignoredResets,
      nonTcpPackets: flow.nonTcpPackets, otherPortPackets: flow.otherPortPackets, malformedPackets: flow.malformedPackets,
      ipFragments: flow.ipFragments, backwardsPackets: input.backwardsPackets, maxBackwardsUs: input.maxBackwardsUs,
      tlsConnections: flow.tlsConnections, tlsBytes: flow.tlsBytes, clusterBusConnections: flow.clusterBusConnections, clusterBusBytes: flow.clusterBusBytes,
      refusedConnections: flow.refusedConnections,
      snappedPackets: capture.snappedPackets, truncatedRecords: capture.truncatedRecords,
      skippedBytes: capture.skippedBytes, kernelDrops: capture.kernelDrops, interfaceDrops: capture.interfaceDrops, shedFrames: capture.shedFrames,
      filteredPackets: capture.filteredPackets,
      // Error replies by code (the first word of the text), those inside EXEC and script replies included.
      ...({ errorsByCode: st.errorCodes.snapshot() } as unknown as Record<string, number>),
      unnamedKeys: c.unnamedKeys, valueGaps: analyzer.valueGaps, valueGapBytes: analyzer.valueGapBytes, partialValues: c.partialValues,
      pendingOverflows: c.pendingOverflows,
    },
    latencyUs: { ...latency(st.commands.all), histogram: st.commands.all.logBuckets(HISTOGRAM_BOUNDS).map(([leUs, count]) => ({ leUs, count })) },
    commands: st.commands.sorted().slice(0, Math.max(top, 1000)).map((e) => ({
      name: displayString(e.name), count: e.count, errors: e.errors, errorsByCode: e.errorCodes.snapshot(), unanswered: e.unanswered, blocking: e.blocking,
      requestBytes: e.requestBytes, replyBytes: e.replyBytes, perSec: perSec(e.count), share: c.commands === 0 ? 0 : e.count / c.commands,
      subcommands: Object.fromEntries([...e.subs.entries()].sort(bySubCount).map(([sub, n]) => [displayString(sub), n])), latencyUs: latency(e.latency),
    })),
    hotKeys: st.keys.top(top, 'count').map(keyRow),
    hotKeysByBytes: st.keys.top(top, 'bytes').map(keyRow),
    hotKeysExact: st.keys.exact,
    hotKeysErrorBound: st.keys.exact ? 0 : st.keys.errorBound,
    prefixes: st.prefixes.top(top, 'count').map((p) => ({ prefix: displayString(p.key), count: p.count, bytes: p.bytes })),
    bigKeys: st.bigValues.sorted().slice(0, top).map((b) => ({
      key: bigValueKey(b.key), bytes: b.bytes, command: displayString(b.command), direction: b.direction, count: b.count, ts: sec(b.tsUs), client: b.client,
    })),
    slow: st.slow.sorted().slice(0, top).map((s) => ({
      ts: sec(s.tsUs), client: s.client, server: s.server, db: s.db, command: commandLine(s.args, s.argc, s.argLens), latencyUs: s.latencyUs, blocking: s.blocking,
    })),
    clients: clients.map((e) => ({ ip: e.id, ...peerRow(e, c.commands) })),
    servers: servers.map((e) => ({ endpoint: e.id, ...peerRow(e, c.commands), errorsByCode: e.errorCodes?.snapshot() ?? {} })),
    connections: conns.slice(0, top).map((e) => ({ connection: e.id, ...peerRow(e, c.commands), ...connectionName(e) })),
    apps: apps.slice(0, Math.max(top, 1000)).map((a) => ({
      name: displayString(a.name), source: a.source, ips: a.ips, libs: a.libs.map(displayString), ...peerRow(a.peer, c.commands),
    })),
    skew: { clients: skewOf(clients), servers: skewOf(servers), connections: skewOf(conns), apps: skewOf(apps.map((a) => ({ ...a.peer, id: displayString(a.name) }))) },
    timeline: st.timeline.series(),
    hops: hopRows(analyzer, st, input.source.ports, top),
    cluster,
    hotSlots: cluster ? slots.slots.top(top) : [],
    hotSlotsExact: slots.exact,
    // Busiest node first, then by name: the order nodes were first met depends on --threads.
    hotKeysByNode: [...st.nodeKeys.entries()]
      .sort(([a, ta], [b, tb]) => tb.total - ta.total || (a < b ? -1 : a > b ? 1 : 0))
      .map(([server, t]) => ({ server, hotKeys: t.top(top).map(keyRow) })),
    replication: st.replication.snapshot(top, displayString),
    merge: null as unknown as StatsState, // defined below: built only when serialised
    violations: analyzer.violations.map((v) => ({ ts: sec(v.tsUs), connection: v.connection, direction: v.direction, offset: v.offset, reason: v.reason })),
    // Capture warnings name the file; the rest are made of numbers and displayed strings.
    warnings: warnings.map(displayText),
  };
  // The merge section is data only JSON needs: built when the report is serialised (or read),
  // never for the text report, the terminal view or the web view, which refresh every second.
  Object.defineProperty(report, 'merge', {
    enumerable: true,
    configurable: true,
    get() {
      const state = stateOf(st);
      Object.defineProperty(report, 'merge', { value: state, enumerable: true, configurable: true, writable: true });
      return state;
    },
  });
  return report;
}

/** Why bytes were unparsed: cut off by their connection's end, sent after it refused more, and the rest. */
function unparsedWhy(unparsed: number, cut: number, halted: number): string {
  const reasons: Array<[number, string]> = [
    [cut, 'requests or replies cut off where their connection closed or the capture ended'],
    [halted, 'requests sent after QUIT or after a request the server rejected with a protocol error: it closes the connection without reading them'],
  ];
  const known = reasons.filter(([n]) => n > 0);
  const other = 'a connection joined mid-value, a gap, or damage';
  const rest = unparsed - cut - halted;
  if (known.length === 0) return other;
  if (known.length === 1 && rest <= 0) return known[0]![1];
  return [...known.map(([n, why]) => `${n} of them ${why}`), ...(rest > 0 ? [`the rest ${other}`] : [])].join('; ');
}
