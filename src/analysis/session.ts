import type { TcpConn } from '../flow/types.js';
import { ReplyDecoder, RequestDecoder } from '../resp/index.js';
import { RESP_TYPES } from '../resp/constants.js';
import type { ReplyFrame, RequestFrame, RespLimits, Violation } from '../resp/types.js';
import { commandInfo, redactSecrets } from './command-info.js';
import { PendingQueue } from './pending-queue.js';
import { expectedReplies, applyRequestState, applyReplyState, type ConnState, MAX_QUEUED, newConnState } from './conn-state.js';
import type { TrackedRequest } from './tracked-request.js';

/** What a session reports upward; the analyzer fans it out to aggregators and outputs. */
export interface SessionEvents {
  request(r: TrackedRequest): void;
  complete(r: TrackedRequest): void;
  /** A reply that answers no request: RESP3 push, pub/sub message, MONITOR line, or unexpected. */
  unpaired(conn: TcpConn, reply: ReplyFrame, kind: UnpairedKind): void;
  violation(conn: TcpConn, fromClient: boolean, v: Violation): void;
}

export type UnpairedKind = 'push' | 'message' | 'monitor' | 'unexpected';

const PUBSUB_MESSAGES = new Set(['message', 'pmessage', 'smessage']);

/**
 * Pairs one connection's requests with its replies: a FIFO of pending requests, each reply ends
 * the oldest. Never guesses: after a gap, or when the capture joined mid-stream, pending
 * requests become unanswered and replies are ignored until one answers a request seen after it.
 */
export class Session {
  private readonly requests: RequestDecoder;
  private readonly replies: ReplyDecoder;
  private readonly pending: PendingQueue<TrackedRequest>;
  readonly state: ConnState;
  /** Replies are skipped until a request decoded after the last sync loss has been seen. */
  private replySync: 'synced' | 'waitRequest' | 'waitChunk' = 'synced';

  constructor(
    readonly conn: TcpConn,
    private readonly events: SessionEvents,
    limits: Partial<RespLimits>,
    private readonly maxPending: number,
  ) {
    this.requests = new RequestDecoder((f) => this.onRequest(f), (v) => events.violation(conn, true, v), limits);
    this.replies = new ReplyDecoder((f) => this.onReply(f), (v) => this.onReplyViolation(v), limits);
    this.pending = new PendingQueue();
    this.state = newConnState(!conn.midstream);
    if (conn.midstream) this.loseSync(true);
  }

  get unparsedBytes(): number {
    return this.requests.unparsedBytes + this.replies.unparsedBytes;
  }

  data(fromClient: boolean, buf: Uint8Array, off: number, len: number, tsUs: number): void {
    if (fromClient) {
      this.requests.push(buf, off, len, tsUs);
      return;
    }
    if (this.replySync === 'waitChunk') {
      this.replies.resume();
      this.replySync = 'synced';
    }
    this.replies.push(buf, off, len, tsUs);
  }

  /**
   * `missing` bytes of one direction were lost. Inside a value of known length only the value
   * loses them (returns true: the request or reply is still framed and paired); anywhere else
   * nothing pending can be paired any more.
   */
  gap(fromClient: boolean, missing: number): boolean {
    if ((fromClient ? this.requests : this.replies).skip(missing)) return true;
    this.loseSync(fromClient);
    return false;
  }

  close(): void {
    this.requests.end();
    this.replies.end();
    this.failPending();
  }

  private loseSync(requestSide: boolean): void {
    this.failPending();
    if (requestSide) {
      this.requests.resync();
      this.state.db = null; // a SELECT may have been in the lost bytes
    }
    this.replies.resync();
    this.replySync = 'waitRequest';
  }

  private failPending(): void {
    // Replies that said which requests were queued are lost with them.
    this.state.queued = [];
    this.state.queuedWhole = false;
    // Their answers will not be seen: a SELECT among them stays as it was sent.
    this.state.selects.length = 0;
    for (let r = this.pending.shift(); r !== undefined; r = this.pending.shift()) {
      r.outcome = 'unanswered';
      this.events.complete(r);
    }
  }

  private onRequest(frame: RequestFrame): void {
    if (frame.argc === 0 || frame.args.length === 0) return;
    const info = commandInfo(frame.args);
    const redacted = redactSecrets(info.name, frame.args, frame.argLens);
    const expect = expectedReplies(this.state, info, frame);
    applyRequestState(this.state, info, frame);
    // The db after the command, as MONITOR shows it: SELECT 5 is printed as [5 ...].
    const db = this.state.db;
    const r: TrackedRequest = { conn: this.conn, frame, info, redacted, db, expect, outcome: 'noreply', reply: null, replyBytes: 0, latencyUs: -1, queued: null };
    this.trackTransaction(r);
    this.events.request(r);
    if (r.expect === 0) {
      this.events.complete(r);
      return;
    }
    if (this.replySync === 'waitRequest') this.replySync = 'waitChunk';
    this.pending.push(r);
    // Past the limit nothing can be paired safely any more (dropping only the oldest would
    // shift every later reply by one): all pending become unanswered and replies resync.
    if (this.pending.length > this.maxPending) this.loseSync(false);
  }

  /** Inside MULTI requests are kept for the EXEC whose reply answers each of them. */
  private trackTransaction(r: TrackedRequest): void {
    const s = this.state;
    const name = r.info.name;
    if (name === 'MULTI') {
      s.queued = [];
      s.queuedWhole = true;
    } else if (name === 'EXEC' || name === 'DISCARD') {
      if (name === 'EXEC' && s.queuedWhole) r.queued = s.queued;
      s.queued = [];
    } else if (s.inMulti) {
      if (s.queued.length < MAX_QUEUED) s.queued.push(r);
      else s.queuedWhole = false;
    }
  }

  private onReply(reply: ReplyFrame): void {
    const kind = this.unpairedKind(reply);
    if (kind !== null) {
      this.events.unpaired(this.conn, reply, kind);
      return;
    }
    const r = this.pending.peek()!;
    if (r.reply === null) {
      r.reply = reply;
      r.latencyUs = Math.max(0, reply.startTsUs - r.frame.endTsUs);
      r.outcome = reply.error !== null ? 'error' : 'ok';
    }
    r.replyBytes += reply.wireBytes;
    applyReplyState(this.state, r, reply);
    if (--r.expect > 0) return;
    this.pending.shift();
    this.events.complete(r);
  }

  /** Why a reply answers no request, or null when it pairs with the oldest pending one. */
  private unpairedKind(reply: ReplyFrame): UnpairedKind | null {
    const front = this.pending.peek();
    if (reply.type === RESP_TYPES.PUSH) {
      // Subscription confirmations come as pushes in RESP3; they still answer the SUBSCRIBE.
      const head = reply.head[0]?.toLowerCase() ?? '';
      const confirms = front !== undefined && front.info.spec?.flags.includes('pubsub') === true && head.endsWith('subscribe');
      return confirms ? null : 'push';
    }
    // RESP2 only: in RESP3 messages come as pushes, and an array is a reply like any other.
    if (!this.state.resp3 && subscribed(this.state) && reply.type === RESP_TYPES.ARRAY && PUBSUB_MESSAGES.has(reply.head[0]?.toLowerCase() ?? '')) {
      return 'message';
    }
    // After MONITOR's own +OK, everything the server sends is MONITOR output, except the
    // answer to a QUIT or RESET that ends it.
    if (this.state.monitoring && (front === undefined || !answersInMonitorMode(front.info.name))) return 'monitor';
    return front === undefined ? 'unexpected' : null;
  }

  private onReplyViolation(v: Violation): void {
    this.events.violation(this.conn, false, v);
    // The reply stream is lost until a fresh request shows where its reply starts.
    this.failPending();
    this.replySync = 'waitRequest';
  }
}

function subscribed(s: ConnState): boolean {
  return s.channels + s.patterns + s.shardChannels > 0;
}

function answersInMonitorMode(name: string): boolean {
  return name === 'MONITOR' || name === 'QUIT' || name === 'RESET';
}
