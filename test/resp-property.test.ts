import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  ReplyDecoder,
  RequestDecoder,
  type ReplyFrame,
  type RequestFrame,
  type RespLimits,
} from '../src/resp/index.js';
import { bytes, cut, runReplies, runRequests } from './helpers/resp-harness.js';

// RESP_PROP_RUNS=5000 for a longer local soak.
const RUNS = { numRuns: Number(process.env['RESP_PROP_RUNS'] ?? 300) };

const byteString = (max: number): fc.Arbitrary<string> =>
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: max }).map((a) => String.fromCharCode(...a));
/** Text of a single-line value: any byte but CR and LF. */
const lineString = (max: number): fc.Arbitrary<string> =>
  fc.array(fc.integer({ min: 0, max: 255 }).filter((c) => c !== 10 && c !== 13), { maxLength: max })
    .map((a) => String.fromCharCode(...a));
const cuts = fc.array(fc.nat({ max: 4000 }), { maxLength: 12 });

// ---------------------------------------------------------------- requests

interface Req {
  wire: string;
  args: string[];
  inline: boolean;
}

const multibulk: fc.Arbitrary<Req> = fc.array(byteString(40), { minLength: 1, maxLength: 6 }).map((args) => ({
  wire: `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join(''),
  args,
  inline: false,
}));

/** A double-quoted inline argument: printable bytes as they are, others as \xHH. */
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else out += '\\x' + c.toString(16).padStart(2, '0');
  }
  return out + '"';
}

const inlineArg = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9:_.-]{1,12}$/).map((s) => ({ wire: s, value: s })),
  byteString(12).map((s) => ({ wire: quote(s), value: s })),
);

const inline: fc.Arbitrary<Req> = fc
  .record({
    args: fc.array(inlineArg, { minLength: 1, maxLength: 5 }),
    sep: fc.constantFrom(' ', '  ', '\t', ' \t '),
    eol: fc.constantFrom('\r\n', '\n'),
  })
  .map(({ args, sep, eol }) => ({
    wire: args.map((a) => a.wire).join(sep) + eol,
    args: args.map((a) => a.value),
    inline: true,
  }));

const limitSets: fc.Arbitrary<Partial<RespLimits>> = fc.constantFrom({}, { argPreviewBytes: 5, maxArgsKept: 2 }, { argPreviewBytes: 0 });

function expectedRequest(r: Req, lim: Partial<RespLimits>): RequestFrame {
  const kept = r.args.slice(0, lim.maxArgsKept ?? 4096);
  return {
    argc: r.args.length,
    args: kept.map((a) => a.slice(0, lim.argPreviewBytes ?? 256)),
    argLens: kept.map((a) => a.length),
    wireBytes: r.wire.length,
    inline: r.inline,
    missingBytes: 0,
    startTsUs: 0,
    endTsUs: 0,
  };
}

describe('RequestDecoder properties', () => {
  test('random valid requests decode to what was encoded, whole and chunked at random', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(multibulk, inline), { minLength: 1, maxLength: 8 }), limitSets, cuts, (reqs, limits, at) => {
        const b = bytes(reqs.map((r) => r.wire).join(''));
        const want = reqs.map((r) => expectedRequest(r, limits));
        const whole = runRequests([b], { limits });
        expect(whole).toEqual({ frames: want, violations: [], unparsed: 0, ignored: 0 });
        expect(runRequests(cut(b, at), { limits })).toEqual(whole);
      }),
      RUNS,
    );
  });

  test('random bytes, alone or after valid requests: no throw, every byte accounted for', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(multibulk, inline), { maxLength: 4 }),
        fc.uint8Array({ maxLength: 1500 }),
        cuts,
        fc.boolean(),
        (reqs, junk, at, resyncFirst) => {
          const limits = { maxLineBytes: 200, argPreviewBytes: 8, maxArgsKept: 4, maxBulkBytes: 4096 };
          // The valid requests fit the limits; random bytes hit them.
          fc.pre(reqs.every((r) => r.wire.length <= limits.maxLineBytes));
          const prefix = bytes(reqs.map((r) => r.wire).join(''));
          const b = Buffer.concat([prefix, junk]);
          const frames: RequestFrame[] = [];
          const dec = new RequestDecoder((f) => frames.push(f), () => {}, limits);
          if (resyncFirst) dec.resync();
          for (const c of cut(b, at)) {
            dec.push(c, 0, c.length, 0);
            // Held bytes stay within one line plus the kept previews.
            expect(dec.pendingBytes).toBeLessThanOrEqual(200 + 4 * 8 + 8);
          }
          dec.end();
          const framed = frames.reduce((n, f) => n + f.wireBytes, 0);
          expect(framed + dec.ignoredBytes + dec.unparsedBytes).toBe(b.length);
          expect(dec.streamOffset).toBe(b.length);
          if (!resyncFirst) {
            const want = reqs.map((r) => expectedRequest(r, limits));
            expect(frames.slice(0, want.length)).toEqual(want);
          }
        },
      ),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------- replies

type Node =
  | { k: '+' | '-' | ',' | '('; s: string }
  | { k: ':'; v: bigint }
  | { k: '$' | '!' | '='; s: string }
  | { k: '_' }
  | { k: 'null2'; t: '$' | '*' }
  | { k: '#'; v: boolean }
  | { k: '$?'; chunks: string[] }
  | { k: 'agg'; t: '*' | '~' | '>' | '%'; items: Node[]; streamed: boolean }
  | { k: '|'; pairs: Node[]; value: Node };

const D = { depthIdentifier: 'reply' };

/**
 * A push is out of band: a value of its own, never an element (a `>` inside an aggregate is
 * skipped as Redis 7.0's misplaced keyspace notifications are). Elements generated as pushes are
 * arrays instead, and so is a push an attribute inside an aggregate describes.
 */
function notPush(n: Node): Node {
  if (n.k === 'agg' && n.t === '>') return { ...n, t: '*' };
  if (n.k === '|') return { ...n, value: notPush(n.value) };
  return n;
}

const { node } = fc.letrec<{ node: Node; scalar: Node; agg: Node; attr: Node }>((tie) => ({
  node: fc.oneof({ maxDepth: 4, ...D }, tie('scalar'), tie('agg'), tie('attr')),
  scalar: fc.oneof(
    fc.record({ k: fc.constantFrom('+' as const, '-' as const), s: lineString(20) }),
    fc.record({ k: fc.constant(':' as const), v: fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n) }),
    fc.record({ k: fc.constantFrom('$' as const, '!' as const, '=' as const), s: byteString(30) }),
    fc.record({ k: fc.constant(',' as const), s: fc.oneof(fc.constantFrom('inf', '-inf', 'nan'), fc.double({ noNaN: true, noDefaultInfinity: true }).map(String)) }),
    fc.record({ k: fc.constant('(' as const), s: fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String) }),
    fc.record({ k: fc.constant('_' as const) }),
    fc.record({ k: fc.constant('null2' as const), t: fc.constantFrom('$' as const, '*' as const) }),
    fc.record({ k: fc.constant('#' as const), v: fc.boolean() }),
    fc.record({ k: fc.constant('$?' as const), chunks: fc.array(byteString(6), { maxLength: 4 }) }),
  ),
  agg: fc
    .record({
      k: fc.constant('agg' as const),
      t: fc.constantFrom('*' as const, '~' as const, '>' as const, '%' as const),
      items: fc.array(tie('node'), { maxLength: 5, ...D }),
      streamed: fc.boolean(),
    })
    .map((a) => ({
      ...a,
      items: (a.t === '%' && a.items.length % 2 === 1 ? a.items.slice(1) : a.items).map(notPush),
      streamed: a.streamed && a.t !== '>',
    })),
  attr: fc
    .record({ k: fc.constant('|' as const), pairs: fc.array(tie('scalar'), { maxLength: 4 }), value: tie('node') })
    .map((a) => ({ ...a, pairs: a.pairs.length % 2 === 1 ? a.pairs.slice(1) : a.pairs })),
}));

function encode(n: Node): string {
  switch (n.k) {
    case '+': case '-': case ',': case '(': return `${n.k}${n.s}\r\n`;
    case ':': return `:${n.v}\r\n`;
    case '$': case '!': return `${n.k}${n.s.length}\r\n${n.s}\r\n`;
    case '=': return `=${n.s.length + 4}\r\ntxt:${n.s}\r\n`;
    case '_': return '_\r\n';
    case 'null2': return `${n.t}-1\r\n`;
    case '#': return n.v ? '#t\r\n' : '#f\r\n';
    case '$?': return '$?\r\n' + n.chunks.filter((c) => c !== '').map((c) => `;${c.length}\r\n${c}\r\n`).join('') + ';0\r\n';
    case '|': return `|${n.pairs.length / 2}\r\n` + n.pairs.map(encode).join('') + encode(n.value);
    case 'agg': {
      const len = n.t === '%' ? n.items.length / 2 : n.items.length;
      const body = n.items.map(encode).join('');
      return n.streamed ? `${n.t}?\r\n${body}.\r\n` : `${n.t}${len}\r\n${body}`;
    }
  }
}

/** The value an attribute describes. */
function real(n: Node): Exclude<Node, { k: '|' }> {
  return n.k === '|' ? real(n.value) : n;
}

/** The text shown in head for a scalar of a head type, else null. */
function headText(n: Node): string | null {
  const r = real(n);
  switch (r.k) {
    case '+': case ',': case '(': case '$': return r.s;
    case ':': return String(r.v);
    case '=': return 'txt:' + r.s;
    case '#': return r.v ? 't' : 'f';
    case '$?': return r.chunks.join('');
    default: return null;
  }
}

/** The error elements of an aggregate, by index, as ReplyFrame.innerErrors has them. */
function innerErrorsOf(items: Node[], pv: number): ReplyFrame['innerErrors'] {
  const errors = items.flatMap((i, index) => {
    const e = real(i);
    return e.k === '-' || e.k === '!' ? [{ index, text: e.s.slice(0, pv) }] : [];
  });
  return errors.length === 0 ? null : errors;
}

function expectedReply(n: Node, pv: number): ReplyFrame {
  const r = real(n);
  const f: ReplyFrame = { type: 0, wireBytes: encode(n).length, error: null, count: 0, head: [], innerErrors: null, missingBytes: 0, startTsUs: 0, endTsUs: 0 };
  const text = headText(r);
  switch (r.k) {
    case 'agg':
      f.type = r.t.charCodeAt(0);
      f.count = r.items.length;
      f.head = r.items.slice(0, 3).map((i) => (headText(i) ?? '').slice(0, pv));
      f.innerErrors = innerErrorsOf(r.items, pv);
      break;
    case 'null2':
      f.type = r.t.charCodeAt(0);
      f.count = -1;
      break;
    case '-': case '!':
      f.type = r.k.charCodeAt(0);
      f.error = r.s.slice(0, pv);
      f.count = r.k === '!' ? r.s.length : 0;
      break;
    case '_':
      f.type = 0x5f;
      break;
    default:
      f.type = r.k.charCodeAt(0);
      // A top-level string of bytes is counted, not previewed.
      f.head = r.k === '$' || r.k === '=' || r.k === '$?' ? [] : [(text ?? '').slice(0, pv)];
      f.count = r.k === '$' || r.k === '=' || r.k === '$?' ? (text ?? '').length : 0;
  }
  return f;
}

describe('ReplyDecoder properties', () => {
  test('random RESP3 values decode to what was encoded, whole and chunked at random', () => {
    fc.assert(
      fc.property(fc.array(node, { minLength: 1, maxLength: 6 }), fc.constantFrom(256, 4), cuts, (nodes, pv, at) => {
        const b = bytes(nodes.map(encode).join(''));
        const limits = { argPreviewBytes: pv };
        const whole = runReplies([b], { limits });
        expect(whole).toEqual({
          frames: nodes.map((n) => expectedReply(n, pv)),
          violations: [],
          unparsed: 0,
          discarding: false,
        });
        expect(runReplies(cut(b, at), { limits })).toEqual(whole);
      }),
      RUNS,
    );
  });

  test('random bytes, alone or after valid replies: no throw, every byte accounted for', () => {
    fc.assert(
      fc.property(
        fc.array(node, { maxLength: 4 }),
        fc.uint8Array({ maxLength: 1500 }),
        cuts,
        fc.array(fc.boolean(), { maxLength: 13 }),
        (nodes, junk, at, resumes) => {
          const prefix = bytes(nodes.map(encode).join(''));
          const b = Buffer.concat([prefix, junk]);
          // Generated values stay within these limits; random bytes hit them.
          const limits = { maxLineBytes: 64, maxDepth: 16, maxElements: 64, maxBulkBytes: 4096, argPreviewBytes: 8 };
          const frames: ReplyFrame[] = [];
          const dec = new ReplyDecoder((f) => frames.push(f), () => {}, limits);
          cut(b, at).forEach((c, i) => {
            // As the analysis layer would: resume a discarding decoder at a packet start.
            if (resumes[i] === true && dec.discarding) dec.resume();
            dec.push(c, 0, c.length, 0);
            expect(dec.pendingBytes).toBeLessThanOrEqual(4 * 8);
          });
          dec.end();
          const framed = frames.reduce((n, f) => n + f.wireBytes, 0);
          expect(framed + dec.unparsedBytes).toBe(b.length);
          expect(dec.streamOffset).toBe(b.length);
          const want = nodes.map((n) => expectedReply(n, 8));
          expect(frames.slice(0, want.length)).toEqual(want);
        },
      ),
      RUNS,
    );
  });
});
