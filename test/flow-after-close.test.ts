/**
 * Segments of a connection captured after it closed (an audit of real captures with TCP
 * imperfections): they belong to it, they open nothing and are not decoded again.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { analyzeFile } from '../src/engine/analyze-file.js';
import { analyzerOptions } from '../src/engine/options.js';
import { buildPcap } from './helpers/pcap-build.js';
import { F, tcpFrame, type Frame } from './helpers/frame-build.js';
import { c, CLIENT, DATA, HS, pairs, s } from './helpers/tcp-conversation.js';
import { runFrames } from './helpers/flow-recorder.js';

/** PING / +PONG, then FIN both ways: the client's stream ends at 1006, the server's at 5007. */
const PING = [...HS, c(10, 1000, 'PING\r\n'), s(11, 5000, '+PONG\r\n', DATA, 1006)];
const FINS = [c(12, 1006, '', F.FIN | F.ACK, 5007), s(13, 5007, '', F.FIN | F.ACK, 1007), c(14, 1007, '', F.ACK, 5008)];

/** A packet of another client: capture time passes (an idle sweep runs). */
const other = (tsUs: number): Frame => tcpFrame({ ...CLIENT, sport: 40001, seq: tsUs, ack: 1, flags: DATA, payload: 'PING\r\n' }, tsUs);

describe('data of a connection that closed', () => {
  test.each([
    {
      name: 'the request retransmitted after FIN both ways is a duplicate',
      frames: [...PING, ...FINS, c(1_000, 1000, 'PING\r\n', DATA, 5008)],
      connections: 1, duplicateBytes: 6, afterCloseBytes: 0,
    },
    {
      name: 'the reply retransmitted after FIN both ways is a duplicate',
      frames: [...PING, ...FINS, s(1_000, 5000, '+PONG\r\n', DATA, 1007)],
      connections: 1, duplicateBytes: 7, afterCloseBytes: 0,
    },
    {
      name: 'a retransmission overlapping the end of the stream (FIN with its last data)',
      frames: [...PING, ...FINS, c(1_000, 1000, 'PING\r\n', DATA | F.FIN, 5008)],
      connections: 1, duplicateBytes: 6, afterCloseBytes: 0,
    },
    {
      name: 'requests the client sent after the server reset: counted apart, not decoded',
      frames: [...PING, s(12, 5007, '', F.RST | F.ACK, 1006), c(20, 1006, 'PING\r\n'), s(21, 5007, '', F.RST), c(22, 1012, 'PING\r\n')],
      connections: 1, duplicateBytes: 0, afterCloseBytes: 12,
    },
    {
      name: 'reply bytes in flight when the client reset: counted apart',
      frames: [...PING, c(12, 1006, '', F.RST | F.ACK, 5007), s(20, 5007, '+X\r\n', DATA, 1006)],
      connections: 1, duplicateBytes: 0, afterCloseBytes: 4,
    },
    {
      name: 'partly old, partly new bytes after a reset: each counted as what it is',
      frames: [...PING, s(12, 5007, '', F.RST | F.ACK, 1006), c(20, 1003, 'G\r\nPING\r\n')],
      connections: 1, duplicateBytes: 3, afterCloseBytes: 6,
    },
  ])('$name', ({ frames, connections, duplicateBytes, afterCloseBytes }) => {
    const { rec, table } = runFrames(frames);
    expect(table.stats.connections).toBe(connections);
    expect(rec.streams.get(1)).toEqual({ c: 'PING\r\n', s: '+PONG\r\n' });
    expect(table.stats.duplicateBytes).toBe(duplicateBytes);
    expect(table.stats.afterCloseBytes).toBe(afterCloseBytes);
    expect(pairs(frames)).toEqual(['PING -> ok']);
  });

  test.each([
    {
      name: 'a new connection on the same 4-tuple, its SYN not captured, far from the old stream',
      frames: [...PING, ...FINS, c(1_000, 900_000, 'ECHO\r\n', DATA, 700_000)],
      second: { c: 'ECHO\r\n', s: '' },
    },
    {
      name: 'a new connection before the old stream in sequence space',
      frames: [...PING, ...FINS, c(1_000, 500, 'ECHO\r\n', DATA, 700_000)],
      second: { c: 'ECHO\r\n', s: '' },
    },
    {
      name: 'new bytes from the side that reset: its RST did not end the connection',
      frames: [...PING, s(12, 5007, '', F.RST | F.ACK, 1006), s(20, 5007, '+X\r\n', DATA, 1006)],
      second: { c: '', s: '+X\r\n' },
    },
    {
      name: 'new bytes right at the end of a stream closed by FINs (no data follows a FIN)',
      frames: [...PING, ...FINS, c(1_000, 1006, 'ECHO\r\n', DATA, 5008)],
      second: { c: 'ECHO\r\n', s: '' },
    },
    {
      name: 'a new connection after a close the capture did not see (its end unknown)',
      frames: [...PING, ...[2, 3, 4, 5].map((sec) => other(sec * 1_000_000)), c(5_000_001, 1006, 'ECHO\r\n')],
      second: { c: 'ECHO\r\n', s: '' },
    },
  ])('opens: $name', ({ frames, second }) => {
    const { rec, table } = runFrames(frames as Frame[], [6379], { idleTimeoutUs: 1_000_000 });
    const last = rec.conns.length; // the idle case has another client's connection in between
    expect(table.stats.connections).toBe(last === 3 ? 3 : 2);
    expect(rec.streams.get(last)).toEqual(second);
    expect(table.stats.afterCloseBytes).toBe(0);
  });
});

describe('a RST out of the window', () => {
  const GET = '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n';
  const REQ = [...HS, c(10, 1000, GET)];
  const REPLY = s(12, 5000, '$1\r\nv\r\n', DATA, 1000 + GET.length);
  test.each([
    { name: 'client RST 2^31 off, ignored', rst: c(11, (1000 + GET.length + 2 ** 31) >>> 0, '', F.RST), ignored: 1, outcome: 'ok' },
    { name: 'server RST 2^31 off (no byte of it seen yet: its place from the client ACK), ignored', rst: s(11, 5000 + 2 ** 31, '', F.RST), ignored: 1, outcome: 'ok' },
    { name: 'client RST 2^30 + 1 behind, ignored', rst: c(11, (1000 + GET.length - 2 ** 30 - 1) >>> 0, '', F.RST), ignored: 1, outcome: 'ok' },
    { name: 'client RST at its next byte closes', rst: c(11, 1000 + GET.length, '', F.RST), ignored: 0, outcome: 'unanswered' },
    { name: 'client RST a window ahead (bytes before it lost) closes', rst: c(11, 1000 + GET.length + 65536, '', F.RST), ignored: 0, outcome: 'unanswered' },
  ])('$name', ({ rst, ignored, outcome }) => {
    const frames = [...REQ, rst, REPLY];
    const { rec, table } = runFrames(frames);
    expect(table.stats.ignoredResets).toBe(ignored);
    expect(table.stats.connections).toBe(1);
    expect(rec.plain().filter((e) => e.startsWith('close'))).toEqual([ignored === 1 ? 'close 1 end' : 'close 1 rst']);
    expect(pairs(frames)).toEqual([`GET k -> ${outcome}`]);
  });
});

describe('a FIN not captured is no lost byte', () => {
  test.each([
    {
      name: "client FIN lost, the server's FIN acknowledges it",
      frames: [...PING, s(13, 5007, '', F.FIN | F.ACK, 1007), c(14, 1007, '', F.ACK, 5008)],
      gapBytes: 0, close: 'close 1 fin',
    },
    {
      name: 'client FIN lost, acknowledged by a bare ACK before the server FIN',
      frames: [...PING, s(13, 5007, '', F.ACK, 1007), s(14, 5007, '', F.FIN | F.ACK, 1007), c(15, 1007, '', F.ACK, 5008)],
      gapBytes: 0, close: 'close 1 fin',
    },
    {
      name: "server FIN lost, the client's last ACK acknowledges it",
      frames: [...PING, c(12, 1006, '', F.FIN | F.ACK, 5007), c(14, 1007, '', F.ACK, 5008)],
      gapBytes: 0, close: 'close 1 fin',
    },
    {
      name: 'one byte lost mid-connection is still a gap',
      frames: [...PING, s(13, 5007, '+OK\r\n', DATA, 1007)],
      gapBytes: 1, close: 'close 1 end',
    },
    {
      name: 'one byte lost, then the peer closes: a gap, its FIN at the byte after',
      frames: [...PING, c(12, 1007, '', F.FIN | F.ACK, 5007), s(13, 5007, '', F.FIN | F.ACK, 1008), c(14, 1008, '', F.ACK, 5008)],
      gapBytes: 1, close: 'close 1 fin',
    },
  ])('$name', ({ frames, gapBytes, close }) => {
    const { rec, table } = runFrames(frames);
    expect(table.stats.gapBytes).toBe(gapBytes);
    expect(table.stats.gaps).toBe(gapBytes === 0 ? 0 : 1);
    expect(rec.plain().filter((e) => e.startsWith('close'))).toEqual([close]);
  });
});

describe('outOfOrderSegments counts segments that overtook one that then arrived', () => {
  test.each([
    { name: 'two swapped segments', frames: [...HS, c(10, 1000, 'aaa'), c(11, 1006, 'ccc'), c(12, 1003, 'bbb')], ooo: 1, gaps: 0 },
    { name: 'two segments ahead of a late one', frames: [...HS, c(10, 1003, 'bbb'), c(11, 1006, 'ccc'), c(12, 1000, 'aaa')], ooo: 2, gaps: 0 },
    { name: 'one lost segment, three after it: none out of order', frames: [...HS, c(10, 1000, 'aaa'), c(11, 1006, 'ccc'), c(12, 1009, 'ddd'), c(13, 1012, 'eee')], ooo: 0, gaps: 1 },
    {
      name: 'one lost, the next a duplicate of a held one: none out of order',
      frames: [...HS, c(10, 1000, 'aaa'), c(11, 1006, 'ccc'), c(12, 1006, 'ccc'), s(13, 5000, '+OK\r\n', DATA, 1009)], ooo: 0, gaps: 1,
    },
    {
      name: 'a hole declared a gap after a wait, a later hole filled late',
      frames: [...HS, c(10, 1000, 'aaa'), c(11, 1006, 'ccc'), s(12, 5000, '+OK\r\n', DATA, 1009),
        c(200_000, 1009, '', F.ACK, 5005), c(200_001, 1012, 'eee', DATA, 5005), c(200_002, 1009, 'ddd', DATA, 5005)], ooo: 1, gaps: 1,
    },
  ])('$name', ({ frames, ooo, gaps }) => {
    const { table } = runFrames(frames);
    expect(table.stats.outOfOrderSegments).toBe(ooo);
    expect(table.stats.gaps).toBe(gaps);
  });
});

describe('bytes captured after their hole was declared a gap are late, not never captured', () => {
  const GET = '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n';
  const L = GET.length;
  // The reply (acknowledging the request) is captured first; the request 200 ms later, past the
  // 100 ms reorder window, which a packet at 150 ms ends.
  const AHEAD = [...HS, s(20, 5000, '$1\r\nv\r\n', DATA, 1000 + L), c(150_000, 1000 + L, '', F.ACK, 5007)];
  test.each([
    { name: 'the request captured late', late: [c(200_000, 1000, GET)], lateBytes: L, duplicateBytes: 0 },
    { name: 'the request captured late, twice', late: [c(200_000, 1000, GET), c(200_001, 1000, GET)], lateBytes: L, duplicateBytes: L },
    { name: 'its second half captured late', late: [c(200_000, 1000 + 10, GET.slice(10))], lateBytes: L - 10, duplicateBytes: 0 },
    { name: 'the reply retransmitted (its direction had no gap) is a duplicate', late: [s(200_000, 5000, '$1\r\n', DATA, 1000 + L)], lateBytes: 0, duplicateBytes: 4 },
  ])('$name', ({ late, lateBytes, duplicateBytes }) => {
    const { table } = runFrames([...AHEAD, ...late]);
    expect(table.stats.gapBytes).toBe(L);
    expect(table.stats.lateBytes).toBe(lateBytes);
    expect(table.stats.duplicateBytes).toBe(duplicateBytes);
  });

  test('the warning says which gap bytes were captured late', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'late-bytes-')), 'late.pcap');
    const frames = [...AHEAD, c(200_000, 1000, GET)];
    writeFileSync(path, buildPcap({}, frames.map((f) => ({ sec: 1_800_000_000, frac: f.tsUs, data: f.data }))));
    const r = analyzeFile({ path, ports: [6379], top: 10, analyzer: analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 }) });
    expect(r.totals['lateBytes']).toBe(L);
    expect(r.warnings.find((w) => w.startsWith('1 gaps'))).toMatch(new RegExp(`^1 gaps \\(${L} bytes: 0 never captured, ${L} captured after`));
  });
});
