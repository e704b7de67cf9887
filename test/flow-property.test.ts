import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { FlowTable } from '../src/flow/flow-table.js';
import { F, tcpFrame, type Frame } from './helpers/frame-build.js';
import { Recorder, runFrames, toPacket } from './helpers/flow-recorder.js';

const CLIENT = { src: '10.1.1.1', dst: '10.1.1.2', sport: 33333, dport: 6379 };

/** Cuts [0, len) into pieces at the given cut points. */
function pieces(len: number, cuts: number[]): Array<[number, number]> {
  const points = [...new Set(cuts.map((c) => c % len).filter((c) => c > 0))].sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  let prev = 0;
  for (const p of [...points, len]) {
    out.push([prev, p]);
    prev = p;
  }
  return out;
}

function segFrame(isn: number, data: Buffer, from: number, to: number): Frame {
  return tcpFrame({ ...CLIENT, seq: (isn + 1 + from) >>> 0, ack: 1, flags: F.ACK | F.PSH, payload: data.subarray(from, to) }, from);
}

const streamArb = fc.uint8Array({ minLength: 1, maxLength: 3000 }).map((a) => Buffer.from(a));
const isnArb = fc.oneof(fc.constant(0xffffffff - 50), fc.constant(0xfffffff0), fc.nat({ max: 0xffffffff }));

describe('reassembly properties', () => {
  test('shuffled segments with duplicates and overlaps, no loss: exactly the original stream', () => {
    fc.assert(
      fc.property(
        streamArb, isnArb,
        fc.array(fc.nat(), { maxLength: 60 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 200 })), { maxLength: 20 }),
        fc.func(fc.integer()),
        (data, isn, cuts, dups, order) => {
          const segs = pieces(data.length, cuts);
          // Extra copies: retransmissions that may straddle the original segment boundaries.
          for (const [start, len] of dups) {
            const from = start % data.length;
            segs.push([from, Math.min(data.length, from + 1 + len)]);
          }
          const shuffled = segs.map((s, i) => ({ s, k: order(i) })).sort((a, b) => a.k - b.k).map((x) => x.s);
          const frames = [
            tcpFrame({ ...CLIENT, seq: isn, flags: F.SYN }, 0),
            ...shuffled.map(([a, b]) => segFrame(isn, data, a, b)),
          ];
          const { rec, table } = runFrames(frames);
          expect(Buffer.from(rec.streams.get(1)!.c, 'latin1').equals(data)).toBe(true);
          expect(table.stats.gaps).toBe(0);
          expect(table.stats.deliveredBytes).toBe(data.length);
          expect(table.stats.deliveredBytes + table.stats.duplicateBytes).toBe(table.stats.payloadBytes);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('with segments lost: delivered plus gap bytes cover the stream up to the last byte seen', () => {
    fc.assert(
      fc.property(streamArb, isnArb, fc.array(fc.nat(), { maxLength: 40 }), fc.array(fc.boolean()), (data, isn, cuts, lose) => {
        const segs = pieces(data.length, cuts).filter((_, i) => !(lose[i] ?? false));
        fc.pre(segs.length > 0);
        const frames = [tcpFrame({ ...CLIENT, seq: isn, flags: F.SYN }, 0), ...segs.map(([a, b]) => segFrame(isn, data, a, b))];
        const { rec, table } = runFrames(frames);
        const got = Buffer.from(rec.streams.get(1)!.c, 'latin1');
        const kept = Buffer.concat(segs.map(([a, b]) => data.subarray(a, b)));
        expect(got.equals(kept)).toBe(true);
        expect(table.stats.deliveredBytes + table.stats.gapBytes).toBe(segs[segs.length - 1]![1]);
      }),
      { numRuns: 300 },
    );
  });

  test('random frames of every link type never throw', () => {
    const linkTypes = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 9999];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...linkTypes), fc.uint8Array({ maxLength: 120 })), { maxLength: 50 }), (frames) => {
        const table = new FlowTable({ serverPorts: new Set([6379, 0, 257]) }, new Recorder());
        for (const [linkType, data] of frames) table.packet(toPacket({ linkType, data, tsUs: 1 }));
        table.finish(2);
        expect(table.stats.packets).toBe(frames.length);
      }),
      { numRuns: 500 },
    );
  });

  test('valid frames with random bytes overwritten never throw', () => {
    const base = [
      tcpFrame({ ...CLIENT, seq: 5, ack: 9, flags: F.ACK | F.PSH, payload: 'GET k\r\n' }),
      tcpFrame({ src: '2001:db8::1', dst: '::1', sport: 6379, dport: 1000, seq: 5, ack: 9, flags: F.FIN | F.ACK, payload: 'x' }),
    ];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 1 }), fc.array(fc.tuple(fc.nat({ max: 99 }), fc.nat({ max: 255 })), { maxLength: 6 }))), (muts) => {
        const table = new FlowTable({ serverPorts: new Set([6379]) }, new Recorder());
        for (const [which, edits] of muts) {
          const f = base[which]!;
          const data = Uint8Array.from(f.data);
          for (const [at, v] of edits) if (at < data.length) data[at] = v;
          table.packet(toPacket({ ...f, data }));
        }
        table.finish(3);
        expect(table.openConnections()).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});
