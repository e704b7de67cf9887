/**
 * Storage for TopKeys: a string-keyed table where finding a key touches two cache lines, one of
 * them usually in L2, against four for a V8 Map of 100k objects (bucket, data table, stored key,
 * entry object), each a ~150 ns miss once the data outgrows L2.
 *
 * - Records: one 64-byte record per id in one ArrayBuffer: count, bytes, error, the key's 32-bit
 *   hash, its tag, and its first INLINE_BYTES latin1 chars packed four per int32, so a lookup
 *   compares the key in the line whose counters it then updates. Longer keys, or keys with a char
 *   above 255, are compared against the stored string. Ids are dense and stable; an evicted key's
 *   id goes to the key replacing it.
 * - Index: open addressing with linear probing, one int32 per slot (id + 1 in the low 24 bits,
 *   the hash's top 8 bits above), at most half full: 1 MB for 100k keys, small enough to stay in
 *   L2, and the 8 hash bits skip nearly every record that is not the key. Deletion shifts later
 *   members of the probe run back into the hole, so no tombstones build up under eviction.
 */

import * as keyHashMod from './key-hash.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { prepareKey, prepareKeyCodes } = keyHashMod;

/** Record layout, in units of each view over the record buffer. */
const REC_BYTES = 64;
const F64_PER_REC = REC_BYTES / 8;
const I32_PER_REC = REC_BYTES / 4;
const F_COUNT = 0;
const F_BYTES = 1;
const F_ERROR = 2;
/** The key's hash: a fixed function of its bytes (no seed), so it also orders ties the same in every run. */
const I_HASH = 6;
/** 1: key compared as a string; 2 + n: key is the n latin1 chars packed from I_INLINE on. */
const I_KIND = 7;
/** 0: no tag; t > 0: interned tag t - 1; -1: the tag is in `overflow`. */
const I_TAG = 8;
const I_INLINE = 9;
const INLINE_WORDS = I32_PER_REC - I_INLINE;
/** Keys up to this many latin1 chars are compared without touching their string. */
const INLINE_BYTES = INLINE_WORDS * 4;

const ID_BITS = 24;
const ID_MASK = (1 << ID_BITS) - 1;
/** Ids fit the index's 24 bits, stored as id + 1. */
const MAX_KEYS = ID_MASK - 1;
const MIN_RECORDS = 64;
/** Distinct tags interned; more (a prefix per key, say) go to a Map by id. */
const MAX_TAGS = 1 << 16;

/**
 * The record layout, for the modules that read records (./top-keys.ts, ./key-entry.ts): one
 * object, as the consts are private (V8 folds a module's own consts into its code; an
 * exported one is loaded from its cell at every use, here several times a key).
 */
export const KEY_RECORD = { F64_PER_REC, I32_PER_REC, F_COUNT, F_BYTES, F_ERROR, I_HASH, INLINE_BYTES, MAX_KEYS } as const;

export class KeyTable {
  /** count, bytes, error of record id: f64[id * F64_PER_REC + F_*]. */
  f64 = new Float64Array(0);
  /** hash, kind and tag of record id: i32[id * I32_PER_REC + I_*]. */
  i32 = new Int32Array(0);
  private index = new Int32Array(0);
  private mask = 0;
  /** Records allocated; doubles up to maxSize. */
  private room = 0;
  /**
   * Keys compared as strings (kind 1), by id; null for a key held inline, whose string is made
   * again from the record when a report asks (keyOf). So the strings of counted keys, and of
   * keys evicted by the thousand past --max-keys, never fill V8's old space: 10 M distinct keys
   * left up to 60 MB of them there per table.
   */
  private keys: Array<string | null> = [];
  size = 0;
  /**
   * Tags, interned so a record holds a tag as an int: reading it costs no miss beyond the
   * record's, and every key with the same tag shares one string, hot in cache for the caller.
   */
  private tagIds = new Map<string, number>();
  private tagValues: string[] = [];
  private overflow = new Map<number, string>();
  /** The key last passed to find: its hash, its kind and, when inline, its packed chars. */
  hash = 0;
  kind = 0;
  private readonly words = new Int32Array(INLINE_WORDS);
  /** After findCodes: the key as insert() and reuse() take it ('' when held inline). */
  codesKey = '';
  /** keyOf's scratch: an inline key's chars. */
  private readonly codes = new Uint16Array(INLINE_BYTES);
  /**
   * findMany's keys: hashes, kinds, packed chars (INLINE_WORDS per key) and, per key, which
   * key's packed chars are its own: a key equal to the one before it shares that one's.
   */
  private manyHashes = new Int32Array(0);
  private manyKinds = new Int32Array(0);
  private manyWords = new Int32Array(0);
  private manyFrom = new Int32Array(0);
  /** What touch() loaded, kept so the loads are not optimised away. */
  sink = 0;

  constructor(readonly maxSize: number) {
    this.reset();
  }

  /** Hash of the key last passed to find; tests use it to build keys that collide. */
  get lastHash(): number {
    return this.hash;
  }

  reset(): void {
    this.keys = [];
    this.tagIds = new Map();
    this.tagValues = [];
    this.overflow = new Map();
    this.size = 0;
    this.allocate(Math.min(this.maxSize, MIN_RECORDS));
  }

  /** The key's id, or ~slot of the empty index slot where it would go. */
  find(key: string): number {
    prepareKey(this, key, this.words, 0, INLINE_BYTES);
    return this.probe(key, this.hash, this.kind, this.words, 0);
  }

  /**
   * find() for the key whose UTF-16 code units are codes[s..s+n) (a key table crossing threads
   * as columns): hashed as find() hashes the same string, which is made only for a key not
   * held inline (codesKey holds it, for insert()).
   */
  findCodes(codes: Uint16Array, s: number, n: number): number {
    prepareKeyCodes(this, codes, s, n, this.words, INLINE_BYTES);
    this.codesKey = this.kind === 1 ? String.fromCharCode.apply(null, codes.subarray(s, s + n) as unknown as number[]) : '';
    return this.probe(this.codesKey, this.hash, this.kind, this.words, 0);
  }


  /**
   * find() for keys[0..n) at once, into ids[0..n) (a miss is any negative number; insert()
   * needs find's own answer). Hashing every key first and then probing them all in a tight
   * loop lets the CPU wait for several of the probes' cache misses at a time; one find() per
   * request waits for each in turn, behind the decoding between them. Measured on the
   * benchmark captures, alternating builds: 5-6% less analysis time (about 50 ns per key).
   * A loop of nothing but adds gains nothing from it (bench/top-keys-bench.mjs).
   */
  findMany(keys: readonly string[], n: number, ids: Int32Array): void {
    if (this.manyHashes.length < n) {
      this.manyHashes = new Int32Array(n);
      this.manyKinds = new Int32Array(n);
      this.manyWords = new Int32Array(n * INLINE_WORDS);
      this.manyFrom = new Int32Array(n);
    }
    const hashes = this.manyHashes;
    const kinds = this.manyKinds;
    const words = this.manyWords;
    const from = this.manyFrom;
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      if (i > 0 && key === keys[i - 1]) {
        // A hot key again: its hash and chars are the ones just made (comparing costs less than hashing).
        hashes[i] = hashes[i - 1]!;
        kinds[i] = kinds[i - 1]!;
        from[i] = from[i - 1]!;
        continue;
      }
      prepareKey(this, key, words, i * INLINE_WORDS, INLINE_BYTES);
      hashes[i] = this.hash;
      kinds[i] = this.kind;
      from[i] = i;
    }
    this.touch(hashes, n);
    // Nothing changes the table in between: a key equal to the one before it has its answer.
    for (let i = 0; i < n; i++) ids[i] = from[i] !== i ? ids[i - 1]! : this.probe(keys[i]!, hashes[i]!, kinds[i]!, words, i * INLINE_WORDS);
  }

  /**
   * find() again for keys[i] of the last findMany, without hashing it again: the table may have
   * changed since. Like find(), it readies insert() or reuse() for that key.
   */
  findAt(i: number, key: string): number {
    this.hash = this.manyHashes[i]!;
    this.kind = this.manyKinds[i]!;
    for (let k = 0, at = this.manyFrom[i]! * INLINE_WORDS; k < INLINE_WORDS; k++) this.words[k] = this.manyWords[at + k]!;
    return this.probe(key, this.hash, this.kind, this.words, 0);
  }

  /** Whether record id still holds keys[i] of the last findMany (its id may have changed hands). */
  holdsAt(id: number, i: number, key: string): boolean {
    return this.holds(id, key, this.manyHashes[i]!, this.manyKinds[i]!, this.manyWords, this.manyFrom[i]! * INLINE_WORDS);
  }

  /**
   * Loads, for each hash, its home index slot, then the first and last word of the record
   * the slots from there name: the loads depend on nothing but the hashes, so the CPU has a dozen or
   * more misses in flight where probe() would wait for each (slot, then record) in turn.
   */
  private touch(hashes: Int32Array, n: number): void {
    const index = this.index;
    const mask = this.mask;
    const i32 = this.i32;
    let sink = 0;
    for (let i = 0; i < n; i++) sink ^= index[hashes[i]! & mask]!;
    for (let i = 0; i < n; i++) {
      // A third of the keys lie past their home slot: the 8 hash bits find the slot that is likely theirs.
      const hash = hashes[i]!;
      const top = hash >>> ID_BITS;
      let s = hash & mask;
      let v = index[s]!;
      while (v !== 0 && v >>> ID_BITS !== top) {
        s = (s + 1) & mask;
        v = index[s]!;
      }
      if (v === 0) continue;
      const r = ((v & ID_MASK) - 1) * I32_PER_REC;
      sink ^= i32[r]! ^ i32[r + I32_PER_REC - 1]!;
    }
    this.sink = sink;
  }

  /** The id of the key with this hash, kind and packed chars (words[at..]), or ~empty slot. */
  private probe(key: string, hash: number, kind: number, words: Int32Array, at: number): number {
    const index = this.index;
    const mask = this.mask;
    const top = hash >>> ID_BITS;
    for (let s = hash & mask; ; s = (s + 1) & mask) {
      const v = index[s]!;
      if (v === 0) return ~s;
      if (v >>> ID_BITS === top) {
        const id = (v & ID_MASK) - 1;
        if (this.holds(id, key, hash, kind, words, at)) return id;
      }
    }
  }

  /** Adds the key find just missed (size < maxSize); `miss` is find's answer. Returns its id. */
  insert(key: string, miss: number): number {
    if (this.size === this.room) {
      this.allocate(Math.min(this.maxSize, 2 * this.room));
      miss = ~this.emptySlot(this.hash);
    }
    const id = this.size++;
    this.keys.push(this.kind === 1 ? key : null);
    this.store(id);
    this.index[~miss] = (this.hash & ~ID_MASK) | (id + 1);
    return id;
  }

  /** Gives record `id` to the key find just missed, clearing its tag; counters are kept. */
  reuse(id: number, key: string): void {
    this.unlink(id);
    this.keys[id] = this.kind === 1 ? key : null;
    if (this.i32[id * I32_PER_REC + I_TAG] === -1) this.overflow.delete(id);
    this.store(id);
    this.index[this.emptySlot(this.hash)] = (this.hash & ~ID_MASK) | (id + 1);
  }

  /** The key of record id. */
  keyOf(id: number): string {
    const s = this.keys[id];
    if (s != null) return s;
    const n = this.keyCodes(id, this.codes, 0);
    // apply, not a spread: spreading a typed array walks an iterator, an object per char.
    return String.fromCharCode.apply(null, this.codes.subarray(0, n) as unknown as number[]);
  }

  /** Key id's UTF-16 code units, written at out[at..] when out is given; returns how many. */
  keyCodes(id: number, out: Uint16Array | null, at: number): number {
    const s = this.keys[id];
    if (s != null) {
      if (out !== null) for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
      return s.length;
    }
    const r = id * I32_PER_REC;
    const n = this.i32[r + I_KIND]! - 2;
    if (out !== null) for (let i = 0; i < n; i++) out[at + i] = (this.i32[r + I_INLINE + (i >> 2)]! >>> ((i & 3) * 8)) & 0xff;
    return n;
  }

  tag(id: number): string | null {
    const t = this.i32[id * I32_PER_REC + I_TAG]!;
    if (t > 0) return this.tagValues[t - 1]!;
    return t === 0 ? null : this.overflow.get(id)!;
  }

  setTag(id: number, tag: string | null): void {
    const r = id * I32_PER_REC;
    if (this.i32[r + I_TAG] === -1) this.overflow.delete(id);
    let t = tag === null ? 0 : this.tagIds.get(tag);
    if (t === undefined && this.tagValues.length < MAX_TAGS) {
      t = this.tagValues.push(tag!);
      this.tagIds.set(tag!, t);
    }
    if (t === undefined) {
      t = -1;
      this.overflow.set(id, tag!);
    }
    this.i32[r + I_TAG] = t;
  }

  /** Whether record id holds the key with this hash, kind and packed chars (words[at..]). */
  private holds(id: number, key: string, hash: number, kind: number, words: Int32Array, at: number): boolean {
    const i32 = this.i32;
    const r = id * I32_PER_REC;
    if (i32[r + I_HASH] !== hash || i32[r + I_KIND] !== kind) return false;
    if (kind === 1) return this.keys[id] === key;
    for (let k = 0, nw = (kind + 1) >> 2; k < nw; k++) if (i32[r + I_INLINE + k] !== words[at + k]) return false;
    return true;
  }

  /** Writes hash, kind and packed chars of the key find just missed; no tag. */
  private store(id: number): void {
    const i32 = this.i32;
    const r = id * I32_PER_REC;
    const kind = this.kind;
    i32[r + I_HASH] = this.hash;
    i32[r + I_KIND] = kind;
    i32[r + I_TAG] = 0;
    if (kind === 1) return;
    for (let k = 0, nw = (kind + 1) >> 2; k < nw; k++) i32[r + I_INLINE + k] = this.words[k]!;
  }

  private emptySlot(hash: number): number {
    let s = hash & this.mask;
    while (this.index[s] !== 0) s = (s + 1) & this.mask;
    return s;
  }

  /** Removes id's index slot, shifting back later members of the probe run. */
  private unlink(id: number): void {
    const index = this.index;
    const mask = this.mask;
    let hole = this.i32[id * I32_PER_REC + I_HASH]! & mask;
    while ((index[hole]! & ID_MASK) !== id + 1) hole = (hole + 1) & mask;
    for (let j = (hole + 1) & mask; index[j] !== 0; j = (j + 1) & mask) {
      const home = this.i32[((index[j]! & ID_MASK) - 1) * I32_PER_REC + I_HASH]! & mask;
      // The member at j stays unless the hole lies cyclically between its home and j.
      if (((j - home) & mask) < ((j - hole) & mask)) continue;
      index[hole] = index[j]!;
      hole = j;
    }
    index[hole] = 0;
  }

  /** Sizes records for `room` ids and the index to at most half load, keeping the contents. */
  private allocate(room: number): void {
    const buf = new ArrayBuffer(Math.max(1, room) * REC_BYTES);
    const i32 = new Int32Array(buf);
    i32.set(this.i32.subarray(0, this.size * I32_PER_REC));
    this.i32 = i32;
    this.f64 = new Float64Array(buf);
    this.room = room;
    let slots = 16;
    while (slots < 2 * room) slots *= 2;
    this.index = new Int32Array(slots);
    this.mask = slots - 1;
    for (let id = 0; id < this.size; id++) {
      const hash = this.i32[id * I32_PER_REC + I_HASH]!;
      this.index[this.emptySlot(hash)] = (hash & ~ID_MASK) | (id + 1);
    }
  }
}
