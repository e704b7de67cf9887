/**
 * A hot-key table as plain data that merges: its entries (raw key bytes as latin1, count,
 * bytes, error), the occurrences it saw, and `floor`, the most any key it does not list may
 * have been seen (0 while every key it saw is listed). Merging two summaries (Space-Saving
 * summaries merge as Agarwal et al., "Mergeable Summaries", PODS 2012, describe): a key's count
 * is the sum of its counts, and its error grows by the other summary's floor where that one
 * does not list it; the merged table keeps the `limit` largest, and its floor is the largest of
 * the floors' sum and the largest count it dropped. So every merged count is at most `error`
 * above the truth, and a key not listed was seen at most `floor` times.
 * A summary lists the `limit` largest by count and, besides, the `limit` largest by bytes: a key
 * seen once with a 200 KB value is hot by bytes and nowhere near the top by count. Reports made
 * before list only the top by count; they read the same (the entries have the same shape).
 */
import { TopKeys } from '../top-keys.js';

export interface KeySummary {
  /** Occurrences counted (listed or not). */
  total: number;
  /** Most occurrences any unlisted key may have had. */
  floor: number;
  /** [key, count, bytes, error], largest count first: the top by count and the top by bytes. */
  entries: Array<[string, number, number, number]>;
}

type Entry = [string, number, number, number];

/**
 * The `limit` largest entries of a TopKeys by count and those by bytes, with the floor that
 * bounds the counts of the rest.
 */
export function summarize(t: TopKeys, limit: number): KeySummary {
  // Ties go by the key's hash, so the entries do not depend on the order keys came in (one
  // thread or shards); the floor (the cut's count) covers those left out.
  const rows = t.top(limit + 1, 'count');
  const listed = rows.slice(0, limit);
  const cut = rows.length > limit ? rows[limit]!.count : 0;
  const byKey = new Map<string, Entry>(listed.map((r) => [r.key, [r.key, r.count, r.bytes, r.error]]));
  // Keys beyond the count cut: each has a count at most the cut's, so the floor still holds.
  if (rows.length > limit) for (const r of t.top(limit, 'bytes')) if (!byKey.has(r.key)) byKey.set(r.key, [r.key, r.count, r.bytes, r.error]);
  return { total: t.total, floor: Math.max(t.errorBound, cut), entries: [...byKey.values()].sort(byCount) };
}

const byCount = (x: Entry, y: Entry): number => y[1] - x[1] || y[2] - x[2] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0);
const byBytes = (x: Entry, y: Entry): number => y[2] - x[2] || y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0);

/**
 * The `limit` largest of `all` by count and the `limit` largest by bytes, largest count first,
 * and the largest count of those left out (0 when none is).
 */
function keepTop(all: Entry[], limit: number): { kept: Entry[]; dropped: number } {
  all.sort(byCount);
  if (all.length <= limit) return { kept: all, dropped: 0 };
  const kept = new Set(all.slice(0, limit));
  for (const e of [...all].sort(byBytes).slice(0, limit)) kept.add(e);
  const dropped = all.find((e) => !kept.has(e))?.[1] ?? 0;
  return { kept: all.filter((e) => kept.has(e)), dropped };
}

export function emptySummary(): KeySummary {
  return { total: 0, floor: 0, entries: [] };
}

export function mergeSummaries(a: KeySummary, b: KeySummary, limit: number): KeySummary {
  const byKey = new Map<string, Entry>();
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
  const { kept, dropped } = keepTop([...byKey.values()], limit);
  return { total: a.total + b.total, floor: Math.max(a.floor + b.floor, dropped), entries: kept };
}

/** A TopKeys holding a summary, for the report builder: exact while the floor is 0. */
export function topKeysOf(s: KeySummary, capacity: number): TopKeys {
  const t = new TopKeys(Math.max(capacity, s.entries.length));
  for (const [key, count, bytes, error] of s.entries) t.restore(key, count, bytes, error);
  t.restoreBounds(s.total, s.floor);
  return t;
}
