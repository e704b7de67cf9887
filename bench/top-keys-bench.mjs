// TopKeys.add throughput: the Map-of-objects version it replaced against the KeyTable one.
// Keys are fresh 16-byte latin1 strings made from a Buffer with String.fromCharCode, as the
// RESP decoder makes them ('key:000000012345', like redis-benchmark -r). Two workloads, both
// with capacity 200k: 100k distinct keys (exact mode) and keys drawn from 5M (Space-Saving);
// each plain, then as stats.ts uses TopKeys (tag the entry with the key's prefix, count the
// prefix in a second table; the KeyTable side queues keys as stats.ts does, see KeyTable.findMany).
// Prints ns per add (per key for the stats.ts lines), best of 3
// rounds (ROUNDS=n to change), less the cost of making the key strings.
// Run: npx tsc -p tsconfig.json && node bench/top-keys-bench.mjs [adds]
//      node bench/top-keys-bench.mjs rss [old|new] [distinct]   peak RSS after that many distinct keys
import { TopKeys } from '../dist/analysis/top-keys.js';

/** The previous implementation (Map<string, Entry> plus a heap of entry objects), for comparison. */
class MapTopKeys {
  map = new Map();
  heap = null;
  total = 0;
  evictions = 0;
  constructor(capacity) {
    this.capacity = capacity;
  }
  add(key, bytes) {
    this.total++;
    const e = this.map.get(key);
    if (e !== undefined) {
      e.count++;
      e.bytes += bytes;
      if (this.heap !== null) this.siftDown(e.heapIdx);
      return e;
    }
    if (this.map.size < this.capacity) {
      const fresh = { key, count: 1, bytes, error: 0, heapIdx: -1, tag: null };
      this.map.set(key, fresh);
      return fresh;
    }
    return this.replaceMin(key, bytes);
  }
  replaceMin(key, bytes) {
    if (this.capacity <= 0) return null;
    const heap = this.heap ?? this.buildHeap();
    const min = heap[0];
    this.map.delete(min.key);
    this.evictions++;
    min.key = key;
    min.error = min.count;
    min.count++;
    min.bytes += bytes;
    min.tag = null;
    this.map.set(key, min);
    this.siftDown(0);
    return min;
  }
  buildHeap() {
    const heap = [...this.map.values()];
    heap.forEach((e, i) => (e.heapIdx = i));
    this.heap = heap;
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
    return heap;
  }
  siftDown(i) {
    const heap = this.heap;
    const n = heap.length;
    const e = heap[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r].count < heap[l].count ? r : l;
      if (heap[c].count >= e.count) break;
      heap[i] = heap[c];
      heap[i].heapIdx = i;
      i = c;
    }
    heap[i] = e;
    e.heapIdx = i;
  }
}

const CAPACITY = 200_000;
const KEY_LEN = 16;
const fc = String.fromCharCode;

/** n keys of KEY_LEN bytes, each 'key:' + 12 digits of a random number below `space`. */
function keyBytes(n, space, seed) {
  const buf = Buffer.alloc(n * KEY_LEN);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const k = Math.floor((x / 2 ** 32) * space);
    buf.write('key:' + String(k).padStart(12, '0'), i * KEY_LEN, 'latin1');
  }
  return buf;
}

function key16(u, s) {
  return fc(u[s], u[s + 1], u[s + 2], u[s + 3], u[s + 4], u[s + 5], u[s + 6], u[s + 7],
    u[s + 8], u[s + 9], u[s + 10], u[s + 11], u[s + 12], u[s + 13], u[s + 14], u[s + 15]);
}

/** ns per key to make the strings alone. */
function stringsOnly(buf) {
  const t0 = process.hrtime.bigint();
  let sink = 0;
  for (let s = 0; s < buf.length; s += KEY_LEN) sink += key16(buf, s).length;
  if (sink === 0) throw new Error('unreachable');
  return Number(process.hrtime.bigint() - t0) / (buf.length / KEY_LEN);
}

/**
 * Adds every key of buf to a fresh table; `asStats` also does what stats.ts does with each
 * entry: cache the key's prefix in its tag once, and count the prefix in a second table.
 */
function addAll(make, buf, asStats) {
  const t = make(CAPACITY);
  const prefixes = make(10_000);
  const t0 = process.hrtime.bigint();
  if (asStats && typeof t.queue === 'function') {
    // What stats.ts does: queue keys, counted 64 at a time (KeyTable.findMany); prefixes in the hook.
    t.onCounted = (e, bytes) => prefixes.add((e.tag ??= e.key.slice(0, e.key.indexOf(':') + 1)), bytes);
    for (let s = 0; s < buf.length; s += KEY_LEN) t.queue(key16(buf, s), 40);
    t.flush();
  } else if (asStats) {
    for (let s = 0; s < buf.length; s += KEY_LEN) {
      const key = key16(buf, s);
      const e = t.add(key, 40);
      prefixes.add((e.tag ??= key.slice(0, key.indexOf(':') + 1)), 40);
    }
  } else {
    for (let s = 0; s < buf.length; s += KEY_LEN) t.add(key16(buf, s), 40);
  }
  return { ns: Number(process.hrtime.bigint() - t0) / (buf.length / KEY_LEN), t };
}

const ROUNDS = Number(process.env['ROUNDS'] ?? 3);

/** Best of ROUNDS for each contender, rounds interleaved so background load hits both alike. */
function workload(label, buf, asStats) {
  const best = { strings: Infinity, map: Infinity, table: Infinity };
  let map;
  let table;
  for (let r = 0; r < ROUNDS; r++) {
    best.strings = Math.min(best.strings, stringsOnly(buf));
    map = addAll((cap) => new MapTopKeys(cap), buf, asStats);
    best.map = Math.min(best.map, map.ns);
    table = addAll((cap) => new TopKeys(cap), buf, asStats);
    best.table = Math.min(best.table, table.ns);
  }
  const o = best.map - best.strings;
  const n = best.table - best.strings;
  console.log(
    `${label.padEnd(46)} Map ${o.toFixed(0).padStart(4)} ns | KeyTable ${n.toFixed(0).padStart(4)} ns | ` +
      `${(o / n).toFixed(2)}x (evictions ${table.t.evictions}; making a key ${best.strings.toFixed(0)} ns, not counted)`,
  );
  // Both must agree on the top counts while exact.
  if (table.t.exact) {
    const a = JSON.stringify(table.t.top(5).map((e) => e.count));
    const b = JSON.stringify([...map.t.map.values()].map((e) => e.count).sort((x, y) => y - x).slice(0, 5));
    if (a !== b) throw new Error(`top counts differ: ${a} vs ${b}`);
  }
}

function rss(which, distinct) {
  const t = which === 'old' ? new MapTopKeys(CAPACITY) : new TopKeys(CAPACITY);
  const chunk = 1_000_000;
  for (let from = 0; from < distinct; from += chunk) {
    const buf = Buffer.alloc(Math.min(chunk, distinct - from) * KEY_LEN);
    for (let i = 0; i * KEY_LEN < buf.length; i++) buf.write('key:' + String(from + i).padStart(12, '0'), i * KEY_LEN, 'latin1');
    for (let s = 0; s < buf.length; s += KEY_LEN) t.add(key16(buf, s), 40);
  }
  const mb = process.resourceUsage().maxRSS / 1024;
  console.log(`${which}: ${distinct} distinct keys, capacity ${CAPACITY}: evictions ${t.evictions}, peak RSS ${mb.toFixed(0)} MB`);
}

if (process.argv[2] === 'rss') {
  rss(process.argv[3] ?? 'new', Number(process.argv[4] ?? 5_000_000));
} else {
  const n = Number(process.argv[2] ?? 2_000_000);
  const exact = keyBytes(n, 100_000, 1);
  const spaceSaving = keyBytes(n, 5_000_000, 2);
  workload(`${n} adds, 100k keys (exact)`, exact, false);
  workload(`${n} adds, 5M keys (Space-Saving)`, spaceSaving, false);
  workload(`  as stats.ts: + tag, prefix add (exact)`, exact, true);
  workload(`  as stats.ts: + tag, prefix add (Space-Saving)`, spaceSaving, true);
}
