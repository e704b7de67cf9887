import * as bytesMod from './bytes.js';
import * as constantsMod from './constants.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { findByte } = bytesMod;
const { CR, DIGIT_0, DIGIT_9, LF, RESP_TYPES } = constantsMod;

const STAR = RESP_TYPES.ARRAY;
const DOLLAR = RESP_TYPES.BLOB_STRING;
/** Digits of a count the scanner accepts (`*<1..9 digits>\r\n$`). */
const MAX_DIGITS = 9;

/**
 * Finds the next request boundary after a gap or a violation: a position at the start of a
 * pushed chunk or right after LF where the bytes read `*<1..9 digits>\r\n$`. A match may span
 * pushes; its state is a few integers.
 */
export class BoundaryScanner {
  /** Bytes passed over and not yet taken by the decoder. */
  skipped = 0;
  /** Set when scan() stopped just after the '$' of a boundary. */
  found = false;
  /** The boundary's count, and the stream offset and timestamp of its '*'. */
  count = 0;
  start = 0;
  startTs = 0;
  /** 0 looks for a boundary; 1..4 have matched '*', digits, CR, LF. */
  private step = 0;
  private atBoundary = true;
  private digits = 0;

  constructor(private readonly maxCount: number) {}

  /** Forgets any partial match; atBoundary says whether the next byte may start one. */
  reset(atBoundary: boolean): void {
    this.step = 0;
    this.found = false;
    this.atBoundary = atBoundary;
  }

  /** Bytes of a partial match in progress, given the stream offset past the last byte. */
  partialBytes(pos: number): number {
    return this.step > 0 ? pos - this.start : 0;
  }

  /**
   * Scans d[p..e), where base is the stream offset of d[0] and chunkOff the index of the
   * pushed chunk's first byte. Returns the index after a found boundary, or e.
   */
  scan(d: Uint8Array, p: number, e: number, base: number, chunkOff: number, ts: number): number {
    if (p === chunkOff && this.step === 0) this.atBoundary = true;
    while (p < e) {
      if (this.step > 0) {
        p = this.match(d, p, base, chunkOff);
        if (this.found) return p;
      } else if (!this.atBoundary) {
        const lf = findByte(d, LF, p, e);
        const stop = lf < 0 ? e : lf + 1;
        this.skipped += stop - p;
        this.atBoundary = lf >= 0;
        p = stop;
      } else if (d[p] === STAR) {
        this.step = 1;
        this.start = base + p;
        this.startTs = ts;
        this.atBoundary = false;
        p++;
      } else {
        this.skipped++;
        this.atBoundary = d[p] === LF;
        p++;
      }
    }
    return p;
  }

  /** Matches one more byte of `*<1..9 digits>\r\n$`; a mismatch leaves the byte unread. */
  private match(d: Uint8Array, p: number, base: number, chunkOff: number): number {
    const c = d[p]!;
    const step = this.step;
    const digit = c >= DIGIT_0 && c <= DIGIT_9;
    if (step === 1 && digit && c !== DIGIT_0) {
      this.count = c - DIGIT_0;
      this.digits = 1;
      this.step = 2;
      return p + 1;
    }
    if (step === 2 && digit && this.digits < MAX_DIGITS) {
      this.count = this.count * 10 + c - DIGIT_0;
      this.digits++;
      return p + 1;
    }
    if ((step === 2 && c === CR && this.count <= this.maxCount) || (step === 3 && c === LF)) {
      this.step++;
      return p + 1;
    }
    if (step === 4 && c === DOLLAR) {
      this.step = 0;
      this.found = true;
      return p + 1;
    }
    // Not a boundary: its bytes are skipped. The unread byte starts a candidate if it is the
    // chunk's first byte or follows the matched LF.
    this.skipped += base + p - this.start;
    this.step = 0;
    this.atBoundary = p === chunkOff || step === 4;
    return p;
  }
}
