/**
 * Counts occurrences (and bytes) per key in bounded memory: exact while the distinct keys fit
 * `capacity`; past that, Space-Saving (Metwally et al. 2005): a new key takes over the entry with
 * the smallest count and inherits its count as its possible overestimate. Any key whose true
 * count exceeds total/capacity is guaranteed to be kept, and every reported count is at most
 * `error` above the truth. A min-heap over counts makes each update O(log capacity).
 *
 * Entries live in a KeyTable (flat records, open addressing) rather than a Map of objects: on
 * large key sets a Map lookup costs four cache misses, which made this the analyzer's top cost.
 */
import { F64_PER_REC, F_BYTES, F_COUNT, F_ERROR, I32_PER_REC, I_HEAP, KeyTable, hashKey } from './key-table.js';

export interface KeyCount {
  key: string;
  count: number;
  bytes: number;
  /** Most the count may overstate the truth (0 while exact). */
  error: number;
}

/** A key's live entry, as returned by `add`: valid until the next call on its TopKeys. */
export interface Entry extends Readonly<KeyCount> {
  /** Free slot for the caller to cache something derived from the key (its prefix). */
  tag: string | null;
}

/** One reused view onto the entry `add` last touched; `tag` is stored per key, not here. */
class EntryView implements Entry {
  id = 0;
  constructor(private readonly t: KeyTable) {}
  get key(): string {
    return this.t.keys[this.id]!;
  }
  get count(): number {
    return this.t.f64[this.id * F64_PER_REC + F_COUNT]!;
  }
  get bytes(): number {
    return this.t.f64[this.id * F64_PER_REC + F_BYTES]!;
  }
  get error(): number {
    return this.t.f64[this.id * F64_PER_REC + F_ERROR]!;
  }
  get tag(): string | null {
    return this.t.tags[this.id] ?? null;
  }
  set tag(v: string | null) {
    this.t.tags[this.id] = v;
  }
}

export class TopKeys {
  private readonly table: KeyTable;
  private readonly view: EntryView;
  /** Space-Saving min-heap of ids, with each id's count alongside so sifting reads one array. */
  private heapIds: Int32Array | null = null;
  private heapCounts: Float64Array | null = null;
  /** Occurrences added, kept or not. */
  total = 0;
  evictions = 0;

  constructor(readonly capacity: number) {
    // Keys are taken while size < capacity (so a fractional capacity rounds up), at most 2^24
    // of them, the most a V8 Map holds.
    this.table = new KeyTable(capacity > 0 ? Math.min(Math.ceil(capacity), 2 ** 24) : 0);
    this.view = new EntryView(this.table);
  }

  get exact(): boolean {
    return this.evictions === 0;
  }

  get size(): number {
    return this.table.size;
  }

  /** Largest overestimate any reported count can carry: the smallest kept count once full. */
  get errorBound(): number {
    return this.heapCounts === null ? 0 : this.heapCounts[0]!;
  }

  /**
   * Counts one occurrence; returns the key's entry, or null when capacity is 0. The entry is a
   * view reused by the next add: read it (or set its tag) before adding again.
   */
  add(key: string, bytes: number): Entry | null {
    this.total++;
    const t = this.table;
    const hash = hashKey(key);
    const found = t.find(key, hash);
    let id: number;
    if (found >= 0) {
      id = found;
      const f = id * F64_PER_REC;
      t.f64[f + F_COUNT]!++;
      t.f64[f + F_BYTES]! += bytes;
      if (this.heapCounts !== null) {
        const at = t.i32[id * I32_PER_REC + I_HEAP]!;
        this.heapCounts[at]!++;
        this.siftDown(at);
      }
    } else if (t.size < t.maxSize) {
      id = t.insert(key, hash, found);
      t.f64[id * F64_PER_REC + F_COUNT] = 1;
      t.f64[id * F64_PER_REC + F_BYTES] = bytes;
    } else {
      if (t.maxSize === 0) return null;
      id = this.replaceMin(key, hash, bytes);
    }
    this.view.id = id;
    return this.view;
  }

  top(n: number, by: 'count' | 'bytes' = 'count'): KeyCount[] {
    const f64 = this.table.f64;
    const [first, second] = by === 'count' ? [F_COUNT, F_BYTES] : [F_BYTES, F_COUNT];
    // Positive when id a ranks below id b.
    const below = (a: number, b: number): number => {
      const fa = a * F64_PER_REC;
      const fb = b * F64_PER_REC;
      return f64[fb + first]! - f64[fa + first]! || f64[fb + second]! - f64[fa + second]!;
    };
    const ids = bestIds(this.table.size, Math.max(0, Math.floor(n)), below);
    return ids.map((id) => {
      const f = id * F64_PER_REC;
      return { key: this.table.keys[id]!, count: f64[f + F_COUNT]!, bytes: f64[f + F_BYTES]!, error: f64[f + F_ERROR]! };
    });
  }

  clear(): void {
    this.table.reset();
    this.heapIds = null;
    this.heapCounts = null;
    this.total = 0;
    this.evictions = 0;
  }

  /** The key takes over the entry with the smallest count, inheriting it as its error. */
  private replaceMin(key: string, hash: number, bytes: number): number {
    if (this.heapCounts === null) this.buildHeap();
    const t = this.table;
    const id = this.heapIds![0]!;
    const min = this.heapCounts![0]!;
    const b = t.f64[id * F64_PER_REC + F_BYTES]!;
    this.evictions++;
    t.reuse(id, key, hash);
    const f = id * F64_PER_REC;
    t.f64[f + F_COUNT] = min + 1;
    t.f64[f + F_BYTES] = b + bytes;
    t.f64[f + F_ERROR] = min;
    t.i32[id * I32_PER_REC + I_HEAP] = 0;
    this.heapCounts![0] = min + 1;
    this.siftDown(0);
    return id;
  }

  private buildHeap(): void {
    const t = this.table;
    const n = t.size;
    const ids = (this.heapIds = new Int32Array(n));
    const counts = (this.heapCounts = new Float64Array(n));
    for (let id = 0; id < n; id++) {
      ids[id] = id;
      counts[id] = t.f64[id * F64_PER_REC + F_COUNT]!;
      t.i32[id * I32_PER_REC + I_HEAP] = id;
    }
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** Restores the min-heap after the count at position i grew. */
  private siftDown(i: number): void {
    const ids = this.heapIds!;
    const counts = this.heapCounts!;
    const i32 = this.table.i32;
    const n = ids.length;
    const id = ids[i]!;
    const count = counts[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && counts[r]! < counts[l]! ? r : l;
      if (counts[c]! >= count) break;
      ids[i] = ids[c]!;
      counts[i] = counts[c]!;
      i32[ids[i]! * I32_PER_REC + I_HEAP] = i;
      i = c;
    }
    ids[i] = id;
    counts[i] = count;
    i32[id * I32_PER_REC + I_HEAP] = i;
  }
}

/** The n best of ids 0..size-1, best first: a bounded heap whose root is the worst kept. */
function bestIds(size: number, n: number, below: (a: number, b: number) => number): number[] {
  const k = Math.min(n, size);
  const keep: number[] = [];
  const sift = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      if (l >= keep.length) return;
      const c = l + 1 < keep.length && below(keep[l + 1]!, keep[l]!) > 0 ? l + 1 : l;
      if (below(keep[c]!, keep[i]!) <= 0) return;
      [keep[i], keep[c]] = [keep[c]!, keep[i]!];
      i = c;
    }
  };
  for (let id = 0; id < size && k > 0; id++) {
    if (keep.length < k) {
      keep.push(id);
      if (keep.length === k) for (let i = (k >> 1) - 1; i >= 0; i--) sift(i);
    } else if (below(keep[0]!, id) > 0) {
      keep[0] = id;
      sift(0);
    }
  }
  return keep.sort(below);
}
