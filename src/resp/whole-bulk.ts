import * as constantsMod from './constants.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { CR, DIGIT_0, DIGIT_9, LF } = constantsMod;

/**
 * The fast paths the decoders take for the common case: a whole bulk string
 * `$<len>\r\n<bytes>\r\n` inside the chunk at hand, found with one scan of its length digits.
 * Anything else (split across chunks, a leading zero, `$-1`, `$?`, a bad byte) is left to the
 * decoders' byte-by-byte states, which also report what is wrong.
 */
export class WholeBulk {
  /** After find() returned true: index of the value's first byte, and its length. */
  start = 0;
  len = 0;

  /** Whether d[p..e), with d[p] the '$', begins with a whole bulk string of at most max bytes. */
  find(d: Uint8Array, p: number, e: number, max: number): boolean {
    let q = p + 1;
    let c = q < e ? d[q]! : 0;
    if (c < DIGIT_0 || c > DIGIT_9) return false;
    let v = c - DIGIT_0;
    // A leading zero ends the digits: `$0` is the only length that may start with one.
    for (q++; q < e && v !== 0 && v <= max; q++) {
      c = d[q]!;
      if (c < DIGIT_0 || c > DIGIT_9) break;
      v = v * 10 + c - DIGIT_0;
    }
    const stop = q + 2 + v;
    if (v > max || stop + 1 >= e || d[q] !== CR || d[q + 1] !== LF || d[stop] !== CR || d[stop + 1] !== LF) return false;
    this.start = q + 2;
    this.len = v;
    return true;
  }

  /** After find() returned true: the index just past the value's closing CRLF. */
  get end(): number {
    return this.start + this.len + 2;
  }
}

/**
 * Index of the CR ending the simple-string text that starts at d[s] (after a `+`), when its
 * CRLF is in d[s..e) within maxLine bytes and no bare CR or LF comes before; else -1.
 */
export function simpleLineEnd(d: Uint8Array, s: number, e: number, maxLine: number): number {
  const stop = Math.min(e, s + maxLine + 1);
  let q = s;
  while (q < stop && d[q] !== CR && d[q] !== LF) q++;
  return q < stop && q + 1 < e && d[q] === CR && d[q + 1] === LF ? q : -1;
}
