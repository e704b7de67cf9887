import * as constantsMod from './constants.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { CR, DIGIT_0, DIGIT_9, LF, RESP_TYPES } = constantsMod;

/**
 * Per-type facts of the reply grammar, as lookup tables indexed by the type byte, and the
 * checks on the text of single-line values.
 */
const T = RESP_TYPES;

/** KIND[type byte]: 0 not a value type, else what follows the type byte. */
export const KIND = new Uint8Array(256);
/** A single line: + - : _ , # ( */
export const K_LINE = 1;
/** A length line then that many bytes: $ = ! */
export const K_BULK = 2;
/** A count line then that many values: * % ~ > | */
export const K_AGG = 3;

for (const t of [T.SIMPLE_STRING, T.SIMPLE_ERROR, T.INTEGER, T.NULL, T.DOUBLE, T.BOOLEAN,
  T.BIG_NUMBER]) KIND[t] = K_LINE;
for (const t of [T.BLOB_STRING, T.VERBATIM_STRING, T.BLOB_ERROR]) KIND[t] = K_BULK;
for (const t of [T.ARRAY, T.MAP, T.SET, T.PUSH, T.ATTRIBUTE]) KIND[t] = K_AGG;

/** Types whose value text is shown in ReplyFrame.head. */
export const HEAD_TYPE = new Uint8Array(256);
for (const t of [T.SIMPLE_STRING, T.INTEGER, T.DOUBLE, T.BOOLEAN, T.BIG_NUMBER, T.BLOB_STRING,
  T.VERBATIM_STRING]) HEAD_TYPE[t] = 1;

/** Bytes a double may hold: digits, sign, point, exponent, and the letters of inf / nan. */
const DOUBLE_BYTE = new Uint8Array(256);
for (const ch of '0123456789+-.eEinfaINFA') DOUBLE_BYTE[ch.charCodeAt(0)] = 1;

const PLUS = 0x2b;
const MINUS = 0x2d;
const LOWER_T = 0x74;
const LOWER_F = 0x66;

/** May byte c stand at index i of the text of a single-line value of type t? */
export function lineByteOk(t: number, c: number, i: number): boolean {
  if (c === CR || c === LF) return false;
  switch (t) {
    case T.INTEGER:
    case T.BIG_NUMBER:
      return (c >= DIGIT_0 && c <= DIGIT_9) || (i === 0 && (c === MINUS || c === PLUS));
    case T.BOOLEAN:
      return i === 0 && (c === LOWER_T || c === LOWER_F);
    case T.NULL:
    case T.STREAMED_AGGREGATE_END:
      return false;
    case T.DOUBLE:
      return DOUBLE_BYTE[c] === 1;
    default:
      return true;
  }
}

/** Is a line of `len` bytes starting with byte `first` a whole value of type t? */
export function lineEndOk(t: number, len: number, first: number): boolean {
  switch (t) {
    case T.INTEGER:
    case T.BIG_NUMBER:
      return len > 1 || (len === 1 && first >= DIGIT_0 && first <= DIGIT_9);
    case T.BOOLEAN:
      return len === 1;
    case T.NULL:
    case T.STREAMED_AGGREGATE_END:
      return len === 0;
    case T.DOUBLE:
      return len > 0;
    default:
      return true;
  }
}

/** Violation reason for bad text in a single-line value of type t. */
export function lineReason(t: number): string {
  switch (t) {
    case T.INTEGER: return 'bad integer';
    case T.BIG_NUMBER: return 'bad big number';
    case T.BOOLEAN: return 'bad boolean';
    case T.NULL: return 'bad null';
    case T.DOUBLE: return 'bad double';
    default: return "bad '.' end marker";
  }
}
