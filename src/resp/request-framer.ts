import { CallbackGuard, LineBuffer } from './bytes.js';
import * as bytesMod from './bytes.js';
import { BoundaryScanner } from './request-boundary.js';
import * as constantsMod from './constants.js';
import { InlineSplitter } from './inline-args.js';
import { KeptArgs } from './kept-args.js';
import { LengthLine } from './length-line.js';
import * as lengthLineMod from './length-line.js';
import * as limitsMod from './limits.js';
import { Preview } from './preview.js';
import type { RequestFrame, RespLimits, Violation } from './types.js';
import type { FramePool } from './frame-pool.js';
import { WholeBulk } from './whole-bulk.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { findByte } = bytesMod;
const { CR, DIGIT_0, DIGIT_9, LF, RESP_TYPES } = constantsMod;
const { LEN_CR, LEN_MORE, LEN_OVER } = lengthLineMod;
const { resolveLimits } = limitsMod;

const STAR = RESP_TYPES.ARRAY;
const DOLLAR = RESP_TYPES.BLOB_STRING;

// Framer states. START: at a request boundary, where '*' opens a multibulk request and
// anything else an inline line. COUNT, COUNT_LF: in the digits of `*<count>`, then after its
// CR. HEADER: expecting the '$' of the next argument. LENGTH, LENGTH_LF: in the digits of
// `$<len>`, then after its CR. DATA, DATA_CR, DATA_LF: in a bulk argument's bytes, then their
// CRLF. INLINE: in an inline line begun in an earlier push (its bytes are buffered). SCAN:
// looking for the next `*<n>\r\n$` after a gap or a violation.
export const START = 0;
const COUNT = 1;
const COUNT_LF = 2;
const HEADER = 3;
const LENGTH = 4;
const LENGTH_LF = 5;
const DATA = 6;
const DATA_CR = 7;
const DATA_LF = 8;
export const INLINE = 9;
export const SCAN = 10;
// HALTED: the server closes the connection after this (a protocol error it answered):
// nothing after it is a request, every byte is unparsed.
export const HALTED = 11;

/** Redis ignores any count <= 0 (`*0`, `*-1`); a longer negative number is nonsense. */
const MAX_NEGATIVE_COUNT = 2 ** 31;

/**
 * The request grammar as a state machine over bytes: RESP multibulk arrays of bulk strings and
 * inline command lines. Incremental: partial state is a few integers, the previews of the
 * arguments read so far and, for an inline line split across pushes, that line. Bulk values
 * are counted as they stream past, never held. RequestDecoder drives it over a stream.
 */
export abstract class RequestFramer {
  private readonly lim: RespLimits;
  private readonly len = new LengthLine();
  private readonly splitter = new InlineSplitter();
  protected readonly guard = new CallbackGuard();
  private readonly bulk = new WholeBulk();
  protected state = START;
  /** Stream offset of data[0] during a push. */
  protected base = 0;
  protected chunkOff = 0;
  protected ts = 0;
  protected unparsed = 0;
  /** Of unparsed: bytes after the connection's requests ended (HALTED). */
  protected halted = 0;
  protected ignored = 0;
  // The frame in progress.
  protected fStart = 0;
  private fTs = 0;
  private argc = 0;
  private argsSeen = 0;
  protected readonly kept: KeptArgs;
  // The bulk argument in progress.
  private bulkLen = 0;
  private bulkLeft = 0;
  /** Bytes of the frame in progress lost inside its values (see skip()). */
  private missing = 0;
  protected readonly pre = new Preview();
  /** An inline line split across pushes. */
  protected readonly line: LineBuffer;
  protected readonly scanner: BoundaryScanner;

  constructor(
    private readonly onRequest: (f: RequestFrame) => void,
    private readonly onViolation: (v: Violation) => void,
    limits?: Partial<RespLimits>,
    pool: FramePool<RequestFrame> | null = null,
  ) {
    this.lim = resolveLimits(limits);
    this.kept = new KeptArgs(this.lim.argPreviewBytes, pool);
    this.line = new LineBuffer(this.lim.maxLineBytes + 1);
    this.scanner = new BoundaryScanner(this.lim.maxElements);
  }

  /**
   * skip(): of n uncaptured bytes from stream offset `at`, how many lie inside the bulk argument
   * in progress and its closing CRLF (its length is known, so where it ends is too; a snap
   * length cuts a value's tail and its CRLF together, so the CRLF is taken as sent); 0 when
   * none do. Past the value, the hole is refused unless the argument was the request's last:
   * that request is framed, and the caller resyncs after it.
   */
  protected skipInValue(n: number, at: number): number {
    // Bytes of the value and its CRLF still to come.
    const left = this.state === DATA ? this.bulkLeft + 2 : this.state === DATA_CR ? 2 : this.state === DATA_LF ? 1 : 0;
    if (n <= 0 || left === 0 || (n > left && this.argsSeen + 1 < this.argc)) return 0;
    const inside = n < left ? n : left;
    const value = left > 2 ? Math.min(inside, left - 2) : 0;
    // The CRLF is framing: only lost value bytes make the request partial.
    this.missing += value;
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
    this.kept.keepText(this.pre.take(), this.bulkLen);
    // The request ends inside the hole: base + 0 is the stream offset just past its CRLF.
    this.base = at + inside;
    this.argDone(0);
    return inside;
  }

  // A dispatch switch over the framer state; each handler returns the next index.
  protected step(d: Uint8Array, p: number, e: number): number {
    switch (this.state) {
      case START: return this.atStart(d, p, e);
      case HEADER: return this.atHeader(d, p, e);
      case COUNT:
      case LENGTH: return this.inLength(d, p, e);
      case COUNT_LF:
      case LENGTH_LF: return this.atLengthEnd(d, p);
      case DATA: return this.inData(d, p, e);
      case DATA_CR:
      case DATA_LF: return this.atDataEnd(d, p);
      case INLINE: return this.inInline(d, p, e);
      case HALTED:
        this.unparsed += e - p;
        this.halted += e - p;
        return e;
      default: return this.scan(d, p, e);
    }
  }

  private atStart(d: Uint8Array, p: number, e: number): number {
    this.fStart = this.base + p;
    this.fTs = this.ts;
    if (d[p] !== STAR) return this.inlineStart(d, p, e);
    // Fast path: the whole `*<n>\r\n` line is in this chunk.
    const max = this.lim.maxElements;
    let q = p + 1;
    let c = q < e ? d[q]! : 0;
    if (c > DIGIT_0 && c <= DIGIT_9) {
      let v = c - DIGIT_0;
      for (q++; q < e && v <= max; q++) {
        c = d[q]!;
        if (c < DIGIT_0 || c > DIGIT_9) break;
        v = v * 10 + c - DIGIT_0;
      }
      if (v <= max && q + 1 < e && d[q] === CR && d[q + 1] === LF) {
        this.beginArray(v, q + 2);
        return q + 2 < e ? this.atHeader(d, q + 2, e) : q + 2;
      }
    }
    this.len.start(max, MAX_NEGATIVE_COUNT, false);
    this.state = COUNT;
    return p + 1;
  }

  private beginArray(argc: number, next: number): number {
    this.argc = argc;
    this.missing = 0;
    this.argsSeen = 0;
    this.kept.begin(argc < this.lim.maxArgsKept ? argc : this.lim.maxArgsKept);
    this.state = HEADER;
    return next;
  }

  private atHeader(d: Uint8Array, p: number, e: number): number {
    const max = this.lim.maxBulkBytes;
    const bulk = this.bulk;
    // Fast path: whole arguments in this chunk, one after another.
    for (;;) {
      if (d[p] !== DOLLAR) return this.violate(d, p, "expected '$'");
      if (!bulk.find(d, p, e, max)) break;
      this.kept.keep(d, bulk.start, bulk.len);
      p = bulk.end;
      if (++this.argsSeen === this.argc) return this.emit(p);
      if (p === e) return p;
    }
    this.len.start(max, 0, false);
    this.state = LENGTH;
    return p + 1;
  }

  private argDone(next: number): number {
    if (++this.argsSeen < this.argc) {
      this.state = HEADER;
      return next;
    }
    return this.emit(next);
  }

  private emit(next: number): number {
    this.state = START;
    this.guard.call(this.onRequest, this.kept.frame(this.argc, this.base + next - this.fStart, this.missing, this.fTs, this.ts));
    return next;
  }

  private inLength(d: Uint8Array, p: number, e: number): number {
    const counting = this.state === COUNT;
    for (let q = p; q < e; q++) {
      const r = this.len.feed(d[q]!);
      if (r === LEN_MORE) continue;
      if (r === LEN_CR) {
        this.state = counting ? COUNT_LF : LENGTH_LF;
        return q + 1;
      }
      const what = counting ? 'multibulk length' : 'bulk length';
      return this.violate(d, q, r === LEN_OVER ? `${what} over limit` : `invalid ${what}`);
    }
    return e;
  }

  private atLengthEnd(d: Uint8Array, p: number): number {
    if (d[p] !== LF) return this.violate(d, p, 'expected LF after CR');
    const next = p + 1;
    if (this.state === LENGTH_LF) return this.beginBulk(this.len.value, next);
    if (!this.len.negative && this.len.value > 0) return this.beginArray(this.len.value, next);
    // Like Redis: a multibulk count <= 0 is no command at all.
    this.ignored += this.base + next - this.fStart;
    this.state = START;
    return next;
  }

  private beginBulk(n: number, next: number): number {
    this.bulkLen = n;
    this.bulkLeft = n;
    this.pre.start(this.kept.count < this.kept.max ? this.lim.argPreviewBytes : 0);
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
    if (d[p] !== want) return this.violate(d, p, 'missing CRLF after bulk');
    if (want === CR) {
      this.state = DATA_LF;
      return p + 1;
    }
    this.kept.keepText(this.pre.take(), this.bulkLen);
    return this.argDone(p + 1);
  }

  private inlineStart(d: Uint8Array, p: number, e: number): number {
    // The line's LF may sit at most maxLineBytes after its first byte.
    const limit = p + this.lim.maxLineBytes + 1;
    const lf = findByte(d, LF, p, Math.min(e, limit));
    if (lf >= 0) return this.inlineDone(d, p, lf, lf + 1);
    if (limit <= e) return this.violate(d, limit - 1, 'inline request too long');
    this.line.length = 0;
    this.line.append(d, p, e);
    this.state = INLINE;
    return e;
  }

  private inInline(d: Uint8Array, p: number, e: number): number {
    const limit = p + this.lim.maxLineBytes + 1 - this.line.length;
    const lf = findByte(d, LF, p, Math.min(e, limit));
    if (lf < 0) {
      if (limit <= e) return this.violate(d, limit - 1, 'inline request too long');
      this.line.append(d, p, e);
      return e;
    }
    this.line.append(d, p, lf);
    const n = this.line.length;
    this.line.length = 0;
    return this.inlineDone(this.line.bytes, 0, n, lf + 1);
  }

  /** u[s..lf) is a whole inline line; `next` is the chunk index just past its LF. */
  private inlineDone(u: Uint8Array, s: number, lf: number, next: number): number {
    const end = lf > s && u[lf - 1] === CR ? lf - 1 : lf;
    const lim = this.lim;
    const r = this.splitter.split(u, s, end, lim.argPreviewBytes, lim.maxArgsKept);
    const wire = this.base + next - this.fStart;
    this.state = START;
    if (typeof r === 'number') {
      // The line is framed by its LF, so decoding goes on at the next line.
      this.unparsed += wire;
      this.guard.call(this.onViolation, {
        offset: this.fStart + (~r - s),
        reason: 'unbalanced quotes in inline request',
      });
    } else if (r.argc === 0) {
      this.ignored += wire;
    } else {
      this.guard.call(this.onRequest, {
        argc: r.argc,
        args: r.args,
        argLens: r.argLens,
        wireBytes: wire,
        inline: true,
        missingBytes: 0,
        startTsUs: this.fTs,
        endTsUs: this.ts,
      });
    }
    return next;
  }

  /** Reports the bad byte at d[p], drops the request around it and scans from that byte. */
  private violate(d: Uint8Array, p: number, reason: string): number {
    const at = this.base + p;
    this.unparsed += at - this.fStart;
    this.enterScan(p === this.chunkOff || d[p - 1] === LF);
    this.guard.call(this.onViolation, { offset: at, reason });
    return p;
  }

  protected dropPartial(): void {
    this.line.length = 0;
    this.pre.clear();
    this.kept.clear();
  }

  protected enterScan(atBoundary: boolean): void {
    this.dropPartial();
    this.state = SCAN;
    this.scanner.reset(atBoundary);
  }

  private scan(d: Uint8Array, p: number, e: number): number {
    const s = this.scanner;
    const q = s.scan(d, p, e, this.base, this.chunkOff, this.ts);
    this.unparsed += s.skipped;
    s.skipped = 0;
    if (!s.found) return q;
    s.found = false;
    this.fStart = s.start;
    this.fTs = s.startTs;
    this.beginArray(s.count, q);
    // The boundary's '$' is read: its length digits come next.
    this.len.start(this.lim.maxBulkBytes, 0, false);
    this.state = LENGTH;
    return q;
  }
}

