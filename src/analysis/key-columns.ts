/**
 * A key table as columns that cross a thread without a string made or copied per key: the
 * keys' UTF-16 code units end to end (key i ends at ends[i]), and count, bytes and error of key
 * i at nums[3i ..]. Strings are made once on the other side, by one decode and a slice per key.
 */
import { KEY_RECORD, type KeyTable } from './key-table.js';

const { F64_PER_REC, F_COUNT } = KEY_RECORD;

export interface KeyColumns {
  codes: Uint16Array;
  ends: Uint32Array;
  nums: Float64Array;
}

export function columnsOf(t: KeyTable): KeyColumns {
  let total = 0;
  for (let id = 0; id < t.size; id++) total += t.keyCodes(id, null, 0);
  const codes = new Uint16Array(total);
  const ends = new Uint32Array(t.size);
  const nums = new Float64Array(3 * t.size);
  let at = 0;
  for (let id = 0; id < t.size; id++) {
    at += t.keyCodes(id, codes, at);
    ends[id] = at;
    const f = id * F64_PER_REC + F_COUNT;
    nums.set(t.f64.subarray(f, f + 3), 3 * id);
  }
  return { codes, ends, nums };
}

const UTF16 = new TextDecoder('utf-16le');

/** The keys of some columns, as strings. */
export function keysOfColumns(c: KeyColumns): string[] {
  const all = UTF16.decode(c.codes);
  const out = new Array<string>(c.ends.length);
  let from = 0;
  for (let i = 0; i < c.ends.length; i++) {
    const end = c.ends[i]!;
    out[i] = all.slice(from, end);
    from = end;
  }
  return out;
}
