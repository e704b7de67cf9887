import type { AnalysisListener } from '../analysis/analyzer.js';
import type { TrackedRequest } from '../analysis/tracked-request.js';
import { RESP_TYPES } from '../resp/constants.js';
import { REDACTED } from '../analysis/command-info.js';
import { reprQuoted } from './strings.js';

/** Short reply type names for `--with-replies`, keyed by type byte. */
const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(RESP_TYPES).map(([name, byte]) => [byte, name.toLowerCase().replace(/_/g, '-')]),
);

/**
 * Lines in the format `redis-cli monitor` prints:
 *   1732237283.123456 [0 127.0.0.1:51514] "SET" "key:1" "v"
 * The timestamp is the capture time of the packet completing the request (MONITOR prints the
 * server's clock when it runs the command). A connection joined mid-stream has an unknown db
 * until it sends SELECT: shown as `?`.
 */
export function monitorLine(r: TrackedRequest): string {
  let line = linePrefix(r.frame.endTsUs, r.db, r.conn.client);
  const args = r.frame.args;
  const lens = r.frame.argLens;
  for (let i = 0; i < args.length; i++) {
    line += ' ' + reprQuoted(args[i]!);
    // Longer than --max-arg-bytes: MONITOR would print it whole; we say how much is cut.
    if (lens[i]! > args[i]!.length) line += `...(${lens[i]} bytes)`;
  }
  if (r.frame.argc > args.length) line += ` ...(${r.frame.argc - args.length} more arguments)`;
  return line;
}

/** The last line's prefix: the requests of one packet (a pipeline) share it. */
let lastTsUs = -1;
let lastDb: number | null = null;
let lastClient = '';
let lastPrefix = '';

/** `1732237283.123456 [0 127.0.0.1:51514]` */
function linePrefix(ts: number, db: number | null, client: string): string {
  if (ts === lastTsUs && db === lastDb && client === lastClient) return lastPrefix;
  const sec = Math.floor(ts / 1e6);
  const us = Math.floor(ts - sec * 1e6);
  lastTsUs = ts;
  lastDb = db;
  lastClient = client;
  lastPrefix = sec + '.' + String(us).padStart(6, '0') + ' [' + (db === null ? '?' : db) + ' ' + client + ']';
  return lastPrefix;
}

/** An error answering a redacted request keeps only its code: its text may quote a secret. */
function redactedError(error: string): string {
  const space = error.indexOf(' ');
  return (space < 0 ? error : error.slice(0, space)) + ' ' + REDACTED;
}

/** ` -> reply +OK 5B 120us`: what `--with-replies` appends. */
export function replySuffix(r: TrackedRequest): string {
  if (r.outcome === 'noreply') return ' -> (no reply: CLIENT REPLY)';
  if (r.outcome === 'unanswered' || r.reply === null) return ' -> (unanswered)';
  const type = TYPE_NAMES[r.reply.type] ?? '?';
  const err = r.reply.error === null ? '' : ' ' + reprQuoted(r.redacted ? redactedError(r.reply.error) : r.reply.error);
  return ` -> ${type}${err} ${r.replyBytes}B ${Math.round(r.latencyUs)}us`;
}

export interface LineSink {
  write(line: string): void;
}

/** Lines written before a connection's queue drops them. */
const COMPACT_AFTER = 1024;

/**
 * A connection's requests in the order they were decoded, each with its line once complete: a
 * request that gets no reply (CLIENT REPLY OFF or SKIP) completes at once, and waits here for
 * the requests before it.
 */
class InOrder {
  readonly reqs: Array<TrackedRequest | null> = [];
  readonly lines: Array<string | null> = [];
  head = 0;
}

/**
 * Streams MONITOR lines. Without replies a line is written as soon as the request is decoded;
 * with replies, when its reply (or its loss) is known, and after the lines of the requests
 * decoded before it, so lines stay in request order per connection.
 */
export function monitorListener(sink: LineSink, withReplies: boolean, onLine?: () => void): AnalysisListener {
  if (!withReplies) {
    return {
      request(r) {
        sink.write(monitorLine(r) + '\n');
        onLine?.();
      },
    };
  }
  const byConn = new Map<number, InOrder>();
  const write = (line: string): void => {
    sink.write(line);
    onLine?.();
  };
  return {
    request(r) {
      let q = byConn.get(r.conn.id);
      if (q === undefined) byConn.set(r.conn.id, (q = new InOrder()));
      q.reqs.push(r);
      q.lines.push(null);
    },
    complete(r) {
      const line = monitorLine(r) + replySuffix(r) + '\n';
      const q = byConn.get(r.conn.id);
      // Requests are pooled: until it completes, the object is this request's alone.
      const at = q === undefined ? -1 : q.reqs.indexOf(r, q.head);
      if (q === undefined || at < 0) return write(line);
      q.reqs[at] = null;
      q.lines[at] = line;
      while (q.head < q.lines.length && q.lines[q.head] !== null) write(q.lines[q.head++]!);
      if (q.head === q.lines.length) byConn.delete(r.conn.id);
      else if (q.head >= COMPACT_AFTER) {
        // A connection that always has requests pending: drop the lines written.
        q.reqs.splice(0, q.head);
        q.lines.splice(0, q.head);
        q.head = 0;
      }
    },
  };
}
