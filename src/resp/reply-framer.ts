import { AggregateStack } from './aggregate-stack.js';
import { CallbackGuard } from './bytes.js';
import * as constantsMod from './constants.js';
import * as latin1Mod from './latin1.js';
import { LengthLine } from './length-line.js';
import * as lengthLineMod from './length-line.js';
import { LineValue } from './line-value.js';
import * as limitsMod from './limits.js';
import { Preview } from './preview.js';
import type { FramePool } from './frame-pool.js';
import { ReplyBuilder } from './reply-builder.js';
import * as textCacheMod from './text-cache.js';
import * as replyGrammarMod from './reply-grammar.js';
import type { ReplyFrame, RespLimits, Violation } from './types.js';
import { WholeBulk } from './whole-bulk.js';
import * as wholeBulkMod from './whole-bulk.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { CR, LF, RESP_TYPES } = constantsMod;
const { latin1 } = latin1Mod;
const { LEN_CR, LEN_MORE, LEN_OVER } = lengthLineMod;
const { resolveLimits } = limitsMod;
const { simpleReplies } = textCacheMod;
const { KIND, K_AGG, K_BULK, K_LINE } = replyGrammarMod;
const { simpleLineEnd } = wholeBulkMod;

const T = RESP_TYPES;
const { SIMPLE_STRING: PLUS, SIMPLE_ERROR: MINUS, BLOB_STRING: DOLLAR, ARRAY: STAR, MAP: PERCENT,
  ATTRIBUTE: PIPE, PUSH, STREAMED_STRING_PART: SEMI, STREAMED_AGGREGATE_END: DOT, NULL: UNDERSCORE } = T;

// Framer states. TYPE: expecting a type byte. LINE, LINE_LF: in the text of a single-line
// value, then after its CR. LENGTH, LENGTH_LF: in a length or count line, then after its CR.
// DATA, DATA_CR, DATA_LF: in the bytes of a bulk value or a streamed-string chunk, then their
// CRLF. DISCARD: after a violation or resync(), every byte is discarded until resume().
export const TYPE = 0;
const LINE = 1;
const LINE_LF = 2;
const LENGTH = 3;
const LENGTH_LF = 4;
const DATA = 5;
const DATA_CR = 6;
const DATA_LF = 7;
export const DISCARD = 8;
// HANDED: a callback handed the rest of the stream to another parser (ReplyDecoder.handOver()).
export const HANDED = 9;

/**
 * The RESP2 and RESP3 reply grammar as a state machine over bytes, every type: finds where each
 * reply begins and ends and what of it is kept. Nesting is an explicit stack of (type, values
 * left, values seen); bulk values are counted, not held. ReplyDecoder drives it over a stream.
 */
export abstract class ReplyFramer {
  private readonly lim: RespLimits;
  private readonly len = new LengthLine();
  private readonly line = new LineValue();
  protected readonly guard = new CallbackGuard();
  private readonly bulk = new WholeBulk();
  protected state = TYPE;
  /** Stream offset of d[0] during a push. */
  protected base = 0;
  protected ts = 0;
  protected unparsed = 0;
  protected readonly reply: ReplyBuilder;
  /** Open aggregates; a streamed string is a level of type ';' while its chunks come. */
  private readonly stack = new AggregateStack();
  // The value in progress.
  private vType = 0;
  private capture = false;
  /** The value in progress is an error element of the top-level aggregate. */
  private elemError = false;
  protected readonly pre = new Preview();
  private bulkLeft = 0;
  private streamTotal = 0;

  constructor(
    private readonly onReply: (f: ReplyFrame) => void,
    private readonly onViolation: (v: Violation) => void,
    limits?: Partial<RespLimits>,
    pool: FramePool<ReplyFrame> | null = null,
  ) {
    this.lim = resolveLimits(limits);
    this.reply = new ReplyBuilder(pool);
  }

  /**
   * skip(): of n uncaptured bytes from stream offset `at`, how many lie inside the value in
   * progress and its closing CRLF (a snap length cuts a value's tail and its CRLF together, so
   * the CRLF is taken as sent); 0 when none do. Past the value, the hole is refused unless the
   * value ends a top-level reply: that reply is framed, and the caller resyncs after it.
   */
  protected skipInValue(n: number, at: number): number {
    const left = this.state === DATA ? this.bulkLeft + 2 : this.state === DATA_CR ? 2 : this.state === DATA_LF ? 1 : 0;
    if (n <= 0 || left === 0 || (n > left && (this.stack.depth > 0 || this.vType === SEMI))) return 0;
    const inside = n < left ? n : left;
    const value = left > 2 ? Math.min(inside, left - 2) : 0;
    // The CRLF is framing: only lost value bytes make the reply partial.
    this.reply.missing += value;
    if (value > 0) this.pre.stop();
    if (inside < left - 2) {
      this.bulkLeft -= inside;
      return inside;
    }
    this.bulkLeft = 0;
    if (inside < left) {
      this.state = inside === left - 2 ? DATA_CR : DATA_LF;
      return inside;
    }
    // The value ends inside the hole: base + 0 is the stream offset just past its CRLF.
    this.base = at + inside;
    if (this.vType !== SEMI) this.scalarDone(0);
    else this.state = TYPE;
    return inside;
  }

  // A dispatch switch over the framer state; each handler returns the next index.
  protected step(d: Uint8Array, p: number, e: number): number {
    switch (this.state) {
      case TYPE: return this.atType(d, p, e);
      case LINE: return this.inLine(d, p, e);
      case LINE_LF: return this.atLf(d, p) ? this.lineDone(p + 1) : p + 1;
      case LENGTH: return this.inLength(d, p, e);
      case LENGTH_LF: return this.atLf(d, p) ? this.headerDone(p + 1) : p + 1;
      case DATA: return this.inData(d, p, e);
      case DATA_CR:
      case DATA_LF: return this.atDataEnd(d, p);
      default:
        this.unparsed += e - p;
        return e;
    }
  }

  private atType(d: Uint8Array, p: number, e: number): number {
    const c = d[p]!;
    // Fast path: most replies are a whole `+line` or `$<n>` string in this chunk, on their own.
    if (this.stack.depth === 0 && !this.reply.open) {
      if (c === PLUS) {
        const cr = simpleLineEnd(d, p + 1, e, this.lim.maxLineBytes);
        if (cr >= 0) return this.wholeString(PLUS, d, p, p + 1, cr - p - 1, 0, cr + 2);
      } else if (c === DOLLAR && this.bulk.find(d, p, e, this.lim.maxBulkBytes)) {
        const b = this.bulk;
        return this.wholeString(DOLLAR, d, p, b.start, b.len, b.len, b.end);
      }
    }
    if (this.stack.top() === SEMI) {
      if (c !== SEMI) return this.violate(p, "expected ';' in streamed string");
      this.vType = SEMI;
      this.len.start(this.lim.maxBulkBytes - this.streamTotal, 0, false);
      this.state = LENGTH;
      return p + 1;
    }
    const kind = KIND[c];
    if (kind === 0) return c === DOT ? this.atEndMarker(d, p, e) : this.violate(p, 'bad type byte');
    if (!this.beginValue(c, p)) return p + 1;
    if (kind === K_LINE) return this.startLine(d, p, e, c);
    if (c === DOLLAR && this.bulk.find(d, p, e, this.lim.maxBulkBytes)) return this.wholeBulk(d);
    return this.startLength(c, p);
  }

  /** Emits the top-level string d[p..next) whose value is d[s..s+n), whole in this chunk. */
  private wholeString(type: number, d: Uint8Array, p: number, s: number, n: number, count: number, next: number): number {
    const pv = this.lim.argPreviewBytes;
    // A simple string is a status (OK, QUEUED) that repeats; a bulk string is data, not kept.
    const text = type !== PLUS ? '' : n <= pv ? simpleReplies.text(d, s, n) : latin1(d, s, s + pv);
    this.guard.call(this.onReply, this.reply.scalar(type, next - p, count, text, this.ts));
    return next;
  }

  /** Bookkeeping for a value of type c at d[p]; false after a violation. */
  private beginValue(c: number, p: number): boolean {
    const depth = this.stack.depth;
    if (depth === 0) {
      if (!this.reply.open) this.reply.begin(this.base + p, this.ts);
      if (c !== PIPE) this.reply.type = c;
      // A top-level scalar keeps its text: head for a line's value, `error` for errors. A
      // top-level string of bytes (GET's value) is counted, not kept: nothing reads it.
      this.capture = (KIND[c] === K_LINE && c !== UNDERSCORE) || c === T.BLOB_ERROR;
      this.elemError = false;
      return true;
    }
    if (KIND[c] === K_AGG && depth >= this.lim.maxDepth) {
      this.violate(p, 'nesting too deep');
      return false;
    }
    if (this.stack.topStreamed() && this.stack.topSeen() >= this.lim.maxElements) {
      this.violate(p, 'too many elements');
      return false;
    }
    // Elements of the top-level value (an attribute or a push inside it is not one) fill head;
    // its error elements (an EXEC reply's) are kept by index.
    const element = depth === 1 && this.stack.bottom() !== PIPE && c !== PIPE && c !== PUSH;
    this.elemError = element && (c === MINUS || c === T.BLOB_ERROR);
    this.capture = element && (this.reply.wantsText(c) || this.elemError);
    return true;
  }

  private startLine(d: Uint8Array, p: number, e: number, t: number): number {
    this.vType = t;
    this.line.start(t);
    this.pre.start(this.capture ? this.lim.argPreviewBytes : 0);
    // Fast path: the whole line is in this chunk and valid.
    const s = p + 1;
    const cr = this.line.whole(d, s, e, this.lim.maxLineBytes);
    if (cr < 0) {
      this.state = LINE;
      return s;
    }
    if (t === PLUS) this.pre.keepCached(simpleReplies, d, s, cr);
    else this.pre.keep(d, s, cr);
    return this.lineDone(cr + 2);
  }

  private inLine(d: Uint8Array, p: number, e: number): number {
    const q = this.line.scan(d, p, e, this.lim.maxLineBytes);
    if (q < 0) return this.violate(-1 - q, this.line.reason);
    this.pre.keep(d, p, q);
    if (q === e) return e;
    this.state = LINE_LF;
    return q + 1;
  }

  private atLf(d: Uint8Array, p: number): boolean {
    if (d[p] === LF) return true;
    this.violate(p, 'expected LF after CR');
    return false;
  }

  private lineDone(next: number): number {
    if (this.vType !== DOT) return this.scalarDone(next);
    // `.\r\n` closes the streamed aggregate on top of the stack.
    if (this.stack.depth === 1) this.reply.count = this.stack.topSeen();
    this.stack.pop();
    return this.valueDone(next, false);
  }

  private atEndMarker(d: Uint8Array, p: number, e: number): number {
    const stack = this.stack;
    if (!stack.topStreamed()) return this.violate(p, "unexpected '.'");
    if (stack.top() === PERCENT && (stack.topSeen() & 1) === 1) {
      return this.violate(p, 'streamed map ends after a key');
    }
    this.capture = false;
    return this.startLine(d, p, e, DOT);
  }

  /** A whole bulk string found in this chunk by `bulk`. */
  private wholeBulk(d: Uint8Array): number {
    const b = this.bulk;
    if (this.stack.depth === 0) this.reply.count = b.len;
    this.pre.start(this.capture ? this.lim.argPreviewBytes : 0);
    this.pre.keep(d, b.start, b.start + b.len);
    return this.scalarDone(b.end);
  }

  private startLength(c: number, p: number): number {
    const lim = this.lim;
    this.vType = c;
    if (KIND[c] === K_BULK) {
      // Only `$` has a null (`$-1`) and a streamed form (`$?`).
      this.len.start(lim.maxBulkBytes, c === DOLLAR ? 1 : 0, c === DOLLAR);
    } else if (c === PERCENT || c === PIPE) {
      this.len.start(Math.floor(lim.maxElements / 2), 0, c === PERCENT);
    } else {
      // `*-1` is the RESP2 null array; push `>` has no streamed form.
      this.len.start(lim.maxElements, c === STAR ? 1 : 0, c !== T.PUSH);
    }
    this.state = LENGTH;
    return p + 1;
  }

  private inLength(d: Uint8Array, p: number, e: number): number {
    for (let q = p; q < e; q++) {
      const r = this.len.feed(d[q]!);
      if (r === LEN_MORE) continue;
      if (r === LEN_CR) {
        this.state = LENGTH_LF;
        return q + 1;
      }
      if (r !== LEN_OVER || this.len.negative) return this.violate(q, 'bad length');
      return this.violate(q, KIND[this.vType] === K_AGG ? 'too many elements' : 'bulk length over limit');
    }
    return e;
  }

  private headerDone(next: number): number {
    const t = this.vType;
    const len = this.len;
    if (len.negative) {
      // `$-1` / `*-1`: the RESP2 nulls.
      if (this.stack.depth === 0) this.reply.count = -1;
      this.pre.clear();
      return this.scalarDone(next);
    }
    if (len.streamed) return this.openStreamed(t, next);
    if (t === SEMI) return this.chunkHeader(len.value, next);
    if (KIND[t] === K_BULK) return this.startBulk(len.value, next);
    const n = t === PERCENT || t === PIPE ? len.value * 2 : len.value;
    if (this.stack.depth === 0 && t !== PIPE) this.reply.aggregate(n);
    if (n === 0) return this.valueDone(next, t === PIPE);
    this.pushLevel(t, n);
    return next;
  }

  private openStreamed(t: number, next: number): number {
    if (t === DOLLAR) {
      this.streamTotal = 0;
      this.pre.start(this.capture ? this.lim.argPreviewBytes : 0);
      this.pushLevel(SEMI, 0);
    } else {
      if (this.stack.depth === 0) this.reply.aggregate(0);
      this.pushLevel(t, -1);
    }
    return next;
  }

  private pushLevel(t: number, left: number): void {
    this.stack.push(t, left);
    this.state = TYPE;
  }

  /** `;<n>`: a chunk of n bytes of a streamed string; `;0` ends the string. */
  private chunkHeader(n: number, next: number): number {
    if (n === 0) {
      this.stack.pop();
      if (this.stack.depth === 0) this.reply.count = this.streamTotal;
      return this.scalarDone(next);
    }
    this.streamTotal += n;
    this.bulkLeft = n;
    this.state = DATA;
    return next;
  }

  private startBulk(n: number, next: number): number {
    if (this.stack.depth === 0) this.reply.count = n;
    this.bulkLeft = n;
    this.pre.start(this.capture ? this.lim.argPreviewBytes : 0);
    this.state = n > 0 ? DATA : DATA_CR;
    return next;
  }

  private inData(d: Uint8Array, p: number, e: number): number {
    const n = Math.min(this.bulkLeft, e - p);
    this.pre.keep(d, p, p + n);
    this.bulkLeft -= n;
    if (this.bulkLeft === 0) this.state = DATA_CR;
    return p + n;
  }

  private atDataEnd(d: Uint8Array, p: number): number {
    const want = this.state === DATA_CR ? CR : LF;
    if (d[p] !== want) return this.violate(p, 'missing CRLF after bulk');
    if (want === CR) {
      this.state = DATA_LF;
      return p + 1;
    }
    if (this.vType !== SEMI) return this.scalarDone(p + 1);
    this.state = TYPE;
    return p + 1;
  }

  private scalarDone(next: number): number {
    if (this.stack.depth > 0) {
      // Only a top-level scalar keeps its text until the frame is emitted.
      const text = this.pre.take();
      if (this.capture && this.stack.depth === 1) {
        if (this.elemError) this.reply.addInnerError(this.stack.topSeen(), text);
        else this.reply.addText(text);
      }
    }
    return this.valueDone(next, false);
  }

  /** A value ended at `next`: count it in its parent; emit the reply if it was the last. */
  private valueDone(next: number, attribute: boolean): number {
    this.state = TYPE;
    if (this.stack.complete(attribute)) this.emit(next);
    return next;
  }

  private emit(next: number): void {
    const f = this.reply.finish(this.base + next - this.reply.start, this.ts, this.pre.take());
    this.guard.call(this.onReply, f);
  }

  /**
   * Reports the bad byte at index p and discards it, and everything after it until resume().
   * The bad byte is consumed here so that a callback calling resume() cannot loop on it.
   */
  private violate(p: number, reason: string): number {
    const at = this.base + p;
    this.unparsed += this.reply.open ? at + 1 - this.reply.start : 1;
    this.reset();
    this.state = DISCARD;
    this.guard.call(this.onViolation, { offset: at, reason });
    return p + 1;
  }

  protected reset(): void {
    this.reply.open = false;
    this.elemError = false;
    this.stack.clear();
    this.pre.clear();
    this.capture = false;
  }
}
