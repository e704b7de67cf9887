import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { KEY_RECORD, KeyTable } from '../src/analysis/key-table.js';

const { INLINE_BYTES } = KEY_RECORD;
import { TopKeys, type KeyCount } from '../src/analysis/top-keys.js';

// TOPKEYS_PROP_RUNS=2000 for a longer local soak.
const RUNS = { numRuns: Number(process.env['TOPKEYS_PROP_RUNS'] ?? 200) };

/** The truth: every key's count and bytes. */
function exactCounts(stream: readonly (readonly [string, number])[]): Map<string, { count: number; bytes: number }> {
  const m = new Map<string, { count: number; bytes: number }>();
  for (const [k, b] of stream) {
    const e = m.get(k) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += b;
    m.set(k, e);
  }
  return m;
}

/**
 * top(n) is right when each row is its key's true count and bytes, keys are distinct, and the
 * (first, second) sort pairs are those of the truth sorted the same way: rows tied on both may
 * come in any order, and a tie cut by n may keep any of its keys.
 */
function expectTop(got: KeyCount[], truth: Map<string, { count: number; bytes: number }>, n: number, by: 'count' | 'bytes'): void {
  const pair = (e: { count: number; bytes: number }): [number, number] => (by === 'count' ? [e.count, e.bytes] : [e.bytes, e.count]);
  const want = [...truth.values()].map(pair).sort((a, b) => b[0] - a[0] || b[1] - a[1]).slice(0, n);
  expect(got.map(pair)).toEqual(want);
  expect(new Set(got.map((e) => e.key)).size).toBe(got.length);
  for (const e of got) expect(e).toEqual({ key: e.key, ...truth.get(e.key)!, error: 0 });
}

// ---------------------------------------------------------------- keys

const INLINE = INLINE_BYTES;
const latin1 = (max: number): fc.Arbitrary<string> =>
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: max }).map((a) => String.fromCharCode(...a));
/** Short and long latin1, non-latin1, and keys sharing a long prefix that differ only past it. */
const anyKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', 'a', 'key:1', '\0', '\0\0', 'é', '\xff'),
  latin1(6),
  latin1(INLINE + 8),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.tuple(fc.constantFrom('p'.repeat(INLINE - 1), 'p'.repeat(INLINE), 'p'.repeat(INLINE + 1), 'p'.repeat(100)), latin1(3)).map(([a, b]) => a + b),
);
const streamOf = (keys: fc.Arbitrary<string>, max: number, min = 0): fc.Arbitrary<[string, number][]> =>
  fc.array(fc.tuple(keys, fc.integer({ min: 0, max: 1000 })), { minLength: min, maxLength: max });

// ---------------------------------------------------------------- exact

describe('TopKeys exact mode', () => {
  test.each([
    ['repeats', ['a', 'b', 'a', 'c', 'a', 'b']],
    ['empty key and NULs of every length', ['', '\0', '\0\0', '\0\0\0', '\0\0\0\0', '\0\0\0\0\0', '', '\0\0\0\0']],
    ['latin1 above 127', ['é', '\xff\xfe', 'caf\xe9', 'é', '\x80'.repeat(INLINE)]],
    ['chars above 255', ['€', '日本', '€', 'a€', '\u0100', '\u0100'.repeat(INLINE), '\u0100\0', '\0\x01', '\u{1F600}']],
    ['every length around the inline limit', Array.from({ length: 3 * INLINE }, (_, n) => 'k'.repeat(n % (INLINE + 6)))],
    ['differing only past the inline prefix', ['x'.repeat(INLINE) + 'a', 'x'.repeat(INLINE) + 'b', 'x'.repeat(INLINE) + 'a', 'x'.repeat(INLINE)]],
    ['differing only in the last inline char', ['y'.repeat(INLINE - 1) + 'a', 'y'.repeat(INLINE - 1) + 'b', 'y'.repeat(INLINE - 1) + 'b']],
    ['long keys', Array.from({ length: 40 }, (_, i) => 'long:'.repeat(20) + (i % 13))],
  ])('%s', (_, keys) => {
    const stream = keys.map((k, i): [string, number] => [k, i + 1]);
    const t = new TopKeys(1000);
    for (const [k, b] of stream) t.add(k, b);
    const truth = exactCounts(stream);
    expect([t.size, t.total, t.exact, t.errorBound]).toEqual([truth.size, stream.length, true, 0]);
    expectTop(t.top(1000, 'count'), truth, 1000, 'count');
    expectTop(t.top(1000, 'bytes'), truth, 1000, 'bytes');
  });

  test('same counts and order as a naive counter', () => {
    fc.assert(
      fc.property(streamOf(anyKey, 300), fc.integer({ min: 0, max: 20 }), (stream, n) => {
        const t = new TopKeys(400);
        for (const [k, b] of stream) {
          const e = t.add(k, b)!;
          expect(e.key).toBe(k);
        }
        const truth = exactCounts(stream);
        expect([t.size, t.total, t.exact]).toEqual([truth.size, stream.length, true]);
        for (const by of ['count', 'bytes'] as const) {
          expectTop(t.top(n, by), truth, n, by);
          expectTop(t.top(truth.size + 5, by), truth, truth.size, by);
        }
      }),
      RUNS,
    );
  });

  test('100k distinct keys through every growth step', () => {
    const t = new TopKeys(200_000);
    const stream: [string, number][] = [];
    for (let i = 0; i < 300_000; i++) stream.push([`key:${String((i * 7919) % 100_000).padStart(12, '0')}`, i % 7]);
    for (const [k, b] of stream) t.add(k, b);
    const truth = exactCounts(stream);
    expect(t.size).toBe(100_000);
    expectTop(t.top(50, 'count'), truth, 50, 'count');
    expectTop(t.top(50, 'bytes'), truth, 50, 'bytes');
  });

  test('forEach visits every key once with its count, queued ones included', () => {
    const t = new TopKeys(100);
    const stream: [string, number][] = ['a', 'b', 'a', 'c', 'a', 'b'].map((k) => [k, 1]);
    for (const [k, b] of stream.slice(0, 3)) t.add(k, b);
    for (const [k, b] of stream.slice(3)) t.queue(k, b);
    const seen = new Map<string, number>();
    t.forEach((k, n) => seen.set(k, (seen.get(k) ?? 0) + n));
    expect(seen).toEqual(new Map([...exactCounts(stream)].map(([k, e]) => [k, e.count])));
  });

  test('the entry add returns reads the key as just counted', () => {
    const t = new TopKeys(10);
    t.add('a', 5);
    const e = t.add('a', 7)!;
    expect([e.key, e.count, e.bytes, e.error]).toEqual(['a', 2, 12, 0]);
  });

  test('capacity 0 keeps nothing; a fractional capacity rounds up', () => {
    const none = new TopKeys(0);
    expect([none.add('a', 1), none.total, none.size, none.top(5)]).toEqual([null, 1, 0, []]);
    const t = new TopKeys(2.5);
    ['a', 'b', 'c', 'd'].forEach((k) => t.add(k, 1));
    expect([t.size, t.evictions]).toEqual([3, 1]);
  });
});

// ---------------------------------------------------------------- Space-Saving

describe('TopKeys Space-Saving', () => {
  type Counted = { count: number; bytes: number; error: number };

  /**
   * Replays the stream against Space-Saving's rules, whichever entry at the minimum an eviction
   * takes: a kept key's count and bytes grow by one occurrence; a new key, once full, takes over
   * an entry with the smallest count, inheriting its count (as error, plus one) and bytes. Every
   * add is checked, so a key the table lost would show as a wrong eviction at once.
   */
  function checkSpaceSaving(stream: readonly (readonly [string, number])[], cap: number): void {
    const t = new TopKeys(cap);
    const kept = new Map<string, Counted>();
    let evictions = 0;
    for (const [k, b] of stream) {
      const had = kept.get(k);
      const e = t.add(k, b)!;
      let want: Counted;
      if (had !== undefined) want = { count: had.count + 1, bytes: had.bytes + b, error: had.error };
      else if (kept.size < cap) want = { count: 1, bytes: b, error: 0 };
      else {
        // The entries at the minimum whose bytes match what the new key inherited.
        let min = Infinity;
        let gone: string[] = [];
        for (const [key, v] of kept) {
          if (v.count < min) [min, gone] = [v.count, []];
          if (v.count === min && v.bytes === e.bytes - b) gone.push(key);
        }
        if (gone.length > 1) {
          const now = new Set(t.top(cap).map((x) => x.key));
          gone = gone.filter((key) => !now.has(key));
        }
        expect(gone.length).toBe(1);
        kept.delete(gone[0]!);
        evictions++;
        want = { count: min + 1, bytes: e.bytes, error: min };
      }
      kept.set(k, want);
      // expect() only on a mismatch: it costs microseconds and runs have 200k adds.
      if (e.key !== k || e.count !== want.count || e.bytes !== want.bytes || e.error !== want.error) {
        expect({ key: e.key, count: e.count, bytes: e.bytes, error: e.error }).toEqual({ key: k, ...want });
      }
      // The tag is per key: set once, seen on every later hit, gone when the entry changes key.
      const tag = had === undefined ? null : `tag of ${k}`;
      if (e.tag !== tag) expect(e.tag).toBe(tag);
      if (tag === null) e.tag = `tag of ${k}`;
    }
    const truth = exactCounts(stream);
    const top = t.top(cap + 1);
    expect(new Map(top.map(({ key, ...c }) => [key, c]))).toEqual(kept);
    expect([t.evictions, t.exact, t.size]).toEqual([evictions, evictions === 0, kept.size]);
    if (evictions > 0) expect(t.errorBound).toBe(Math.min(...top.map((e) => e.count)));
    for (const [k, n] of truth) if (n.count > stream.length / cap) expect(kept.has(k)).toBe(true);
    for (const e of top) {
      const n = truth.get(e.key)?.count ?? 0;
      expect(e.count).toBeGreaterThanOrEqual(n);
      expect(e.count - e.error).toBeLessThanOrEqual(n);
      expect(e.count - n).toBeLessThanOrEqual(t.errorBound);
      expect(e.error).toBeLessThanOrEqual(t.errorBound);
    }
  }

  test('every add follows Space-Saving; guarantees hold', () => {
    // A small key space with a hot key, through a capacity of 1..40: constant eviction and
    // crowded probe runs in a 16..128-slot index.
    const skewed = fc.integer({ min: 0, max: 80 }).map((n) => (n % 5 === 0 ? 'hot' : n % 3 === 0 ? 'x'.repeat(INLINE) + n : `k${n}`));
    const keys = fc.oneof({ arbitrary: skewed, weight: 4 }, { arbitrary: anyKey, weight: 1 });
    fc.assert(fc.property(streamOf(keys, 1500, 100), fc.integer({ min: 1, max: 40 }), checkSpaceSaving), RUNS);
  });

  test.each([
    [8, 200_000, 300],
    [64, 200_000, 5_000],
    [300, 100_000, 20_000],
  ])('long random run: capacity %i, %i adds over %i keys', (cap, n, space) => {
    let x = cap;
    const stream: [string, number][] = [];
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      // Squaring skews toward low ids: some keys are hot, most are rare.
      const id = Math.floor((x / 2 ** 32) ** 2 * space);
      // Random bytes make the bytes an evicted entry passes on tell which entry it was.
      stream.push([id % 4 === 0 ? `long:${'z'.repeat(INLINE)}${id}` : `k:${id}`, x >>> 12]);
    }
    checkSpaceSaving(stream, cap);
  });

  test('a reused entry drops the evicted key and its tag', () => {
    const t = new TopKeys(2);
    t.add('a', 1)!.tag = 'A';
    t.add('a', 1);
    t.add('b', 1)!.tag = 'B';
    const c = t.add('c', 10)!;
    expect([c.key, c.count, c.bytes, c.error, c.tag]).toEqual(['c', 2, 11, 1, null]);
    expect(t.add('a', 0)!.tag).toBe('A');
    expect(t.add('b', 0)!.tag).toBe(null);
    expect(t.top(5).map((e) => e.key).sort()).toEqual(['a', 'b']);
  });
});

// ---------------------------------------------------------------- full hash collisions

describe('TopKeys with keys whose 32-bit hashes collide', () => {
  /** Pairs of distinct keys with equal hashes, found by the birthday bound among n keys. */
  function collisions(make: (i: number) => string, n: number): [string, string][] {
    const probe = new KeyTable(1);
    const seen = new Map<number, string>();
    const pairs: [string, string][] = [];
    for (let i = 0; i < n; i++) {
      const k = make(i);
      probe.find(k);
      const other = seen.get(probe.lastHash);
      if (other !== undefined) pairs.push([other, k]);
      else seen.set(probe.lastHash, k);
    }
    return pairs;
  }
  // About n^2 / 2^33 pairs each: short inline keys of several lengths, and string-compared ones.
  const pairs = [
    ...collisions((i) => `k${i}`, 400_000),
    ...collisions((i) => `${'long:'.repeat(8)}${i}`, 400_000),
  ];

  test('there are colliding pairs of both kinds', () => {
    expect(pairs.filter(([a]) => a.length <= INLINE).length).toBeGreaterThan(0);
    expect(pairs.filter(([a]) => a.length > INLINE).length).toBeGreaterThan(0);
  });

  test('colliding keys are counted apart, exact and under eviction', () => {
    const keys = pairs.flat();
    const stream = keys.flatMap((k, i): [string, number][] => Array.from({ length: 1 + (i % 3) }, () => [k, i]));
    const exact = new TopKeys(keys.length);
    for (const [k, b] of stream) exact.add(k, b);
    expectTop(exact.top(keys.length), exactCounts(stream), keys.length, 'count');
    for (const [a, b] of pairs) {
      const t = new TopKeys(1);
      t.add(a, 1);
      t.add(a, 1);
      const e = t.add(b, 1)!;
      expect([e.key, e.count, e.error, t.size]).toEqual([b, 3, 2, 1]);
      expect(t.add(b, 1)!.count).toBe(4);
      expect(t.add(a, 1)!.key).toBe(a);
      expect(t.top(2).map((x) => x.key)).toEqual([a]);
    }
  });
});

// ---------------------------------------------------------------- tags and clear

describe('TopKeys tags and clear', () => {
  test('tags stick to their keys across growth', () => {
    const t = new TopKeys(5000);
    for (let i = 0; i < 3000; i++) t.add(`k${i}`, 1)!.tag = `t${i}`;
    for (let i = 2999; i >= 0; i--) expect(t.add(`k${i}`, 1)!.tag).toBe(`t${i}`);
    expect(t.add('new', 1)!.tag).toBe(null);
  });

  test('tags past the interned ones (a distinct tag per key) stick too, and are reset on reuse', () => {
    const t = new TopKeys(100_000);
    for (let i = 0; i < 80_000; i++) t.add(`k${i}`, 1)!.tag = `t${i}`;
    for (let i = 0; i < 80_000; i += 7) expect(t.add(`k${i}`, 1)!.tag).toBe(`t${i}`);
    const e = t.add('k79999', 1)!;
    e.tag = null;
    expect(t.add('k79999', 1)!.tag).toBe(null);
    e.tag = 'again';
    expect([t.add('k79999', 1)!.tag, t.add('k5', 1)!.tag]).toEqual(['again', 't5']);
    const small = new TopKeys(70_000);
    for (let i = 0; i < 70_000; i++) small.add(`k${i}`, 1)!.tag = `t${i}`;
    // Full: each new key evicts one of count 1, whose tag (interned or not) must not carry over.
    for (let i = 0; i < 1000; i++) expect(small.add(`new${i}`, 1)!.tag).toBe(null);
  });

  test('clear forgets keys, counts and tags', () => {
    const t = new TopKeys(3);
    ['a', 'b', 'c', 'd', 'a'].forEach((k) => (t.add(k, 1)!.tag = k));
    t.clear();
    expect([t.total, t.evictions, t.size, t.exact, t.errorBound, t.top(5)]).toEqual([0, 0, 0, true, 0, []]);
    const e = t.add('a', 4)!;
    expect([e.key, e.count, e.bytes, e.error, e.tag]).toEqual(['a', 1, 4, 0, null]);
    ['b', 'c', 'd'].forEach((k) => t.add(k, 1));
    expect([t.evictions, t.size]).toEqual([1, 3]);
  });
});

// ---------------------------------------------------------------- queue (batched counting)

describe('TopKeys.queue counts exactly as add, in order', () => {
  /** Everything observable: onCounted's view of each occurrence, then the table's state. */
  function run(stream: readonly (readonly [string, number])[], capacity: number, queued: boolean, readEvery: number) {
    const t = new TopKeys(capacity);
    const seen: unknown[] = [];
    const note = (e: { key: string; count: number; bytes: number; error: number; tag: string | null }, bytes: number, key = e.key) => {
      // The key handed to the hook is the entry's own.
      seen.push([e.key, e.count, e.bytes, e.error, e.tag, bytes, key === e.key]);
      e.tag ??= `tag:${e.key}`;
    };
    t.onCounted = note;
    stream.forEach(([k, b], i) => {
      if (queued) t.queue(k, b);
      else note(t.add(k, b)!, b);
      // A read in the middle counts what is queued first.
      if (readEvery > 0 && i % readEvery === 0) seen.push(['read', t.size, t.total, t.evictions]);
    });
    return { seen, state: [t.size, t.total, t.exact, t.errorBound, t.top(capacity + 1, 'count'), t.top(capacity + 1, 'bytes')] };
  }

  test('random streams, exact and past capacity, with reads in between', () => {
    fc.assert(
      fc.property(streamOf(anyKey, 400), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 90 }), (stream, capacity, readEvery) => {
        expect(run(stream, capacity, true, readEvery)).toEqual(run(stream, capacity, false, readEvery));
      }),
      RUNS,
    );
  });

  test('batches that insert a key and meet it again, and that fill the table mid-batch', () => {
    const keys = Array.from({ length: 500 }, (_, i) => `k:${(i * 37) % 90}`);
    const stream = keys.map((k, i): [string, number] => [k, i]);
    for (const capacity of [90, 60, 1]) expect(run(stream, capacity, true, 0)).toEqual(run(stream, capacity, false, 0));
    // 'a' is looked up as held, then 'c' takes its entry earlier in the same batch.
    const evictedThenSeen: [string, number][] = [['a', 1], ['b', 1], ['b', 1], ['c', 1], ['a', 1], ['a', 1]];
    expect(run(evictedThenSeen, 2, true, 2)).toEqual(run(evictedThenSeen, 2, false, 2));
    // One entry: 'a', counted alone (the read after it), is held when the rest are looked up
    // together; in the batch it loses the entry and wins it back, twice.
    const backAndForth: [string, number][] = [['a', 1], ['a', 1], ['x', 2], ['a', 3], ['b', 4], ['a', 5], ['a', 6]];
    expect(run(backAndForth, 1, true, 100)).toEqual(run(backAndForth, 1, false, 100));
    expect(run(backAndForth, 2, true, 100)).toEqual(run(backAndForth, 2, false, 100));
  });

  test('clear drops what is queued', () => {
    const t = new TopKeys(10);
    t.queue('a', 1);
    t.clear();
    t.queue('b', 2);
    expect(t.top(5)).toEqual([{ key: 'b', count: 1, bytes: 2, error: 0 }]);
  });
});

describe('TopKeys.restoreCodes: a key from its code units is the key from its string', () => {
  test('random keys (latin1, wider, around the inline length) into tables already holding some', () => {
    fc.assert(
      fc.property(streamOf(anyKey, 200), fc.integer({ min: 0, max: 200 }), (stream, split) => {
        const byString = new TopKeys(1000);
        const byCodes = new TopKeys(1000);
        stream.forEach(([k, b], i) => {
          const count = 1 + (i % 3);
          if (i < split) {
            byString.add(k, b);
            byCodes.add(k, b);
            return;
          }
          byString.restore(k, count, b, i % 2);
          // The key among others' code units, as columns hold it.
          const text = `ab${k}cd`;
          const codes = new Uint16Array(text.length).map((_, j) => text.charCodeAt(j));
          byCodes.restoreCodes(codes, 2, k.length, count, b, i % 2);
        });
        expect(byCodes.top(1000)).toEqual(byString.top(1000));
        expect(byCodes.top(1000, 'bytes')).toEqual(byString.top(1000, 'bytes'));
        // And each is found again by its string (the same hash and packed chars): no entry is added.
        const size = byCodes.size;
        for (const [k] of stream) expect(byCodes.add(k, 0)!.key).toBe(k);
        expect(byCodes.size).toBe(size);
      }),
      RUNS,
    );
  });
});
