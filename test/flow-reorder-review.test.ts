import { describe, expect, test } from 'vitest';
import { F, tcpFrame, type Frame } from './helpers/frame-build.js';
import { body, c, CLIENT, DATA, HS, pairs, s, SERVER } from './helpers/tcp-conversation.js';
import { runFrames } from './helpers/flow-recorder.js';
import { Wait } from '../src/flow/reorder.js';

/** Cases a review of the reorder logic found; each failed on its first version. */
describe('reordering: cases found in review', () => {
  // Real loss of request 2 (never captured); server replies to 2 (ack covers it), then the
  // client's request 3, sent before reply 2 reached it (ack only covers reply 1).
  const A = '*2\r\n$3\r\nGET\r\n$1\r\na\r\n'; // 20 bytes
  const C = '*2\r\n$3\r\nGET\r\n$1\r\nc\r\n';
  const LOST = [
    ...HS,
    c(10, 1000, A), // 1000..1020
    // c GET b at 1020..1040: lost
    s(11, 5000, '+A\r\n', DATA, 1020), // 5000..5004
    s(12, 5004, '-ERR b\r\n', DATA, 1040), // reply to the lost GET b
    c(13, 1040, C, DATA, 5004), // pipelined: only reply A acknowledged
    s(14, 5012, '+C\r\n', DATA, 1060),
  ];
  test('lost request: the reply to it must come before the next request (flow order)', () => {
    const { rec } = runFrames(LOST);
    expect(body(rec)).toEqual([
      `data 1 c ${A}`, 'data 1 s +A\r\n', 'gap 1 c 20', 'data 1 s -ERR b\r\n', `data 1 c ${C}`, 'data 1 s +C\r\n', 'close 1 end',
    ]);
  });
  test('lost request: GET c must not be paired with the reply to GET b', () => {
    expect(pairs(LOST)).toEqual(['GET a -> ok', 'GET c -> ok']);
  });

  // Reordered, nothing lost: a holed-direction segment that does not reach nextSeq but
  // acknowledges kept bytes is kept; the segment before it then fills up to it, but the wait
  // only re-checks the hole on applied packets, so it expires and declares its bytes a gap.
  test('a kept segment of the holed direction is needed to fill the hole: no gap, no loss', () => {
    const frames = [
      ...HS,
      c(10, 1000, 'aaa'),
      s(11, 5003, 'RR', DATA, 1009), // acks client bytes up to 1009: wait, kept
      s(12, 5000, 'xyz', DATA, 1006), // kept (other direction)
      c(13, 1006, 'ccc', DATA, 5003), // above nextSeq, acks kept 'xyz': kept
      c(14, 1003, 'bbb', DATA, 5000), // fills up to 1006 only
    ];
    const { rec, table } = runFrames(frames);
    expect(rec.streams.get(1)).toEqual({ c: 'aaabbbccc', s: 'xyzRR' });
    expect(table.stats.gaps).toBe(0);
  });

  // Live capture gone quiet: no packet comes to end the wait, the clock does (FlowTable.tick).
  test('live, no more packets: a reply behind a lost request comes once the clock passes the window', () => {
    const frames = [...HS, c(10, 1000, 'aaa'), s(13, 5000, '-ERR\r\n', DATA, 1006)];
    const { rec, table } = runFrames(frames, [6379], {}, null); // no finish(): a live capture still running
    table.tick(13 + 50_000);
    expect(body(rec)).toEqual(['data 1 c aaa']);
    table.tick(13 + 100_000);
    expect(body(rec)).toEqual(['data 1 c aaa', 'gap 1 c 3', 'data 1 s -ERR\r\n']);
  });
  test('live, no more packets: a RST+ACK acknowledging lost bytes closes the connection once the window passes', () => {
    const frames = [...HS, c(10, 1000, 'aaa'), s(13, 5000, '', F.RST | F.ACK, 1006)];
    const { rec, table } = runFrames(frames, [6379], {}, null);
    table.tick(1_000_000);
    expect(body(rec)).toEqual(['data 1 c aaa', 'gap 1 c 3', 'close 1 rst']);
    expect(table.openConnections()).toBe(0);
  });

  test('close stamped no earlier than the packet that completed the connection', () => {
    const frames = [
      ...HS,
      c(10, 1000, 'aaa'),
      c(20, 1006, '', F.FIN | F.ACK, 5000), // FIN past missing 'bbb': wait since 20
      s(21, 5000, '', F.FIN | F.ACK, 1007), // kept
      c(30, 1003, 'bbb', DATA, 5001), // fills; the connection is complete at 30
    ];
    const { rec } = runFrames(frames);
    expect(rec.events.filter((e) => !e.startsWith('open') && !e.startsWith('data'))).toEqual(['close 1 fin @30']);
  });

  // Nothing lost. Wire: SYN, SYN-ACK, ACK, c aa (1..3), s BB (ack 3), c bb (ack 3), s CC (ack 5).
  const W = [
    tcpFrame({ ...CLIENT, seq: 0, flags: F.SYN }, 100),
    tcpFrame({ ...SERVER, seq: 0, ack: 1, flags: F.SYN | F.ACK }, 101),
    tcpFrame({ ...CLIENT, seq: 1, ack: 1, flags: F.ACK }, 102),
    tcpFrame({ ...CLIENT, seq: 1, ack: 1, flags: DATA, payload: 'aa' }, 103),
    tcpFrame({ ...SERVER, seq: 1, ack: 3, flags: DATA, payload: 'BB' }, 113),
    tcpFrame({ ...CLIENT, seq: 3, ack: 3, flags: DATA, payload: 'bb' }, 123),
    tcpFrame({ ...SERVER, seq: 3, ack: 5, flags: DATA, payload: 'CC' }, 133),
  ];
  test('client segments swapped around the reply: the reply still follows the request it acknowledges', () => {
    // capture order: bb, aa, BB (bb starts a wait on the server direction; aa is kept behind it)
    const { rec } = runFrames([0, 1, 2, 5, 3, 4, 6].map((i) => W[i]!));
    expect(body(rec)).toEqual(['data 1 c aa', 'data 1 s BB', 'data 1 c bb', 'data 1 s CC', 'close 1 end']);
  });
  test('handshake ACK stamped before the SYN-ACK, server segments swapped: no reply lost', () => {
    // capture order: SYN, ACK, aa, CC, SYN-ACK, BB, bb
    const { rec, table } = runFrames([0, 2, 3, 6, 1, 4, 5].map((i) => W[i]!));
    expect(rec.streams.get(1)).toEqual({ c: 'aabb', s: 'BBCC' });
    expect(table.stats.gaps).toBe(0);
  });
});

describe('reordering: bounded work', () => {
  // A capture of one direction only (a 'dst port' filter, asymmetric routing): the client's ACK
  // grows with every reply it got, but no server packet is ever seen. Each packet is copied
  // into a wait at most once in a while, not once per later packet.
  test('one-direction capture: packets are kept a bounded number of times', () => {
    const n = 5000;
    const frames: Frame[] = [];
    for (let i = 0; i < n; i++) {
      frames.push(tcpFrame({ ...CLIENT, seq: 1000 + i * 14, ack: 5000 + i * 5, flags: DATA, payload: '*1\r\n$4\r\nPING\r\n' }, 1_000_000 + i * 10));
    }
    let keeps = 0;
    const orig = Wait.prototype.keep;
    Wait.prototype.keep = function (this: Wait, ...a: Parameters<Wait['keep']>) {
      keeps++;
      return orig.apply(this, a);
    };
    try {
      const { table } = runFrames(frames);
      expect(table.stats.deliveredBytes).toBe(n * 14);
      expect(table.stats.gaps).toBe(0);
    } finally {
      Wait.prototype.keep = orig;
    }
    expect(keeps).toBeLessThanOrEqual(1025);
  });
});

describe('reordering: work stays linear', () => {
  // A capture that starts amid busy traffic: every connection is first seen without its SYN and
  // waits its own window; the windows end one after another (a queue, not a scan of all).
  test('20,000 connections joined mid-stream at once', () => {
    const n = 20_000;
    const frames: Frame[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < n; i++) {
        const src = `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
        frames.push(tcpFrame({ src, dst: '10.0.0.2', sport: 40000, dport: 6379, seq: 1000 + round * 14, ack: 5000 + round * 7, flags: DATA, payload: '*1\r\n$4\r\nPING\r\n' }, 1_000_000 + (round * n + i) * 5));
      }
    }
    const { table } = runFrames(frames);
    expect([table.stats.connections, table.stats.deliveredBytes, table.stats.gaps]).toEqual([n, 3 * n * 14, 0]);
  });

  // Only the client's side captured, its SYN included: its handshake ACK starts the server's
  // stream, which is never seen; no wait may turn every later packet into a gap.
  test('one direction captured, with the SYN: no gaps, no waits per packet', () => {
    const n = 20_000;
    const frames: Frame[] = [tcpFrame({ ...CLIENT, seq: 999, flags: F.SYN }, 999_000), tcpFrame({ ...CLIENT, seq: 1000, ack: 5000, flags: F.ACK }, 999_500)];
    for (let i = 0; i < n; i++) {
      frames.push(tcpFrame({ ...CLIENT, seq: 1000 + i * 14, ack: 5000 + i * 5, flags: DATA, payload: '*1\r\n$4\r\nPING\r\n' }, 1_000_000 + i * 10));
    }
    const { table } = runFrames(frames);
    expect([table.stats.deliveredBytes, table.stats.gaps]).toEqual([n * 14, 0]);
  });
});
