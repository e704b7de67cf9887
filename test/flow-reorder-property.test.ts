/**
 * Conversations put out of order the ways captures are (one direction stamped late, then
 * neighbouring packets swapped), with nothing lost, come out of the flow layer whole: both
 * streams exact, no gap, one open and one close, and no reply delivered before the request
 * bytes its packet acknowledged.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { F, tcpFrame, type Frame } from './helpers/frame-build.js';
import { Recorder, runFrames, toPacket } from './helpers/flow-recorder.js';
import { FlowTable } from '../src/flow/flow-table.js';

/** Feeds frames as a live capture does: one buffer for every frame, scribbled over after each. */
function runReused(frames: readonly Frame[]): Recorder {
  const rec = new Recorder();
  const table = new FlowTable({ serverPorts: new Set([6379]) }, rec);
  const buf = new Uint8Array(4096);
  for (const f of frames) {
    const p = toPacket(f);
    buf.set(p.data.subarray(0, p.offset + p.capLen));
    table.packet({ ...p, data: buf });
    buf.fill(0xee);
  }
  table.finish(1_000_000);
  return rec;
}

const CLIENT = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 6379 };
const SERVER = { src: '10.0.0.2', dst: '10.0.0.1', sport: 6379, dport: 40000 };

interface Sent {
  f: Frame;
  client: boolean;
  t: number;
  /** Server data: its first byte's offset in the server stream, and the client bytes it acknowledged. */
  reply?: { start: number; acked: number };
}

/** A wire-order exchange: each request segment answered by a reply; ACKs as each side saw them. */
function conversation(exch: Array<[number, number]>, cisn: number, sisn: number, fins: boolean, hs: boolean) {
  const ps: Sent[] = [];
  let t = 100;
  let cs = (cisn + 1) >>> 0;
  let ss = (sisn + 1) >>> 0;
  let c = '';
  let s = '';
  const push = (client: boolean, spec: Parameters<typeof tcpFrame>[0], reply?: Sent['reply']) => {
    ps.push({ f: tcpFrame(spec, t), client, t, ...(reply ? { reply } : {}) });
    t += 10;
  };
  if (hs) {
    push(true, { ...CLIENT, seq: cisn, flags: F.SYN });
    push(false, { ...SERVER, seq: sisn, ack: cs, flags: F.SYN | F.ACK });
    push(true, { ...CLIENT, seq: cs, ack: ss, flags: F.ACK });
  }
  exch.forEach(([a, b], i) => {
    const q = String.fromCharCode(97 + (i % 26)).repeat(a + 2);
    push(true, { ...CLIENT, seq: cs, ack: ss, flags: F.ACK | F.PSH, payload: q });
    cs = (cs + q.length) >>> 0;
    c += q;
    const r = String.fromCharCode(65 + (i % 26)).repeat(b + 2);
    push(false, { ...SERVER, seq: ss, ack: cs, flags: F.ACK | F.PSH, payload: r }, { start: s.length, acked: c.length });
    ss = (ss + r.length) >>> 0;
    s += r;
  });
  if (fins) {
    push(true, { ...CLIENT, seq: cs, ack: ss, flags: F.ACK | F.FIN });
    push(false, { ...SERVER, seq: ss, ack: (cs + 1) >>> 0, flags: F.ACK | F.FIN });
    push(true, { ...CLIENT, seq: (cs + 1) >>> 0, ack: (ss + 1) >>> 0, flags: F.ACK });
  }
  return { ps, c, s };
}

describe('reordered conversations, nothing lost', () => {
  test('come out whole and in causal order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 20 }), fc.nat({ max: 20 })), { minLength: 1, maxLength: 25 }),
        fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), fc.boolean(), fc.boolean(),
        fc.nat({ max: 300 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 20 }),
        (exch, cisn, sisn, fins, hs, skew, lateClient, swaps) => {
          const { ps, c, s } = conversation(exch, cisn, sisn, fins, hs);
          const frames = ps
            .map((p, i) => ({ f: { ...p.f, tsUs: p.t + (p.client === lateClient ? skew : 0) }, i }))
            .sort((a, b) => a.f.tsUs - b.f.tsUs || a.i - b.i)
            .map((x) => x.f);
          for (const k of swaps) {
            const j = k % Math.max(1, frames.length - 1);
            if (j + 1 < frames.length) [frames[j], frames[j + 1]] = [frames[j + 1]!, frames[j]!];
          }
          const { rec, table } = runFrames(frames, [6379], {}, 1_000_000);
          // Kept packets are copies: a capture buffer reused for the next frame changes nothing.
          expect(runReused(frames).events).toEqual(rec.events);
          expect(rec.events.filter((e) => e.startsWith('open'))).toHaveLength(1);
          expect(rec.events.filter((e) => e.startsWith('close'))).toHaveLength(1);
          expect(table.stats.deliveredBytes + table.stats.duplicateBytes).toBe(table.stats.payloadBytes);
          expect(rec.streams.get(1)).toEqual({ c, s });
          expect(table.stats.gaps).toBe(0);
          let clientBytes = 0;
          let serverBytes = 0;
          for (const e of rec.plain()) {
            const m = /^data 1 ([cs]) (.*)$/s.exec(e);
            if (m === null) continue;
            if (m[1] === 'c') {
              clientBytes += m[2]!.length;
              continue;
            }
            serverBytes += m[2]!.length;
            for (const p of ps) {
              if (p.reply !== undefined && p.reply.start < serverBytes) expect(clientBytes).toBeGreaterThanOrEqual(p.reply.acked);
            }
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
