/** Redis Cluster key slots, against values `CLUSTER KEYSLOT` gives and the spec's CRC16 check value. */
import { describe, expect, test } from 'vitest';
import { hashSlot, SlotCounts } from '../src/analysis/hash-slots.js';

describe('hashSlot', () => {
  test.each([
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
  ])('%j -> %i', (key, slot) => expect(hashSlot(key)).toBe(slot));

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
});
