import * as constantsMod from './constants.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { CR, DIGIT_0, DIGIT_9, MINUS, RESP_TYPES } = constantsMod;

/** feed() results. */
export const LEN_MORE = 0;
/** The CR that ends the line was read; LF must follow. */
export const LEN_CR = 1;
/** A byte that cannot be part of a length line. */
export const LEN_BAD = 2;
/** The number grew past the limit given to start(). */
export const LEN_OVER = 3;

const QMARK = RESP_TYPES.STREAMED_LENGTH;

/**
 * Reads a length line (`-1`, `42`, `?`) one byte at a time, for lines that straddle pushes.
 * Digits follow Redis's string2ll: no leading zero, no '+', "-0" rejected.
 */
export class LengthLine {
  value = 0;
  negative = false;
  streamed = false;
  private digits = 0;
  private seen = 0;
  private max = 0;
  private negMax = 0;
  private allowStream = false;

  /** negMax 0 forbids a sign; allowStream accepts a lone '?'. */
  start(max: number, negMax: number, allowStream: boolean): void {
    this.value = 0;
    this.negative = false;
    this.streamed = false;
    this.digits = 0;
    this.seen = 0;
    this.max = max;
    this.negMax = negMax;
    this.allowStream = allowStream;
  }

  feed(c: number): number {
    const first = this.seen++ === 0;
    if (c >= DIGIT_0 && c <= DIGIT_9) return this.digit(c);
    if (c === CR) return this.digits > 0 || this.streamed ? LEN_CR : LEN_BAD;
    if (first && c === MINUS && this.negMax > 0) {
      this.negative = true;
      return LEN_MORE;
    }
    if (first && c === QMARK && this.allowStream) {
      this.streamed = true;
      return LEN_MORE;
    }
    return LEN_BAD;
  }

  private digit(c: number): number {
    if (this.streamed || (this.digits > 0 && this.value === 0)) return LEN_BAD;
    if (this.negative && this.digits === 0 && c === DIGIT_0) return LEN_BAD;
    this.value = this.value * 10 + (c - DIGIT_0);
    this.digits++;
    return this.value > (this.negative ? this.negMax : this.max) ? LEN_OVER : LEN_MORE;
  }
}
