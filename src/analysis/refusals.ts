/**
 * What Redis refuses and then closes the connection for: the bytes a client sends after are
 * never read as requests, and Redis's answer is an error of its own, no command's.
 */
import type { ReplyFrame, Violation } from '../resp/types.js';

/**
 * Request violations after which Redis answers `-ERR Protocol error: ...` and closes the
 * connection (networking.c: processInlineBuffer, processMultibulkBuffer). A bulk length over
 * the decoder's limit is over Redis's default proto-max-bulk-len (512 MB, the same); a count
 * over its limit (64 M) Redis takes, and then finds no `$` where the next request begins. Not
 * the others: Redis skips the two bytes after a length or a value without looking at them.
 */
const PROTOCOL_ERRORS = ['unbalanced quotes', 'invalid multibulk length', 'invalid bulk length', "expected '$'", 'bulk length over limit', 'multibulk length over limit'];

/** What Redis writes to a connection it refuses because maxclients are connected (networking.c). */
const MAX_CLIENTS_ERROR = 'ERR max number of clients reached';

/** Whether Redis closes the connection after a request with this violation. */
export function closesConnection(v: Violation): boolean {
  return PROTOCOL_ERRORS.some((reason) => v.reason.startsWith(reason));
}

/** Whether this reply is Redis refusing the connection (written before it reads a byte). */
export function refusesConnection(reply: ReplyFrame): boolean {
  return reply.error !== null && reply.error.startsWith(MAX_CLIENTS_ERROR);
}
