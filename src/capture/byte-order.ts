/** Unsigned integer reads from a byte array, both byte orders; inlined by V8 on the hot path. */

export function u16le(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function u16be(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

export function u32be(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function u16(b: Uint8Array, o: number, le: boolean): number {
  return le ? u16le(b, o) : u16be(b, o);
}

export function u32(b: Uint8Array, o: number, le: boolean): number {
  return le ? u32le(b, o) : u32be(b, o);
}

/** A 64-bit unsigned value as a double (exact below 2^53). */
export function u64(b: Uint8Array, o: number, le: boolean): number {
  const hi = le ? u32le(b, o + 4) : u32be(b, o);
  const lo = le ? u32le(b, o) : u32be(b, o + 4);
  return hi * 4294967296 + lo;
}

/** A 64-bit unsigned value in decimal, exact (for messages about values a double cannot hold). */
export function u64Text(b: Uint8Array, o: number, le: boolean): string {
  const hi = le ? u32le(b, o + 4) : u32be(b, o);
  const lo = le ? u32le(b, o) : u32be(b, o + 4);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** A 64-bit two's-complement value as a double (exact within +-2^53). */
export function i64(b: Uint8Array, o: number, le: boolean): number {
  const hi = le ? u32le(b, o + 4) : u32be(b, o);
  const lo = le ? u32le(b, o) : u32be(b, o + 4);
  return (hi | 0) * 4294967296 + lo;
}

/** `aa bb cc dd` of the first (up to) four bytes, for messages. */
export function hexPrefix(b: Uint8Array, n = 4): string {
  const parts: string[] = [];
  for (let i = 0; i < Math.min(n, b.length); i++) parts.push(b[i]!.toString(16).padStart(2, '0'));
  return parts.join(' ');
}

let viewed: Uint8Array | null = null;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/**
 * A DataView of b's bytes (its index 0 is b[0]). A multi-byte read through it is one load where
 * the functions above make four loads, each with its own bounds check (~100 instructions fewer
 * per packet header); the view is made again only when b is another array than last time, which
 * readers that reuse their buffer make rare. Its reads throw past the end, where b's give 0:
 * callers check lengths first, as they must anyway.
 */
export function viewOf(b: Uint8Array): DataView<ArrayBufferLike> {
  if (b !== viewed) {
    view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    viewed = b;
  }
  return view;
}
