/**
 * One client 4-tuple used by connection after connection, the first joined mid-stream (a
 * capture, a live one always, starting inside it) or several without their handshakes (an
 * audit of real captures): each connection is followed whole, none lost into another.
 */
import { describe, expect, test } from 'vitest';
import { F, type Frame } from './helpers/frame-build.js';
import { c, DATA, pairs, s } from './helpers/tcp-conversation.js';
import { runFrames } from './helpers/flow-recorder.js';

/** A RESP array: an inline command first seen mid-stream is not trusted to start a request. */
const REQ = '*1\r\n$4\r\nPING\r\n';
const REP = '+PONG\r\n';

/**
 * One PING / +PONG connection at capture time t (µs): client data from cs, server data from ss,
 * with or without its handshake, closed by FINs both ways or by a client RST.
 */
function conn(t: number, cs: number, ss: number, opts: { syn: boolean; close: 'fin' | 'rst' }): Frame[] {
  const out: Frame[] = [];
  if (opts.syn) out.push(c(t, cs - 1, '', F.SYN, 0), s(t + 1, ss - 1, '', F.SYN | F.ACK, cs), c(t + 2, cs, '', F.ACK, ss));
  const ce = cs + REQ.length;
  const se = ss + REP.length;
  out.push(c(t + 10, cs, REQ, DATA, ss), s(t + 11, ss, REP, DATA, ce), c(t + 12, ce, '', F.ACK, se));
  if (opts.close === 'rst') out.push(c(t + 13, ce, '', F.RST | F.ACK, se));
  else out.push(c(t + 13, ce, '', F.FIN | F.ACK, se), s(t + 14, se, '', F.FIN | F.ACK, ce + 1), c(t + 15, ce + 1, '', F.ACK, se + 1));
  return out;
}

const WHOLE = { c: REQ, s: REP };
/** The first client byte followed. */
const BASE = 10_000_000;

describe('a 4-tuple reused after a connection joined mid-stream', () => {
  test.each([
    // Linux gives a reused 4-tuple an ISN a little past the old one (it grows with time).
    { name: 'next SYN 300 ms later, past the reorder window', gapUs: 300_000, ahead: 65_536 },
    { name: 'next SYN 1.5 s later', gapUs: 1_500_000, ahead: 300_000 },
    { name: 'next SYN 20 ms later, within the reorder window', gapUs: 20_000, ahead: 4_000 },
    { name: 'next SYN before the joined stream in sequence space', gapUs: 300_000, ahead: -2_000_000 },
  ])('$name: both followed whole', ({ gapUs, ahead }) => {
    const frames = [
      ...conn(0, BASE, 5000, { syn: false, close: 'fin' }),
      ...conn(gapUs, BASE + ahead, 900_000, { syn: true, close: 'fin' }),
      ...conn(2 * gapUs, BASE + 2 * ahead, 1_900_000, { syn: true, close: 'fin' }),
    ];
    const { rec, table } = runFrames(frames);
    expect(table.stats.connections).toBe(3);
    expect([...rec.streams.values()]).toEqual([WHOLE, WHOLE, WHOLE]);
    expect(table.stats.duplicateBytes).toBe(0);
    expect(rec.plain().filter((e) => e.startsWith('close'))).toEqual(['close 1 fin', 'close 2 fin', 'close 3 fin']);
    expect(pairs(frames)).toEqual(['PING -> ok', 'PING -> ok', 'PING -> ok']);
  });

  test('a SYN just before where the joined stream starts is still its own, captured late', () => {
    const frames = [c(10, 1000, REQ, DATA, 5000), c(20, 999, '', F.SYN, 0), s(21, 5000, REP, DATA, 1006)];
    const { rec, table } = runFrames(frames);
    expect(table.stats.connections).toBe(1);
    expect(rec.streams.get(1)).toEqual(WHOLE);
  });
});

describe('connections on one 4-tuple without their handshakes, within one reorder window', () => {
  test.each([
    // Each new connection's bytes lie a few KB past the one before (as Linux picks ISNs for a reused 4-tuple).
    { name: 'each closed by a client RST', close: 'rst' as const, ahead: 3_983 },
    { name: 'each closed by FINs', close: 'fin' as const, ahead: 3_983 },
    { name: 'each closed by a client RST, 100 MB apart', close: 'rst' as const, ahead: 100_000_000 },
  ])('$name: each its own connection', ({ close, ahead }) => {
    const frames = [0, 1, 2, 3].flatMap((i) => conn(i * 100, 1000 + i * ahead, 5000 + i * (ahead + 940), { syn: i === 0, close }));
    const { rec, table } = runFrames(frames);
    expect(table.stats.connections).toBe(4);
    expect([...rec.streams.values()]).toEqual([WHOLE, WHOLE, WHOLE, WHOLE]);
    expect(table.stats.duplicateBytes).toBe(0);
    expect(pairs(frames)).toEqual(['PING -> ok', 'PING -> ok', 'PING -> ok', 'PING -> ok']);
  });

  test('reply bytes in flight when the client reset stay the reset connection\'s', () => {
    const frames = [...conn(0, 1000, 5000, { syn: false, close: 'rst' }), s(50, 5000 + REP.length, '+X\r\n', DATA, 1000 + REQ.length)];
    const { table } = runFrames(frames);
    expect(table.stats.connections).toBe(1);
  });
});
