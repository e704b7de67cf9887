import * as constantsMod from './constants.js';
import * as replyGrammarMod from './reply-grammar.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { CR, LF, RESP_TYPES } = constantsMod;
const { lineByteOk, lineEndOk, lineReason } = replyGrammarMod;

const { SIMPLE_STRING: PLUS, SIMPLE_ERROR: MINUS } = RESP_TYPES;

/**
 * Reads the text of a single-line reply value (`+OK`, `:42`, `#t`, the `.` end marker) up to
 * its CR, checking each byte against the value's type: in one scan when the whole line is in
 * the chunk, else byte by byte across pushes. Only its length and first byte are kept; the
 * decoder keeps what preview it wants.
 */
export class LineValue {
  type = 0;
  /** After scan() reported a bad byte: why it is bad. */
  reason = '';
  private len = 0;
  private first = 0;

  /** A line of type t begins. */
  start(t: number): void {
    this.type = t;
    this.len = 0;
  }

  /**
   * Index of the CR ending the text that starts at d[s], when the whole line (its LF too) is
   * in d[s..e) within maxLine bytes and valid; else -1, and scan() reads it from d[s].
   */
  whole(d: Uint8Array, s: number, e: number, maxLine: number): number {
    const t = this.type;
    const stop = Math.min(e, s + maxLine + 1);
    let q = s;
    if (t === PLUS || t === MINUS) {
      while (q < stop && d[q] !== CR && d[q] !== LF) q++;
    } else {
      while (q < stop && lineByteOk(t, d[q]!, q - s)) q++;
    }
    if (q === stop || q + 1 >= e || d[q] !== CR || d[q + 1] !== LF || !lineEndOk(t, q - s, d[s]!)) return -1;
    return q;
  }

  /**
   * Reads text bytes from d[p..e): the index of the CR ending a valid line, e when the line goes
   * on past the chunk, or -1 - i when byte i is bad (see reason).
   */
  scan(d: Uint8Array, p: number, e: number, maxLine: number): number {
    const t = this.type;
    for (let q = p; q < e; q++) {
      const c = d[q]!;
      if (c === CR) return lineEndOk(t, this.len, this.first) ? q : this.bad(q, lineReason(t));
      if (this.len >= maxLine) return this.bad(q, 'line too long');
      if (!lineByteOk(t, c, this.len)) return this.bad(q, c === LF ? 'LF without CR' : lineReason(t));
      if (this.len++ === 0) this.first = c;
    }
    return e;
  }

  private bad(i: number, reason: string): number {
    this.reason = reason;
    return -1 - i;
  }
}
