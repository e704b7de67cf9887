import type { TcpConn } from '../flow/types.js';
import type { ReplyFrame, RequestFrame } from '../resp/types.js';
import type { CommandInfo } from './command-info.js';

/** How a request ended. */
export type Outcome =
  /** A reply came and it was not an error. */
  | 'ok'
  /** The (first) reply was an error (`-` or `!`). */
  | 'error'
  /** No reply is due: CLIENT REPLY OFF/SKIP. */
  | 'noreply'
  /** A reply was due but never seen: gap, connection closed, capture ended, pending overflow. */
  | 'unanswered';

/** One client request from decoding to its reply; what aggregators and outputs receive. */
export interface TrackedRequest {
  readonly conn: TcpConn;
  readonly frame: RequestFrame;
  readonly info: CommandInfo;
  /**
   * Whether arguments were redacted (AUTH ...): an error reply may quote them (ACL SETUSER's
   * does), so its text is redacted too wherever it is shown.
   */
  readonly redacted: boolean;
  /** Database the command ran in, or null when not known (connection seen mid-stream). */
  readonly db: number | null;
  /** Replies still due: 1 for most commands, n for SUBSCRIBE of n channels. */
  expect: number;
  outcome: Outcome;
  /** First reply, or null. */
  reply: ReplyFrame | null;
  /** Wire bytes of all replies to this request. */
  replyBytes: number;
  /** First reply's first packet minus the request's last packet; -1 when there was none. */
  latencyUs: number;
  /**
   * For EXEC: the requests sent since MULTI, in order (those answered QUEUED are the ones its
   * reply answers, element by element); null otherwise.
   */
  queued: TrackedRequest[] | null;
}

/**
 * A TrackedRequest as its session holds it: filled again for a later request once done with
 * (`pooled`), unless something keeps it: a transaction's EXEC, a SELECT awaiting its answer, a
 * replication handshake. Only plain requests outside MULTI are pooled.
 */
export type PooledRequest = { -readonly [K in keyof TrackedRequest]: TrackedRequest[K] } & {
  pooled: boolean;
  /** What its kept arguments hold (./pending-limits.ts, heldBytes), counted once as it is queued. */
  held: number;
};
