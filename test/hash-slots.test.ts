/** Redis Cluster key slots, against values `CLUSTER KEYSLOT` gives and the spec's CRC16 check value. */
import { describe, expect, test } from 'vitest';
import { hashSlot, hashSlotOfCodes, SlotCounts } from '../src/analysis/hash-slots.js';
import { TopKeys } from '../src/analysis/top-keys.js';

const SLOT_CASES: Array<[string, number]> = [
    ['123456789', 0x31c3 & 16383], // the CRC16-XMODEM check value, 0x31C3
    ['foo', 12182],
    ['hello', 866],
    ['{user1000}.following', 3443],
    ['{user1000}.followers', 3443],
    ['user1000', 3443],
    ['foo{}{bar}', hashSlot('foo{}{bar}')], // an empty tag: the whole key is hashed
    ['{}foo', hashSlot('{}foo')],
    ['foo{{bar}}zap', hashSlot('{bar')], // the tag is what lies between the first { and the next }
    ['', 0],
];

/** The key's chars at the start of a scratch array holding stale chars past them ('{x}' and more). */
function codesOf(key: string): Uint16Array {
  const codes = new Uint16Array(key.length + 8).fill(0x7b);
  codes.set(Array.from(key, (c) => c.charCodeAt(0)));
  codes[key.length + 1] = 0x7d;
  return codes;
}

describe('hashSlot', () => {
  test.each(SLOT_CASES)('%j -> %i', (key, slot) => expect(hashSlot(key)).toBe(slot));
  test.each(SLOT_CASES)('%j -> %i from its chars, not past them', (key, slot) => expect(hashSlotOfCodes(codesOf(key), key.length)).toBe(slot));

  test('an empty tag hashes the whole key, not the empty string', () => {
    expect(hashSlot('foo{}{bar}')).not.toBe(hashSlot(''));
    expect(hashSlot('{}foo')).not.toBe(hashSlot('foo'));
  });
});

describe('SlotCounts', () => {
  test('counts, merges and ranks slots', () => {
    const a = new SlotCounts();
    const b = new SlotCounts();
    for (const k of ['foo', 'foo', 'hello', '{user1000}.a']) a.add(k);
    for (const k of ['user1000', 'hello']) b.add(k);
    a.merge(b);
    expect(a.top(10)).toEqual([{ slot: 866, count: 2 }, { slot: 3443, count: 2 }, { slot: 12182, count: 2 }]);
  });

  test('slots of a hot-key table from its chars equal slots of its keys', () => {
    const t = new TopKeys(100);
    const keys = ['foo', '{user1000}.a', 'x'.repeat(300), 'caf\u00e9', '\u0101{ab}', 'k:{}', ''];
    keys.forEach((k, i) => {
      for (let n = 0; n <= i; n++) t.add(k, 1);
    });
    const byCodes = new SlotCounts();
    t.forEachCodes((codes, n, count) => byCodes.addCodes(codes, n, count));
    const byKeys = new SlotCounts();
    t.forEach((key, count) => byKeys.add(key, count));
    expect(byCodes.top(20)).toEqual(byKeys.top(20));
    expect(byCodes.top(20).reduce((n, r) => n + r.count, 0)).toBe(28);
  });
});
