/** One big value: the largest seen for a key in one direction. */
export interface BigValue {
  key: string;
  bytes: number;
  command: string;
  /** 'request' for a value sent (SET's value), 'reply' for one returned (GET's reply). */
  direction: 'request' | 'reply';
  /** Times a value of this key and direction made the list. */
  count: number;
  /** Capture time (µs) of the largest. */
  tsUs: number;
  client: string;
}

/**
 * The largest values by key, one entry per key and direction, in bounded memory: a map that is
 * cut back to the best `n` when it reaches 4n entries.
 */
export class BigValues {
  private readonly byKey = new Map<string, BigValue>();
  private floor = 0;

  constructor(readonly n: number) {}

  wants(bytes: number): boolean {
    return this.n > 0 && bytes > this.floor;
  }

  add(v: Omit<BigValue, 'count'>): void {
    if (!this.wants(v.bytes)) return;
    const id = v.direction + '\0' + v.key;
    const old = this.byKey.get(id);
    if (old !== undefined) {
      old.count++;
      if (v.bytes > old.bytes) Object.assign(old, v, { count: old.count });
      return;
    }
    this.byKey.set(id, { ...v, count: 1 });
    if (this.byKey.size >= this.n * 4) this.cut();
  }

  sorted(): BigValue[] {
    this.cut();
    return [...this.byKey.values()].sort((a, b) => b.bytes - a.bytes);
  }

  clear(): void {
    this.byKey.clear();
    this.floor = 0;
  }

  private cut(): void {
    if (this.byKey.size <= this.n) return;
    const keep = [...this.byKey.entries()].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, this.n);
    this.byKey.clear();
    for (const [id, v] of keep) this.byKey.set(id, v);
    this.floor = keep[keep.length - 1]![1].bytes;
  }
}
