/**
 * The master -> replica side of a replication link, once the replica has sent SYNC or PSYNC:
 * not replies but, in order,
 *
 *   PSYNC's answer    `+FULLRESYNC <replid> <offset>\r\n`, `+CONTINUE [<replid>]\r\n` or an error
 *   keepalives        bare `\n` while the master prepares the RDB
 *   the RDB           `$<len>\r\n` + len bytes with NO trailing CRLF (disk-based), or
 *                     `$EOF:<40 bytes>\r\n` + bytes + the same 40 bytes (diskless)
 *   the command stream  the writes the master propagates, as RESP arrays (SELECT, SET, PING,
 *                     REPLCONF GETACK ...), never answered
 *
 * https://redis.io/docs/latest/operate/oss_and_stack/management/replication/ (and
 * replication.c: `addReplyReplicationBacklog`, `rdbPipeWriteHandler`, the EOF mark).
 * Like the RESP decoders it never throws on bad input: what it cannot place is counted as
 * unparsed and the stream resynchronises on the next command boundary.
 */
import { RequestDecoder } from '../resp/request-decoder.js';
import type { RequestFrame, RespLimits, Violation } from '../resp/types.js';
import * as constantsMod from '../resp/constants.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { CR, LF } = constantsMod;

const PLUS = 0x2b; // '+' of +FULLRESYNC / +CONTINUE
const MINUS = 0x2d; // '-' of an error answering PSYNC
const DOLLAR = 0x24; // '$' opening the RDB bulk
/** Length of the diskless transfer's EOF mark (CONFIG_RUN_ID_SIZE). */
export const EOF_MARK_BYTES = 40;
/** Longest status or length line accepted before the RDB. */
const MAX_LINE = 512;

// States. ANSWER: PSYNC's one-line answer (skipping keepalives). PRE_RDB: keepalives, then the
// `$` line of the RDB. LINE: inside such a line (`what` says which). RDB_DATA: counting down a
// disk-based RDB of known length. RDB_EOF: a diskless RDB, until its EOF mark. STREAM: the
// propagated command stream.
const ANSWER = 0;
const PRE_RDB = 1;
const LINE = 2;
const RDB_DATA = 3;
const RDB_EOF = 4;
const STREAM = 5;

export interface LinkEvents {
  /** PSYNC's (or SYNC's) answer: the status line, or an error; `full` when an RDB follows. */
  answer(text: string, error: boolean, full: boolean, tsUs: number): void;
  /** A whole RDB transfer: its payload bytes (missing: bytes of it lost in gaps). */
  rdb(bytes: number, missing: number): void;
  /** A propagated command. */
  command(f: RequestFrame): void;
  violation(v: Violation): void;
}

export class ReplicationLink {
  private state: number;
  private readonly stream: RequestDecoder;
  private line = '';
  /** What the line being read is: the answer (ANSWER) or the RDB's `$` line (PRE_RDB). */
  private lineOf = ANSWER;
  private rdbLeft = 0;
  private rdbBytes = 0;
  private rdbMissing = 0;
  private mark: Buffer | null = null;
  /** The last bytes of a diskless RDB seen, in case its EOF mark straddles two chunks. */
  private tail: Buffer = Buffer.alloc(0);
  private unparsed = 0;
  /** Bytes before the stream: keepalives and the answer and `$` lines. */
  private framing = 0;

  /**
   * `awaiting`: 'psync' (its answer comes first), 'sync' (the RDB comes at once), or 'stream'
   * (joined mid-stream: the capture began after the RDB, resync on the next command).
   */
  constructor(awaiting: 'psync' | 'sync' | 'stream', private readonly events: LinkEvents, limits: Partial<RespLimits>) {
    this.stream = new RequestDecoder((f) => events.command(f), (v) => events.violation(v), limits);
    this.state = awaiting === 'psync' ? ANSWER : awaiting === 'sync' ? PRE_RDB : STREAM;
    if (awaiting === 'stream') this.stream.resync();
  }

  /** Bytes not placed: lost before a resync, or a line too long, plus the stream decoder's. */
  get unparsedBytes(): number {
    return this.unparsed + this.stream.unparsedBytes;
  }

  /** Wire bytes of propagated commands decoded so far (and empty keepalive lines among them). */
  get streamBytes(): number {
    return this.stream.streamOffset - this.stream.unparsedBytes - this.stream.partialFrameBytes;
  }

  push(d: Uint8Array, off: number, len: number, tsUs: number): void {
    let p = off;
    const e = off + len;
    while (p < e) {
      if (this.state === STREAM) {
        this.stream.push(d, p, e - p, tsUs);
        return;
      }
      p = this.step(d, p, e, tsUs);
    }
  }

  /**
   * n bytes were never captured: skipped inside the RDB or a propagated value (true), else
   * the rest of any RDB cannot be placed and commands resume at the next boundary (false).
   */
  gap(n: number): boolean {
    if (this.state === RDB_DATA && n <= this.rdbLeft) {
      this.rdbLeft -= n;
      this.rdbMissing += n;
      if (this.rdbLeft === 0) this.rdbDone();
      return true;
    }
    if (this.state === RDB_EOF) {
      this.rdbMissing += n; // the search for the mark goes on after the hole
      this.tail = Buffer.alloc(0);
      return true;
    }
    if (this.state === STREAM && this.stream.skip(n)) return true;
    this.state = STREAM;
    this.stream.resync();
    return false;
  }

  end(): void {
    this.stream.end();
    if (this.state === LINE) this.unparsed += this.line.length;
  }

  private step(d: Uint8Array, p: number, e: number, tsUs: number): number {
    switch (this.state) {
      case ANSWER:
      case PRE_RDB:
        return this.beforeLine(d, p, e);
      case LINE:
        return this.inLine(d, p, e, tsUs);
      case RDB_DATA: {
        const n = Math.min(this.rdbLeft, e - p);
        this.rdbLeft -= n;
        this.rdbBytes += n;
        if (this.rdbLeft === 0) this.rdbDone();
        return p + n;
      }
      default:
        return this.inEofRdb(d, p, e);
    }
  }

  /** Keepalive newlines are skipped; the next byte opens the answer or the `$` line. */
  private beforeLine(d: Uint8Array, p: number, e: number): number {
    while (p < e && (d[p] === LF || d[p] === CR)) {
      this.framing++;
      p++;
    }
    if (p === e) return e;
    const c = d[p]!;
    const want = this.state === ANSWER ? c === PLUS || c === MINUS : c === DOLLAR;
    if (!want) {
      // Neither an answer nor an RDB: whatever this is, commands resume at the next boundary.
      this.events.violation({ offset: this.framing, reason: this.state === ANSWER ? 'expected PSYNC answer' : "expected '$' of the RDB" });
      this.state = STREAM;
      this.stream.resync();
      return p;
    }
    this.lineOf = this.state;
    this.state = LINE;
    this.line = '';
    return p;
  }

  private inLine(d: Uint8Array, p: number, e: number, tsUs: number): number {
    let q = p;
    while (q < e && d[q] !== LF) q++;
    this.line += Buffer.from(d.buffer, d.byteOffset + p, q - p).toString('latin1');
    this.framing += q - p;
    if (q === e) {
      if (this.line.length > MAX_LINE) {
        this.unparsed += this.line.length;
        this.line = '';
        this.state = STREAM;
        this.stream.resync();
      }
      return e;
    }
    this.framing++;
    const text = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
    this.line = '';
    if (this.lineOf === ANSWER) this.answered(text, tsUs);
    else this.rdbHeader(text);
    return q + 1;
  }

  private answered(text: string, tsUs: number): void {
    const error = text.startsWith('-');
    const full = !error && /^\+FULLRESYNC\b/i.test(text);
    this.events.answer(text.slice(1), error, full, tsUs);
    // +CONTINUE: the stream follows at once. An error: the replica will try again (or SYNC).
    this.state = full ? PRE_RDB : error ? ANSWER : STREAM;
  }

  /** `$<len>` (disk-based) or `$EOF:<mark>` (diskless). */
  private rdbHeader(text: string): void {
    const eof = /^\$EOF:(.{40})$/s.exec(text);
    if (eof !== null) {
      this.mark = Buffer.from(eof[1]!, 'latin1');
      this.tail = Buffer.alloc(0);
      this.rdbBytes = 0;
      this.rdbMissing = 0;
      this.state = RDB_EOF;
      return;
    }
    const len = /^\$(\d{1,15})$/.exec(text);
    if (len === null) {
      this.events.violation({ offset: this.framing, reason: 'bad RDB length line' });
      this.state = STREAM;
      this.stream.resync();
      return;
    }
    this.rdbLeft = Number(len[1]);
    this.rdbBytes = 0;
    this.rdbMissing = 0;
    this.state = RDB_DATA;
    if (this.rdbLeft === 0) this.rdbDone();
  }

  /** A diskless RDB runs until its 40-byte mark, which may straddle chunks. */
  private inEofRdb(d: Uint8Array, p: number, e: number): number {
    const mark = this.mark!;
    const chunk = Buffer.from(d.buffer, d.byteOffset + p, e - p);
    const keep = this.tail.length;
    const hay = keep === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    const at = hay.indexOf(mark);
    if (at < 0) {
      this.rdbBytes += chunk.length;
      this.tail = Buffer.from(hay.subarray(Math.max(0, hay.length - (EOF_MARK_BYTES - 1))));
      return e;
    }
    // Bytes of the tail were counted as RDB already; the mark's own bytes are not RDB.
    const payloadHere = at - keep;
    this.rdbBytes += payloadHere;
    this.framing += EOF_MARK_BYTES;
    this.tail = Buffer.alloc(0);
    this.rdbDone();
    return p + payloadHere + EOF_MARK_BYTES;
  }

  private rdbDone(): void {
    this.events.rdb(this.rdbBytes + this.rdbMissing, this.rdbMissing);
    this.state = STREAM;
  }
}
