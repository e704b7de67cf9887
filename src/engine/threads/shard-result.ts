/**
 * What a shard's worker hands back when its input ends (or when asked, for a live view): its
 * analysis as plain data, and the reverse: the shards' results as one ReportSource and one set
 * of flow counts, from which the report is built as one thread builds it.
 */
import type { Analyzer, ViolationNote } from '../../analysis/analyzer.js';
import * as analyzerMod from '../../analysis/analyzer.js';
import { AppNamer } from '../../analysis/apps/app-namer.js';
import { TopKeys } from '../../analysis/top-keys.js';
import type { ShardStats } from '../../analysis/merge/shard-merge.js';
import * as shardMergeMod from '../../analysis/merge/shard-merge.js';
import type { Stats, StatsOptions } from '../../analysis/stats.js';
import * as flowTableMod from '../../flow/flow-table.js';
import type { FlowStats } from '../../flow/types.js';
import type { ReportSource } from '../../output/report.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { KEEP_VIOLATIONS, keepViolation } = analyzerMod;
const { mergeShardStats, shardStatsOf } = shardMergeMod;
const { emptyFlowStats } = flowTableMod;

export interface ShardResult {
  stats: ShardStats;
  backend: ShardStats | null;
  internalErrors: number;
  firstInternalError: string | null;
  valueGaps: number;
  valueGapBytes: number;
  openConnections: number;
  unparsedBytes: number;
  cutBytes: number;
  haltedBytes: number;
  violations: ViolationNote[];
  suspectedProxies: Array<[string, number]>;
  flow: FlowStats;
}

/** `here`: the result stays in this thread, which merges it (see shardStatsOf). */
export function shardResult(a: Analyzer, flow: FlowStats, here = false): ShardResult {
  a.flushAggregates();
  return {
    stats: shardStatsOf(a.stats, here),
    backend: a.backendStats === null ? null : shardStatsOf(a.backendStats, here),
    internalErrors: a.internalErrors,
    firstInternalError: a.firstInternalError,
    valueGaps: a.valueGaps,
    valueGapBytes: a.valueGapBytes,
    openConnections: a.openConnections,
    unparsedBytes: a.unparsedBytes,
    cutBytes: a.cutBytes,
    haltedBytes: a.haltedBytes,
    violations: [...a.violations],
    suspectedProxies: [...a.suspectedProxies],
    flow: { ...flow, unknownLinkTypes: { ...flow.unknownLinkTypes } },
  };
}

/** The result's key columns, handed over rather than copied. */
export function transferables(r: ShardResult): ArrayBuffer[] {
  const dumps = [r.stats, r.backend].flatMap((s) => (s === null ? [] : [s.keys, s.prefixes]));
  return dumps.flatMap((d) => (d instanceof TopKeys ? [] : ([d.codes.buffer, d.ends.buffer, d.nums.buffer] as ArrayBuffer[])));
}

const sum = (rs: readonly ShardResult[], f: (r: ShardResult) => number): number => rs.reduce((n, r) => n + f(r), 0);

/** The shards as one analysis; `apps` names clients at report time, as the one-thread analyzer's does. */
export function mergeShards(rs: readonly ShardResult[], opts: StatsOptions, proxyPorts: readonly number[], apps: AppNamer): ReportSource {
  const backends = rs.map((r) => r.backend).filter((b): b is ShardStats => b !== null);
  const proxies = new Map<string, number>();
  for (const r of rs) for (const [k, n] of r.suspectedProxies) if (proxies.has(k) || proxies.size < 16) proxies.set(k, (proxies.get(k) ?? 0) + n);
  const stats: Stats = mergeShardStats(rs.map((r) => r.stats), opts);
  // Each shard kept its earliest; the earliest of theirs are the earliest one thread keeps.
  const violations: ViolationNote[] = [];
  for (const r of rs) for (const v of r.violations) keepViolation(violations, v, KEEP_VIOLATIONS);
  return {
    stats,
    internalErrors: sum(rs, (r) => r.internalErrors),
    firstInternalError: rs.find((r) => r.firstInternalError !== null)?.firstInternalError ?? null,
    valueGaps: sum(rs, (r) => r.valueGaps),
    valueGapBytes: sum(rs, (r) => r.valueGapBytes),
    openConnections: sum(rs, (r) => r.openConnections),
    unparsedBytes: sum(rs, (r) => r.unparsedBytes),
    cutBytes: sum(rs, (r) => r.cutBytes),
    haltedBytes: sum(rs, (r) => r.haltedBytes),
    violations,
    backendStats: backends.length === 0 ? null : mergeShardStats(backends, opts),
    proxyPorts: new Set(proxyPorts),
    suspectedProxies: proxies,
    apps,
  };
}

export function mergeFlowStats(rs: readonly ShardResult[]): FlowStats {
  const out = emptyFlowStats();
  for (const { flow } of rs) {
    for (const k of Object.keys(out) as Array<keyof FlowStats>) {
      if (k === 'unknownLinkTypes') continue;
      (out[k] as number) += flow[k] as number;
    }
    for (const [t, n] of Object.entries(flow.unknownLinkTypes)) out.unknownLinkTypes[Number(t)] = (out.unknownLinkTypes[Number(t)] ?? 0) + n;
  }
  return out;
}
