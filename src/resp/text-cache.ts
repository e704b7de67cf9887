import * as latin1Mod from './latin1.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { latin1 } = latin1Mod;

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
  /** Each slot's bytes (MAX_CACHED apart) and length: comparing bytes beats charCodeAt. */
  private readonly bytes: Uint8Array;
  private readonly lens: Uint8Array;

  /** `size`: a power of two. */
  constructor(private readonly size: number) {
    this.slots = new Array<string>(size).fill('');
    this.bytes = new Uint8Array(size * MAX_CACHED);
    this.lens = new Uint8Array(size);
  }

  /** Latin1 string of d[s..s+n). */
  text(d: Uint8Array, s: number, n: number): string {
    if (n === 0 || n > MAX_CACHED) return latin1(d, s, s + n);
    const slot = (n * 31 + d[s]! * 7 + d[s + n - 1]!) & (this.size - 1);
    const at = slot * MAX_CACHED;
    const b = this.bytes;
    if (this.lens[slot] === n) {
      let k = 0;
      while (k < n && b[at + k] === d[s + k]) k++;
      if (k === n) return this.slots[slot]!;
    }
    const made = latin1(d, s, s + n);
    this.slots[slot] = made;
    this.lens[slot] = n;
    for (let k = 0; k < n; k++) b[at + k] = d[s + k]!;
    return made;
  }
}

/** Command names, shared by every request decoder. */
export const commandNames = new TextCache(1024);
/** Simple-string replies (`+OK`), shared by every reply decoder. */
export const simpleReplies = new TextCache(256);
