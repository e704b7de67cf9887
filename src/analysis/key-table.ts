/**
 * Storage for TopKeys: a string-keyed table laid out so that finding a key touches about two
 * cache lines instead of the four of a large V8 Map (bucket, data table, stored key, entry).
 *
 * - Slots: open addressing with linear probing over one Int32Array of (hash, id + 1) pairs,
 *   eight pairs per 64-byte line, at most half full. Deletion shifts later entries back, so
 *   there are no tombstones and probe runs stay short under constant eviction.
 * - Records: one 64-byte record per id in a single ArrayBuffer holding count, bytes, error, hash,
 *   heap index and the key's first INLINE_BYTES latin1 bytes. A key that fits is compared there,
 *   in the line the count update needs anyway; others are compared against the stored string.
 * - Ids are dense (0..size-1) and stable; an evicted key's id is reused by the key replacing it.
 */

/** Record layout, in units of each view over the record buffer. */
const REC_BYTES = 64;
const F64_PER_REC = REC_BYTES / 8;
const I32_PER_REC = REC_BYTES / 4;
export const F_COUNT = 0;
export const F_BYTES = 1;
export const F_ERROR = 2;
const I_HASH = 6;
export const I_HEAP = 7;
/** Length of the inline copy, or -1 when the key is compared as a string (too long, or a char > 255). */
const I_INLINE_LEN = 8;
const INLINE_OFFSET = 36;
/** Keys up to this many latin1 chars are compared without touching their string. */
export const INLINE_BYTES = REC_BYTES - INLINE_OFFSET;

const MIN_RECORDS = 256;

/** 32-bit hash of the UTF-16 code units, two per round (multiply, xor-shift), then a finaliser. */
export function hashKey(key: string): number {
  const n = key.length;
  let h = Math.imul(n, 0x9e3779b1) ^ 0x7f4a7c15;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    h = Math.imul(h ^ (key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16)), 0x85ebca6b);
    h ^= h >>> 15;
  }
  if (i < n) h = Math.imul(h ^ key.charCodeAt(i), 0x85ebca6b);
  h ^= h >>> 16;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 13);
}

export class KeyTable {
  /** count, bytes, error per record: f64[id * F64_PER_REC + F_*]. */
  f64!: Float64Array;
  /** hash, heap index, inline length per record: i32[id * I32_PER_REC + I_*]. */
  i32!: Int32Array;
  private u8!: Uint8Array;
  /** (hash, id + 1) pairs; id + 1 === 0 marks an empty slot. */
  private slots!: Int32Array;
  private mask = 0;
  /** Records allocated; grows by doubling up to maxSize. */
  private room = 0;
  keys: string[] = [];
  tags: (string | null)[] = [];
  size = 0;

  constructor(readonly maxSize: number) {
    this.reset();
  }

  reset(): void {
    this.keys = [];
    this.tags = [];
    this.size = 0;
    this.allocate(Math.min(this.maxSize, MIN_RECORDS));
  }

  /** The key's id, or ~slot of the empty slot where it would go. */
  find(key: string, hash: number): number {
    const slots = this.slots;
    const mask = this.mask;
    let s = hash & mask;
    for (;;) {
      const idp = slots[2 * s + 1]!;
      if (idp === 0) return ~s;
      if (slots[2 * s] === hash && this.holds(idp - 1, key)) return idp - 1;
      s = (s + 1) & mask;
    }
  }

  /** Adds a key not in the table (size < maxSize); `miss` is find's answer. Returns its id. */
  insert(key: string, hash: number, miss: number): number {
    if (this.size === this.room) {
      this.allocate(Math.min(this.maxSize, this.room * 2));
      miss = this.find(key, hash);
    }
    const id = this.size++;
    this.keys.push(key);
    this.tags.push(null);
    this.store(id, key, hash);
    this.link(~miss, id);
    return id;
  }

  /** Gives `id`, now holding another key, to `key` (not in the table); clears its tag. */
  reuse(id: number, key: string, hash: number): void {
    this.unlink(id);
    this.keys[id] = key;
    this.tags[id] = null;
    this.store(id, key, hash);
    this.link(this.emptySlot(hash), id);
  }

  private holds(id: number, key: string): boolean {
    const len = this.i32[id * I32_PER_REC + I_INLINE_LEN]!;
    if (len < 0) return this.keys[id] === key;
    if (len !== key.length) return false;
    const u8 = this.u8;
    const at = id * REC_BYTES + INLINE_OFFSET;
    for (let i = 0; i < len; i++) if (u8[at + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  /** Writes hash and inline key into the record; zeroes its counters. */
  private store(id: number, key: string, hash: number): void {
    const r = id * I32_PER_REC;
    this.i32[r + I_HASH] = hash;
    this.i32[r + I_HEAP] = -1;
    const f = id * F64_PER_REC;
    this.f64[f + F_COUNT] = this.f64[f + F_BYTES] = this.f64[f + F_ERROR] = 0;
    let len = key.length;
    if (len <= INLINE_BYTES) {
      const u8 = this.u8;
      const at = id * REC_BYTES + INLINE_OFFSET;
      for (let i = 0; i < len; i++) {
        const c = key.charCodeAt(i);
        if (c > 255) {
          len = -1;
          break;
        }
        u8[at + i] = c;
      }
    } else {
      len = -1;
    }
    this.i32[r + I_INLINE_LEN] = len;
  }

  private link(slot: number, id: number): void {
    this.slots[2 * slot] = this.i32[id * I32_PER_REC + I_HASH]!;
    this.slots[2 * slot + 1] = id + 1;
  }

  private emptySlot(hash: number): number {
    let s = hash & this.mask;
    while (this.slots[2 * s + 1] !== 0) s = (s + 1) & this.mask;
    return s;
  }

  /** Removes id's slot, shifting back later members of the run that may sit earlier. */
  private unlink(id: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let hole = this.i32[id * I32_PER_REC + I_HASH]! & mask;
    while (slots[2 * hole + 1] !== id + 1) hole = (hole + 1) & mask;
    for (let j = (hole + 1) & mask; slots[2 * j + 1] !== 0; j = (j + 1) & mask) {
      const home = slots[2 * j]! & mask;
      // The entry at j may move to the hole unless its home lies cyclically in (hole, j].
      if (((j - home) & mask) < ((j - hole) & mask)) continue;
      slots[2 * hole] = slots[2 * j]!;
      slots[2 * hole + 1] = slots[2 * j + 1]!;
      hole = j;
    }
    slots[2 * hole + 1] = 0;
  }

  /** Sizes records for `room` ids and the slot table for at most half load, keeping contents. */
  private allocate(room: number): void {
    const buf = new ArrayBuffer(Math.max(room, 1) * REC_BYTES);
    const u8 = new Uint8Array(buf);
    if (this.size > 0) u8.set(this.u8.subarray(0, this.size * REC_BYTES));
    this.u8 = u8;
    this.f64 = new Float64Array(buf);
    this.i32 = new Int32Array(buf);
    this.room = room;
    let n = 16;
    while (n < room * 2) n *= 2;
    this.slots = new Int32Array(2 * n);
    this.mask = n - 1;
    for (let id = 0; id < this.size; id++) this.link(this.emptySlot(this.i32[id * I32_PER_REC + I_HASH]!), id);
  }
}

export { F64_PER_REC, I32_PER_REC };
