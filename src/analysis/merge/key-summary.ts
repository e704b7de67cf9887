/**
 * A hot-key table as plain data that merges: its entries (raw key bytes as latin1, count,
 * bytes, error), the occurrences it saw, and `floor`, the most any key it does not list may
 * have been seen (0 while every key it saw is listed). Merging two summaries (Space-Saving
 * summaries merge as Agarwal et al., "Mergeable Summaries", PODS 2012, describe): a key's count
 * is the sum of its counts, and its error grows by the other summary's floor where that one
 * does not list it; the merged table keeps the `limit` largest, and its floor is the largest of
 * the floors' sum and the largest count it dropped. So every merged count is at most `error`
 * above the truth, and a key not listed was seen at most `floor` times.
 */
import { TopKeys } from '../top-keys.js';

export interface KeySummary {
  /** Occurrences counted (listed or not). */
  total: number;
  /** Most occurrences any unlisted key may have had. */
  floor: number;
  /** [key, count, bytes, error], largest count first. */
  entries: Array<[string, number, number, number]>;
}

/** The `limit` largest entries of a TopKeys, with the floor that bounds the rest. */
export function summarize(t: TopKeys, limit: number): KeySummary {
  // Ties go by the key's hash, so the entries do not depend on the order keys came in (one
  // thread or shards); the floor (the cut's count) covers those left out.
  const rows = t.top(limit + 1, 'count');
  const listed = rows.slice(0, limit);
  const cut = rows.length > limit ? rows[limit]!.count : 0;
  return {
    total: t.total,
    floor: Math.max(t.errorBound, cut),
    entries: listed.map((r) => [r.key, r.count, r.bytes, r.error]),
  };
}

export function emptySummary(): KeySummary {
  return { total: 0, floor: 0, entries: [] };
}

export function mergeSummaries(a: KeySummary, b: KeySummary, limit: number): KeySummary {
  const byKey = new Map<string, [string, number, number, number]>();
  for (const [key, count, bytes, error] of a.entries) byKey.set(key, [key, count, bytes, error + b.floor]);
  for (const [key, count, bytes, error] of b.entries) {
    const e = byKey.get(key);
    if (e === undefined) byKey.set(key, [key, count, bytes, error + a.floor]);
    else {
      e[1] += count;
      e[2] += bytes;
      e[3] += error - b.floor; // listed in both: only their own errors add
    }
  }
  const all = [...byKey.values()].sort((x, y) => y[1] - x[1] || y[2] - x[2] || (x[0] < y[0] ? -1 : 1));
  const dropped = all.length > limit ? all[limit]![1] : 0;
  return { total: a.total + b.total, floor: Math.max(a.floor + b.floor, dropped), entries: all.slice(0, limit) };
}

/** A TopKeys holding a summary, for the report builder: exact while the floor is 0. */
export function topKeysOf(s: KeySummary, capacity: number): TopKeys {
  const t = new TopKeys(Math.max(capacity, s.entries.length));
  for (const [key, count, bytes, error] of s.entries) t.restore(key, count, bytes, error);
  t.restoreBounds(s.total, s.floor);
  return t;
}
