import { describe, expect, test } from 'vitest';
import { Preview } from '../src/resp/preview.js';
import { WholeBulk } from '../src/resp/whole-bulk.js';

const enc = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe('WholeBulk: the fast path finds only whole, plain bulk strings', () => {
  // [wire, max, found value or null]; the wire starts 2 bytes into the array and is followed by
  // one more byte, so the scan must respect both ends of the chunk.
  test.each<[string, number, string | null]>([
    ['$3\r\nabc\r\n', 512, 'abc'],
    ['$0\r\n\r\n', 512, ''],
    ['$12\r\nhello\r\nworld\r\n', 512, 'hello\r\nworld'],
    ['$10\r\n0123456789\r\n', 10, '0123456789'],
    ['$11\r\n0123456789a\r\n', 10, null], // over max
    ['$03\r\nabc\r\n', 512, null], // leading zero: left to the byte-by-byte states
    ['$-1\r\n', 512, null],
    ['$?\r\n', 512, null],
    ['$\r\n', 512, null],
    ['$3\r\nabcd\r\n', 512, null], // no CRLF where the length says
    ['$3\nabc\r\n', 512, null],
    ['$3\r\nabc\r', 512, null], // cut before its last byte
    ['$3\r\nab', 512, null],
    ['$99999999999999999999\r\n', 512, null],
  ])('%j (max %i)', (wire, max, value) => {
    const d = enc('xx' + wire + 'y');
    const b = new WholeBulk();
    const e = d.length - 1;
    expect(b.find(d, 2, e, max)).toBe(value !== null);
    if (value === null) return;
    expect(Buffer.from(d.subarray(b.start, b.start + b.len)).toString('latin1')).toBe(value);
    expect(b.end).toBe(2 + wire.length);
  });

  test('a chunk that ends inside the value is not whole, at every cut', () => {
    const d = enc('$5\r\nhello\r\n');
    const b = new WholeBulk();
    for (let e = 0; e < d.length; e++) expect(b.find(d, 0, e, 512)).toBe(false);
    expect(b.find(d, 0, d.length, 512)).toBe(true);
  });
});

describe('Preview: the first bytes of a value, over any chunks', () => {
  test('keeps at most the limit, whatever the chunking', () => {
    const value = enc('abcdefghijklmnopqrstuvwxyz');
    for (const limit of [0, 1, 5, 26, 40]) {
      for (let cut = 0; cut <= value.length; cut++) {
        const p = new Preview();
        p.start(limit);
        p.keep(value, 0, cut);
        p.keep(value, cut, value.length);
        expect(p.take()).toBe('abcdefghijklmnopqrstuvwxyz'.slice(0, limit));
        expect(p.text).toBe('');
      }
    }
  });

  test('start() and clear() forget what was kept; keep() after clear() keeps nothing', () => {
    const p = new Preview();
    p.start(4);
    p.keep(enc('ab'), 0, 2);
    p.start(4);
    p.keep(enc('cd'), 0, 2);
    expect(p.text).toBe('cd');
    p.clear();
    p.keep(enc('ef'), 0, 2);
    expect(p.take()).toBe('');
  });

  test('bytes above 127 come back as latin1 chars, one per byte', () => {
    const p = new Preview();
    p.start(8);
    p.keep(new Uint8Array([0x00, 0xff, 0x80, 0x0d, 0x0a]), 0, 5);
    expect([...p.take()].map((c) => c.charCodeAt(0))).toEqual([0x00, 0xff, 0x80, 0x0d, 0x0a]);
  });
});
