import { describe, expect, test } from 'vitest';
import { RequestDecoder, type RequestFrame, type RespLimits, type Violation } from '../src/resp/index.js';
import { bytes, mb, runRequests, threeWays } from './helpers/resp-harness.js';

/** Expected frame; ts are 0 in the three-way runs. */
function F(args: string[], wireBytes: number, more: Partial<RequestFrame> = {}): RequestFrame {
  return {
    argc: args.length,
    args,
    argLens: args.map((a) => a.length),
    wireBytes,
    inline: false,
    missingBytes: 0,
    startTsUs: 0,
    endTsUs: 0,
    ...more,
  };
}
const I = (args: string[], wireBytes: number, more: Partial<RequestFrame> = {}): RequestFrame =>
  F(args, wireBytes, { inline: true, ...more });
const V = (offset: number, reason: string): Violation => ({ offset, reason });

interface Case {
  name: string;
  input: string;
  frames: RequestFrame[];
  violations?: Violation[];
  unparsed?: number;
  ignored?: number;
  limits?: Partial<RespLimits>;
  resyncFirst?: boolean;
}

const PING = mb('PING'); // 14 bytes
const MANY_KEYS = Array.from({ length: 99 }, (_, i) => `key:${i}`);
const PING_F = F(['PING'], 14);

const cases: Case[] = [
  // Multibulk requests.
  { name: 'SET with three args', input: mb('SET', 'key', 'value'), frames: [F(['SET', 'key', 'value'], 33)] },
  {
    name: 'pipelined requests in one chunk',
    input: mb('SET', 'k', 'v') + mb('GET', 'k') + PING,
    frames: [F(['SET', 'k', 'v'], 27), F(['GET', 'k'], 20), PING_F],
  },
  { name: 'binary value with CRLF inside', input: mb('ECHO', 'a\r\nb\r\n'), frames: [F(['ECHO', 'a\r\nb\r\n'], 26)] },
  { name: 'empty bulk', input: mb('ECHO', ''), frames: [F(['ECHO', ''], 20)] },
  { name: 'non-ASCII bytes as latin1', input: mb('SET', 'k', '\x00\xff\x80'), frames: [F(['SET', 'k', '\x00\xff\x80'], 29)] },
  { name: '*0 and *-1 are ignored like Redis', input: '*0\r\n*-1\r\n' + PING, frames: [PING_F], ignored: 9 },
  {
    name: 'value longer than the preview keeps its full length',
    input: mb('SET', 'k', 'x'.repeat(300)),
    frames: [F(['SET', 'k', 'x'.repeat(256)], 328, { argLens: [3, 1, 300] })],
  },
  {
    name: 'previews cut at argPreviewBytes',
    input: mb('SET', '0123456789', 'ab'),
    limits: { argPreviewBytes: 4 },
    frames: [F(['SET', '0123', 'ab'], 38, { argLens: [3, 10, 2] })],
  },
  {
    name: 'only maxArgsKept args kept, argc counts all',
    input: mb('MSET', 'a', '1', 'b', '2'),
    limits: { maxArgsKept: 2 },
    frames: [F(['MSET', 'a'], 42, { argc: 5, argLens: [4, 1] })],
  },
  {
    name: 'more args than the slots allocated up front',
    input: mb('DEL', ...MANY_KEYS),
    limits: { maxArgsKept: 70 },
    frames: [F(['DEL', ...MANY_KEYS.slice(0, 69)], mb('DEL', ...MANY_KEYS).length, { argc: 100 })],
  },
  { name: 'maxArgsKept 0', input: PING, limits: { maxArgsKept: 0 }, frames: [F([], 14, { argc: 1 })] },
  // Inline commands.
  { name: 'inline with CRLF', input: 'PING\r\n', frames: [I(['PING'], 6)] },
  { name: 'inline with bare LF', input: 'PING\n', frames: [I(['PING'], 5)] },
  { name: 'inline quotes', input: `SET "a b" 'c\\'d'\r\n`, frames: [I(['SET', 'a b', "c'd"], 18)] },
  {
    name: 'inline double-quote escapes',
    input: 'ECHO "\\x41\\n\\t\\\\\\"\\a\\b\\r\\q\\xZZ"\r\n',
    frames: [I(['ECHO', 'A\n\t\\"\x07\x08\rqxZZ'], 33)],
  },
  { name: 'inline whitespace runs', input: '  GET \t key  \r\n', frames: [I(['GET', 'key'], 15)] },
  { name: 'quote opened inside a word', input: 'SET k"v w"\r\n', frames: [I(['SET', 'kv w'], 12)] },
  { name: 'empty quoted argument', input: 'SET k ""\r\n', frames: [I(['SET', 'k', ''], 10)] },
  { name: 'NUL ends the inline line like a C string', input: 'GET a\x00b c\r\n', frames: [I(['GET', 'a'], 11)] },
  { name: 'empty lines make no request', input: '\r\n\n   \r\nPING\r\n', frames: [I(['PING'], 6)], ignored: 8 },
  {
    name: 'inline previews and maxArgsKept',
    input: 'HELLO world again\r\n',
    limits: { argPreviewBytes: 2, maxArgsKept: 2 },
    frames: [I(['HE', 'wo'], 19, { argc: 3, argLens: [5, 5] })],
  },
  {
    name: 'inline line exactly at maxLineBytes',
    input: 'ABCDEFGH\r\n' + PING,
    limits: { maxLineBytes: 9 },
    frames: [I(['ABCDEFGH'], 10), PING_F],
  },
  // Violations, each followed by a request that must be decoded.
  {
    name: 'unbalanced double quote',
    input: 'SET "abc\r\nPING\r\n',
    frames: [I(['PING'], 6)],
    violations: [V(8, 'unbalanced quotes in inline request')],
    unparsed: 10,
  },
  {
    name: 'closing quote followed by a non-space',
    input: 'GET "a"b\r\n' + PING,
    frames: [PING_F],
    violations: [V(7, 'unbalanced quotes in inline request')],
    unparsed: 10,
  },
  {
    name: 'unbalanced single quote',
    input: "GET 'a\n" + PING,
    frames: [PING_F],
    violations: [V(6, 'unbalanced quotes in inline request')],
    unparsed: 7,
  },
  {
    name: "bad byte where '$' expected",
    input: '*2\r\n$3\r\nGET\r\nX3\r\nkey\r\n' + PING,
    frames: [PING_F],
    violations: [V(13, "expected '$'")],
    unparsed: 22,
  },
  {
    name: "a new request where '$' expected is found again",
    input: '*2\r\n$3\r\nGET\r\n' + PING,
    frames: [PING_F],
    violations: [V(13, "expected '$'")],
    unparsed: 13,
  },
  {
    name: 'non-digit in the count',
    input: '*2x\r\n' + PING,
    frames: [PING_F],
    violations: [V(2, 'invalid multibulk length')],
    unparsed: 5,
  },
  {
    name: 'non-digit in a bulk length',
    input: '*1\r\n$x\r\n' + PING,
    frames: [PING_F],
    violations: [V(5, 'invalid bulk length')],
    unparsed: 8,
  },
  {
    name: 'leading zero in the count',
    input: '*01\r\n' + PING,
    frames: [PING_F],
    violations: [V(2, 'invalid multibulk length')],
    unparsed: 5,
  },
  {
    name: 'negative bulk length',
    input: '*1\r\n$-1\r\n' + PING,
    frames: [PING_F],
    violations: [V(5, 'invalid bulk length')],
    unparsed: 9,
  },
  {
    name: 'bulk length over maxBulkBytes',
    input: '*1\r\n$11\r\nhello world\r\n' + PING,
    limits: { maxBulkBytes: 10 },
    frames: [PING_F],
    violations: [V(6, 'bulk length over limit')],
    unparsed: 22,
  },
  {
    name: 'count over maxElements',
    input: '*4\r\n$1\r\na\r\n' + PING,
    limits: { maxElements: 3 },
    frames: [PING_F],
    violations: [V(1, 'multibulk length over limit')],
    unparsed: 11,
  },
  {
    name: 'missing CRLF after a bulk',
    input: '*1\r\n$3\r\nGETX\r\n' + PING,
    frames: [PING_F],
    violations: [V(11, 'missing CRLF after bulk')],
    unparsed: 14,
  },
  {
    name: 'CR without LF after a bulk',
    input: '*1\r\n$3\r\nGET\rX\n' + PING,
    frames: [PING_F],
    violations: [V(12, 'missing CRLF after bulk')],
    unparsed: 14,
  },
  {
    name: 'CR without LF in the count line',
    input: '*1\rX\n' + PING,
    frames: [PING_F],
    violations: [V(3, 'expected LF after CR')],
    unparsed: 5,
  },
  {
    name: 'inline line over maxLineBytes',
    input: 'GETXXXXXXXXXX\r\n' + PING,
    limits: { maxLineBytes: 8 },
    frames: [PING_F],
    violations: [V(8, 'inline request too long')],
    unparsed: 15,
  },
  // Resync scanning, as for a connection joined mid-stream.
  {
    name: 'joined mid-value finds the next request',
    input: 'lue-of-a-big-value\r\n' + mb('GET', 'k'),
    resyncFirst: true,
    frames: [F(['GET', 'k'], 20)],
    unparsed: 20,
  },
  {
    name: 'a bulk header after LF is not a boundary',
    input: '3\r\nkey\r\n$5\r\nvalue\r\n' + PING,
    resyncFirst: true,
    frames: [PING_F],
    unparsed: 19,
  },
  {
    name: "a count line followed by '*' restarts the match there",
    input: 'x\n*3\r\n' + PING,
    resyncFirst: true,
    frames: [PING_F],
    unparsed: 6,
  },
  {
    name: 'ten count digits are not a boundary',
    input: 'x\n*1234567890\r\n$1\r\na\r\n' + PING,
    resyncFirst: true,
    frames: [PING_F],
    unparsed: 22,
  },
  { name: 'a zero count is not a boundary', input: 'x\n*0\r\n$1\r\n' + PING, resyncFirst: true, frames: [PING_F], unparsed: 10 },
  { name: 'a request at the first byte after resync', input: PING + PING, resyncFirst: true, frames: [PING_F, PING_F] },
  {
    name: 'a count over maxElements is not a boundary',
    input: 'x\n*9\r\n$1\r\na\r\n' + PING,
    resyncFirst: true,
    limits: { maxElements: 8 },
    frames: [PING_F],
    unparsed: 13,
  },
  {
    name: 'found boundary that turns out bad is scanned past again',
    input: 'x\n*2\r\n$3\r\nGET\r\nX\r\n' + PING,
    resyncFirst: true,
    frames: [PING_F],
    violations: [V(15, "expected '$'")],
    unparsed: 18,
  },
  {
    name: 'a partial boundary match at the end is unparsed',
    input: 'xx\n*2\r',
    resyncFirst: true,
    frames: [],
    unparsed: 6,
  },
  { name: 'an incomplete request at the end is unparsed', input: '*2\r\n$3\r\nGET\r\n$1\r\n', frames: [], unparsed: 17 },
];

describe('RequestDecoder cases (whole, byte by byte, split at every offset)', () => {
  test.each(cases)('$name', (c) => {
    const opts = {
      ...(c.limits === undefined ? {} : { limits: c.limits }),
      ...(c.resyncFirst === undefined ? {} : { resyncFirst: c.resyncFirst }),
    };
    const r = threeWays(bytes(c.input), (chunks) => runRequests(chunks, opts));
    expect(r.frames).toEqual(c.frames);
    expect(r.violations).toEqual(c.violations ?? []);
    expect(r.unparsed).toBe(c.unparsed ?? 0);
    expect(r.ignored).toBe(c.ignored ?? 0);
  });
});

function collect(limits?: Partial<RespLimits>) {
  const frames: RequestFrame[] = [];
  const violations: Violation[] = [];
  const dec = new RequestDecoder((f) => frames.push(f), (v) => violations.push(v), limits);
  return { dec, frames, violations };
}

describe('RequestDecoder timestamps', () => {
  test('start is the push holding the first byte, end the push completing the frame', () => {
    const { dec, frames } = collect();
    const b = bytes(PING + mb('GET', 'k'));
    dec.push(b, 0, 5, 100); // '*1\r\n$'
    dec.push(b, 5, 17, 200); // rest of PING and the first 8 bytes of GET
    dec.push(b, 22, b.length - 22, 300);
    expect(frames.map((f) => [f.startTsUs, f.endTsUs])).toEqual([[100, 200], [200, 300]]);
  });

  test('inline line across pushes', () => {
    const { dec, frames } = collect();
    const b = bytes('GET key\r\n');
    dec.push(b, 0, 4, 7);
    dec.push(b, 4, 5, 9);
    expect(frames).toEqual([I(['GET', 'key'], 9, { startTsUs: 7, endTsUs: 9 })]);
  });

  test('a boundary found by resync scanning starts at its own push', () => {
    const { dec, frames } = collect();
    dec.resync();
    const b = bytes('junk\n*1\r');
    dec.push(b, 0, b.length, 10);
    const c = bytes('\n$4\r\nPING\r\n');
    dec.push(c, 0, c.length, 20);
    expect(frames).toEqual([F(['PING'], 14, { startTsUs: 10, endTsUs: 20 })]);
    expect(dec.unparsedBytes).toBe(5);
  });
});

describe('RequestDecoder state and accounting', () => {
  test('pendingBytes holds previews of an incomplete request; end() counts it as unparsed', () => {
    const { dec, frames } = collect();
    const b = bytes('*2\r\n$3\r\nGET\r\n$5\r\nab');
    dec.push(b, 0, b.length, 0);
    expect(dec.pendingBytes).toBe(5); // 'GET' + 'ab'
    expect(dec.partialFrameBytes).toBe(b.length);
    dec.end();
    expect(frames).toEqual([]);
    expect(dec.unparsedBytes).toBe(b.length);
    expect(dec.pendingBytes).toBe(0);
  });

  test('resync() mid-request drops it and scans on', () => {
    const { dec, frames } = collect();
    const a = bytes('*2\r\n$3\r\nGET\r\n$5\r\nab');
    dec.push(a, 0, a.length, 0);
    dec.resync();
    const b = bytes('cde\r\n' + PING);
    dec.push(b, 0, b.length, 0);
    expect(frames).toEqual([PING_F]);
    expect(dec.unparsedBytes).toBe(a.length + 5);
  });

  test('a chunk start is a boundary, a position mid-chunk after no LF is not', () => {
    const split = collect();
    split.dec.resync();
    split.dec.push(bytes('ab'), 0, 2, 0);
    split.dec.push(bytes(PING), 0, 14, 0);
    expect(split.frames).toEqual([PING_F]);
    const whole = collect();
    whole.dec.resync();
    whole.dec.push(bytes('ab' + PING), 0, 16, 0);
    whole.dec.end();
    expect(whole.frames).toEqual([]);
    expect(whole.dec.unparsedBytes).toBe(16);
  });

  test('off/len select the bytes; odd arguments never throw', () => {
    const { dec, frames } = collect();
    const b = bytes('xx' + PING + 'yy');
    dec.push(b, 2, 14, 0);
    expect(frames).toEqual([PING_F]);
    dec.push(b, -5, 0, 0);
    dec.push(b, Number.NaN, Number.NaN, 0);
    dec.push(b, 100, 5, 0);
    dec.push(new Uint8Array(0), 0, 10, 0);
    expect(dec.streamOffset).toBe(14);
    dec.push(b, 2, 1e9, 0); // clamped to the end of b: PING then 'yy' (an incomplete inline line)
    expect(frames).toEqual([PING_F, PING_F]);
    expect(dec.streamOffset).toBe(30);
    expect(dec.pendingBytes).toBe(2);
  });

  test('a throwing callback does not unwind the decoder mid-chunk', () => {
    const seen: string[] = [];
    const dec = new RequestDecoder((f) => {
      seen.push(f.args[0]!);
      if (seen.length === 1) throw new Error('aggregator bug');
    }, () => {});
    const b = bytes(mb('GET', 'a') + PING);
    expect(() => dec.push(b, 0, b.length, 0)).toThrow('aggregator bug');
    expect(seen).toEqual(['GET', 'PING']);
    expect(dec.partialFrameBytes).toBe(0);
    dec.push(b, 0, b.length, 0);
    expect(seen).toEqual(['GET', 'PING', 'GET', 'PING']);
  });

  test('resync() called from inside the callback takes effect at the next byte', () => {
    const frames: RequestFrame[] = [];
    const dec = new RequestDecoder((f) => {
      frames.push(f);
      if (frames.length === 1) dec.resync();
    }, () => {});
    // After the first request, 'zz\r\n' is skipped by the scanner instead of read inline.
    const b = bytes(PING + 'zz\r\n' + PING);
    dec.push(b, 0, b.length, 0);
    expect(frames).toEqual([PING_F, PING_F]);
    expect(dec.unparsedBytes).toBe(4);
  });
});

describe('RequestDecoder large values', () => {
  test('a 50 MB SET value in 1460-byte pushes is counted, not held', () => {
    const VALUE = 50 * 1024 * 1024;
    const head = bytes(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${VALUE}\r\n`);
    const tail = bytes('\r\n' + PING);
    const total = head.length + VALUE + tail.length;
    const byteAt = (i: number): number =>
      i < head.length ? head[i]! : i < head.length + VALUE ? 0x76 : tail[i - head.length - VALUE]!;
    const { dec, frames, violations } = collect();
    const seg = new Uint8Array(1460);
    let maxPending = 0;
    for (let off = 0; off < total; off += 1460) {
      const n = Math.min(1460, total - off);
      for (let i = 0; i < n; i++) seg[i] = byteAt(off + i);
      dec.push(seg, 0, n, off);
      maxPending = Math.max(maxPending, dec.pendingBytes);
    }
    expect(violations).toEqual([]);
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatchObject({
      argc: 3,
      args: ['SET', 'big', 'v'.repeat(256)],
      argLens: [3, 3, VALUE],
      wireBytes: head.length + VALUE + 2,
      startTsUs: 0,
    });
    expect(frames[0]!.endTsUs).toBe(Math.floor((head.length + VALUE + 1) / 1460) * 1460);
    expect(frames[1]!.args).toEqual(['PING']);
    // Held: 'SET' + 'big' + the 256-byte preview, whatever the value size.
    expect(maxPending).toBe(3 + 3 + 256);
    expect(dec.unparsedBytes).toBe(0);
  });
});
