import type { SlowRequest } from './stats.js';

/** What the order reads: a merged report's rows may lack argLens. */
type SlowOrdered = Omit<SlowRequest, 'argLens'>;

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Slowest first; equal latencies by time, then connection, then arguments: a total order, so
 * the kept slow requests and their order do not depend on arrival order (one thread or shards),
 * as `bigger` does for big values.
 */
export function slower<T extends SlowOrdered>(a: T, b: T): number {
  return (
    b.latencyUs - a.latencyUs ||
    a.tsUs - b.tsUs ||
    byText(a.client, b.client) ||
    byText(a.server, b.server) ||
    byArgs(a.args, b.args) ||
    a.argc - b.argc ||
    (a.db ?? -1) - (b.db ?? -1) ||
    Number(a.blocking) - Number(b.blocking)
  );
}

function byArgs(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = byText(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}
