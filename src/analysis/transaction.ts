/** MULTI/EXEC: which requests a transaction queued, and which of them its EXEC ran. */
import * as constantsMod from '../resp/constants.js';
import type { ConnState } from './conn-state.js';
import type { PooledRequest, TrackedRequest } from './tracked-request.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { RESP_TYPES } = constantsMod;

/** Requests of one transaction remembered for its EXEC; past it their errors are not named. */
export const MAX_QUEUED = 10_000;

/** Inside MULTI requests are kept for the EXEC whose reply answers each of them. */
export function trackTransaction(s: ConnState, r: PooledRequest): void {
  const name = r.info.name;
  if (name === 'MULTI') {
    s.queued = [];
    s.queuedWhole = true;
  } else if (name === 'EXEC' || name === 'DISCARD') {
    if (name === 'EXEC' && s.queuedWhole) r.queued = s.queued;
    s.queued = [];
  } else if (s.inMulti) {
    // Its EXEC reads its reply: it is not filled again before the EXEC is done.
    r.pooled = false;
    if (s.queued.length < MAX_QUEUED) s.queued.push(r);
    else s.queuedWhole = false;
  }
}

/** A reply that says the request was queued, to run at EXEC if at all. */
export function answeredQueued(r: TrackedRequest): boolean {
  return r.reply !== null && r.reply.type === RESP_TYPES.SIMPLE_STRING && r.reply.head[0] === 'QUEUED';
}

/**
 * The requests an answered EXEC ran without error, in order: the n-th element of its reply
 * answers the n-th request answered QUEUED. None when it ran nothing (EXECABORT, or nil after
 * a WATCHed key changed) or when the transaction was not seen whole.
 */
export function execRan(exec: TrackedRequest, each: (q: TrackedRequest) => void): void {
  const reply = exec.reply;
  if (exec.queued === null || reply === null || reply.type !== RESP_TYPES.ARRAY || reply.count < 0) return;
  let i = 0;
  for (const q of exec.queued) {
    if (!answeredQueued(q)) continue;
    const index = i++;
    if (reply.innerErrors === null || !reply.innerErrors.some((e) => e.index === index)) each(q);
  }
}
