/**
 * Packets stamped earlier than the packet before them: counted always (totals backwardsPackets,
 * maxBackwardsUs), warned about only when it can mislead: a step back of more than 1 ms, or a
 * pcapng capture whose frames came from several interfaces. One `tcpdump -i lo` has
 * sub-millisecond disorder between CPUs, and a warning there only confuses.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readCaptureFile } from '../src/capture/file-reader.js';
import { analyzeFile } from '../src/engine/analyze-file.js';
import { analyzerOptions } from '../src/engine/options.js';
import type { Report } from '../src/output/report.js';
import { F, type Frame } from './helpers/frame-build.js';
import { buildPcap, PcapngBuilder } from './helpers/pcap-build.js';
import { c, HS, s } from './helpers/tcp-conversation.js';

const dir = mkdtempSync(join(tmpdir(), 'backwards-stamps-'));
const BASE_US = 1_700_000_000_000_000;

/**
 * PING, PONG, GET, nil, FINs, at 1 ms apart; the GET is stamped `backUs` before the PONG that
 * comes before it in the file.
 */
function frames(backUs: number): Frame[] {
  const f: Frame[] = [
    ...HS,
    c(0, 1000, 'PING\r\n'),
    s(0, 5000, '+PONG\r\n', F.ACK | F.PSH, 1006),
    c(0, 1006, 'GET k\r\n', F.ACK | F.PSH, 5007),
    s(0, 5007, '$-1\r\n', F.ACK | F.PSH, 1013),
    c(0, 1013, '', F.FIN | F.ACK, 5012),
    s(0, 5012, '', F.FIN | F.ACK, 1014),
  ];
  return f.map((x, i) => ({ ...x, tsUs: BASE_US + i * 10_000 - (i === 5 ? 10_000 + backUs : 0) }));
}

function pcap(name: string, fs: readonly Frame[]): string {
  const path = join(dir, name);
  writeFileSync(path, buildPcap({}, fs.map((f) => ({ sec: Math.floor(f.tsUs / 1e6), frac: f.tsUs % 1e6, data: f.data }))));
  return path;
}

/** A pcapng file: two Ethernet interfaces; frame i goes to interface ifOf(i). */
function pcapng(name: string, fs: readonly Frame[], ifOf: (i: number) => number): string {
  const b = new PcapngBuilder().shb().idb(1).idb(1);
  fs.forEach((f, i) => b.epb(ifOf(i), BigInt(f.tsUs), f.data));
  const path = join(dir, name);
  writeFileSync(path, b.build());
  return path;
}

const analyze = (path: string): Report =>
  analyzeFile({ path, ports: [6379], top: 10, analyzer: analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 }) });
const stampWarnings = (r: Report) => r.warnings.filter((w) => w.includes('stamped earlier'));

describe('timestamps that go backwards', () => {
  test.each([
    { name: 'one interface, 50 µs of disorder: counted, no warning', path: () => pcap('jitter.pcap', frames(50)), back: 50, warning: null },
    { name: 'one interface, a 5 ms step back (a loaded host): counted, no warning', path: () => pcap('step5.pcap', frames(5000)), back: 5000, warning: null },
    {
      name: 'one interface, a 25 ms step back: warned, with the amount',
      path: () => pcap('step.pcap', frames(25_000)),
      back: 25_000,
      warning: '1 packets are stamped earlier than the packet before them, by up to 25 ms (a merged capture?): the span runs from the earliest to the latest',
    },
    {
      name: 'two interfaces merged, 50 µs of disorder: warned, with the amount',
      path: () => pcapng('merged.pcapng', frames(50), (i) => i % 2),
      back: 50,
      warning: '1 packets are stamped earlier than the packet before them, by up to 0.05 ms (a merged capture?): the span runs from the earliest to the latest',
    },
    {
      name: 'two interfaces declared, frames from one only, 50 µs of disorder: no warning',
      path: () => pcapng('one-used.pcapng', frames(50), () => 1),
      back: 50,
      warning: null,
    },
  ])('$name', ({ path, back, warning }) => {
    const r = analyze(path());
    expect(r.totals).toMatchObject({ backwardsPackets: 1, maxBackwardsUs: back, commands: 2, unanswered: 0 });
    expect(stampWarnings(r)).toEqual(warning === null ? [] : [warning]);
  });

  test('in time order: nothing counted, nothing said', () => {
    const r = analyze(pcap('ordered.pcap', frames(-10_000)));
    expect(r.totals).toMatchObject({ backwardsPackets: 0, maxBackwardsUs: 0 });
    expect(stampWarnings(r)).toEqual([]);
  });

  test('CaptureStats.interfaces: a pcap is one; a pcapng counts the interfaces that carried frames', () => {
    const count = (path: string) => readCaptureFile(path, () => undefined, {}).interfaces;
    expect(count(pcap('one.pcap', frames(0)))).toBe(1);
    expect(count(pcapng('two.pcapng', frames(0), (i) => i % 2))).toBe(2);
    expect(count(pcapng('declared.pcapng', frames(0), () => 0))).toBe(1);
    expect(count('captures/multi-if.pcapng')).toBe(2);
  });
});
