import * as constantsMod from '../resp/constants.js';
import type { ReplyFrame, RequestFrame } from '../resp/types.js';
import type { CommandInfo } from './command-info.js';
import type { TrackedRequest } from './tracked-request.js';
import * as transactionMod from './transaction.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { RESP_TYPES } = constantsMod;
const { execRan } = transactionMod;

/** What a connection's earlier commands changed about how later ones are answered. */
export interface ConnState {
  /** Selected database; null when unknown (joined mid-stream, or a gap hid a SELECT). */
  db: number | null;
  /**
   * The db before each SELECT (or EXEC of a transaction holding one) still unanswered, oldest
   * first: a refused one is undone, unless a later SELECT has set the db since.
   */
  selects: Array<{ frame: RequestFrame; before: number | null; after: number }>;
  /** Inside MULTI: a SELECT is queued, and takes effect at EXEC (not at all after DISCARD). */
  inMulti: boolean;
  /**
   * Inside MULTI, the db before its first queued SELECT, or undefined if none is queued. Meanwhile
   * `db` is the one the queued SELECTs set: MONITOR prints each queued command, when EXEC runs
   * it, in the db it runs in. DISCARD, or an EXEC that ran nothing, goes back to this one.
   */
  multiBefore: number | null | undefined;
  /** Requests sent inside MULTI, for the EXEC that answers them (at most MAX_QUEUED, ./transaction.ts). */
  queued: TrackedRequest[];
  /** Whether `queued` holds the whole transaction (false when joined or resynced inside one). */
  queuedWhole: boolean;
  /** CLIENT REPLY OFF in force. */
  replyOff: boolean;
  /** CLIENT REPLY SKIP (not under OFF): the next command read, whichever, gets no reply. */
  skipNext: boolean;
  monitoring: boolean;
  /** Channels, patterns and shard channels subscribed, as the confirmations counted them. */
  channels: number;
  patterns: number;
  shardChannels: number;
  /** HELLO 3 switched the connection to RESP3: pub/sub messages then come only as pushes. */
  resp3: boolean;
}

type SubKind = 'channels' | 'patterns' | 'shardChannels';

/**
 * UNSUBSCRIBE with no argument is answered once per subscription of its kind the server holds
 * when it runs it (once if none), which earlier requests still in flight may change: it takes
 * confirmations until one says none of its kind is left (see awaitsMore).
 */
const UNTIL_NONE_LEFT = 2 ** 30;

export function newConnState(seenFromStart: boolean): ConnState {
  return {
    db: seenFromStart ? 0 : null,
    selects: [],
    inMulti: false,
    multiBefore: undefined,
    queued: [],
    queuedWhole: seenFromStart,
    replyOff: false,
    skipNext: false,
    monitoring: false,
    channels: 0,
    patterns: 0,
    shardChannels: 0,
    resp3: false,
  };
}

const SUBSCRIBE = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE']);
const UNSUBSCRIBE = new Set(['UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE']);
const SUB_KIND: Record<string, SubKind> = {
  SUBSCRIBE: 'channels', UNSUBSCRIBE: 'channels',
  PSUBSCRIBE: 'patterns', PUNSUBSCRIBE: 'patterns',
  SSUBSCRIBE: 'shardChannels', SUNSUBSCRIBE: 'shardChannels',
};

/**
 * Commands Redis runs at once inside MULTI; it queues every other one (processCommand). WATCH
 * runs too (refused with one error), but is plain: it changes nothing either way.
 */
const RUN_IN_MULTI = new Set(['MULTI', 'EXEC', 'DISCARD', 'QUIT', 'RESET']);

/** Inside MULTI this command is queued (answered +QUEUED or refused), to run at EXEC if at all. */
function queuedNow(s: ConnState, info: CommandInfo): boolean {
  return s.inMulti && !RUN_IN_MULTI.has(info.name);
}

/** Replies the server will send to this request, given the state before it. */
export function expectedReplies(s: ConnState, info: CommandInfo, frame: RequestFrame): number {
  if (info.plain || queuedNow(s, info)) return s.replyOff || s.skipNext ? 0 : 1;
  if (info.name === 'CLIENT' && info.sub === 'REPLY') {
    const mode = replyMode(frame);
    // ON clears OFF and SKIP before it answers; OFF and SKIP have no answer; a bad mode's error
    // is not sent under either.
    if (mode === 'ON') return 1;
    return mode === 'OFF' || mode === 'SKIP' || s.replyOff || s.skipNext ? 0 : 1;
  }
  // RESET ends OFF before it answers, but not the skip of the command it is (clearClientConnectionState).
  if (info.name === 'RESET') return s.skipNext ? 0 : 1;
  // (Un)subscribe confirmations are pushed (CLIENT_PUSHING): Redis 7 sends them under CLIENT
  // REPLY OFF and SKIP too (a skip is used up by the command all the same).
  if (SUBSCRIBE.has(info.name)) return Math.max(1, frame.argc - 1);
  if (UNSUBSCRIBE.has(info.name)) return frame.argc > 1 ? frame.argc - 1 : UNTIL_NONE_LEFT;
  if (s.replyOff || s.skipNext) return 0;
  // Redis ignores a MONITOR on a connection that already is one, without an answer.
  if (info.name === 'MONITOR' && s.monitoring) return 0;
  if (info.name === 'EXEC') return 1 + execExtraReplies(s);
  return 1;
}

/**
 * Redis 7.0 answers a (P/S)SUBSCRIBE of n channels run by EXEC with n confirmations, of which
 * the EXEC array holds one: the other n - 1 follow it. (An EXEC that runs nothing, aborted or
 * WATCHed, has its one reply: see awaitsMore.)
 */
function execExtraReplies(s: ConnState): number {
  if (!s.queuedWhole) return 0;
  let extra = 0;
  for (const q of s.queued) {
    if (!q.info.plain && (SUBSCRIBE.has(q.info.name) || UNSUBSCRIBE.has(q.info.name)) && q.frame.argc > 2) extra += q.frame.argc - 2;
  }
  return extra;
}

/**
 * A request due several replies (see expectedReplies) has just taken one and is due more by
 * count: whether it really is. Its first reply ends it when no aggregate (an error: NOPERM,
 * NOAUTH, BUSY, arity; +QUEUED inside MULTI; EXEC's nil or EXECABORT), since Redis answers a
 * command it does not run once. UNSUBSCRIBE with no argument ends at the confirmation that
 * leaves none of its kind (its count is what is left: shard channels, or channels + patterns).
 */
export function awaitsMore(s: ConnState, r: TrackedRequest, reply: ReplyFrame, first: boolean): boolean {
  if (first && reply.type !== RESP_TYPES.ARRAY && reply.type !== RESP_TYPES.PUSH) return false;
  if (r.frame.argc > 1 || !UNSUBSCRIBE.has(r.info.name)) return true;
  return s[SUB_KIND[r.info.name]!] > 0;
}

/**
 * Whether a reply is one more of the confirmations a (un)subscribe request already answered
 * is waiting for; if not, that request was answered whole (joined mid-stream, the counts were
 * not known) and the reply is the next request's. EXEC's later replies are not all confirmations.
 */
export function continuesReplies(r: TrackedRequest, reply: ReplyFrame): boolean {
  if (r.info.name === 'EXEC') return true;
  if ((reply.type !== RESP_TYPES.ARRAY && reply.type !== RESP_TYPES.PUSH) || reply.head.length < 3) return false;
  return reply.head[0]!.toLowerCase() === r.info.name.toLowerCase();
}

/** State changes that take effect as the server reads the request. */
export function applyRequestState(s: ConnState, info: CommandInfo, frame: RequestFrame): void {
  // A skip lasts one command, whichever; only a CLIENT REPLY SKIP run now sets it again.
  s.skipNext = false;
  if (info.plain) return;
  // Queued: it changes nothing until EXEC runs it (a SELECT's db is tracked for MONITOR's view).
  if (queuedNow(s, info) && info.name !== 'SELECT') return;
  switch (info.name) {
    case 'CLIENT':
      if (info.sub === 'REPLY') applyClientReply(s, replyMode(frame));
      break;
    case 'SELECT': {
      const db = dbIndex(frame.args[1]);
      // A db Redis would refuse to parse changes nothing; a bad index is undone at its error.
      if (db === null) break;
      if (s.inMulti) {
        if (s.multiBefore === undefined) s.multiBefore = s.db;
        s.db = db;
        break;
      }
      s.selects.push({ frame, before: s.db, after: db });
      s.db = db;
      break;
    }
    case 'MULTI':
      // Redis refuses a MULTI inside MULTI: the transaction goes on.
      if (s.inMulti) break;
      s.inMulti = true;
      s.multiBefore = undefined;
      break;
    case 'DISCARD':
      s.inMulti = false;
      if (s.multiBefore !== undefined) s.db = s.multiBefore;
      s.multiBefore = undefined;
      break;
    case 'EXEC':
      s.inMulti = false;
      // What the queued CLIENT REPLYs set holds for the requests after EXEC.
      for (const q of s.queuedWhole ? s.queued : []) {
        if (!q.info.plain && q.info.name === 'CLIENT' && q.info.sub === 'REPLY') applyClientReply(s, replyMode(q.frame));
      }
      // The db its SELECTs set stays, unless its answer says it ran nothing.
      if (s.multiBefore !== undefined && s.db !== null) s.selects.push({ frame, before: s.multiBefore, after: s.db });
      s.multiBefore = undefined;
      break;
    case 'MONITOR':
      s.monitoring = true;
      break;
    case 'RESET':
      resetRead(s);
      break;
  }
}

/**
 * RESET (clearClientConnectionState) as the requests after it see it: replies on, no
 * transaction, db 0. Subscriber and MONITOR modes, and RESP3, end at its answer: what the
 * server sends before it ran is still messages, MONITOR lines and pushes (see resetAnswered).
 */
function resetRead(s: ConnState): void {
  s.db = 0;
  s.selects.length = 0;
  s.inMulti = false;
  s.multiBefore = undefined;
  s.queued = [];
  s.queuedWhole = true;
  s.replyOff = false;
}

function resetAnswered(s: ConnState): void {
  s.monitoring = false;
  s.channels = s.patterns = s.shardChannels = 0;
  s.resp3 = false;
}

/** A SELECT (or an EXEC that held one) was answered: undo it if refused and not superseded. */
function settleSelect(s: ConnState, refused: boolean): void {
  const sel = s.selects.shift();
  if (sel === undefined || !refused) return;
  // A later SELECT still unanswered set the db since: if it is refused too, the db goes back
  // to what it was before this one.
  const next = s.selects[0];
  if (next !== undefined) next.before = sel.before;
  else if (s.db === sel.after) s.db = sel.before;
  // A transaction begun since, with a SELECT queued, goes back to the db before this one.
  else if (s.multiBefore === sel.after) s.multiBefore = sel.before;
}

/**
 * The db a SELECT argument names, parsed as Redis parses integers (string2ll: no sign but '-',
 * no spaces, no leading zeros, no exponent), or null if Redis would refuse it. An index past the
 * server's `databases` is refused by the server's answer instead.
 */
function dbIndex(arg: string | undefined): number | null {
  if (arg === undefined || !/^(0|[1-9][0-9]{0,9})$/.test(arg)) return null;
  const n = Number(arg);
  return n <= 2 ** 31 - 1 ? n : null;
}

/** CLIENT REPLY's mode, upper case; undefined when Redis refuses it for its argument count. */
function replyMode(frame: RequestFrame): string | undefined {
  return frame.argc === 3 ? frame.args[2]?.toUpperCase() : undefined;
}

/** CLIENT REPLY (networking.c): ON clears OFF and SKIP, OFF sets OFF, SKIP is ignored under OFF. */
function applyClientReply(s: ConnState, mode: string | undefined): void {
  if (mode === 'OFF') s.replyOff = true;
  else if (mode === 'ON') s.replyOff = s.skipNext = false;
  else if (mode === 'SKIP' && !s.replyOff) s.skipNext = true;
}

/** State changes that depend on the server's answer. */
export function applyReplyState(s: ConnState, r: TrackedRequest, reply: ReplyFrame): void {
  const head = reply.head[0];
  if (head !== undefined && reply.head.length >= 3 && /subscribe$/i.test(head)) {
    countSubscriptions(s, head.toLowerCase(), Number(reply.head[2]));
    return;
  }
  if (r.info.name === 'RESET' && reply.error === null) return resetAnswered(s);
  // Its +QUEUED inside MULTI is no answer: EXEC runs it, if at all.
  if (r.info.name === 'HELLO' && reply.error === null && reply.type !== RESP_TYPES.SIMPLE_STRING) helloRan(s, r);
  if (r.info.name === 'EXEC' && reply === r.reply) execRan(r, (q) => ranInExec(s, q));
  // An EXEC answered nil (a WATCHed key changed) ran nothing, as one answered EXECABORT.
  if (s.selects[0]?.frame === r.frame) settleSelect(s, reply.error !== null || reply.count === -1 || reply.type === RESP_TYPES.NULL);
  if (reply.error === null) return;
  if (r.info.name === 'MONITOR') s.monitoring = false;
}

/**
 * A queued request EXEC ran: a HELLO sets the protocol; a (P/S)SUBSCRIBE's first confirmation
 * is inside the EXEC array, unread, so the connection counts as subscribed (the confirmations
 * after the array, if any, then give the exact count).
 */
function ranInExec(s: ConnState, q: TrackedRequest): void {
  if (q.info.name === 'HELLO') return helloRan(s, q);
  if (!SUBSCRIBE.has(q.info.name)) return;
  const kind = SUB_KIND[q.info.name]!;
  s[kind] = Math.max(s[kind], 1);
}

function helloRan(s: ConnState, r: TrackedRequest): void {
  // HELLO without a version leaves the protocol as it was.
  const version = r.frame.args[1];
  if (version === '2' || version === '3') s.resp3 = version === '3';
}

/**
 * A (un)subscribe confirmation carries the count after it: shard channels on their own, and
 * channels + patterns together, so the change is credited to the kind that was confirmed.
 */
function countSubscriptions(s: ConnState, kind: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) return;
  if (kind === 'ssubscribe' || kind === 'sunsubscribe') s.shardChannels = n;
  else if (kind === 'psubscribe' || kind === 'punsubscribe') s.patterns = Math.max(0, n - s.channels);
  else s.channels = Math.max(0, n - s.patterns);
}
