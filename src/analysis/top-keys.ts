/**
 * Counts occurrences (and bytes) per key in bounded memory: exact while the distinct keys fit
 * `capacity`; past that, Space-Saving (Metwally et al. 2005): a new key takes over an entry with
 * the smallest count and inherits its count as its possible overestimate. Any key whose true
 * count exceeds total/capacity is guaranteed to be kept, and every reported count is at most
 * `error` above the truth. A min-heap over counts makes each update O(log capacity).
 *
 * Entries are records in a KeyTable rather than objects in a Map: with 100k keys a Map lookup
 * costs four cache misses (bucket, data table, key string, entry), which made this the
 * analyzer's largest cost; a KeyTable lookup costs one or two.
 */
import * as boundedMod from './bounded.js';
import type { KeyColumns } from './key-columns.js';
import * as keyColumnsMod from './key-columns.js';
import { EntryView, type Entry, type KeyCount } from './key-entry.js';
import { KeyTable } from './key-table.js';
import * as keyTableMod from './key-table.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { bestIds } = boundedMod;
const { columnsOf } = keyColumnsMod;
const { F64_PER_REC, F_BYTES, F_COUNT, F_ERROR, I32_PER_REC, I_HASH, MAX_KEYS } = keyTableMod.KEY_RECORD;

export type { Entry, KeyCount } from './key-entry.js';

/**
 * Children per heap node. Evictions under a flat tail sift the new entry from the root to a leaf
 * (it outgrows every entry tied at the minimum); four children per node halve the levels, each a
 * likely miss, against two compares more per level.
 */
const HEAP_ARITY = 4;
/** Leaves replaceMin looks at for one at the minimum before it takes the root. */
const LEAF_TRIES = 2;
/** Keys queue() holds before it counts them together (see KeyTable.findMany). */
const BATCH = 64;

export class TopKeys {
  private readonly table: KeyTable;
  private readonly view: EntryView;
  /**
   * Space-Saving min-heap of ids (built once full), each one's count alongside so sifting reads
   * one array, and each id's heap position: dense arrays, fewer misses than fields in records.
   */
  private heapIds: Int32Array | null = null;
  private heapCounts: Float64Array | null = null;
  private heapPos: Int32Array | null = null;
  /** Next heap leaf replaceMin looks at. */
  private leaf = 0;
  /**
   * The last key added and its id: runs of one key (a dominant key prefix, a hot key) skip the
   * hash and the probe. Forgotten whenever an id changes hands.
   */
  private lastKey: string | null = null;
  private lastId = -1;
  /** Occurrences added, kept or not (queued ones once counted). */
  private added = 0;
  private evicted = 0;
  /** A restored summary's floor: what its unlisted keys may have had (see restoreBounds). */
  private restoredFloor = 0;
  /** Occurrences queued and not yet counted: every reader counts them first. */
  private readonly queuedKeys: string[] = new Array<string>(BATCH).fill('');
  private readonly queuedBytes = new Float64Array(BATCH);
  private readonly queuedIds = new Int32Array(BATCH);
  private queued = 0;
  /**
   * Called with each queued occurrence's entry as it is counted, in queue order, and its key
   * as queued (the same as e.key, which would make the string again from the record): where
   * the caller does what it would have done with add()'s answer.
   */
  onCounted: ((e: Entry, bytes: number, key: string) => void) | null = null;

  constructor(readonly capacity: number) {
    // Keys are taken while size < capacity (so a fractional capacity rounds up), at most
    // MAX_KEYS (2^24 - 2) of them, about the most a V8 Map holds.
    this.table = new KeyTable(capacity > 0 ? Math.min(Math.ceil(capacity), MAX_KEYS) : 0);
    this.view = new EntryView(this.table);
  }

  get total(): number {
    this.flush();
    return this.added;
  }

  get evictions(): number {
    this.flush();
    return this.evicted;
  }

  get exact(): boolean {
    return this.evictions === 0 && this.restoredFloor === 0;
  }

  get size(): number {
    this.flush();
    return this.table.size;
  }

  /** Largest overestimate any reported count can carry: the smallest kept count once full. */
  get errorBound(): number {
    this.flush();
    const own = this.heapCounts === null || this.heapCounts.length === 0 ? 0 : this.heapCounts[0]!;
    return Math.max(own, this.restoredFloor);
  }

  /**
   * An entry of a merged summary (./merge/key-summary.ts), into a table with room for it:
   * the key with its count, bytes and error as they are.
   */
  restore(key: string, count: number, bytes: number, error: number): void {
    this.restoreAt(this.table.find(key), key, count, bytes, error);
  }

  /** restore() of the key whose code units are codes[s..s+n): no string made for it when held inline. */
  restoreCodes(codes: Uint16Array, s: number, n: number, count: number, bytes: number, error: number): void {
    const id = this.table.findCodes(codes, s, n);
    this.restoreAt(id, this.table.codesKey, count, bytes, error);
  }

  /** restore() of the key the table's last find gave id for. */
  private restoreAt(id: number, key: string, count: number, bytes: number, error: number): void {
    const t = this.table;
    if (id < 0) {
      if (t.size >= t.maxSize) return;
      id = t.insert(key, id);
      const f = id * F64_PER_REC;
      t.f64[f + F_COUNT] = 0;
      t.f64[f + F_BYTES] = 0;
      t.f64[f + F_ERROR] = 0;
    }
    const f = id * F64_PER_REC;
    t.f64[f + F_COUNT]! += count;
    t.f64[f + F_BYTES]! += bytes;
    t.f64[f + F_ERROR]! += error;
    this.lastKey = null;
  }

  /** After restore(): the occurrences the summary counted, and the most an unlisted key may have. */
  restoreBounds(total: number, floor: number): void {
    this.added = total;
    this.restoredFloor = floor;
  }

  /**
   * Counts one occurrence later, with others: the same counts as add() in the same order, in
   * less time when the keys are many (KeyTable.findMany). onCounted sees each one's entry.
   */
  queue(key: string, bytes: number): void {
    const i = this.queued;
    this.queuedKeys[i] = key;
    this.queuedBytes[i] = bytes;
    this.queued = i + 1;
    if (i + 1 === BATCH) this.flush();
  }

  /** Counts every queued occurrence, in order. */
  flush(): void {
    const n = this.queued;
    if (n === 0) return;
    this.queued = 0;
    const keys = this.queuedKeys;
    const ids = this.queuedIds;
    const t = this.table;
    // Looked up before any of them is counted: a hit stays right while its record holds the
    // key (an eviction may give it to another), a miss may have been inserted by an earlier
    // key of the batch. Either way the key is looked up again, with the hash findMany made.
    if (t.maxSize === 0) {
      this.added += n;
      return;
    }
    t.findMany(keys, n, ids);
    const evicted = this.evicted;
    const hook = this.onCounted;
    let failed = false;
    let failure: unknown;
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      const bytes = this.queuedBytes[i]!;
      const id = ids[i]!;
      const e = id >= 0 && (this.evicted === evicted || t.holdsAt(id, i, key)) ? this.count(id, key, bytes) : this.place(key, bytes, t.findAt(i, key));
      if (hook === null) continue;
      // A failing hook loses none of the batch: the first error is thrown once all are counted.
      try {
        hook(e, bytes, key);
      } catch (err) {
        if (!failed) failure = err;
        failed = true;
      }
    }
    if (failed) throw failure;
  }

  /** add() for a key found at id. */
  private count(id: number, key: string, bytes: number): Entry {
    this.added++;
    this.bump(id, bytes);
    this.lastKey = key;
    this.lastId = id;
    this.view.id = id;
    return this.view;
  }

  private bump(id: number, bytes: number): void {
    const f = id * F64_PER_REC;
    const t = this.table;
    t.f64[f + F_COUNT]!++;
    t.f64[f + F_BYTES]! += bytes;
    if (this.heapCounts !== null) {
      const at = this.heapPos![id]!;
      this.heapCounts[at]!++;
      this.siftDown(at);
    }
  }

  /**
   * Counts one occurrence now (after any queued ones); returns the key's entry, or null when
   * capacity is 0. The entry is one reused view: read it, or set its tag, before the next add.
   */
  add(key: string, bytes: number): Entry | null {
    if (this.queued > 0) this.flush();
    const t = this.table;
    if (t.maxSize === 0) {
      this.added++;
      return null;
    }
    return this.place(key, bytes, key === this.lastKey ? this.lastId : t.find(key));
  }

  /** Counts an occurrence of key, whose id (or miss) the table's last find gave. */
  private place(key: string, bytes: number, id: number): Entry {
    this.added++;
    const t = this.table;
    if (id >= 0) {
      this.bump(id, bytes);
    } else if (t.size < t.maxSize) {
      id = t.insert(key, id);
      const f = id * F64_PER_REC;
      t.f64[f + F_COUNT] = 1;
      t.f64[f + F_BYTES] = bytes;
      t.f64[f + F_ERROR] = 0;
    } else {
      id = this.replaceMin(key, bytes);
    }
    this.lastKey = key;
    this.lastId = id;
    this.view.id = id;
    return this.view;
  }

  /** The n largest, most first; ties by the key's hash, then the key. */
  top(n: number, by: 'count' | 'bytes' = 'count'): KeyCount[] {
    this.flush();
    const t = this.table;
    const f64 = t.f64;
    const [first, second] = by === 'count' ? [F_COUNT, F_BYTES] : [F_BYTES, F_COUNT];
    const i32 = t.i32;
    // Positive when id a ranks below id b; ties go by the key's hash (then the key), so the
    // order does not depend on when a key was first seen: a merged report lists the same rows
    // as the whole. Hashes, not strings, because uniform traffic ties thousands of keys.
    const below = (a: number, b: number): number => {
      const fa = a * F64_PER_REC;
      const fb = b * F64_PER_REC;
      const d = f64[fb + first]! - f64[fa + first]! || f64[fb + second]! - f64[fa + second]!;
      if (d !== 0) return d;
      const ha = i32[a * I32_PER_REC + I_HASH]!;
      const hb = i32[b * I32_PER_REC + I_HASH]!;
      if (ha !== hb) return ha > hb ? 1 : -1;
      const ka = t.keyOf(a);
      const kb = t.keyOf(b);
      return ka === kb ? 0 : ka > kb ? 1 : -1;
    };
    return bestIds(t.size, Math.max(0, Math.floor(n)), below).map((id) => {
      const f = id * F64_PER_REC;
      return { key: t.keyOf(id), count: f64[f + F_COUNT]!, bytes: f64[f + F_BYTES]!, error: f64[f + F_ERROR]! };
    });
  }

  /** Every entry as columns (./key-columns.ts), for another thread. */
  columns(): KeyColumns {
    this.flush();
    return columnsOf(this.table);
  }

  /** Calls fn with every entry, in no particular order: for sums over all keys, no sort needed. */
  forEach(fn: (key: string, count: number, bytes: number, error: number) => void): void {
    this.flush();
    const t = this.table;
    for (let id = 0; id < t.size; id++) {
      const f = id * F64_PER_REC;
      fn(t.keyOf(id), t.f64[f + F_COUNT]!, t.f64[f + F_BYTES]!, t.f64[f + F_ERROR]!);
    }
  }

  /**
   * forEach for sums over the keys' bytes: each key's UTF-16 code units in codes[0..n) (one
   * scratch array, overwritten by the next call) and its count; no string made per key.
   */
  forEachCodes(fn: (codes: Uint16Array, n: number, count: number) => void): void {
    this.flush();
    const t = this.table;
    let codes = new Uint16Array(256);
    for (let id = 0; id < t.size; id++) {
      const n = t.keyCodes(id, null, 0);
      if (n > codes.length) codes = new Uint16Array(2 * n);
      t.keyCodes(id, codes, 0);
      fn(codes, n, t.f64[id * F64_PER_REC + F_COUNT]!);
    }
  }

  /** Forgets everything, queued occurrences included. */
  clear(): void {
    this.queued = 0;
    this.queuedKeys.fill('');
    this.table.reset();
    this.heapIds = null;
    this.heapCounts = null;
    this.heapPos = null;
    this.leaf = 0;
    this.added = 0;
    this.evicted = 0;
    this.restoredFloor = 0;
    this.lastKey = null;
    this.lastId = -1;
  }

  /**
   * The key takes over an entry with the smallest count, inheriting that count as its error.
   * Any such entry will do: one at a heap leaf takes the grown count with no sifting, so a few
   * leaves are tried in turn before the root, which under a flat tail (most entries tied at the
   * minimum) would sift down every level.
   */
  private replaceMin(key: string, bytes: number): number {
    if (this.heapCounts === null) this.buildHeap();
    const t = this.table;
    const counts = this.heapCounts!;
    const min = counts[0]!;
    let at = 0;
    const firstLeaf = Math.floor((counts.length - 2) / HEAP_ARITY) + 1;
    for (let tries = 0; tries < LEAF_TRIES; tries++) {
      if (this.leaf < firstLeaf || this.leaf >= counts.length) this.leaf = firstLeaf;
      if (counts[this.leaf] === min) {
        at = this.leaf;
        break;
      }
      this.leaf++;
    }
    const id = this.heapIds![at]!;
    this.evicted++;
    t.reuse(id, key);
    const f = id * F64_PER_REC;
    t.f64[f + F_COUNT] = min + 1;
    t.f64[f + F_BYTES] += bytes;
    t.f64[f + F_ERROR] = min;
    counts[at] = min + 1;
    if (at === 0) this.siftDown(0);
    return id;
  }

  private buildHeap(): void {
    const t = this.table;
    const ids = (this.heapIds = new Int32Array(t.size));
    const counts = (this.heapCounts = new Float64Array(t.size));
    const pos = (this.heapPos = new Int32Array(t.size));
    for (let id = 0; id < t.size; id++) {
      ids[id] = id;
      counts[id] = t.f64[id * F64_PER_REC + F_COUNT]!;
      pos[id] = id;
    }
    for (let i = Math.floor((t.size - 2) / HEAP_ARITY); i >= 0; i--) this.siftDown(i);
  }

  /** Restores the min-heap after the count at position i grew. */
  private siftDown(i: number): void {
    const ids = this.heapIds!;
    const counts = this.heapCounts!;
    const pos = this.heapPos!;
    const n = ids.length;
    const id = ids[i]!;
    const count = counts[i]!;
    for (;;) {
      const first = HEAP_ARITY * i + 1;
      if (first >= n) break;
      const end = Math.min(first + HEAP_ARITY, n);
      let c = first;
      let least = counts[first]!;
      for (let k = first + 1; k < end; k++) {
        if (counts[k]! < least) {
          c = k;
          least = counts[k]!;
        }
      }
      if (least >= count) break;
      ids[i] = ids[c]!;
      counts[i] = least;
      pos[ids[i]!] = i;
      i = c;
    }
    ids[i] = id;
    counts[i] = count;
    pos[id] = i;
  }
}
