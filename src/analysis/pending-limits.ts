/**
 * How much a session keeps awaiting replies, and which requests it may give up past that
 * without losing the pairing of the rest (./session.ts, overflow()).
 */
import type { RequestFrame } from '../resp/types.js';
import type { TrackedRequest } from './tracked-request.js';

/**
 * Requests a connection may have awaiting replies. A client library's pipeline sends all its
 * commands before it reads a reply (redis-py, Jedis): tens of thousands are common, and each
 * pending request costs a few hundred bytes (more with many or long arguments).
 */
export const DEFAULT_MAX_PENDING = 100_000;
/**
 * ... and the bytes their kept arguments may hold (see heldBytes): 110,000 pipelined MGETs of
 * 200 keys held 8 KB each, 1.2 GB in all, under the count alone.
 */
export const MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** What a kept argument costs besides its chars: the string's header, its slot, its length. */
const ARG_HELD_BYTES = 48;

/** Bytes a pending request's kept arguments hold, about. */
export function heldBytes(f: RequestFrame): number {
  const args = f.args;
  let n = args.length * ARG_HELD_BYTES;
  for (let i = 0; i < args.length; i++) n += args[i]!.length;
  return n;
}

/**
 * Commands not `plain` that a session may still give up: one reply each, and what that reply
 * would change of the connection's state does not decide how later replies pair (unlike
 * SUBSCRIBE's, HELLO's, RESET's, SELECT's, MONITOR's).
 */
const GIVE_UP = new Set(['MULTI', 'EXEC', 'DISCARD', 'AUTH', 'CONFIG', 'ACL', 'SENTINEL', 'MIGRATE']);

/** Whether r, unanswered yet, may be given up with its one reply skipped when it comes. */
export function mayGiveUp(r: TrackedRequest): boolean {
  return r.expect === 1 && r.reply === null && (r.info.plain || GIVE_UP.has(r.info.name));
}
