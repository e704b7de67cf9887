/**
 * What the server sends that answers no request: RESP3 pushes, a subscriber's pub/sub messages,
 * a MONITOR client's lines. And how a connection joined mid-stream that sends no requests shows
 * where the server's values start: checked at the start of a chunk of server bytes, as the
 * server writes each one whole.
 */
import * as constantsMod from '../resp/constants.js';
import type { ReplyFrame } from '../resp/types.js';
import type { ConnState } from './conn-state.js';
import type { TrackedRequest } from './tracked-request.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { RESP_TYPES } = constantsMod;

const PUBSUB_MESSAGES = new Set(['message', 'pmessage', 'smessage']);

/** Whether the connection is subscribed to anything (channels, patterns, shard channels). */
export function subscribed(s: ConnState): boolean {
  return s.channels + s.patterns + s.shardChannels > 0;
}

/**
 * Whether a reply is a push, a pub/sub message or a MONITOR line rather than an answer; 'reply'
 * when it answers `front`, the oldest pending request; null when nothing is pending to answer.
 */
export function serverSentKind(reply: ReplyFrame, front: TrackedRequest | undefined, state: ConnState): 'push' | 'message' | 'monitor' | 'reply' | null {
  if (reply.type === RESP_TYPES.PUSH) {
    // Subscription confirmations come as pushes in RESP3; they still answer the SUBSCRIBE.
    const head = reply.head[0]?.toLowerCase() ?? '';
    const confirms = front !== undefined && front.info.spec?.flags.includes('pubsub') === true && head.endsWith('subscribe');
    return confirms ? 'reply' : 'push';
  }
  // RESP2 only: in RESP3 messages come as pushes, and an array is a reply like any other.
  if (!state.resp3 && subscribed(state) && reply.type === RESP_TYPES.ARRAY && PUBSUB_MESSAGES.has(reply.head[0]?.toLowerCase() ?? '')) {
    return 'message';
  }
  // A MONITOR connection's commands are answered too (+PONG, +OK to QUIT or RESET, `-ERR
  // Replica can't interact with the keyspace`): only a status line shaped like one is MONITOR output.
  if (state.monitoring && (front === undefined || (reply.type === RESP_TYPES.SIMPLE_STRING && isMonitorLineText(reply.head[0] ?? '')))) return 'monitor';
  return front !== undefined ? 'reply' : null;
}

/** How a pub/sub message begins on the wire, RESP2 arrays and RESP3 pushes. */
const MESSAGE_STARTS = ['*3\r\n$7\r\nmessage\r\n', '*4\r\n$8\r\npmessage\r\n', '*3\r\n$8\r\nsmessage\r\n',
  '>3\r\n$7\r\nmessage\r\n', '>4\r\n$8\r\npmessage\r\n', '>3\r\n$8\r\nsmessage\r\n'].map((t) => Buffer.from(t, 'latin1'));

export function startsPubSubMessage(buf: Uint8Array, off: number, len: number): boolean {
  for (const m of MESSAGE_STARTS) {
    if (len < m.length) continue;
    let i = 0;
    while (i < m.length && buf[off + i] === m[i]) i++;
    if (i === m.length) return true;
  }
  return false;
}

const PLUS = 0x2b;
const DOT = 0x2e;
const SPACE = 0x20;
const BRACKET = 0x5b;
const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

/** A MONITOR line: `+<seconds>.<microseconds, 6 digits> [<db> <client>] ...`. */
export function startsMonitorLine(buf: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  if (len < 12 || buf[off] !== PLUS || !isDigit(buf[off + 1])) return false;
  let i = off + 1;
  while (i < end && isDigit(buf[i])) i++;
  if (i - off - 1 > 12 || i >= end || buf[i] !== DOT) return false;
  for (let k = 1; k <= 6; k++) if (i + k >= end || !isDigit(buf[i + k])) return false;
  return i + 8 < end && buf[i + 7] === SPACE && buf[i + 8] === BRACKET;
}

/**
 * Whether a status reply's text is a MONITOR line (as above, without the `+`), or may be one
 * when its preview was cut short: the replies a MONITOR connection gets to its own commands
 * (+PONG, +OK, -ERR ...) never start with a digit.
 */
export function isMonitorLineText(t: string): boolean {
  let i = 0;
  while (i < t.length && isDigit(t.charCodeAt(i))) i++;
  if (i === t.length) return true;
  if (i === 0 || i > 12 || t.charCodeAt(i) !== DOT) return false;
  for (let k = 1; k <= 6; k++) {
    if (i + k >= t.length) return true;
    if (!isDigit(t.charCodeAt(i + k))) return false;
  }
  if (i + 7 >= t.length) return true;
  return t.charCodeAt(i + 7) === SPACE && (i + 8 >= t.length || t.charCodeAt(i + 8) === BRACKET);
}
