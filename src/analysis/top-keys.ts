/**
 * Counts occurrences (and bytes) per key in bounded memory: exact while the distinct keys fit
 * `capacity`; past that, Space-Saving (Metwally et al. 2005): a new key takes over the entry with
 * the smallest count and inherits its count as its possible overestimate. Any key whose true
 * count exceeds total/capacity is guaranteed to be kept, and every reported count is at most
 * `error` above the truth. A min-heap over counts makes each update O(log capacity).
 */
export interface KeyCount {
  key: string;
  count: number;
  bytes: number;
  /** Most the count may overstate the truth (0 while exact). */
  error: number;
}

export interface Entry extends KeyCount {
  heapIdx: number;
  /** Free slot for the caller to cache something derived from the key (its prefix). */
  tag: string | null;
}

export class TopKeys {
  private readonly map = new Map<string, Entry>();
  private heap: Entry[] | null = null;
  /** Occurrences added, kept or not. */
  total = 0;
  evictions = 0;

  constructor(readonly capacity: number) {}

  get exact(): boolean {
    return this.evictions === 0;
  }

  get size(): number {
    return this.map.size;
  }

  /** Largest overestimate any reported count can carry: the smallest kept count once full. */
  get errorBound(): number {
    if (this.heap === null || this.heap.length === 0) return 0;
    return this.heap[0]!.count;
  }

  /** Counts one occurrence; returns the key's entry, or null when capacity is 0. */
  add(key: string, bytes: number): Entry | null {
    this.total++;
    const e = this.map.get(key);
    if (e !== undefined) {
      e.count++;
      e.bytes += bytes;
      if (this.heap !== null) this.siftDown(e.heapIdx);
      return e;
    }
    if (this.map.size < this.capacity) {
      const fresh: Entry = { key, count: 1, bytes, error: 0, heapIdx: -1, tag: null };
      this.map.set(key, fresh);
      return fresh;
    }
    return this.replaceMin(key, bytes);
  }

  top(n: number, by: 'count' | 'bytes' = 'count'): KeyCount[] {
    const all = [...this.map.values()];
    all.sort(by === 'count' ? (a, b) => b.count - a.count || b.bytes - a.bytes : (a, b) => b.bytes - a.bytes || b.count - a.count);
    return all.slice(0, n).map(({ key, count, bytes, error }) => ({ key, count, bytes, error }));
  }

  clear(): void {
    this.map.clear();
    this.heap = null;
    this.total = 0;
    this.evictions = 0;
  }

  private replaceMin(key: string, bytes: number): Entry | null {
    if (this.capacity <= 0) return null;
    const heap = this.heap ?? this.buildHeap();
    const min = heap[0]!;
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

  private buildHeap(): Entry[] {
    const heap = [...this.map.values()];
    heap.forEach((e, i) => (e.heapIdx = i));
    this.heap = heap;
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
    return heap;
  }

  /** Restores the min-heap after heap[i]'s count grew. */
  private siftDown(i: number): void {
    const heap = this.heap!;
    const n = heap.length;
    const e = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r]!.count < heap[l]!.count ? r : l;
      if (heap[c]!.count >= e.count) break;
      heap[i] = heap[c]!;
      heap[i]!.heapIdx = i;
      i = c;
    }
    heap[i] = e;
    e.heapIdx = i;
  }
}
