import { latin1 } from './latin1.js';

/** Longest text a TextCache holds; longer ones are made every time. */
const MAX_CACHED = 16;

/**
 * Short texts that repeat endlessly (command names "GET", "SET"; simple replies "OK",
 * "QUEUED"): the last string made for each is reused, so later layers look up a string whose
 * hash is already computed, and no new string is made per frame. Slots are picked by length
 * and first/last byte; a miss just replaces.
 */
export class TextCache {
  private readonly slots: string[];

  /** `size`: a power of two. */
  constructor(private readonly size: number) {
    this.slots = new Array<string>(size).fill('');
  }

  /** Latin1 string of d[s..s+n). */
  text(d: Uint8Array, s: number, n: number): string {
    if (n === 0 || n > MAX_CACHED) return latin1(d, s, s + n);
    const slot = (n * 31 + d[s]! * 7 + d[s + n - 1]!) & (this.size - 1);
    const cached = this.slots[slot]!;
    if (cached.length === n) {
      let k = 0;
      while (k < n && cached.charCodeAt(k) === d[s + k]) k++;
      if (k === n) return cached;
    }
    const made = latin1(d, s, s + n);
    this.slots[slot] = made;
    return made;
  }
}

/** Command names, shared by every request decoder. */
export const commandNames = new TextCache(1024);
/** Simple-string replies (`+OK`), shared by every reply decoder. */
export const simpleReplies = new TextCache(256);
