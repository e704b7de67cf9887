/**
 * Frames the RESP layer hands to analysis. Strings are latin1 ("binary") decodings of the wire
 * bytes, one char per byte, so they round-trip exactly; outputs decide how to show them.
 * Spec: https://github.com/redis/redis-specifications/blob/master/protocol/RESP3.md
 */

/** A complete client request: a RESP array of bulk strings, or an inline command line. */
export interface RequestFrame {
  /** Total number of arguments on the wire (command name included). */
  argc: number;
  /** The first `maxArgsKept` arguments, each cut to `argPreviewBytes` bytes. */
  args: string[];
  /** Full byte length of each kept argument (args[i] may be shorter). */
  argLens: number[];
  /** Bytes the request took on the wire. */
  wireBytes: number;
  inline: boolean;
  /** Bytes inside its values that were never captured (a gap skipped by skip()); 0 when whole. */
  missingBytes: number;
  /** Timestamp of the chunk holding the first byte, and of the chunk completing the frame. */
  startTsUs: number;
  endTsUs: number;
}

/** A complete server reply (attributes `|` before it are folded in and counted in wireBytes). */
export interface ReplyFrame {
  /** RESP type byte of the top-level value (see RESP_TYPES), never the attribute byte. */
  type: number;
  wireBytes: number;
  /** For `-` and `!`: the error text, cut to `argPreviewBytes`. Otherwise null. */
  error: string | null;
  /**
   * Elements of an aggregate (pairs for a map/attribute count as 2 each), the length of a
   * bulk/verbatim/blob string, -1 for a RESP2 null, 0 otherwise.
   */
  count: number;
  /**
   * Up to 3 previews: the value itself for simple/integer/double/bool/bignum; for an aggregate,
   * its first top-level elements that are such scalars or bulk strings (others give '').
   * Enough to see QUEUED, OK, and pub/sub kinds ("message", "subscribe", ...). A top-level bulk
   * or verbatim string (GET's value) is counted in `count`, not previewed: nothing reads it.
   */
  head: string[];
  /**
   * Errors among the elements of a top-level aggregate (an EXEC reply answering each queued
   * command), by element index, at most MAX_INNER_ERRORS; null when there are none.
   */
  innerErrors: InnerError[] | null;
  /** Bytes inside its values that were never captured (a gap skipped by skip()); 0 when whole. */
  missingBytes: number;
  startTsUs: number;
  endTsUs: number;
}

export interface InnerError {
  /** Position of the element in the top-level aggregate. */
  index: number;
  /** The error text, cut to `argPreviewBytes`. */
  text: string;
}

export interface Violation {
  /** Stream offset (bytes since the decoder started) where the bad byte was. */
  offset: number;
  reason: string;
}

/** Named, documented parse limits; exceeding one is a violation, not a crash. */
export interface RespLimits {
  /**
   * Largest bulk string accepted (Redis's proto-max-bulk-len default: 512 MB; --max-bulk-bytes
   * follows a server configured higher). Values are counted, never held, so this guards framing
   * (a damaged length), not memory.
   */
  maxBulkBytes: number;
  /**
   * Deepest nesting of aggregates in a reply. Redis itself has no fixed limit (module replies
   * nest as deep as they like; a Lua reply ~200 levels), so this bounds memory, not protocol:
   * each open level costs three numbers (~24 bytes), so 65,536 levels ~1.5 MiB per decoder,
   * and only while that deep a reply is open.
   */
  maxDepth: number;
  /** Most elements in one aggregate. */
  maxElements: number;
  /** Longest inline command or type line (Redis PROTO_INLINE_MAX_SIZE: 64 KiB). */
  maxLineBytes: number;
  /** Bytes of each argument/value kept as a string; the rest is only counted. */
  argPreviewBytes: number;
  /** Arguments of one request kept in `args`; the rest are counted in argc only. */
  maxArgsKept: number;
}

export const DEFAULT_LIMITS: RespLimits = {
  maxBulkBytes: 512 * 1024 * 1024,
  maxDepth: 65_536,
  maxElements: 64 * 1024 * 1024,
  maxLineBytes: 64 * 1024,
  argPreviewBytes: 256,
  maxArgsKept: 4096,
};
