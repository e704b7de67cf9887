/**
 * Every real capture in captures/, with its packets put out of order the ways captures come out
 * of order in the field, gives the same commands, keys and outcomes as in its own order:
 * - one direction stamped late (two tapped directions merged with a clock skew), then sorted
 *   by time, so a reply or an ACK can come before the request it answers;
 * - neighbouring packets swapped at random (`tcpdump -i any` writing from several CPUs).
 * Latencies are not compared: a skew changes them by design.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readCaptureFile } from '../src/capture/file-reader.js';
import type { CaptureStats, Packet } from '../src/capture/packet.js';
import { DECODE, TcpSegment, decodeTcp } from '../src/flow/decode.js';
import { Pipeline } from '../src/engine/pipeline.js';
import { analyzerOptions } from '../src/engine/options.js';
import type { Report } from '../src/output/report.js';
import { CAPTURES_DIR, loadTruths } from './helpers/truth.js';

const truths = new Map(loadTruths().map((t) => [t.capture, t]));
const captures = readdirSync(CAPTURES_DIR).filter((f) => /\.pcap(ng)?$/.test(f));

function packetsOf(path: string): { packets: Packet[]; stats: CaptureStats } {
  const packets: Packet[] = [];
  const stats = readCaptureFile(path, (p) => packets.push({ ...p, data: Uint8Array.prototype.slice.call(p.data, p.offset, p.offset + p.capLen), offset: 0 }), {});
  return { packets, stats };
}

function analyze(packets: readonly Packet[], stats: CaptureStats, ports: number[]): Report {
  const pipe = new Pipeline(analyzerOptions({ slowMs: 10, maxKeys: 100_000, top: 1000 }), ports);
  for (const p of packets) pipe.packet(p);
  pipe.finish();
  return pipe.report(stats, { kind: 'file', name: 'reordered', format: stats.format, ports, filter: null }, 1000);
}

/** What must not change when only the order of packets in the file changes. */
function outcome(r: Report) {
  const t = r.totals;
  return {
    totals: { commands: t.commands, replies: t.replies, errors: t.errors, unanswered: t.unanswered, gaps: t.gaps, gapBytes: t.gapBytes, connections: t.connections, violations: t.violations },
    commands: r.commands.map((c) => `${c.name} ${c.count} ${c.errors} ${c.unanswered}`).sort(),
    keys: r.hotKeys.map((k) => `${k.key} ${k.count}`).sort(),
    clients: r.clients.map((c) => `${c.ip} ${c.connections} ${c.commands}`).sort(),
  };
}

/** Packets from a client to a server port, whatever their link layer. */
function toServer(p: Packet, ports: ReadonlySet<number>, seg: TcpSegment): boolean {
  return decodeTcp(p, seg) === DECODE.TCP && ports.has(seg.dstPort) && !ports.has(seg.srcPort);
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

describe('captures out of order give the same analysis', () => {
  test.each(captures)('%s', (name) => {
    const truth = truths.get(name)!;
    const { packets, stats } = packetsOf(join(CAPTURES_DIR, name));
    const ports = new Set(truth.ports);
    const want = outcome(analyze(packets, stats, truth.ports));
    const seg = new TcpSegment();
    const up = packets.map((p) => toServer(p, ports, seg));
    for (const [skewUs, late] of [[50, true], [2000, true], [50, false], [2000, false]] as const) {
      const moved = packets.map((p, i) => ({ ...p, tsUs: up[i] === late ? p.tsUs + skewUs : p.tsUs }));
      const sorted = moved.map((p, i) => ({ p, i })).sort((a, b) => a.p.tsUs - b.p.tsUs || a.i - b.i).map((x) => x.p);
      expect({ skewUs, late: late ? 'requests' : 'replies', ...outcome(analyze(sorted, stats, truth.ports)) }).toEqual({ skewUs, late: late ? 'requests' : 'replies', ...want });
    }
    const rnd = lcg(name.length * 31);
    const swapped = [...packets];
    for (let i = 0; i + 1 < swapped.length; i++) {
      if (rnd() < 0.15) [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
    }
    expect(outcome(analyze(swapped, stats, truth.ports))).toEqual(want);
  });
});
