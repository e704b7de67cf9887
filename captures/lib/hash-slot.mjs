// Redis Cluster key -> hash slot, written from the spec for the capture truth (nothing from src/).
// Spec: https://redis.io/docs/reference/cluster-spec/#key-distribution-model
// HASH_SLOT = CRC16(key) mod 16384, CRC16 = XMODEM (poly 0x1021, init 0, no reflection, no
// final xor); when the key has a `{...}` with at least one byte between the first `{` and the
// first `}` after it, only those bytes are hashed (a hash tag).

export const SLOTS = 16384;

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    t[i] = crc;
  }
  return t;
})();

/** CRC16/XMODEM of bytes[start, end). The spec's check value: crc16('123456789') = 0x31c3. */
export function crc16(bytes, start = 0, end = bytes.length) {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]) & 0xff];
  return crc;
}

/** The hash slot of a key (a string is taken as its latin1 bytes, as the generator records them). */
export function keyHashSlot(key) {
  const b = Buffer.isBuffer(key) ? key : Buffer.from(key, 'latin1');
  const open = b.indexOf(0x7b); // '{'
  if (open >= 0) {
    const close = b.indexOf(0x7d, open + 1); // '}'
    if (close > open + 1) return crc16(b, open + 1, close) % SLOTS;
  }
  return crc16(b) % SLOTS;
}
