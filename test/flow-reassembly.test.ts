import { describe, expect, test } from 'vitest';
import { F, type Frame } from './helpers/frame-build.js';
import { c, DATA, HS, s } from './helpers/tcp-conversation.js';
import { runFrames } from './helpers/flow-recorder.js';
import type { FlowLimits } from '../src/flow/limits.js';

interface Case {
  name: string;
  frames: Frame[];
  client: string;
  server?: string;
  /** Expected gap/close events (data events left out), in order. */
  events?: string[];
  /** Expected events in full, open left out, without timestamps. */
  order?: string[];
  stats?: Record<string, number>;
  limits?: Partial<FlowLimits>;
}

const WRAP = 0xfffffffe;

const cases: Case[] = [
  {
    name: 'in order, both directions',
    frames: [...HS, c(10, 1000, 'GET a\r\n'), s(11, 5000, '$1\r\nx\r\n', DATA, 1007), c(12, 1007, 'PING\r\n')],
    client: 'GET a\r\nPING\r\n',
    server: '$1\r\nx\r\n',
    events: ['close 1 end'],
    stats: { deliveredBytes: 20, gaps: 0, duplicateBytes: 0, outOfOrderSegments: 0 },
  },
  {
    name: 'out of order is held and delivered in order',
    frames: [...HS, c(10, 1000, 'aaa'), c(11, 1006, 'ccc'), c(12, 1003, 'bbb')],
    client: 'aaabbbccc',
    events: ['close 1 end'],
    stats: { outOfOrderSegments: 1, gaps: 0 },
  },
  {
    name: 'retransmission delivered once',
    frames: [...HS, c(10, 1000, 'aaa'), c(11, 1000, 'aaa'), c(12, 1003, 'bbb'), c(13, 1003, 'bbb')],
    client: 'aaabbb',
    stats: { duplicateBytes: 6, deliveredBytes: 6 },
  },
  {
    name: 'partial overlap past next-seq delivers only the new tail',
    frames: [...HS, c(10, 1000, 'aaa'), c(11, 1002, 'abbb')],
    client: 'aaabbb',
    stats: { duplicateBytes: 1 },
  },
  {
    name: 'held segments overlapping each other',
    frames: [...HS, c(10, 1000, 'a'), c(11, 1003, 'dd'), c(12, 1002, 'cdd'), c(13, 1001, 'b')],
    client: 'abcdd',
    stats: { duplicateBytes: 2, gaps: 0 },
  },
  {
    name: 'duplicate of a held segment is dropped at once',
    frames: [...HS, c(10, 1003, 'dd'), c(11, 1003, 'dd'), c(12, 1000, 'abc')],
    client: 'abcdd',
    stats: { duplicateBytes: 2, outOfOrderSegments: 1 },
  },
  {
    name: 'sequence numbers wrap around 2^32',
    frames: [c(1, WRAP - 1, '', F.SYN, 0), c(10, WRAP, 'abcdef'), c(11, 4, 'gh')],
    client: 'abcdefgh',
    stats: { gaps: 0 },
  },
  {
    name: 'out of order across the wrap, mid-stream start',
    frames: [c(10, WRAP, 'ab'), c(11, 2, 'ef'), c(12, 0, 'cd')],
    client: 'abcdef',
    stats: { gaps: 0 },
  },
  {
    name: 'mid-stream start is not a gap',
    frames: [c(10, 123456, 'GET k\r\n', DATA, 777), s(11, 777, '+OK\r\n', DATA, 123463)],
    client: 'GET k\r\n',
    server: '+OK\r\n',
    events: ['close 1 end'],
    stats: { gaps: 0 },
  },
  {
    name: 'dropped segment, peer ACKs past it: a gap stamped when the ACK showed it, held data follows',
    frames: [...HS, c(10, 1000, 'aaa'), c(12, 1006, 'ccc'), s(13, 5000, 'r', DATA, 1009)],
    client: 'aaaccc',
    server: 'r',
    events: ['gap 1 c 3 @13', 'close 1 end @999'],
  },
  {
    name: 'dropped last segment, peer ACKs past it: a gap stamped when the ACK showed it',
    frames: [...HS, c(10, 1000, 'aaa'), s(13, 5000, 'r', DATA, 1006), c(14, 1006, 'zz')],
    client: 'aaazz',
    events: ['gap 1 c 3 @13', 'close 1 end @999'],
  },
  {
    name: 'ACK of a FIN is not a gap',
    frames: [...HS, c(10, 1000, 'aaa', DATA | F.FIN), s(11, 5000, '', F.ACK, 1004)],
    client: 'aaa',
    events: ['close 1 end @999'],
    stats: { gaps: 0 },
  },
  {
    name: 'hole left at the end is flushed by finish()',
    frames: [...HS, c(10, 1000, 'aaa'), c(11, 1006, 'ccc')],
    client: 'aaaccc',
    events: ['gap 1 c 3 @999', 'close 1 end @999'],
    stats: { gaps: 1, gapBytes: 3 },
  },
  {
    name: 'RST flushes held data after the hole, then closes',
    frames: [...HS, c(10, 1000, 'aaa'), c(11, 1006, 'ccc'), s(12, 5000, '', F.RST | F.ACK, 1003)],
    client: 'aaaccc',
    events: ['gap 1 c 3 @12', 'close 1 rst @12'],
  },
  {
    name: 'FIN both ways closes when all data is delivered',
    frames: [
      ...HS, c(10, 1000, 'QUIT\r\n'), s(11, 5000, '+OK\r\n', DATA, 1006),
      c(12, 1006, '', F.FIN | F.ACK, 5005), s(13, 5005, '', F.FIN | F.ACK, 1007), c(14, 1007, '', F.ACK, 5006),
    ],
    client: 'QUIT\r\n',
    server: '+OK\r\n',
    events: ['close 1 fin @13'],
  },
  {
    name: 'FIN with a hole before it: a gap stamped at the FIN',
    frames: [...HS, c(10, 1000, 'aaa'), c(11, 1006, 'ccc', DATA | F.FIN)],
    client: 'aaaccc',
    events: ['gap 1 c 3 @11', 'close 1 end @999'],
  },
  {
    name: 'keep-alive probes (1 byte at next-1, 0 bytes) give no data and no gap',
    frames: [
      ...HS, c(10, 1000, 'abc'), s(11, 5000, '', F.ACK, 1003),
      c(12, 1002, 'x', F.ACK), c(13, 1002, '', F.ACK), s(14, 4999, '', F.ACK, 1003), c(15, 1003, 'd'),
    ],
    client: 'abcd',
    events: ['close 1 end'],
    stats: { gaps: 0 },
  },
  {
    name: 'keep-alive as the first packet of a direction does not start it',
    frames: [s(10, 5000, '+PONG\r\n', DATA, 1003), c(11, 1002, 'x', F.ACK, 5007), c(12, 1003, 'PING\r\n', DATA, 5007)],
    client: 'PING\r\n',
    server: '+PONG\r\n',
    stats: { gaps: 0 },
  },
  {
    name: 'held segment limit turns the first hole into a gap',
    frames: [...HS, c(10, 1000, 'a'), c(11, 1002, 'c'), c(12, 1004, 'e'), c(13, 1006, 'g')],
    limits: { maxHeldSegments: 2 },
    client: 'aceg',
    events: ['gap 1 c 1 @13', 'gap 1 c 1 @999', 'gap 1 c 1 @999', 'close 1 end @999'],
  },
  {
    name: 'held byte limit turns the first hole into a gap',
    frames: [...HS, c(10, 1000, 'a'), c(11, 1002, 'ccc'), c(12, 1006, 'gg')],
    limits: { maxHeldBytesPerDirection: 4 },
    client: 'acccgg',
    events: ['gap 1 c 1 @12', 'gap 1 c 1 @999', 'close 1 end @999'],
  },
  // A capture's order is not always the wire's (merged taps, -i any): packets that show bytes
  // were sent before those bytes arrive wait for them, within the reorder window.
  {
    name: 'a reply captured before its request: the request still comes first, no gap',
    frames: [...HS, c(10, 1000, 'SET a b\r\n'), s(12, 5000, '$1\r\nx\r\n', DATA, 1016), c(11, 1009, 'GET a\r\n', DATA, 5000)],
    client: 'SET a b\r\nGET a\r\n',
    server: '$1\r\nx\r\n',
    order: ['data 1 c SET a b\r\n', 'data 1 c GET a\r\n', 'data 1 s $1\r\nx\r\n', 'close 1 end'],
    stats: { gaps: 0, gapBytes: 0, duplicateBytes: 0 },
  },
  {
    name: 'a bare ACK captured before the data it acknowledges: no gap',
    frames: [...HS, s(11, 5000, '', F.ACK, 1006), c(10, 1000, 'PING\r\n'), s(12, 5000, '+PONG\r\n', DATA, 1006)],
    client: 'PING\r\n',
    server: '+PONG\r\n',
    order: ['data 1 c PING\r\n', 'data 1 s +PONG\r\n', 'close 1 end'],
    stats: { gaps: 0 },
  },
  {
    name: 'a FIN captured before the last data: no gap, closed by FINs',
    frames: [
      ...HS, c(11, 1011, '', F.FIN | F.ACK, 5000), c(10, 1000, 'BLPOP q 0\r\n', DATA, 5000),
      s(12, 5000, '', F.FIN | F.ACK, 1012), c(13, 1012, '', F.ACK, 5001),
    ],
    client: 'BLPOP q 0\r\n',
    events: ['close 1 fin'],
    stats: { gaps: 0, gapBytes: 0 },
  },
  {
    name: 'data captured after both FINs: one connection, no gap',
    frames: [
      ...HS, c(10, 1000, 'PING\r\n'), s(12, 5007, '', F.FIN | F.ACK, 1006), c(13, 1006, '', F.FIN | F.ACK, 5008),
      s(14, 5008, '', F.ACK, 1007), s(11, 5000, '+PONG\r\n', DATA, 1006),
    ],
    client: 'PING\r\n',
    server: '+PONG\r\n',
    events: ['close 1 fin'],
    stats: { gaps: 0, gapBytes: 0 },
  },
  {
    name: 'bytes that never come: the window passes, they are a gap, then the kept reply',
    frames: [...HS, c(10, 1000, 'aaa'), s(13, 5000, 'r', DATA, 1006), s(200, 5001, 'z', DATA, 1006)],
    limits: { reorderWindowUs: 100 },
    client: 'aaa',
    server: 'rz',
    order: ['data 1 c aaa', 'gap 1 c 3', 'data 1 s r', 'data 1 s z', 'close 1 end'],
  },
  {
    name: 'the window ends in capture time, on any later packet',
    frames: [...HS, c(10, 1000, 'aaa'), s(13, 5000, 'r', DATA, 1006), s(50, 5001, 'z', DATA, 1006), c(120, 1009, 'q')],
    limits: { reorderWindowUs: 100 },
    client: 'aaaq',
    order: ['data 1 c aaa', 'gap 1 c 3', 'data 1 s r', 'data 1 s z', 'gap 1 c 3', 'data 1 c q', 'close 1 end'],
  },
  {
    name: 'kept packets past their limit end the wait',
    frames: [...HS, c(10, 1000, 'a'), s(11, 5000, 'r', DATA, 1002), s(12, 5001, 's', DATA, 1002), s(13, 5002, 't', DATA, 1002)],
    limits: { maxKeptPackets: 2 },
    client: 'a',
    server: 'rst',
    events: ['gap 1 c 1 @11', 'close 1 end @999'],
  },
];

describe('reassembly', () => {
  test.each(cases)('$name', (k) => {
    const { rec, table } = runFrames(k.frames, [6379], k.limits ?? {});
    if (k.order) expect(rec.plain().filter((e) => !e.startsWith('open'))).toEqual(k.order);
    const st = rec.streams.get(1)!;
    expect(st.c).toBe(k.client);
    if (k.server !== undefined) expect(st.s).toBe(k.server);
    if (k.events) {
      const got = rec.events.filter((e) => e.startsWith('gap') || e.startsWith('close'));
      const want = k.events;
      expect(want.some((e) => e.includes('@')) ? got : got.map((e) => e.replace(/ @\S+$/, ''))).toEqual(want);
    }
    for (const [key, v] of Object.entries(k.stats ?? {})) {
      expect({ [key]: (table.stats as unknown as Record<string, number>)[key] }).toEqual({ [key]: v });
    }
    expect(table.stats.connections).toBe(1);
  });

  test('a snap length that cut a segment: captured bytes, then a gap for the rest', () => {
    const cut = { ...c(10, 1000, 'abcdefgh') };
    cut.capLen = cut.data.length - 5;
    const { rec, table } = runFrames([...HS, cut, c(11, 1008, 'ij')]);
    expect(rec.plain()).toEqual([
      'open 1 10.0.0.1:40000 > 10.0.0.2:6379', 'data 1 c abc', 'gap 1 c 5', 'data 1 c ij', 'close 1 end',
    ]);
    expect(table.stats.gapBytes).toBe(5);
  });

  test('held bytes keep the timestamp of the packet that carried them', () => {
    const { rec } = runFrames([c(1, 1000, 'a'), c(2, 1002, 'c'), c(3, 1001, 'b')]);
    expect(rec.streams.get(1)!.c).toBe('abc');
    expect(rec.dataTs).toEqual([1, 3, 2]);
  });

  test('a gap after the hole: later held data arrives in order with its own events', () => {
    const { rec } = runFrames([...HS, c(10, 1000, 'a'), c(11, 1004, 'e'), c(12, 1002, 'c'), s(13, 5000, 'r', DATA, 1005)]);
    expect(rec.plain().filter((e) => !e.startsWith('open'))).toEqual([
      'data 1 c a', 'gap 1 c 1', 'data 1 c c', 'gap 1 c 1', 'data 1 c e', 'data 1 s r', 'close 1 end',
    ]);
  });
});
