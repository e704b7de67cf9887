import type { TcpConn } from '../flow/types.js';
import { FramePool } from '../resp/index.js';
import type { ReplyFrame, RequestFrame } from '../resp/types.js';
import type { CommandInfo } from './command-info.js';
import type { PooledRequest } from './tracked-request.js';

/**
 * Frames and requests done with, shared by an analyzer's sessions, to be filled again (see
 * FramePool): what a session hands its events, and a listener receives, is valid during the
 * call only.
 */
export class SessionPools {
  /** By argument count. */
  readonly requestFrames: FramePool<RequestFrame>;
  /** Those with a head of none (a bulk string's, an error's) or one (a status's): what replies mostly are; ReplyBuilder refills them in place. */
  readonly replyFrames: FramePool<ReplyFrame>;
  readonly requests: FramePool<PooledRequest>;

  /** `max` of each kind and size kept; 0 keeps none (tests compare the two). */
  constructor(max = 4096) {
    this.requestFrames = new FramePool(8, max);
    this.replyFrames = new FramePool(1, max);
    this.requests = new FramePool(1, max);
  }
}

/** A request to track, filled into one done with when there is one. */
export function trackRequest(pools: SessionPools, conn: TcpConn, frame: RequestFrame, info: CommandInfo, redacted: boolean, db: number | null, expect: number): PooledRequest {
  const r = pools.requests.take(1);
  if (r === undefined) {
    return { conn, frame, info, redacted, db, expect, outcome: 'noreply', reply: null, replyBytes: 0, latencyUs: -1, queued: null, pooled: info.plain, held: 0 };
  }
  r.conn = conn;
  r.frame = frame;
  r.info = info;
  r.redacted = redacted;
  r.db = db;
  r.expect = expect;
  r.outcome = 'noreply';
  r.replyBytes = 0;
  r.latencyUs = -1;
  r.pooled = info.plain;
  return r;
}

/** Hands a finished request, its frame and its reply back to be filled again, unless kept. */
export function releaseRequest(pools: SessionPools, r: PooledRequest): void {
  if (!r.pooled) return;
  const f = r.frame;
  if (f.args.length === f.argLens.length) pools.requestFrames.give(f, f.args.length);
  if (r.reply !== null) pools.replyFrames.give(r.reply, r.reply.head.length);
  r.reply = null; // (queued is only ever set on EXEC, which is not plain)
  pools.requests.give(r, 1);
}
