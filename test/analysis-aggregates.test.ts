import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { LatencyHistogram } from '../src/analysis/histogram.js';
import { TopKeys } from '../src/analysis/top-keys.js';
import { LargestN } from '../src/analysis/bounded.js';
import { BigValues } from '../src/analysis/big-values.js';
import { commandInfo } from '../src/analysis/command-info.js';
import { CommandStats } from '../src/analysis/command-stats.js';
import { Stats } from '../src/analysis/stats.js';
import type { TrackedRequest } from '../src/analysis/tracked-request.js';
import type { TcpConn } from '../src/flow/types.js';

/** Exact quantile by sorting: the truth the histogram approximates. */
function exactQuantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(q * s.length) - 1)]!;
}

describe('LatencyHistogram', () => {
  test('exact below 128us', () => {
    const h = new LatencyHistogram();
    for (let v = 0; v < 128; v++) h.record(v);
    expect([h.quantile(0.5), h.quantile(1), h.min, h.max, h.count]).toEqual([63, 127, 0, 127, 128]);
  });

  test('quantiles within 1/64 of the exact value, never above max', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50_000_000 }), { minLength: 1, maxLength: 500 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (vals, q) => {
        const h = new LatencyHistogram();
        for (const v of vals) h.record(v);
        const want = exactQuantile(vals, q);
        const got = h.quantile(q);
        expect(got).toBeGreaterThanOrEqual(want);
        expect(got).toBeLessThanOrEqual(Math.min(Math.max(...vals), want + want / 64 + 1));
      }),
    );
  });

  test('values beyond 2^31 us are kept in order', () => {
    const h = new LatencyHistogram();
    h.record(3e9);
    h.record(5e12);
    expect(h.quantile(0.5)).toBeGreaterThanOrEqual(3e9);
    expect(h.quantile(0.5)).toBeLessThan(3.1e9);
    // Past 2^40 us (12.7 days: absurd stamps) a value counts as that bound, max and mean included.
    expect(h.max).toBe(2 ** 40 - 1);
    expect(h.quantile(1)).toBe(2 ** 40 - 1);
    expect(h.mean()).toBeLessThanOrEqual(h.max);
  });

  test('log buckets sum to the count', () => {
    const h = new LatencyHistogram();
    [5, 150, 900, 12_000, 2_000_000].forEach((v) => h.record(v));
    const b = h.logBuckets([100, 1000, 10_000, Infinity]);
    expect(b).toEqual([[100, 1], [1000, 2], [10_000, 0], [Infinity, 2]]);
  });
});

describe('TopKeys', () => {
  test('exact while the keys fit', () => {
    const t = new TopKeys(10);
    ['a', 'b', 'a', 'c', 'a', 'b'].forEach((k) => t.add(k, 2));
    expect(t.top(2)).toEqual([
      { key: 'a', count: 3, bytes: 6, error: 0 },
      { key: 'b', count: 2, bytes: 4, error: 0 },
    ]);
    expect(t.exact).toBe(true);
  });

  test('Space-Saving guarantees: true heavy hitters kept, counts within the error bound', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 50, maxLength: 2000 }), fc.integer({ min: 5, max: 30 }), (stream, cap) => {
        // Skew the stream so a few keys are hot.
        const keys = stream.map((n) => `k${n % 7 === 0 ? 0 : n}`);
        const t = new TopKeys(cap);
        const truth = new Map<string, number>();
        for (const k of keys) {
          t.add(k, 1);
          truth.set(k, (truth.get(k) ?? 0) + 1);
        }
        const kept = new Map(t.top(cap).map((e) => [e.key, e]));
        for (const [k, n] of truth) {
          if (n > keys.length / cap) expect(kept.has(k)).toBe(true);
        }
        for (const e of kept.values()) {
          const n = truth.get(e.key) ?? 0;
          expect(e.count).toBeGreaterThanOrEqual(n);
          expect(e.count - e.error).toBeLessThanOrEqual(n);
          expect(e.count - n).toBeLessThanOrEqual(t.errorBound);
        }
      }),
    );
  });
});

describe('LargestN', () => {
  test('keeps the n largest of many', () => {
    const l = new LargestN<number>(5, (x) => x);
    const vals = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
    vals.forEach((v) => l.add(v));
    expect(l.sorted()).toEqual([999, 998, 997, 996, 995]);
    expect(l.seen).toBe(1000);
  });

  test('of none keeps none, and still counts what it saw (monitor keeps no slow list)', () => {
    const l = new LargestN<number>(0, (x) => x);
    [3, 1, 2].forEach((v) => l.add(v));
    expect(l.sorted()).toEqual([]);
    expect(l.seen).toBe(3);
  });
});

describe('BigValues', () => {
  test('lists the n largest values by key and direction, each with its key\'s largest', () => {
    const adds = fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 5000 }), fc.boolean()), { maxLength: 400 });
    fc.assert(
      fc.property(adds, fc.integer({ min: 1, max: 8 }), (list, n) => {
        const big = new BigValues(n);
        const truth = new Map<string, number>();
        for (const [k, bytes, request] of list) {
          const direction = request ? 'request' : 'reply';
          big.add(`k${k}`, bytes, direction, 'SET', 0, 'c');
          const id = `${direction} k${k}`;
          if (bytes > 0) truth.set(id, Math.max(truth.get(id) ?? 0, bytes));
        }
        const got = big.sorted().slice(0, n);
        const want = [...truth.values()].sort((a, b) => b - a).slice(0, n);
        expect(got.map((v) => v.bytes)).toEqual(want);
        for (const v of got) expect(v.bytes).toBe(truth.get(`${v.direction} ${v.key}`));
      }),
    );
  });

  test('a key keeps its largest value\'s details, and counts the values of that size', () => {
    const big = new BigValues(10);
    big.add('hot', 3, 'reply', 'GET', 1, 'a:1');
    big.add('hot', 9, 'reply', 'GETEX', 5, 'b:5');
    big.add('hot', 5, 'reply', 'GET', 3, 'c:3');
    big.add('hot', 9, 'reply', 'GETEX', 2, 'e:2');
    big.add('hot', 4, 'request', 'SET', 4, 'd:4');
    expect(big.sorted()).toEqual([
      { key: 'hot', bytes: 9, command: 'GETEX', direction: 'reply', count: 2, tsUs: 2, client: 'e:2' },
      { key: 'hot', bytes: 4, command: 'SET', direction: 'request', count: 1, tsUs: 4, client: 'd:4' },
    ]);
  });

  test('the list is the n biggest by size then key, whatever order values come in (shards merge into it)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 4 })), { maxLength: 300 }), fc.integer({ min: 1, max: 5 }), (vals, n) => {
        const list = (order: Array<[number, number]>) => {
          const big = new BigValues(n);
          order.forEach(([k, bytes], i) => big.add(`k${k}`, bytes, 'request', 'SET', i, 'c'));
          return big.sorted().map((v) => [v.key, v.bytes, v.count]);
        };
        expect(list([...vals].reverse())).toEqual(list(vals));
      }),
      // The floor's own key, once the list was cut to it, again with a value of the floor's size:
      // it was turned away as if it sorted after the floor (count 1 one way round, 2 the other).
      { numRuns: 1000, examples: [[[[14, 4], [14, 4], [0, 1], [15, 1], [1, 1]], 1]] },
    );
  });
});

describe('Stats key prefixes', () => {
  const conn: TcpConn = {
    id: 1, clientIp: '10.0.0.5', clientPort: 5000, serverIp: '10.0.0.1', serverPort: 6379,
    client: '10.0.0.5:5000', server: '10.0.0.1:6379', midstream: false, firstTsUs: 0, handlerState: null,
  };
  const set = (key: string): TrackedRequest => ({
    conn, db: 0, expect: 0, outcome: 'ok', reply: null, replyBytes: 5, latencyUs: 10, info: commandInfo(['SET', key, 'v']),
    frame: { argc: 3, args: ['SET', key, 'v'], argLens: [3, key.length, 1], wireBytes: 30, inline: false, missingBytes: 0, startTsUs: 0, endTsUs: 0 },
  });

  test('prefixes read before the keys count the keys still queued', () => {
    const stats = new Stats({ slowUs: 1e9, maxKeys: 100, keepSlow: 1, keepBig: 1 });
    const peers = stats.open(conn);
    for (const k of ['user:1', 'user:2', 'item:1']) stats.complete(set(k), peers);
    expect(stats.prefixes.top(5).map((p) => [p.key, p.count, p.bytes])).toEqual([['user:', 2, 70], ['item:', 1, 35]]);
    expect(stats.keys.total).toBe(3);
  });
});

describe('TopKeys.flush with a failing onCounted', () => {
  test('every queued key is counted and seen, then the first error is thrown', () => {
    const t = new TopKeys(10);
    const seen: string[] = [];
    t.onCounted = (e) => {
      seen.push(e.key);
      if (seen.length === 1) throw new Error('first');
      if (seen.length === 2) throw new Error('second');
    };
    ['a', 'b', 'c'].forEach((k) => t.queue(k, 1));
    expect(() => t.flush()).toThrow('first');
    expect([seen, t.total, t.size]).toEqual([['a', 'b', 'c'], 3, 3]);
  });
});

describe('CommandStats rows', () => {
  test('runs of one name, past the 1024 names kept, count under their own row or "(other)"', () => {
    const cs = new CommandStats();
    const want = new Map<string, number>();
    let x = 1;
    for (let i = 0; i < 5_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const name = `CMD${(x >>> 4) % 1100}`;
      const r = { info: commandInfo([name]), frame: { wireBytes: 10 }, replyBytes: 1, outcome: 'ok', latencyUs: 5 } as unknown as TrackedRequest;
      for (let run = (x >>> 24) % 3; run >= 0; run--) {
        cs.add(r, null);
        const row = want.has(r.info.name) || want.size < 1024 ? r.info.name : '(other)';
        want.set(row, (want.get(row) ?? 0) + 1);
      }
    }
    expect(new Map([...cs.byName.values()].map((e) => [e.name, e.count]))).toEqual(want);
  });
});
