/**
 * The aggregates of shards (worker threads, each owning a share of the connections) as one
 * Stats, the same as one thread would have counted: every count adds, histograms add by
 * bucket, and hot-key tables add key by key. A shard lists every key it holds (SHARD_LIMITS),
 * so while each shard counted exactly the sum is exact, with no floor and no cut.
 */
import type { Stats, StatsOptions } from '../stats.js';
import { keysOfColumns, type KeyColumns } from '../key-columns.js';
import { KEY_RECORD } from '../key-table.js';
import { TopKeys } from '../top-keys.js';
import { mergeSummaries, topKeysOf, type KeySummary } from './key-summary.js';
import { mergeStates, MERGE_KEYS, stateOf, statsOf, type StateLimits, type StatsState } from './stats-state.js';

const { MAX_KEYS } = KEY_RECORD;

/** What a shard hands over: every row, nothing folded; its hot keys and prefixes go as dumps. */
export const SHARD_LIMITS: StateLimits = { keys: 0, otherKeys: Infinity, connections: Infinity, derivedSlots: false };

/**
 * A shard's aggregates: the state, and its key tables whole: as columns from a worker, the
 * tables themselves from a shard in the merging thread.
 */
export interface ShardStats {
  state: StatsState;
  keys: KeyDump | TopKeys;
  prefixes: KeyDump | TopKeys;
}

/** A key table as columns (no string per key: they cross a thread as one buffer). */
export interface KeyDump extends KeyColumns {
  total: number;
  floor: number;
}

function dumpOf(t: TopKeys): KeyDump {
  return { ...t.columns(), total: t.total, floor: t.errorBound };
}

/** `here`: the stats stay in this thread, which merges them (their tables are kept, not dumped). */
export function shardStatsOf(st: Stats, here = false): ShardStats {
  const state = stateOf(st, SHARD_LIMITS);
  return here ? { state, keys: st.keys, prefixes: st.prefixes } : { state, keys: dumpOf(st.keys), prefixes: dumpOf(st.prefixes) };
}

/** Prefixes are counted in a table of at most this many (as Stats does). */
const PREFIX_KEYS = 10_000;

export function mergeShardStats(shards: readonly ShardStats[], opts: StatsOptions): Stats {
  const keep = { slow: opts.keepSlow, big: opts.keepBig };
  // Key tables are merged apart, in full; the rest through the report merge.
  const rest = shards.map((s) => s.state);
  let merged = rest[0]!;
  for (const s of rest.slice(1)) merged = mergeStates(merged, s, keep);
  const built = statsOf(merged, opts);
  built.adoptKeyTables(
    mergeKeyTables(shards.map((s) => s.keys), opts.maxKeys),
    mergeKeyTables(shards.map((s) => s.prefixes), Math.min(opts.maxKeys, PREFIX_KEYS)),
  );
  // Slots are counted as they come only with --cluster; otherwise derived from the keys.
  built.slotsCounted = opts.cluster === true;
  return built;
}

/**
 * Tables of shards added up. Exact shards (no floor): every key with the sum of its counts, in
 * a table with room for all of them: a table of this thread's shard when it has that room
 * (its own keys are then neither dumped nor restored), else a new one. Otherwise as summaries
 * merge, with the stated error.
 */
function mergeKeyTables(dumps: ReadonlyArray<KeyDump | TopKeys>, capacity: number): TopKeys {
  if (dumps.every((d) => floorOf(d) === 0)) {
    const room = dumps.reduce((n, d) => n + sizeOf(d), 0);
    const here = dumps.find((d): d is TopKeys => d instanceof TopKeys && d.capacity >= room && room <= MAX_KEYS);
    const t = here ?? new TopKeys(Math.max(capacity, room));
    for (const d of dumps) {
      if (d === t) continue;
      if (d instanceof TopKeys) d.forEach((key, count, bytes, error) => t.restore(key, count, bytes, error));
      else restoreColumns(t, d);
    }
    t.restoreBounds(dumps.reduce((n, d) => n + d.total, 0), 0);
    return t;
  }
  let m = summaryOf(dumps[0]!);
  for (const d of dumps.slice(1)) m = mergeSummaries(m, summaryOf(d), Math.max(capacity, MERGE_KEYS));
  return topKeysOf(m, capacity);
}

/** Every key of some columns into t, from their code units (no string per key). */
function restoreColumns(t: TopKeys, d: KeyDump): void {
  let from = 0;
  for (let i = 0; i < d.ends.length; i++) {
    const end = d.ends[i]!;
    t.restoreCodes(d.codes, from, end - from, d.nums[3 * i]!, d.nums[3 * i + 1]!, d.nums[3 * i + 2]!);
    from = end;
  }
}

const floorOf = (d: KeyDump | TopKeys): number => (d instanceof TopKeys ? d.errorBound : d.floor);
const sizeOf = (d: KeyDump | TopKeys): number => (d instanceof TopKeys ? d.size : d.ends.length);

function summaryOf(t: KeyDump | TopKeys): KeySummary {
  const d = t instanceof TopKeys ? dumpOf(t) : t;
  const entries = keysOfColumns(d).map((key, i): [string, number, number, number] => [key, d.nums[3 * i]!, d.nums[3 * i + 1]!, d.nums[3 * i + 2]!]);
  entries.sort((x, y) => y[1] - x[1] || y[2] - x[2] || (x[0] < y[0] ? -1 : 1));
  return { total: d.total, floor: d.floor, entries };
}
