import type { TcpConn } from '../flow/types.js';
import { ReplyDecoder, RequestDecoder } from '../resp/index.js';
import * as constantsMod from '../resp/constants.js';
import type { ReplyFrame, RequestFrame, RespLimits, Violation } from '../resp/types.js';
import * as commandInfoMod from './command-info.js';
import * as pendingLimitsMod from './pending-limits.js';
import { PendingQueue } from './pending-queue.js';
import type { ConnState } from './conn-state.js';
import * as connStateMod from './conn-state.js';
import { EarlyBytes } from './early-bytes.js';
import * as earlyBytesMod from './early-bytes.js';
import * as selfNamedMod from './self-named.js';
import * as transactionMod from './transaction.js';
import * as serverLinesMod from './server-lines.js';
import * as refusalsMod from './refusals.js';
import { ReplicationLink } from './replication-link.js';
import { SessionPools } from './session-pools.js';
import * as sessionPoolsMod from './session-pools.js';
import type { PooledRequest, TrackedRequest } from './tracked-request.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { RESP_TYPES } = constantsMod;
const { commandInfo, redactSecrets } = commandInfoMod;
const { awaitsMore, continuesReplies, expectedReplies, applyRequestState, applyReplyState, newConnState } = connStateMod;
const { EARLY } = earlyBytesMod;
const { selfNamed } = selfNamedMod;
const { execRan, trackTransaction } = transactionMod;
const { serverSentKind, startsMonitorLine, startsPubSubMessage, subscribed } = serverLinesMod;
const { releaseRequest, trackRequest } = sessionPoolsMod;
const { MAX_PENDING_BYTES, heldBytes, mayGiveUp } = pendingLimitsMod;
const { closesConnection, refusesConnection } = refusalsMod;

export { SessionPools } from './session-pools.js';

/** What a session reports upward; the analyzer fans it out to aggregators and outputs. */
export interface SessionEvents {
  request(r: TrackedRequest): void;
  complete(r: TrackedRequest): void;
  /** A reply that answers no request: RESP3 push, pub/sub message, MONITOR line, or unexpected. */
  unpaired(conn: TcpConn, reply: ReplyFrame, kind: UnpairedKind): void;
  violation(conn: TcpConn, fromClient: boolean, v: Violation): void;
  /**
   * Replication links, apart from client traffic: a request of a replica's handshake or an
   * ACK (done: never among client commands, latencies or slow requests), a link starting
   * (joined: seen mid-stream), an RDB transfer, a command the master propagated.
   */
  linkRequest(r: TrackedRequest): void;
  linkStart(conn: TcpConn, joined: boolean): void;
  rdb(conn: TcpConn, bytes: number, missing: number): void;
  propagated(conn: TcpConn, f: RequestFrame): void;
  /** What a client said of itself and the server accepted: CLIENT SETNAME, HELLO ... SETNAME, CLIENT SETINFO. */
  clientInfo(conn: TcpConn, field: 'name' | 'lib' | 'libVer', value: string): void;
  /**
   * More requests awaited their replies than the session keeps (./pending-limits.ts):
   * `requests` were given up, counted unanswered.
   */
  overflow(conn: TcpConn, requests: number): void;
}

/** Requests only replicas send: never client commands. */
const LINK_COMMANDS = new Set(['REPLCONF', 'PSYNC', 'SYNC']);

/**
 * push: RESP3 push; message: RESP2 pub/sub message; monitor: a MONITOR line; rejected: Redis's
 * `-ERR Protocol error` answering a line it could not parse, or its refusal of a connection at
 * maxclients (an error, but no command's);
 * unexpected: a reply with nothing pending; overflow: the reply of a request given up past the
 * pending limit.
 */
export type UnpairedKind = 'push' | 'message' | 'monitor' | 'rejected' | 'unexpected' | 'overflow';

/**
 * Pairs one connection's requests with its replies: a FIFO of pending requests, each reply ends
 * the oldest. Never guesses: after a gap, or when the capture joined mid-stream, pending
 * requests become unanswered and replies are ignored until one answers a request seen after it.
 * A gap in the requests alone changes nothing before it: the replies still answer the requests
 * sent before it, in order; only once those are answered is the reply stream lost.
 */
export class Session {
  private readonly requests: RequestDecoder;
  private readonly replies: ReplyDecoder;
  private readonly pending: PendingQueue<PooledRequest>;
  readonly state: ConnState;
  /** The PSYNC or SYNC after whose answer the server's bytes are a replication link's. */
  private linkStart: TrackedRequest | null = null;
  /** Set once the server's bytes are a replication link (./replication-link.ts). */
  private link: ReplicationLink | null = null;
  private readonly limits: Partial<RespLimits>;
  /** Lines Redis rejects whose `-ERR Protocol error` answer is still to come. */
  private rejectedLines = 0;
  /** Joined mid-stream, before the client's first request: what the server sent (see ./early-bytes.ts). */
  private early: EarlyBytes | null;
  /** Early bytes that gave way to newer ones before the connection showed what it is (unparsed). */
  private evicted = 0;
  /** Replies are skipped until a request decoded after the last sync loss has been seen. */
  private replySync: 'synced' | 'waitRequest' | 'waitChunk' = 'synced';
  /** Replies still to come for requests given up past the pending limit (see overflow()). */
  private skipReplies = 0;
  /** What the pending requests hold (heldBytes), bounded by MAX_PENDING_BYTES. */
  private pendingBytes = 0;
  /**
   * After a gap in the requests: the newest request sent before it. The replies up to its
   * answer are still the pending requests' (FIFO); those after it answer requests lost in the
   * gap first, so there the reply stream is lost (see requestGap).
   */
  private beforeGap: PooledRequest | null = null;
  /**
   * When the last reply to a blocking request (BLPOP ...) ended: a request pipelined behind it
   * is timed from there, not from its own packet (Redis reads it only once that one is served).
   */
  private blockedUntilUs = 0;

  constructor(
    readonly conn: TcpConn,
    private readonly events: SessionEvents,
    limits: Partial<RespLimits>,
    private readonly maxPending: number,
    private readonly pools: SessionPools = new SessionPools(),
  ) {
    this.requests = new RequestDecoder((f) => this.onRequest(f), (v) => this.onRequestViolation(v), limits, pools.requestFrames);
    this.replies = new ReplyDecoder((f) => this.onReply(f), (v) => this.onReplyViolation(v), limits, pools.replyFrames);
    this.pending = new PendingQueue();
    this.limits = limits;
    this.state = newConnState(!conn.midstream);
    this.early = conn.midstream ? new EarlyBytes() : null;
    if (conn.midstream) this.loseSync(true);
  }

  get unparsedBytes(): number {
    return this.requests.unparsedBytes + this.replies.unparsedBytes + (this.link?.unparsedBytes ?? 0) + this.evicted + (this.early?.evicted ?? 0);
  }

  /** Of unparsedBytes: requests sent after QUIT or a request the server rejected (it closes the connection). */
  get haltedBytes(): number {
    return this.requests.haltedBytes;
  }

  /** Of unparsedBytes: a request or reply cut off by the end of its stream (see close()). */
  get cutBytes(): number {
    return this.requests.cutBytes + this.replies.cutBytes;
  }

  data(fromClient: boolean, buf: Uint8Array, off: number, len: number, tsUs: number): void {
    if (fromClient) {
      this.requests.push(buf, off, len, tsUs);
      return;
    }
    if (this.link === null && this.linkStart !== null && this.pending.peek() === this.linkStart) this.startLink(tsUs);
    if (this.link !== null) return this.link.push(buf, off, len, tsUs);
    if (this.replySync === 'waitRequest' && this.pending.length === 0) this.syncOnServerLines(buf, off, len);
    if (this.early !== null) {
      const kept = this.early.keep(buf, off, len, tsUs);
      if (kept === EARLY.KEPT) return;
      if (kept === EARLY.PSYNC) return this.joinedLink('psync');
      this.dropEarly();
    }
    if (this.replySync === 'waitChunk') {
      this.replies.resume();
      this.replySync = 'synced';
    }
    const used = this.replies.push(buf, off, len, tsUs);
    // The handshake's last reply came in this chunk: the rest is the link's (see startLink).
    const link = this.link as ReplicationLink | null;
    if (used < len && link !== null) link.push(buf, off + used, len - used, tsUs);
  }

  /**
   * `missing` bytes of one direction were lost. Inside a value of known length only the value
   * loses them (returns true: the request or reply is still framed and paired); anywhere else
   * nothing pending can be paired any more.
   */
  gap(fromClient: boolean, missing: number): boolean {
    if (!fromClient && this.link !== null) return this.link.gap(missing);
    if (!fromClient) this.dropEarly();
    if ((fromClient ? this.requests : this.replies).skip(missing)) return true;
    if (fromClient) this.requestGap();
    else this.loseSync(false);
    return false;
  }

  /**
   * Request bytes were lost at framing: the requests in them are gone, and so is the db a
   * SELECT among them chose, and the transaction they may have been part of. The replies still
   * answer the requests pending before the gap, which are kept; after the last one's answer
   * the reply stream is lost (onReply). Anything less certain loses sync now.
   */
  private requestGap(): void {
    const last = this.pending.last();
    if (last === undefined || this.replySync !== 'synced' || this.linkStart !== null || this.early !== null) return this.loseSync(true);
    this.requests.resync();
    this.state.db = null;
    this.state.queuedWhole = false;
    // A second gap before the first one's barrier is reached: requests after the first are lost anyway.
    this.beforeGap ??= last;
  }

  /**
   * Joined (or resynced) on a subscriber or MONITOR connection: it sends no requests, so the
   * server's messages, or MONITOR's lines, are what show where a value starts.
   */
  private syncOnServerLines(buf: Uint8Array, off: number, len: number): void {
    const messages = startsPubSubMessage(buf, off, len);
    if (!messages && !startsMonitorLine(buf, off, len)) return;
    this.dropEarly();
    if (messages) this.state.channels = Math.max(1, this.state.channels);
    else this.state.monitoring = true;
    this.replySync = 'waitChunk';
  }

  /** The early bytes were no replication stream (or too many to keep): discarded, as unparsed. */
  private dropEarly(): void {
    // The drain is a method of its own: a function holding a closure allocates its context on
    // every call, returning early or not (75 bytes per request here).
    if (this.early !== null) this.drainEarly(this.early);
  }

  private drainEarly(early: EarlyBytes): void {
    this.early = null;
    this.evicted += early.evicted;
    early.drain((d, o, l, t) => this.replies.push(d, o, l, t));
  }

  close(): void {
    this.dropEarly();
    this.requests.end();
    this.replies.end();
    this.link?.end();
    this.failPending();
  }

  private loseSync(requestSide: boolean): void {
    this.skipReplies = 0;
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
    this.beforeGap = null;
    for (let r = this.dequeue(); r !== undefined; r = this.dequeue()) {
      r.outcome = 'unanswered';
      this.finish(r);
    }
    this.linkStart = null;
  }

  /** A request is done: to the client aggregates, or to the replication ones. */
  private finish(r: PooledRequest): void {
    if (!r.info.plain) {
      if (LINK_COMMANDS.has(r.info.name)) return this.events.linkRequest(r);
      if (r.info.name === 'CLIENT' || r.info.name === 'HELLO') selfNamed(r, (field, value) => this.events.clientInfo(this.conn, field, value));
      else if (r.info.name === 'EXEC') execRan(r, (q) => selfNamed(q, (field, value) => this.events.clientInfo(this.conn, field, value), true));
    }
    this.events.complete(r);
    releaseRequest(this.pools, r);
  }

  private onRequest(frame: RequestFrame): void {
    if (frame.argc === 0 || frame.args.length === 0) return;
    const info = commandInfo(frame.args);
    // Redis closes the connection once it answers QUIT: what was pipelined after it never ran.
    if (!info.plain && info.name === 'QUIT') this.requests.halt();
    const redacted = !info.plain && redactSecrets(info.name, frame.args, frame.argLens);
    const expect = expectedReplies(this.state, info, frame);
    applyRequestState(this.state, info, frame);
    // The db after the command, as MONITOR shows it: SELECT 5 is printed as [5 ...].
    const db = this.state.db;
    const r = trackRequest(this.pools, this.conn, frame, info, redacted, db, expect);
    if ((!info.plain && LINK_COMMANDS.has(info.name)) || this.link !== null || this.linkStart !== null) return this.onLinkRequest(r);
    this.dropEarly();
    trackTransaction(this.state, r);
    this.events.request(r);
    if (r.expect === 0) {
      this.events.complete(r);
      releaseRequest(this.pools, r);
      return;
    }
    if (this.replySync === 'waitRequest') this.replySync = 'waitChunk';
    this.enqueue(r);
    if (this.pending.length > this.maxPending || this.pendingBytes > MAX_PENDING_BYTES) this.overflow();
  }

  /** A request now awaits its reply; what it holds counts toward MAX_PENDING_BYTES. */
  private enqueue(r: PooledRequest): void {
    this.pending.push(r);
    r.held = heldBytes(r.frame);
    this.pendingBytes += r.held;
  }

  /** The oldest pending request, out of the queue. */
  private dequeue(): PooledRequest | undefined {
    const r = this.pending.shift();
    if (r !== undefined) this.pendingBytes -= r.held;
    return r;
  }

  /**
   * REPLCONF, PSYNC, SYNC, and whatever a replica sends once its link is up (REPLCONF ACK,
   * never answered). A REPLCONF ACK with no PSYNC before it: the capture joined the link.
   */
  private onLinkRequest(r: PooledRequest): void {
    const linked = this.link !== null || this.linkStart !== null;
    if (!linked && r.info.name === 'REPLCONF' && r.frame.args[1]?.toUpperCase() === 'ACK') this.joinedLink('stream');
    this.dropEarly();
    if (linked || this.link !== null || r.expect === 0) {
      r.expect = 0;
      this.events.linkRequest(r);
      return;
    }
    if (r.info.name === 'PSYNC' || r.info.name === 'SYNC') {
      this.linkStart = r;
      this.events.linkStart(this.conn, false);
    }
    if (this.replySync === 'waitRequest') this.replySync = 'waitChunk';
    this.enqueue(r);
  }

  /**
   * The capture joined a replication link: a replica's REPLCONF ACK, or the master's bytes
   * before it (see ./early-bytes.ts). What the master sent so far is the link's too.
   */
  private joinedLink(from: 'psync' | 'stream'): void {
    this.failPending();
    this.replies.handOver();
    const link = (this.link = this.newLink(from));
    this.events.linkStart(this.conn, true);
    const early = this.early;
    this.early = null;
    if (early === null) return;
    this.evicted += early.evicted;
    early.drain((d, o, l, t) => link.push(d, o, l, t));
  }

  private newLink(awaiting: 'psync' | 'sync' | 'stream'): ReplicationLink {
    return new ReplicationLink(awaiting, {
      answer: (text, error, _full, tsUs) => this.linkAnswered(text, error, tsUs),
      rdb: (bytes, missing) => this.events.rdb(this.conn, bytes, missing),
      command: (f) => this.events.propagated(this.conn, f),
      violation: (v) => this.events.violation(this.conn, false, v),
    }, this.limits);
  }

  /** PSYNC (or SYNC) is the oldest pending request: the server's bytes are now the link's. */
  private startLink(tsUs: number): void {
    const r = this.linkStart!;
    this.replies.handOver();
    this.link = this.newLink(r.info.name === 'SYNC' ? 'sync' : 'psync');
    // SYNC has no answer line: the RDB transfer is its answer.
    if (r.info.name === 'SYNC') this.linkAnswered('', false, tsUs);
  }

  private linkAnswered(text: string, error: boolean, tsUs: number): void {
    const r = this.linkStart;
    if (r === null || this.pending.peek() !== r) return;
    this.linkStart = null;
    this.dequeue();
    r.outcome = error ? 'error' : 'ok';
    r.latencyUs = Math.max(0, tsUs - r.frame.endTsUs);
    r.reply = {
      type: error ? RESP_TYPES.SIMPLE_ERROR : RESP_TYPES.SIMPLE_STRING, wireBytes: text.length + 3, error: error ? text : null,
      count: 0, head: error ? [] : [text], innerErrors: null, missingBytes: 0, startTsUs: tsUs, endTsUs: tsUs,
    };
    r.replyBytes = r.reply.wireBytes;
    this.events.linkRequest(r);
  }

  private onReply(reply: ReplyFrame): void {
    const kind = this.unpairedKind(reply);
    // The oldest requests were given up (overflow()): the first replies are theirs.
    if (kind !== null || this.skipReplies > 0) {
      if (kind === null) this.skipReplies--;
      this.events.unpaired(this.conn, reply, kind ?? 'overflow');
      this.pools.replyFrames.give(reply, reply.head.length);
      return;
    }
    const r = this.pending.peek()!;
    const first = r.reply === null;
    // A request due more confirmations was answered whole after all: this reply is the next one's.
    if (!first && !continuesReplies(r, reply)) {
      if (this.endFront(r, reply.startTsUs)) this.onReply(reply);
      return;
    }
    if (first) {
      r.reply = reply;
      const sent = r.frame.endTsUs > this.blockedUntilUs ? r.frame.endTsUs : this.blockedUntilUs;
      r.latencyUs = Math.max(0, reply.startTsUs - sent);
      r.outcome = reply.error !== null ? 'error' : 'ok';
    }
    r.replyBytes += reply.wireBytes;
    applyReplyState(this.state, r, reply);
    const endTsUs = reply.endTsUs;
    // Only the first reply is kept (SUBSCRIBE's later confirmations are counted, not kept).
    if (!first) this.pools.replyFrames.give(reply, reply.head.length);
    if (--r.expect > 0 && awaitsMore(this.state, r, reply, first)) return;
    if (r.info.blocking) this.blockedUntilUs = endTsUs;
    this.endFront(r, endTsUs);
  }

  /**
   * More requests await their replies than the session keeps: the oldest is given up, counted
   * unanswered, and its reply, the next to come, skipped. The rest stay paired each with its
   * own. Where the next reply is not surely the oldest's, or skipping it would leave the
   * connection's state wrong (replies out of step since a gap, see mayGiveUp), pairing starts
   * again as after a loss.
   */
  private overflow(): void {
    const r = this.pending.peek()!;
    if (this.replySync !== 'synced' || this.beforeGap !== null || this.linkStart !== null || !mayGiveUp(r)) {
      this.events.overflow(this.conn, this.pending.length);
      return this.loseSync(false);
    }
    this.events.overflow(this.conn, 1);
    this.dequeue();
    r.outcome = 'unanswered';
    this.finish(r);
    this.skipReplies++;
  }

  /** The oldest pending request is answered; false when the replies after it can't be paired. */
  private endFront(r: PooledRequest, endTsUs: number): boolean {
    this.dequeue();
    const barrier = r === this.beforeGap;
    this.finish(r);
    // The replies that follow answer requests lost in a gap first: those after it can't be paired.
    if (barrier) {
      this.loseSync(false);
      return false;
    }
    // What follows the handshake's last reply is PSYNC's answer, then the link.
    if (this.linkStart !== null && this.pending.peek() === this.linkStart) this.startLink(endTsUs);
    return true;
  }

  /** Why a reply answers no request, or null when it pairs with the oldest pending one. */
  private unpairedKind(reply: ReplyFrame): UnpairedKind | null {
    const front = this.pending.peek();
    const s = this.state;
    // Redis refusing the connection (maxclients) writes this as it accepts it, before it reads
    // a byte: it answers no request, and the ones sent are never run.
    if (refusesConnection(reply)) return 'rejected';
    // Most replies come on a plain connection: a reply not a push answers the oldest request.
    const plain = reply.type !== RESP_TYPES.PUSH && !s.monitoring && !subscribed(s);
    if (plain && front !== undefined) return null;
    const sent = plain ? null : serverSentKind(reply, front, s);
    if (sent !== null) return sent === 'reply' ? null : sent;
    if (this.rejectedLines > 0 && reply.error !== null && reply.error.startsWith('ERR Protocol error')) {
      this.rejectedLines--;
      return 'rejected';
    }
    return 'unexpected';
  }

  private onRequestViolation(v: Violation): void {
    this.events.violation(this.conn, true, v);
    // Redis answers such a request `-ERR Protocol error` and closes the connection: what the
    // client sent after it was never read as commands.
    if (closesConnection(v)) {
      this.requests.halt();
      this.rejectedLines++;
    }
  }

  private onReplyViolation(v: Violation): void {
    this.events.violation(this.conn, false, v);
    // The reply stream is lost until a fresh request shows where its reply starts.
    this.failPending();
    this.replySync = 'waitRequest';
  }
}

