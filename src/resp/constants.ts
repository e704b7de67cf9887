/**
 * Wire constants of the Redis serialization protocol.
 * Spec: https://github.com/redis/redis-specifications/blob/master/protocol/RESP3.md
 */

/** The type byte that opens every RESP value. */
export const RESP_TYPES = {
  /** `+OK\r\n`: simple string, one line without CR or LF. */
  SIMPLE_STRING: 0x2b, // '+'
  /** `-ERR msg\r\n`: simple error, one line. */
  SIMPLE_ERROR: 0x2d, // '-'
  /** `:-42\r\n`: signed 64-bit integer. */
  INTEGER: 0x3a, // ':'
  /** `$3\r\nfoo\r\n`: bulk (blob) string, binary safe; `$-1\r\n` is the RESP2 null. */
  BLOB_STRING: 0x24, // '$'
  /** `*2\r\n...`: array of N values; `*-1\r\n` is the RESP2 null array. */
  ARRAY: 0x2a, // '*'
  /** `_\r\n`: RESP3 null. */
  NULL: 0x5f, // '_'
  /** `,3.14\r\n`: double; also `inf`, `-inf`, `nan`. */
  DOUBLE: 0x2c, // ','
  /** `#t\r\n` / `#f\r\n`: boolean. */
  BOOLEAN: 0x23, // '#'
  /** `(3492890328409238509324850943850943825024385\r\n`: big number. */
  BIG_NUMBER: 0x28, // '('
  /** `!21\r\nSYNTAX invalid syntax\r\n`: blob error, binary safe. */
  BLOB_ERROR: 0x21, // '!'
  /** `=15\r\ntxt:Some string\r\n`: verbatim string, 3-byte format then ':'. */
  VERBATIM_STRING: 0x3d, // '='
  /** `%2\r\n...`: map of N key/value pairs (2N values follow). */
  MAP: 0x25, // '%'
  /** `~3\r\n...`: set of N values. */
  SET: 0x7e, // '~'
  /** `>3\r\n...`: out-of-band push (pub/sub message, invalidation). */
  PUSH: 0x3e, // '>'
  /** `|1\r\n...`: attribute map of N pairs that precedes the value it describes. */
  ATTRIBUTE: 0x7c, // '|'
  /** `$?\r\n`, `*?\r\n`, `%?\r\n`, `~?\r\n`: length replaced by '?' opens a streamed value. */
  STREAMED_LENGTH: 0x3f, // '?'
  /** `;4\r\nHell\r\n`: one chunk of a streamed string; `;0\r\n` ends it. */
  STREAMED_STRING_PART: 0x3b, // ';'
  /** `.\r\n`: end of a streamed aggregate. */
  STREAMED_AGGREGATE_END: 0x2e, // '.'
} as const;

export type RespType = (typeof RESP_TYPES)[keyof typeof RESP_TYPES];

/** Carriage return, first byte of the line terminator. */
export const CR = 0x0d;
/** Line feed, last byte of the line terminator. */
export const LF = 0x0a;
/** Sign of a negative length (`$-1`, `*-1`) or integer. */
export const MINUS = 0x2d;
/** Digits '0' and '9'. */
export const DIGIT_0 = 0x30;
export const DIGIT_9 = 0x39;
