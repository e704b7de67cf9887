import { describe, expect, test } from 'vitest';
import { ReplyDecoder, type ReplyFrame, type RespLimits, type Violation } from '../src/resp/index.js';
import { bytes, runReplies, threeWays } from './helpers/resp-harness.js';

/** Expected reply; ts are 0 in the three-way runs. */
function R(type: string, count: number, head: string[], wireBytes: number, error: string | null = null): ReplyFrame {
  return { type: type.charCodeAt(0), wireBytes, error, count, head, innerErrors: null, missingBytes: 0, startTsUs: 0, endTsUs: 0 };
}
const V = (offset: number, reason: string): Violation => ({ offset, reason });
const OK = R('+', 0, ['OK'], 5);

interface Case {
  name: string;
  input: string;
  frames: ReplyFrame[];
  limits?: Partial<RespLimits>;
}

const ATTR_EXAMPLE = '|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n';

const cases: Case[] = [
  { name: 'simple string', input: '+OK\r\n', frames: [OK] },
  { name: 'simple error', input: '-ERR unknown command\r\n', frames: [R('-', 0, [], 22, 'ERR unknown command')] },
  { name: 'integers', input: ':1000\r\n:-5\r\n:+5\r\n', frames: [R(':', 0, ['1000'], 7), R(':', 0, ['-5'], 5), R(':', 0, ['+5'], 5)] },
  { name: 'bulk string', input: '$5\r\nhello\r\n', frames: [R('$', 5, [], 11)] },
  { name: 'empty bulk', input: '$0\r\n\r\n', frames: [R('$', 0, [], 6)] },
  { name: 'binary bulk with CRLF inside', input: '$6\r\na\r\nb\r\n\r\n', frames: [R('$', 6, [], 12)] },
  { name: 'RESP2 null bulk', input: '$-1\r\n', frames: [R('$', -1, [], 5)] },
  { name: 'RESP2 null array', input: '*-1\r\n', frames: [R('*', -1, [], 5)] },
  { name: 'RESP3 null', input: '_\r\n', frames: [R('_', 0, [], 3)] },
  {
    name: 'doubles',
    input: ',3.14\r\n,inf\r\n,-inf\r\n,nan\r\n,1e-5\r\n',
    frames: [R(',', 0, ['3.14'], 7), R(',', 0, ['inf'], 6), R(',', 0, ['-inf'], 7), R(',', 0, ['nan'], 6), R(',', 0, ['1e-5'], 7)],
  },
  { name: 'booleans', input: '#t\r\n#f\r\n', frames: [R('#', 0, ['t'], 4), R('#', 0, ['f'], 4)] },
  {
    name: 'big number',
    input: '(3492890328409238509324850943850943825024385\r\n',
    frames: [R('(', 0, ['3492890328409238509324850943850943825024385'], 46)],
  },
  { name: 'blob error', input: '!21\r\nSYNTAX invalid syntax\r\n', frames: [R('!', 21, [], 28, 'SYNTAX invalid syntax')] },
  { name: 'verbatim string', input: '=15\r\ntxt:Some string\r\n', frames: [R('=', 15, [], 22)] },
  {
    name: 'pub/sub message array',
    input: '*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n',
    frames: [R('*', 3, ['message', 'ch', 'hello'], 36)],
  },
  { name: 'nested array gives an empty head entry', input: '*2\r\n*1\r\n:1\r\n+OK\r\n', frames: [R('*', 2, ['', 'OK'], 17)] },
  { name: 'head keeps three elements', input: '*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n', frames: [R('*', 4, ['1', '2', '3'], 20)] },
  {
    name: 'errors and nulls in an array give empty head entries',
    input: '*3\r\n-ERR x\r\n+QUEUED\r\n$-1\r\n*1\r\n_\r\n',
    frames: [{ ...R('*', 3, ['', 'QUEUED', ''], 26), innerErrors: [{ index: 0, text: 'ERR x' }] }, R('*', 1, [''], 7)],
  },
  {
    name: 'an EXEC reply keeps each error element by index, past the three of head',
    input: '*5\r\n+OK\r\n:1\r\n+OK\r\n-WRONGTYPE Operation\r\n!9\r\nMOVED 1 x\r\n',
    frames: [{ ...R('*', 5, ['OK', '1', 'OK'], 55), innerErrors: [{ index: 3, text: 'WRONGTYPE Operation' }, { index: 4, text: 'MOVED 1 x' }] }],
  },
  {
    name: 'errors nested deeper are not elements of the top level',
    input: '*1\r\n*1\r\n-ERR deep\r\n',
    frames: [R('*', 1, [''], 19)],
  },
  { name: 'empty array and map', input: '*0\r\n%0\r\n', frames: [R('*', 0, [], 4), R('%', 0, [], 4)] },
  {
    name: 'map counts keys and values',
    input: '%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n',
    frames: [R('%', 4, ['first', '1', 'second'], 29)],
  },
  { name: 'set', input: '~2\r\n+a\r\n+b\r\n', frames: [R('~', 2, ['a', 'b'], 12)] },
  {
    name: 'push frame',
    input: '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n',
    frames: [R('>', 3, ['message', 'ch', 'hi'], 33)],
  },
  {
    name: 'nested maps',
    input: '%1\r\n+outer\r\n%1\r\n+inner\r\n*2\r\n:1\r\n:2\r\n',
    frames: [R('%', 2, ['outer', ''], 36)],
  },
  {
    name: 'attribute before an array is folded into it',
    input: ATTR_EXAMPLE + '*2\r\n:2039123\r\n:9543892\r\n',
    frames: [R('*', 2, ['2039123', '9543892'], ATTR_EXAMPLE.length + 24)],
  },
  { name: 'attribute before a scalar', input: '|1\r\n+ttl\r\n:3600\r\n+OK\r\n', frames: [R('+', 0, ['OK'], 22)] },
  {
    name: 'attribute inside an array is not an element',
    input: '*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n',
    frames: [R('*', 2, ['1', '2'], 24)],
  },
  {
    name: 'attribute whose value has an attribute',
    input: '|1\r\n+k\r\n|1\r\n+a\r\n+b\r\n+v\r\n$2\r\nhi\r\n',
    frames: [R('$', 2, [], 32)],
  },
  { name: 'empty attribute', input: '|0\r\n:7\r\n', frames: [R(':', 0, ['7'], 8)] },
  {
    // Redis 7.0: a keyspace notification a write inside MULTI causes, on its own RESP3
    // connection, is written inside EXEC's array (audit 9): out of band, not an element.
    name: 'push inside an array is not an element',
    input: '*2\r\n>3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:set\r\n$1\r\na\r\n+OK\r\n$1\r\n1\r\n',
    frames: [R('*', 2, ['OK', '1'], 65)],
  },
  { name: 'a push on its own is a value', input: '>2\r\n+a\r\n:1\r\n+OK\r\n', frames: [R('>', 2, ['a', '1'], 12), OK] },
  {
    name: 'streamed string',
    input: '$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n',
    frames: [R('$', 10, [], 36)],
  },
  { name: 'streamed array', input: '*?\r\n:1\r\n:2\r\n:3\r\n.\r\n', frames: [R('*', 3, ['1', '2', '3'], 19)] },
  { name: 'streamed map', input: '%?\r\n+a\r\n:1\r\n.\r\n', frames: [R('%', 2, ['a', '1'], 15)] },
  { name: 'empty streamed set', input: '~?\r\n.\r\n', frames: [R('~', 0, [], 7)] },
  {
    name: 'streamed array holding an aggregate',
    input: '*?\r\n*2\r\n:1\r\n:2\r\n+x\r\n.\r\n',
    frames: [R('*', 2, ['', 'x'], 23)],
  },
  {
    name: 'streamed string inside an array',
    input: '*2\r\n$?\r\n;2\r\nab\r\n;0\r\n:5\r\n',
    frames: [R('*', 2, ['ab', '5'], 24)],
  },
  {
    name: 'previews cut at argPreviewBytes',
    input: '$5\r\nhello\r\n+abcdef\r\n-ERRORS\r\n*1\r\n$5\r\nworld\r\n!5\r\nERR x\r\n',
    limits: { argPreviewBytes: 3 },
    frames: [
      R('$', 5, [], 11),
      R('+', 0, ['abc'], 9),
      R('-', 0, [], 9, 'ERR'),
      R('*', 1, ['wor'], 15),
      R('!', 5, [], 11, 'ERR'),
    ],
  },
  {
    name: 'streamed string counted across chunks, not previewed',
    input: '$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;0\r\n',
    limits: { argPreviewBytes: 6 },
    frames: [R('$', 9, [], 29)],
  },
  { name: 'nesting at exactly maxDepth', input: '*1\r\n*1\r\n:1\r\n', limits: { maxDepth: 2 }, frames: [R('*', 1, [''], 12)] },
  { name: 'line at exactly maxLineBytes', input: '+abcd\r\n', limits: { maxLineBytes: 4 }, frames: [R('+', 0, ['abcd'], 7)] },
  {
    name: 'pipelined replies in one chunk',
    input: '+OK\r\n$3\r\nxxx\r\n:1\r\n*1\r\n+QUEUED\r\n',
    frames: [OK, R('$', 3, [], 9), R(':', 0, ['1'], 4), R('*', 1, ['QUEUED'], 13)],
  },
  {
    name: 'repeated statuses, empty strings, a status after an attribute',
    input: '+OK\r\n+OK\r\n$0\r\n\r\n+\r\n|1\r\n+k\r\n+v\r\n+OK\r\n',
    frames: [OK, OK, R('$', 0, [], 6), R('+', 0, [''], 3), R('+', 0, ['OK'], 17)],
  },
];

describe('ReplyDecoder cases (whole, byte by byte, split at every offset)', () => {
  test.each(cases)('$name', (c) => {
    const opts = c.limits === undefined ? {} : { limits: c.limits };
    const r = threeWays(bytes(c.input), (chunks) => runReplies(chunks, opts));
    expect(r.frames).toEqual(c.frames);
    expect(r.violations).toEqual([]);
    expect(r.unparsed).toBe(0);
    expect(r.discarding).toBe(false);
  });
});

interface BadCase {
  name: string;
  input: string;
  violation: Violation;
  /** Replies decoded before the bad byte. */
  before?: ReplyFrame[];
  limits?: Partial<RespLimits>;
}

const TRAILER = '+OK\r\n:1\r\n'; // valid bytes after the bad one: discarded until resume()

const bad: BadCase[] = [
  { name: 'bad type byte', input: 'X\r\n', violation: V(0, 'bad type byte') },
  { name: 'bad length after a good reply', input: '+OK\r\n$x\r\n', before: [OK], violation: V(6, 'bad length') },
  { name: 'negative length other than -1', input: '$-2\r\n', violation: V(2, 'bad length') },
  { name: 'leading zero in a length', input: '$01\r\n', violation: V(2, 'bad length') },
  { name: 'null map', input: '%-1\r\n', violation: V(1, 'bad length') },
  { name: 'null verbatim', input: '=-1\r\n', violation: V(1, 'bad length') },
  { name: 'streamed push', input: '>?\r\n', violation: V(1, 'bad length') },
  { name: 'bytes after ?', input: '$?x\r\n', violation: V(2, 'bad length') },
  { name: 'bulk over maxBulkBytes', input: '$11\r\nhello world\r\n', limits: { maxBulkBytes: 10 }, violation: V(2, 'bulk length over limit') },
  {
    name: 'streamed string over maxBulkBytes',
    input: '$?\r\n;6\r\nabcdef\r\n;5\r\n',
    limits: { maxBulkBytes: 10 },
    violation: V(17, 'bulk length over limit'),
  },
  { name: 'array over maxElements', input: '*4\r\n', limits: { maxElements: 3 }, violation: V(1, 'too many elements') },
  { name: 'map pairs over maxElements', input: '%2\r\n', limits: { maxElements: 3 }, violation: V(1, 'too many elements') },
  {
    name: 'streamed array over maxElements',
    input: '*?\r\n:1\r\n:2\r\n:3\r\n.\r\n',
    limits: { maxElements: 2 },
    violation: V(12, 'too many elements'),
  },
  { name: 'nesting over maxDepth', input: '*1\r\n*1\r\n*1\r\n:1\r\n', limits: { maxDepth: 2 }, violation: V(8, 'nesting too deep') },
  { name: 'missing CRLF after a bulk', input: '$3\r\nabcX\r\n', violation: V(7, 'missing CRLF after bulk') },
  { name: 'CR then no LF after a bulk', input: '$3\r\nabc\rX', violation: V(8, 'missing CRLF after bulk') },
  { name: 'CR without LF', input: '+OK\rX', violation: V(4, 'expected LF after CR') },
  { name: 'CR without LF in a length', input: '*1\rX', violation: V(3, 'expected LF after CR') },
  { name: 'LF without CR', input: '+OK\nfoo\r\n', violation: V(3, 'LF without CR') },
  { name: 'letter in an integer', input: ':12a\r\n', violation: V(3, 'bad integer') },
  { name: 'empty integer', input: ':\r\n', violation: V(1, 'bad integer') },
  { name: 'sign-only integer', input: ':-\r\n', violation: V(2, 'bad integer') },
  { name: 'bad boolean', input: '#x\r\n', violation: V(1, 'bad boolean') },
  { name: 'long boolean', input: '#tt\r\n', violation: V(2, 'bad boolean') },
  { name: 'empty boolean', input: '#\r\n', violation: V(1, 'bad boolean') },
  { name: 'null with text', input: '_x\r\n', violation: V(1, 'bad null') },
  { name: 'bad double', input: ',1.5x\r\n', violation: V(4, 'bad double') },
  { name: 'empty double', input: ',\r\n', violation: V(1, 'bad double') },
  { name: 'bad big number', input: '(12x\r\n', violation: V(3, 'bad big number') },
  { name: 'line over maxLineBytes', input: '+abcde\r\n', limits: { maxLineBytes: 4 }, violation: V(5, 'line too long') },
  { name: "'.' at top level", input: '.\r\n', violation: V(0, "unexpected '.'") },
  { name: "'.' in a counted array", input: '*1\r\n.\r\n', violation: V(4, "unexpected '.'") },
  { name: "text after '.'", input: '*?\r\n.x\r\n', violation: V(5, "bad '.' end marker") },
  { name: "';' outside a streamed string", input: ';3\r\nabc\r\n', violation: V(0, 'bad type byte') },
  { name: "no ';' inside a streamed string", input: '$?\r\n+OK\r\n', violation: V(4, "expected ';' in streamed string") },
  { name: 'streamed map ending after a key', input: '%?\r\n+a\r\n.\r\n', violation: V(8, 'streamed map ends after a key') },
];

describe('ReplyDecoder violations: discard until resume(), then decode again', () => {
  test.each(bad)('$name', (c) => {
    const input = bytes(c.input + TRAILER);
    const opts = { ...(c.limits === undefined ? {} : { limits: c.limits }), after: bytes('+OK\r\n') };
    const r = threeWays(input, (chunks) => runReplies(chunks, opts));
    const before = c.before ?? [];
    expect(r.violations).toEqual([c.violation]);
    expect(r.discarding).toBe(true);
    expect(r.frames).toEqual([...before, OK]);
    const framed = before.reduce((n, f) => n + f.wireBytes, 0);
    expect(r.unparsed).toBe(input.length - framed);
  });
});

function collect(limits?: Partial<RespLimits>) {
  const frames: ReplyFrame[] = [];
  const violations: Violation[] = [];
  const dec = new ReplyDecoder((f) => frames.push(f), (v) => violations.push(v), limits);
  return { dec, frames, violations };
}

describe('ReplyDecoder timestamps and state', () => {
  test('start is the push holding the first byte (the attribute), end the completing push', () => {
    const { dec, frames } = collect();
    const b = bytes('|1\r\n+a\r\n+b\r\n*2\r\n:1\r\n:2\r\n+OK\r\n');
    dec.push(b, 0, 6, 10);
    dec.push(b, 6, 14, 20);
    dec.push(b, 20, b.length - 20, 30);
    expect(frames.map((f) => [f.type, f.startTsUs, f.endTsUs])).toEqual([[0x2a, 10, 30], [0x2b, 30, 30]]);
  });

  test('resync() drops a partial reply and discards until resume()', () => {
    const { dec, frames } = collect();
    const a = bytes('*2\r\n:1\r\n');
    dec.push(a, 0, a.length, 0);
    expect(dec.partialFrameBytes).toBe(8);
    dec.resync();
    expect(dec.discarding).toBe(true);
    const b = bytes(':2\r\n+OK\r\n');
    dec.push(b, 0, b.length, 0);
    expect(frames).toEqual([]);
    expect(dec.unparsedBytes).toBe(17);
    dec.resume();
    dec.push(b, 0, b.length, 0);
    expect(frames).toEqual([R(':', 0, ['2'], 4), OK]);
  });

  test('resume() mid-reply starts afresh and counts the partial reply as unparsed', () => {
    const { dec, frames } = collect();
    const a = bytes('$5\r\nhel');
    dec.push(a, 0, a.length, 0);
    dec.resume();
    dec.push(bytes('+OK\r\n'), 0, 5, 0);
    expect(frames).toEqual([OK]);
    expect(dec.unparsedBytes).toBe(7);
  });

  test('end() counts an incomplete reply as unparsed', () => {
    const { dec, frames } = collect();
    const a = bytes('*3\r\n+a\r\n');
    dec.push(a, 0, a.length, 0);
    expect(dec.pendingBytes).toBe(1); // head 'a'
    dec.end();
    expect(frames).toEqual([]);
    expect(dec.unparsedBytes).toBe(a.length);
    expect(dec.pendingBytes).toBe(0);
  });

  test('resume() called from the violation callback cannot loop on the bad byte', () => {
    const frames: ReplyFrame[] = [];
    let violations = 0;
    const dec = new ReplyDecoder((f) => frames.push(f), () => {
      violations++;
      dec.resume();
    });
    const b = bytes('XYZ+OK\r\n');
    dec.push(b, 0, b.length, 0);
    expect(violations).toBe(3);
    expect(frames).toEqual([OK]);
    expect(dec.unparsedBytes).toBe(3);
  });

  test('a throwing callback does not unwind the decoder mid-chunk', () => {
    const heads: string[] = [];
    const dec = new ReplyDecoder((f) => {
      heads.push(f.head[0]!);
      if (heads.length === 1) throw new Error('aggregator bug');
    }, () => {});
    const b = bytes('+A\r\n+B\r\n');
    expect(() => dec.push(b, 0, b.length, 0)).toThrow('aggregator bug');
    expect(heads).toEqual(['A', 'B']);
  });

  test('a 20 MB bulk reply in 1460-byte pushes is counted, not held', () => {
    const SIZE = 20 * 1024 * 1024;
    const head = bytes(`$${SIZE}\r\n`);
    const tail = bytes('\r\n+OK\r\n');
    const total = head.length + SIZE + tail.length;
    const { dec, frames, violations } = collect();
    const seg = new Uint8Array(1460);
    let maxPending = 0;
    for (let off = 0; off < total; off += 1460) {
      const n = Math.min(1460, total - off);
      for (let i = 0; i < n; i++) {
        const k = off + i;
        seg[i] = k < head.length ? head[k]! : k < head.length + SIZE ? 0x7a : tail[k - head.length - SIZE]!;
      }
      dec.push(seg, 0, n, off);
      maxPending = Math.max(maxPending, dec.pendingBytes);
    }
    expect(violations).toEqual([]);
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatchObject({ type: 0x24, count: SIZE, head: [], wireBytes: head.length + SIZE + 2 });
    expect(frames[1]!.head).toEqual(['OK']);
    // Not even a preview of it: a top-level string of bytes is counted only.
    expect(maxPending).toBe(0);
  });
});

describe('limits follow Redis', () => {
  const nested = (depth: number) => '*1\r\n'.repeat(depth) + ':1\r\n';
  test('a reply nested 100 deep (a Lua table) and 10,000 deep (a module) decodes with the default limits', () => {
    for (const depth of [100, 10_000]) {
      const frames: ReplyFrame[] = [];
      const violations: unknown[] = [];
      const dec = new ReplyDecoder((f) => frames.push(f), (v) => violations.push(v));
      const b = Buffer.from(nested(depth) + '+OK\r\n', 'latin1');
      dec.push(b, 0, b.length, 0);
      expect(violations).toEqual([]);
      expect(frames.map((f) => f.wireBytes)).toEqual([depth * 4 + 4, 5]);
    }
  });

  test('past the memory bound (65,536 open levels) it is a violation, not a crash', () => {
    const violations: Array<{ reason: string }> = [];
    const dec = new ReplyDecoder(() => undefined, (v) => violations.push(v));
    const b = Buffer.from(nested(70_000), 'latin1');
    dec.push(b, 0, b.length, 0);
    expect(violations.map((v) => v.reason)).toEqual(['nesting too deep']);
  });

  test('a 600 MB value is framed when the limit follows a server whose proto-max-bulk-len allows it', () => {
    const head = Buffer.from('$629145600\r\n', 'latin1');
    for (const [limit, ok] of [[undefined, false], [1024 * 1024 * 1024, true]] as const) {
      const violations: unknown[] = [];
      const dec = new ReplyDecoder(() => undefined, (v) => violations.push(v), limit === undefined ? {} : { maxBulkBytes: limit });
      dec.push(head, 0, head.length, 0);
      expect(violations.length === 0).toBe(ok);
    }
  });
});
