import * as constantsMod from './constants.js';
import * as latin1Mod from './latin1.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { CR, LF } = constantsMod;
const { latin1 } = latin1Mod;

/** Arguments of one inline command line. */
export interface InlineArgs {
  argc: number;
  args: string[];
  argLens: number[];
}

const SPACE = 0x20;
const TAB = 0x09;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const BACKSLASH = 0x5c;
const LOWER_X = 0x78;

/** C isspace() in the C locale: what separates arguments and may follow a closing quote. */
function isSpace(c: number): boolean {
  return c === SPACE || (c >= TAB && c <= CR);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/** Byte after a backslash inside double quotes (Redis sdssplitargs escapes). */
function unescape(c: number): number {
  switch (c) {
    case 0x6e: return LF; // \n
    case 0x72: return CR; // \r
    case 0x74: return TAB; // \t
    case 0x62: return 0x08; // \b
    case 0x61: return 0x07; // \a
    default: return c; // \\, \", and any other byte stand for themselves
  }
}

/**
 * Splits an inline command line the way Redis's sdssplitargs does: arguments separated by
 * whitespace, "double quotes" with \n \r \t \b \a \xHH and \<any> escapes, 'single quotes'
 * with \' only; a closing quote must be followed by whitespace or the end. Like the C
 * original, a NUL byte ends the line. Not on the hot path: inline commands come from people.
 */
export class InlineSplitter {
  private scratch = new Uint8Array(256);
  private len = 0;

  /** Returns the arguments of u[s..e), or ~i where i is the index of the quoting error. */
  split(u: Uint8Array, s: number, e: number, previewBytes: number, maxKept: number): InlineArgs | number {
    const nul = u.subarray(s, e).indexOf(0);
    const end = nul < 0 ? e : s + nul;
    if (this.scratch.length < end - s) this.scratch = new Uint8Array(end - s);
    const out: InlineArgs = { argc: 0, args: [], argLens: [] };
    let p = s;
    for (;;) {
      while (p < end && isSpace(u[p])) p++;
      if (p >= end) return out;
      this.len = 0;
      p = this.readArg(u, p, end);
      if (p < 0) return p;
      out.argc++;
      if (out.args.length < maxKept) {
        out.args.push(latin1(this.scratch, 0, Math.min(this.len, previewBytes)));
        out.argLens.push(this.len);
      }
    }
  }

  private put(c: number): void {
    this.scratch[this.len++] = c;
  }

  private readArg(u: Uint8Array, p: number, e: number): number {
    for (; p < e; p++) {
      const c = u[p];
      // Unquoted arguments end at these four only; \v and \f are kept (as in sdssplitargs).
      if (c === SPACE || c === LF || c === CR || c === TAB) return p;
      if (c === DQUOTE) return this.readDouble(u, p + 1, e);
      if (c === SQUOTE) return this.readSingle(u, p + 1, e);
      this.put(c);
    }
    return p;
  }

  private readDouble(u: Uint8Array, p: number, e: number): number {
    while (p < e) {
      const c = u[p];
      if (c === BACKSLASH && p + 3 < e && u[p + 1] === LOWER_X) {
        const hi = hexValue(u[p + 2]);
        const lo = hexValue(u[p + 3]);
        if (hi >= 0 && lo >= 0) {
          this.put(hi * 16 + lo);
          p += 4;
          continue;
        }
      }
      if (c === BACKSLASH && p + 1 < e) {
        this.put(unescape(u[p + 1]));
        p += 2;
      } else if (c === DQUOTE) {
        return closeQuote(u, p + 1, e);
      } else {
        this.put(c);
        p++;
      }
    }
    return ~e;
  }

  private readSingle(u: Uint8Array, p: number, e: number): number {
    while (p < e) {
      const c = u[p];
      if (c === BACKSLASH && p + 1 < e && u[p + 1] === SQUOTE) {
        this.put(SQUOTE);
        p += 2;
      } else if (c === SQUOTE) {
        return closeQuote(u, p + 1, e);
      } else {
        this.put(c);
        p++;
      }
    }
    return ~e;
  }
}

/** After a closing quote only whitespace or the end may follow. */
function closeQuote(u: Uint8Array, next: number, e: number): number {
  return next < e && !isSpace(u[next]) ? ~next : next;
}
