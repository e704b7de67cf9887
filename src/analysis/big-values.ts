/** One big value: the largest seen for a key (or a set of keys, severalKeys()) in one direction. */
export interface BigValue {
  key: string;
  bytes: number;
  command: string;
  /** 'request' for a value sent (SET's value), 'reply' for one returned (GET's reply). */
  direction: Direction;
  /**
   * Values of this key and direction of that largest size: the same whatever order they come in
   * (a shard of the connections, a merge), as no such value is ever turned away.
   */
  count: number;
  /** Capture time (µs) of the largest. */
  tsUs: number;
  client: string;
}

type Direction = 'request' | 'reply';

/** First char of the key of a value of several keys: past 0xff, so no key (one latin1 char a byte) has it. */
const SEVERAL = '\u0100';

/**
 * The key of a value that belongs to several keys and to no one of them that can be told (MGET's
 * reply: its elements' sizes are not kept), one per command and key count.
 */
export function severalKeys(command: string, n: number): string {
  return `${SEVERAL}${n} ${command}`;
}

/** How many keys a big value's key stands for when it is severalKeys()'s, else 0. */
export function severalKeysCount(key: string): number {
  return key.charCodeAt(0) === 0x100 ? Number(key.slice(1, key.indexOf(' '))) : 0;
}

/** Largest first; equal sizes by key and direction, so the list does not depend on arrival order (shards). */
export function bigger(a: BigValue, b: BigValue): number {
  return b.bytes - a.bytes || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || (a.direction < b.direction ? -1 : a.direction > b.direction ? 1 : 0);
}

/**
 * The largest values by key, one entry per key and direction, in bounded memory: maps that are
 * cut back to the best `n` when they reach 4n entries. Until the first cut every value is a
 * candidate (a capture of a few keys never fills the list), so adding to a key already listed
 * allocates nothing: a hot key's every GET comes here.
 */
export class BigValues {
  private readonly requests = new Map<string, BigValue>();
  private readonly replies = new Map<string, BigValue>();
  /**
   * The last entry kept by the last cut: a value smaller, or as big with a later key, can never
   * make the list. Ties going by key make the list the n biggest in one order whatever order
   * values come in, so shards' lists merge into the one list one thread keeps.
   */
  private floor = 0;
  private floorKey: string | null = null;
  private floorDirection: Direction = 'request';
  /**
   * The entry last added to: a hot key whose values are all one size comes here on every
   * request, and comparing its key costs less than hashing a fresh string for the map.
   */
  private last: BigValue | null = null;

  constructor(readonly n: number) {}

  wants(bytes: number): boolean {
    return this.n > 0 && (bytes > this.floor || (bytes === this.floor && this.floorKey !== null));
  }

  add(key: string, bytes: number, direction: Direction, command: string, tsUs: number, client: string): void {
    if (!this.wants(bytes)) return;
    if (bytes === this.floor && !this.beforeFloor(key, direction)) return;
    const map = direction === 'request' ? this.requests : this.replies;
    const last = this.last;
    const old = last !== null && last.direction === direction && last.key === key ? last : map.get(key);
    if (old !== undefined) {
      this.last = old;
      if (bytes < old.bytes) return;
      if (bytes > old.bytes) old.count = 0;
      old.count++;
      // Of equal values, the first request's time and client.
      if (old.count === 1 || tsUs < old.tsUs) {
        old.bytes = bytes;
        old.command = command;
        old.tsUs = tsUs;
        old.client = client;
      }
      return;
    }
    const v: BigValue = { key, bytes, command, direction, count: 1, tsUs, client };
    map.set(key, v);
    this.last = v;
    if (this.requests.size + this.replies.size >= this.n * 4) this.cut();
  }

  /** A value as another list had it (a merged report's): kept if it is bigger than this list's own for its key. */
  restore(v: BigValue): void {
    const map = v.direction === 'request' ? this.requests : this.replies;
    this.last = null; // its entry may be replaced by a copy
    const old = map.get(v.key);
    if (old === undefined || v.bytes > old.bytes) map.set(v.key, { ...v });
    else if (v.bytes === old.bytes) map.set(v.key, { ...(v.tsUs < old.tsUs ? v : old), count: old.count + v.count });
    if (this.requests.size + this.replies.size >= this.n * 4) this.cut();
  }

  sorted(): BigValue[] {
    this.cut();
    return this.all().sort(bigger);
  }

  clear(): void {
    this.requests.clear();
    this.replies.clear();
    this.floor = 0;
    this.floorKey = null;
    this.last = null;
  }

  /** Whether a value as big as the floor's makes the list: its key sorts first, or it is the floor's own. */
  private beforeFloor(key: string, direction: Direction): boolean {
    const f = this.floorKey;
    if (f === null) return true;
    // Under values all of one size every value ties the floor: one compare turns most away.
    if (key > f) return false;
    return key !== f || direction <= this.floorDirection;
  }

  private all(): BigValue[] {
    return [...this.requests.values(), ...this.replies.values()];
  }

  private cut(): void {
    if (this.requests.size + this.replies.size <= this.n) return;
    const keep = this.all().sort(bigger).slice(0, this.n);
    this.clear();
    for (const v of keep) (v.direction === 'request' ? this.requests : this.replies).set(v.key, v);
    const last = keep[keep.length - 1]!;
    this.floor = last.bytes;
    this.floorKey = last.key;
    this.floorDirection = last.direction;
  }
}
