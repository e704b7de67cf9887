/**
 * Keeps the `n` largest items by a score in bounded memory: candidates collect in an array that
 * is cut back to the best `n` whenever it reaches 4n, so each add is O(1) amortised. `order`
 * ranks items (largest score first) and breaks ties of score: a total order keeps the same n in
 * the same order whatever order items come in, so lists of shards merge into one thread's list.
 */
export class LargestN<T> {
  private items: T[] = [];
  /** Smallest score still worth keeping once the list has been cut at least once. */
  private floor = -Infinity;
  seen = 0;

  constructor(
    readonly n: number,
    private readonly score: (item: T) => number,
    private readonly order: (a: T, b: T) => number = (a, b) => score(b) - score(a),
  ) {}

  /** True when an item of this score could make the list (lets callers skip building it); ties with the floor may. */
  wants(score: number): boolean {
    return this.n > 0 && score >= this.floor;
  }

  add(item: T): void {
    this.seen++;
    if (!this.wants(this.score(item))) return;
    this.items.push(item);
    if (this.items.length >= this.n * 4) this.cut();
  }

  /** The best n, largest first. */
  sorted(): T[] {
    this.cut();
    return [...this.items];
  }

  clear(): void {
    this.items = [];
    this.floor = -Infinity;
    this.seen = 0;
  }

  private cut(): void {
    this.items.sort(this.order);
    if (this.items.length > this.n) this.items.length = this.n;
    if (this.n > 0 && this.items.length === this.n) this.floor = this.score(this.items[this.n - 1]!);
  }
}

/** The n best of ids 0..size-1, best first: a bounded heap whose root is the worst kept. */
export function bestIds(size: number, n: number, below: (a: number, b: number) => number): number[] {
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
