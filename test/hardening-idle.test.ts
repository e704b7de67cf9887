/**
 * Issue 10 #10: a connection whose FIN or RST was never captured (kernel drops, shed frames)
 * used to stay open, with its reassembly, decoders and pending requests (~5 KB), until the
 * 50,000-connection limit: live RSS grew for as long as frames were dropped. Now it closes after
 * idleTimeoutUs of capture time without a packet, or halfClosedTimeoutUs after one side's FIN.
 */
import { describe, expect, test } from 'vitest';
import { emptyCaptureStats } from '../src/capture/packet.js';
import { DEFAULT_FLOW_LIMITS } from '../src/flow/limits.js';
import { analyzerOptions } from '../src/engine/options.js';
import { Pipeline } from '../src/engine/pipeline.js';
import { runFrames, toPacket } from './helpers/flow-recorder.js';
import { F, tcpFrame, type Frame } from './helpers/frame-build.js';

const S = 1_000_000;
const T0 = 1_764_000_000 * S;

/** A client on port `sport`: handshake at `t`, then `PING` and its reply; its stream positions. */
function conn(sport: number, t: number): { frames: Frame[]; c: (t: number, payload?: string, flags?: number) => Frame; s: (t: number, payload?: string, flags?: number) => Frame } {
  const C = { src: '10.0.0.1', dst: '10.0.0.2', sport, dport: 6379 };
  const SV = { src: '10.0.0.2', dst: '10.0.0.1', sport: 6379, dport: sport };
  let cseq = 1000;
  let sseq = 5000;
  const c = (ts: number, payload = '', flags = F.ACK | F.PSH) => {
    const f = tcpFrame({ ...C, seq: cseq, ack: sseq, flags, payload }, ts);
    cseq += payload.length + (flags & F.FIN ? 1 : 0);
    return f;
  };
  const s = (ts: number, payload = '', flags = F.ACK | F.PSH) => {
    const f = tcpFrame({ ...SV, seq: sseq, ack: cseq, flags, payload }, ts);
    sseq += payload.length + (flags & F.FIN ? 1 : 0);
    return f;
  };
  const frames = [
    tcpFrame({ ...C, seq: 999, ack: 0, flags: F.SYN }, t),
    tcpFrame({ ...SV, seq: 4999, ack: 1000, flags: F.SYN | F.ACK }, t + 1),
    tcpFrame({ ...C, seq: 1000, ack: 5000, flags: F.ACK }, t + 2),
    c(t + 10, '*1\r\n$4\r\nPING\r\n'),
    s(t + 20, '+PONG\r\n'),
  ];
  return { frames, c, s };
}

/** Another connection's packet every `everyUs` from `from` to `to`: capture time passing. */
function busy(from: number, to: number, everyUs: number): Frame[] {
  const b = conn(50000, from);
  const out = [...b.frames];
  for (let t = from + S; t <= to; t += everyUs) out.push(b.c(t, '*1\r\n$4\r\nPING\r\n'), b.s(t + 5, '+PONG\r\n'));
  return out;
}

const byTs = (frames: Frame[]) => [...frames].sort((a, b) => a.tsUs - b.tsUs);
const closeOf = (events: string[], id: number) => events.find((e) => e.startsWith(`close ${id} `));
const tsOf = (event: string | undefined) => Number(event?.split('@')[1]);

describe('a connection whose close was never captured', () => {
  test('closes 10 minutes (give or take a sweep of 15 s) after its last packet, as at the end of a capture', () => {
    const lost = conn(40000, T0);
    const { rec, table } = runFrames(byTs([...lost.frames, ...busy(T0, T0 + 700 * S, 5 * S)]), [6379], {}, null);
    const close = closeOf(rec.events, 1);
    expect(close).toMatch(/^close 1 end @/);
    const idle = tsOf(close) - (T0 + 20);
    expect(idle).toBeGreaterThanOrEqual(DEFAULT_FLOW_LIMITS.idleTimeoutUs);
    expect(idle).toBeLessThanOrEqual(DEFAULT_FLOW_LIMITS.idleTimeoutUs + 30 * S);
    expect(table.stats.expiredConnections).toBe(1);
    expect(closeOf(rec.events, 2)).toBeUndefined(); // the busy one is open
  });

  test("after one side's FIN, 30 s", () => {
    const half = conn(40000, T0);
    const frames = [...half.frames, half.c(T0 + 30, '', F.FIN | F.ACK)]; // the server's FIN is lost
    const { rec } = runFrames(byTs([...frames, ...busy(T0, T0 + 120 * S, S)]), [6379], {}, null);
    const idle = tsOf(closeOf(rec.events, 1)) - (T0 + 30);
    expect(idle).toBeGreaterThanOrEqual(30 * S);
    expect(idle).toBeLessThanOrEqual(45 * S);
  });

  test('a quiet live capture ages connections too (tick)', () => {
    const lost = conn(40000, T0);
    const { rec, table } = runFrames(lost.frames, [6379], {}, null);
    for (let t = T0; t <= T0 + 640 * S; t += 10 * S) table.tick(t);
    expect(closeOf(rec.events, 1)).toMatch(/^close 1 end @/);
  });

  test('one Redis keepalive probe every 5 minutes keeps an idle connection open', () => {
    const idle = conn(40000, T0);
    const frames = [...idle.frames];
    // tcp-keepalive 300: the server's probe and the client's answer, two empty ACKs.
    for (let t = T0 + 300 * S; t < T0 + 3600 * S; t += 300 * S) frames.push(idle.s(t, '', F.ACK), idle.c(t + 1, '', F.ACK));
    const { rec } = runFrames(byTs([...frames, ...busy(T0, T0 + 3600 * S, 10 * S)]), [6379], {}, null);
    expect(closeOf(rec.events, 1)).toBeUndefined();
  });

  test('stamps running behind the latest (a merged capture) age nothing: only capture time passing does', () => {
    const later = conn(40000, T0 + 3600 * S); // first in the file, an hour later
    const earlier = busy(T0, T0 + 1800 * S, 60 * S); // then half an hour of an earlier capture
    const { rec } = runFrames([...later.frames, ...earlier], [6379], {}, null);
    expect(rec.events.filter((e) => e.startsWith('close'))).toEqual([]);
  });
});

describe('through the pipeline', () => {
  test('the pending request is unanswered, the report counts and names it, and the next packet reopens the connection mid-stream', () => {
    const lost = conn(40000, T0);
    const frames = [...lost.frames, lost.c(T0 + 30, '*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n')];
    const pipe = new Pipeline(analyzerOptions({ slowMs: 10, maxKeys: 100, top: 10 }), [6379]);
    for (const f of byTs([...frames, ...busy(T0, T0 + 700 * S, 10 * S)])) pipe.packet(toPacket(f));
    expect(pipe.analyzer.openConnections).toBe(1);
    pipe.packet(toPacket(lost.c(T0 + 701 * S, '*1\r\n$4\r\nPING\r\n')));
    pipe.packet(toPacket(lost.s(T0 + 701 * S + 10, '+PONG\r\n')));
    pipe.finish();
    const r = pipe.report(emptyCaptureStats('pcap'), { kind: 'file', name: 'x.pcap', format: 'pcap', ports: [6379], filter: null }, 10);
    expect(r.totals['expiredConnections']).toBe(1);
    expect(r.totals['unanswered']).toBe(1);
    expect(r.totals['connections']).toBe(3); // the lost one, the busy one, the lost one again
    expect(r.warnings.some((w) => w.startsWith('1 connections closed after going quiet with their close never captured'))).toBe(true);
  });
});
