/**
 * Byte ranges to latin1 strings (one char per byte). Short ranges, the common case for
 * command names, keys and replies, go through String.fromCharCode with a fixed arity, which
 * costs a third of a call into Buffer's native slice; long ones call that slice directly on
 * the array (a Buffer view made per call cost as much again, and 17..48 bytes made as two or
 * three pieces joined, and hashed later, cost more than the native call past 24).
 */
const fc = String.fromCharCode;
const nativeSlice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;

/** Latin1 string of u[s..e). */
export function latin1(u: Uint8Array, s: number, e: number): string {
  const n = e - s;
  if (n <= 16) return short(u, s, n);
  if (n <= 24) return sixteen(u, s) + short(u, s + 16, n - 16);
  return nativeSlice.call(u, s, e);
}

function sixteen(u: Uint8Array, s: number): string {
  return fc(u[s], u[s + 1], u[s + 2], u[s + 3], u[s + 4], u[s + 5], u[s + 6], u[s + 7],
    u[s + 8], u[s + 9], u[s + 10], u[s + 11], u[s + 12], u[s + 13], u[s + 14], u[s + 15]);
}

// A dispatch switch on the length: each case is one fromCharCode call of that arity.
function short(u: Uint8Array, s: number, n: number): string {
  switch (n) {
    case 0: return '';
    case 1: return fc(u[s]);
    case 2: return fc(u[s], u[s + 1]);
    case 3: return fc(u[s], u[s + 1], u[s + 2]);
    case 4: return fc(u[s], u[s + 1], u[s + 2], u[s + 3]);
    case 5: return fc(u[s], u[s + 1], u[s + 2], u[s + 3], u[s + 4]);
    case 6: return fc(u[s], u[s + 1], u[s + 2], u[s + 3], u[s + 4], u[s + 5]);
    case 7: return fc(u[s], u[s + 1], u[s + 2], u[s + 3], u[s + 4], u[s + 5], u[s + 6]);
    case 8: return fc(u[s], u[s + 1], u[s + 2], u[s + 3], u[s + 4], u[s + 5], u[s + 6],
      u[s + 7]);
    default: return nineToSixteen(u, s, n);
  }
}

function nineToSixteen(u: Uint8Array, s: number, n: number): string {
  if (n === 16) return sixteen(u, s);
  const head = fc(u[s], u[s + 1], u[s + 2], u[s + 3], u[s + 4], u[s + 5], u[s + 6],
    u[s + 7]);
  return head + short(u, s + 8, n - 8);
}
