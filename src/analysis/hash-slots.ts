/**
 * Redis Cluster hash slots: CRC16 (XMODEM: polynomial 0x1021, initial 0) of the key, or of the
 * part between the first `{` and the next `}` when that part is not empty, mod 16384.
 * https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags
 * Keys are latin1 strings (one char per wire byte), so the CRC runs over the wire bytes.
 */

export const SLOTS = 16384;

const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

function crc16(s: string, from: number, to: number): number {
  let crc = 0;
  for (let i = from; i < to; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >>> 8) ^ s.charCodeAt(i)) & 0xff]!;
  return crc;
}

function crc16Codes(codes: Uint16Array, from: number, to: number): number {
  let crc = 0;
  for (let i = from; i < to; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >>> 8) ^ codes[i]!) & 0xff]!;
  return crc;
}

/** hashSlot of the key whose chars are codes[0..n): no string made (a report over 200k keys). */
export function hashSlotOfCodes(codes: Uint16Array, n: number): number {
  const open = codes.subarray(0, n).indexOf(0x7b); // '{'
  if (open >= 0) {
    const close = codes.subarray(0, n).indexOf(0x7d, open + 1); // '}'
    if (close > open + 1) return crc16Codes(codes, open + 1, close) & (SLOTS - 1);
  }
  return crc16Codes(codes, 0, n) & (SLOTS - 1);
}

export function hashSlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crc16(key, open + 1, close) & (SLOTS - 1);
  }
  return crc16(key, 0, key.length) & (SLOTS - 1);
}

/** Key occurrences per slot: exact, fixed size (64 KiB), and merged by adding. */
export class SlotCounts {
  readonly counts = new Uint32Array(SLOTS);

  add(key: string, n = 1): void {
    this.counts[hashSlot(key)]! += n;
  }

  /** add() for the key whose chars are codes[0..len). */
  addCodes(codes: Uint16Array, len: number, n: number): void {
    this.counts[hashSlotOfCodes(codes, len)]! += n;
  }

  merge(o: SlotCounts): void {
    for (let i = 0; i < SLOTS; i++) this.counts[i]! += o.counts[i]!;
  }

  /** The busiest slots, most first (ties by slot number). */
  top(n: number): Array<{ slot: number; count: number }> {
    const rows: Array<{ slot: number; count: number }> = [];
    for (let i = 0; i < SLOTS; i++) if (this.counts[i]! > 0) rows.push({ slot: i, count: this.counts[i]! });
    rows.sort((a, b) => b.count - a.count || a.slot - b.slot);
    return rows.slice(0, n);
  }

  clear(): void {
    this.counts.fill(0);
  }
}
