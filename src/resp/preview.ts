import * as latin1Mod from './latin1.js';
import type { TextCache } from './text-cache.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { latin1 } = latin1Mod;

/**
 * The text kept of a value being decoded (an argument, a reply's head): its first bytes as
 * latin1, at most the limit given at start(), gathered from however many chunks it spans.
 * The rest of the value is only counted by the decoders, never held.
 */
export class Preview {
  text = '';
  private left = 0;

  /** A new value, of which at most `limit` chars are kept (0: none). */
  start(limit: number): void {
    this.text = '';
    this.left = limit;
  }

  /** Keeps what is still wanted of the value's next bytes, d[s..e). */
  keep(d: Uint8Array, s: number, e: number): void {
    if (this.left <= 0 || s >= e) return;
    const k = e - s < this.left ? e - s : this.left;
    this.text += latin1(d, s, s + k);
    this.left -= k;
  }

  /** keep(), the text taken from `cache` (a whole value that repeats: `+OK`). */
  keepCached(cache: TextCache, d: Uint8Array, s: number, e: number): void {
    if (this.left < e - s) return this.keep(d, s, e);
    if (s >= e) return;
    this.text += cache.text(d, s, e - s);
    this.left -= e - s;
  }

  /** Bytes of the value were not captured: what follows them is not kept (the text stays a prefix). */
  stop(): void {
    this.left = 0;
  }

  /** The text kept, handed over and forgotten. */
  take(): string {
    const t = this.text;
    this.clear();
    return t;
  }

  clear(): void {
    this.text = '';
    this.left = 0;
  }
}
