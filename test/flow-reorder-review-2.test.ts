import { describe, expect, test } from 'vitest';
import { F, type Frame } from './helpers/frame-build.js';
import { body, c, DATA, HS, pairs, s } from './helpers/tcp-conversation.js';
import { runFrames } from './helpers/flow-recorder.js';

const A = '*2\r\n$3\r\nGET\r\n$1\r\na\r\n';
const C = '*2\r\n$3\r\nGET\r\n$1\r\nc\r\n';

/** Cases a second review of the reorder logic found; each failed before its fix. */
describe('reordering, second review', () => {
  // Client tap: A, B(lost in capture), +A arrives, client sends C (ack 5004), -ERR b arrives (ack 1040: sent before server got C), +C.
  const LOST2 = [
    ...HS,
    c(10, 1000, A),
    s(11, 5000, '+A\r\n', DATA, 1020),
    c(12, 1040, C, DATA, 5004),
    s(13, 5004, '-ERR b\r\n', DATA, 1040),
    s(14, 5012, '+C\r\n', DATA, 1060),
  ];
  test('lost request, next request captured before the reply to the lost one: no mispairing', () => {
    const { rec } = runFrames(LOST2);
    console.log(body(rec));
    expect(pairs(LOST2)).toEqual(['GET a -> ok', 'GET c -> ok']);
  });
});

describe('reordering, second review: connection counting', () => {
  const CLOSE = [
    ...HS, c(10, 1000, 'PING\r\n'), s(11, 5000, '+PONG\r\n', DATA, 1006),
    c(12, 1006, '', F.FIN | F.ACK, 5007), s(13, 5007, '', F.FIN | F.ACK, 1007), c(14, 1007, '', F.ACK, 5008),
  ];
  test('a retransmitted server FIN after the close opens no second connection', () => {
    const { rec, table } = runFrames([...CLOSE, s(220_000, 5007, '', F.FIN | F.ACK, 1007)]);
    console.log(rec.plain());
    expect(table.stats.connections).toBe(1);
  });
  test('a FIN captured twice (-i any on a bridge) after the close opens no second connection', () => {
    const { rec, table } = runFrames([...CLOSE.slice(0, 7), s(13, 5007, '', F.FIN | F.ACK, 1007), CLOSE[7]!]);
    console.log(rec.plain());
    expect(table.stats.connections).toBe(1);
  });
  test('port reuse: a new SYN after FIN both ways opens a second connection', () => {
    const n = [c(300_000, 77_000, '', F.SYN, 0), s(300_001, 88_000, '', F.SYN | F.ACK, 77_001), c(300_002, 77_001, '', F.ACK, 88_001),
      c(300_010, 77_001, 'PING\r\n', DATA, 88_001), s(300_011, 88_001, '+PONG\r\n', DATA, 77_007)];
    const { rec, table } = runFrames([...CLOSE, ...n]);
    expect(table.stats.connections).toBe(2);
    expect(rec.streams.get(2)).toEqual({ c: 'PING\r\n', s: '+PONG\r\n' });
  });
  test('port reuse: new SYN after a RST', () => {
    const n = [c(300_000, 77_000, '', F.SYN, 0), s(300_001, 88_000, '', F.SYN | F.ACK, 77_001), c(300_002, 77_001, '', F.ACK, 88_001),
      c(300_010, 77_001, 'PING\r\n', DATA, 88_001), s(300_011, 88_001, '+PONG\r\n', DATA, 77_007)];
    const { rec, table } = runFrames([...HS, c(10, 1000, 'PING\r\n'), s(11, 5000, '+PONG\r\n', DATA, 1006), c(12, 1006, '', F.RST | F.ACK, 5007), ...n]);
    expect(table.stats.connections).toBe(2);
    expect(rec.streams.get(2)).toEqual({ c: 'PING\r\n', s: '+PONG\r\n' });
  });
});

describe('reordering, second review: loss in a large value', () => {
  test('one lost segment of a 2.9 MB reply, client ACKs every 2 segments: one gap, rest delivered', () => {
    const MSS = 1448, n = 2000, lost = 100;
    const req = '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n';
    const frames: Frame[] = [...HS, c(10, 1000, req)];
    let t = 100;
    for (let i = 0; i < n; i++) {
      if (i !== lost) frames.push(s(t, 5000 + i * MSS, 'v'.repeat(MSS), DATA, 1000 + req.length));
      t += 5;
      if (i % 2 === 1) { frames.push(c(t, 1000 + req.length, '', F.ACK, 5000 + (i + 1) * MSS)); t += 5; }
    }
    const t0 = performance.now();
    const { rec, table } = runFrames(frames);
    console.log('ms', (performance.now() - t0).toFixed(0), table.stats.gaps, table.stats.gapBytes);
    expect(rec.streams.get(1)!.s.length).toBe((n - 1) * MSS);
    expect(table.stats.gaps).toBe(1);
    expect(table.stats.gapBytes).toBe(MSS);
  });
  test('sequence wrap: reply captured before the request across 2^32', () => {
    const W = 0xfffffff0;
    const frames = [
      c(1, W, '', F.SYN, 0), s(2, 4999, '', F.SYN | F.ACK, W + 1), c(3, W + 1, '', F.ACK, 5000),
      s(12, 5000, '+OK\r\n', DATA, 20), c(11, (W + 1) >>> 0, 'x'.repeat(35), DATA, 5000),
    ];
    const { rec, table } = runFrames(frames);
    expect(body(rec)).toEqual([`data 1 c ${'x'.repeat(35)}`, 'data 1 s +OK\r\n', 'close 1 end']);
    expect(table.stats.gaps).toBe(0);
  });
});
