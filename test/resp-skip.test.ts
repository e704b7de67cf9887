/**
 * A gap inside a value of known length and its CRLF: both decoders skip the missing bytes and
 * still frame the request or reply (`missingBytes`: the value's bytes lost); a gap that reaches
 * other framing is refused (false), and the caller resyncs, after the request or reply whose
 * last value it cut is framed (a snap length cuts a value's tail, its CRLF and what follows in
 * the packet). Each case cuts the stream at a point, drops n bytes, and pushes the rest whole
 * and byte by byte.
 */
import { describe, expect, test } from 'vitest';
import { ReplyDecoder, RequestDecoder, type ReplyFrame, type RequestFrame, type Violation } from '../src/resp/index.js';
import { bytes, mb } from './helpers/resp-harness.js';

interface Case {
  name: string;
  wire: string;
  /** Bytes pushed before the gap. */
  before: number;
  /** Bytes lost. */
  lost: number;
  /** Whether skip() accepts the gap. */
  skips: boolean;
  /** Value bytes lost (missingBytes of the cut frame); `lost` unless the gap takes framing bytes too. */
  missing?: number;
  /** Requests framed when it does not (the decoder resyncs at the next boundary). */
  refused?: string[];
}

const VALUE = 'v'.repeat(100);
const SET = mb('SET', 'k', VALUE) + mb('GET', 'k');
const setValueAt = SET.indexOf(VALUE);
const SETEX = mb('SET', 'k', VALUE, 'EX', '9') + mb('GET', 'k');

const requestCases: Case[] = [
  { name: 'inside the value', wire: SET, before: setValueAt + 10, lost: 50, skips: true },
  { name: 'from the value start', wire: SET, before: setValueAt, lost: 30, skips: true },
  { name: 'up to the value end: its CRLF comes next', wire: SET, before: setValueAt + 40, lost: 60, skips: true },
  { name: 'the value end and its CR: its LF comes next', wire: SET, before: setValueAt + 40, lost: 61, skips: true, missing: 60 },
  { name: 'the value end and its CRLF (a snap length)', wire: SET, before: setValueAt + 40, lost: 62, skips: true, missing: 60 },
  { name: 'only the CRLF: the value is whole', wire: SET, before: setValueAt + 100, lost: 2, skips: true, missing: 0 },
  { name: 'past the last argument: the SET is framed, the GET lost in the hole', wire: SET, before: setValueAt + 40, lost: 66, skips: false, refused: ['SET'] },
  { name: 'past an argument that is not the last: nothing framed until the GET', wire: SETEX, before: SETEX.indexOf(VALUE) + 40, lost: 66, skips: false, refused: ['GET'] },
  { name: 'inside a length line', wire: SET, before: setValueAt - 3, lost: 2, skips: false, refused: ['GET'] },
  { name: 'at a request boundary: the GET loses its header', wire: SET, before: SET.indexOf('*2'), lost: 4, skips: false, refused: ['SET'] },
];

function runRequestGap(c: Case, byteByByte: boolean): { frames: RequestFrame[]; violations: Violation[]; skipped: boolean; dec: RequestDecoder } {
  const frames: RequestFrame[] = [];
  const violations: Violation[] = [];
  const dec = new RequestDecoder((f) => frames.push(f), (v) => violations.push(v));
  const b = bytes(c.wire);
  const push = (s: number, e: number) => {
    if (!byteByByte) return dec.push(b, s, e - s, 0);
    for (let i = s; i < e; i++) dec.push(b, i, 1, 0);
  };
  push(0, c.before);
  const skipped = dec.skip(c.lost);
  if (!skipped) dec.resync();
  push(c.before + c.lost, b.length);
  return { frames, violations, skipped, dec };
}

describe('RequestDecoder.skip', () => {
  test.each(requestCases.flatMap((c) => [{ ...c, bbb: false }, { ...c, bbb: true }]))('$name (byte by byte: $bbb)', (c) => {
    const r = runRequestGap(c, c.bbb);
    expect(r.skipped).toBe(c.skips);
    expect(r.violations).toEqual([]);
    if (c.skips) {
      expect(r.frames.map((f) => f.args[0])).toEqual(['SET', 'GET']);
      expect(r.frames[0]).toMatchObject({ argc: 3, argLens: [3, 1, 100], missingBytes: c.missing ?? c.lost, wireBytes: mb('SET', 'k', VALUE).length });
      // The preview stops at the hole: it stays a prefix of the value, never stitched across it.
      expect(VALUE.startsWith(r.frames[0]!.args[2]!)).toBe(true);
      if (c.missing === 0) expect(r.frames[0]!.args[2]).toBe(VALUE);
      expect(r.frames[1]!.missingBytes).toBe(0);
      expect(r.dec.streamOffset).toBe(SET.length);
      expect(r.dec.unparsedBytes).toBe(0);
    } else {
      expect(r.frames.map((f) => f.args[0])).toEqual(c.refused);
      const cut = r.frames.find((f) => f.args[0] === 'SET' && f.missingBytes > 0);
      if (c.refused?.includes('SET') === true && c.lost > 4) expect(cut).toMatchObject({ argc: 3, argLens: [3, 1, 100], missingBytes: 60, wireBytes: mb('SET', 'k', VALUE).length });
    }
  });
});

const BIG = `$${VALUE.length}\r\n${VALUE}\r\n`;
const EXEC = `*2\r\n+OK\r\n${BIG}`;
const STREAMED = `$?\r\n;100\r\n${VALUE}\r\n;0\r\n`;
/** `framed`: replies framed when the gap is refused (the cut one, before the resync). */
const replyCases: Array<Case & { framed?: number }> = [
  { name: 'inside a bulk reply', wire: BIG + '+OK\r\n', before: 20, lost: 40, skips: true },
  { name: 'inside a bulk element of an array', wire: EXEC + '+OK\r\n', before: EXEC.indexOf('vvv') + 5, lost: 90, skips: true },
  { name: 'inside a streamed-string chunk', wire: STREAMED + '+OK\r\n', before: 30, lost: 50, skips: true },
  { name: 'a bulk reply\'s tail and its CRLF (a snap length)', wire: BIG + '+OK\r\n', before: 20, lost: 88, skips: true, missing: 86 },
  { name: 'a bulk reply\'s tail and its CR', wire: BIG + '+OK\r\n', before: 20, lost: 87, skips: true, missing: 86 },
  { name: 'an element\'s tail and its CRLF', wire: EXEC + '+OK\r\n', before: EXEC.indexOf('vvv') + 5, lost: 97, skips: true, missing: 95 },
  { name: 'a streamed chunk\'s tail and its CRLF', wire: STREAMED + '+OK\r\n', before: 30, lost: 82, skips: true, missing: 80 },
  { name: 'past a bulk reply: it is framed, then the hole is refused', wire: BIG + '+OK\r\n', before: 20, lost: 90, skips: false, framed: 1 },
  { name: 'past an element: refused, nothing framed', wire: EXEC + '+OK\r\n', before: EXEC.indexOf('vvv') + 5, lost: 99, skips: false },
  { name: 'past a streamed chunk: refused, nothing framed', wire: STREAMED + '+OK\r\n', before: 30, lost: 92, skips: false },
  { name: 'in a type line', wire: '+OK\r\n' + BIG + '+OK\r\n', before: 1, lost: 1, skips: false },
];

describe('ReplyDecoder.skip', () => {
  test.each(replyCases.flatMap((c) => [{ ...c, bbb: false }, { ...c, bbb: true }]))('$name (byte by byte: $bbb)', (c) => {
    const frames: ReplyFrame[] = [];
    const violations: Violation[] = [];
    const dec = new ReplyDecoder((f) => frames.push(f), (v) => violations.push(v));
    const b = bytes(c.wire);
    const push = (s: number, e: number) => {
      if (!c.bbb) return dec.push(b, s, e - s, 0);
      for (let i = s; i < e; i++) dec.push(b, i, 1, 0);
    };
    push(0, c.before);
    const skipped = dec.skip(c.lost);
    expect(skipped).toBe(c.skips);
    if (!skipped) dec.resync();
    push(c.before + c.lost, b.length);
    expect(violations).toEqual([]);
    if (c.skips) {
      expect(frames).toHaveLength(2);
      expect(frames[0]!.missingBytes).toBe(c.missing ?? c.lost);
      expect(frames[0]!.wireBytes).toBe(c.wire.length - 5);
      expect(frames[1]).toMatchObject({ head: ['OK'], missingBytes: 0 });
      expect(dec.unparsedBytes).toBe(0);
    } else if (c.framed === 1) {
      expect(frames).toHaveLength(1);
      expect(frames[0]).toMatchObject({ count: 100, missingBytes: 86, wireBytes: BIG.length });
    } else {
      expect(frames).toEqual([]);
    }
  });
});
