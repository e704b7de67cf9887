import * as constantsMod from './constants.js';
import * as replyGrammarMod from './reply-grammar.js';
import type { FramePool } from './frame-pool.js';
import type { InnerError, ReplyFrame } from './types.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { RESP_TYPES } = constantsMod;
const { HEAD_TYPE, KIND, K_AGG, K_BULK } = replyGrammarMod;

/** Values kept in ReplyFrame.head. */
const HEAD_MAX = 3;
/** Element errors kept per reply (an EXEC of a long transaction); the rest are not named. */
export const MAX_INNER_ERRORS = 1024;
/** head of a reply until it turns out to be an aggregate; never filled. */
const NO_HEAD: string[] = [];

/**
 * The top-level reply being framed: where it began, the type of its real value (attributes
 * before it only add bytes), its count and, for an aggregate, the head previews.
 */
export class ReplyBuilder {
  open = false;
  start = 0;
  startTs = 0;
  type = 0;
  count = 0;
  /** Bytes of the reply's values not captured (ReplyDecoder.skip). */
  missing = 0;
  private inner: InnerError[] | null = null;
  private head: string[] = NO_HEAD;

  constructor(private readonly pool: FramePool<ReplyFrame> | null = null) {}

  begin(start: number, ts: number): void {
    this.open = true;
    this.start = start;
    this.startTs = ts;
    this.count = 0;
    this.missing = 0;
    this.inner = null;
    this.head = NO_HEAD;
  }

  /** The real value is an aggregate of `count` elements (2 per map pair). */
  aggregate(count: number): void {
    this.count = count;
    this.head = [];
  }

  /**
   * A top-level element of type c begins: true if head wants its text. An element of any
   * other type (aggregate, error, null) takes its place in head now, as ''.
   */
  wantsText(c: number): boolean {
    if (this.head.length >= HEAD_MAX) return false;
    if (HEAD_TYPE[c] === 1) return true;
    this.head.push('');
    return false;
  }

  addText(text: string): void {
    this.head.push(text);
  }

  /** An error is element `index` of the top-level aggregate. */
  addInnerError(index: number, text: string): void {
    const inner = (this.inner ??= []);
    if (inner.length < MAX_INNER_ERRORS) inner.push({ index, text });
  }

  /** Preview characters held for the open reply. */
  heldBytes(): number {
    let n = 0;
    for (const h of this.head) n += h.length;
    if (this.inner !== null) for (const e of this.inner) n += e.text.length;
    return n;
  }

  /** A whole top-level string (`+`, `$`) framed in one go, as finish() would give it. */
  scalar(type: number, wireBytes: number, count: number, text: string, ts: number): ReplyFrame {
    const line = type === RESP_TYPES.SIMPLE_STRING;
    const f = this.pool?.take(line ? 1 : 0);
    if (f === undefined) return { type, wireBytes, error: null, count, head: line ? [text] : [], innerErrors: null, missingBytes: 0, startTsUs: ts, endTsUs: ts };
    // Given back with a head of one: it owns that array, nothing else refers to it.
    if (line) f.head[0] = text;
    return fill(f, type, wireBytes, null, count, null, 0, ts, ts);
  }

  /** Closes the reply; `text` is the top-level scalar's preview (or error text). */
  finish(wireBytes: number, endTs: number, text: string): ReplyFrame {
    const t = this.type;
    let head: string[];
    let error: string | null = null;
    if (KIND[t] === K_AGG) {
      head = this.count === -1 ? [] : this.head;
    } else if (t === RESP_TYPES.SIMPLE_ERROR || t === RESP_TYPES.BLOB_ERROR) {
      head = [];
      error = text;
    } else {
      // A string of bytes ($, =) is counted, not kept (see ReplyFramer.beginValue).
      head = t === RESP_TYPES.NULL || this.count === -1 || KIND[t] === K_BULK ? [] : [text];
    }
    this.open = false;
    const f = this.pool?.take(head.length);
    if (f === undefined) return { type: t, wireBytes, error, count: this.count, head, innerErrors: this.inner, missingBytes: this.missing, startTsUs: this.startTs, endTsUs: endTs };
    f.head = head;
    return fill(f, t, wireBytes, error, this.count, this.inner, this.missing, this.startTs, endTs);
  }
}

function fill(f: ReplyFrame, type: number, wireBytes: number, error: string | null, count: number,
  inner: InnerError[] | null, missing: number, startTs: number, endTs: number): ReplyFrame {
  f.type = type;
  f.wireBytes = wireBytes;
  f.error = error;
  f.count = count;
  f.innerErrors = inner;
  f.missingBytes = missing;
  f.startTsUs = startTs;
  f.endTsUs = endTs;
  return f;
}
