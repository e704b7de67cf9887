/**
 * What the report says about input it could not take at face value: merged captures whose
 * timestamps go backwards, link types and IP fragments it cannot decode. Each file here is made
 * from the shipped real captures, so the truth is theirs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Timeline } from '../src/analysis/timeline.js';
import { readCaptureFile } from '../src/capture/file-reader.js';
import type { Packet } from '../src/capture/packet.js';
import { PcapWriter } from '../src/capture/pcap-writer.js';
import { spawnSync } from 'node:child_process';
import { analyzeFile } from '../src/engine/analyze-file.js';
import { UserError } from '../src/errors.js';
import { analyzerOptions } from '../src/engine/options.js';
import type { Report } from '../src/output/report.js';
import { ethernet, F, ipv4, tcp, tcpFrame } from './helpers/frame-build.js';
import { buildPcap } from './helpers/pcap-build.js';
import { cmd } from './helpers/analyzer-run.js';
import { c, HS, s } from './helpers/tcp-conversation.js';

const dir = mkdtempSync(join(tmpdir(), 'report-warnings-'));
/** Commands the generator sent for a shipped capture (its truth file). */
function sent(name: string): number {
  const t = JSON.parse(readFileSync(`captures/${name}.truth.json`, 'utf8')) as { commands: Record<string, number> };
  return Object.values(t.commands).reduce((a, b) => a + b, 0);
}

function packetsOf(path: string): Packet[] {
  const out: Packet[] = [];
  readCaptureFile(path, (p) => out.push({ ...p, data: Uint8Array.prototype.slice.call(p.data, p.offset, p.offset + p.capLen), offset: 0 }), {});
  return out;
}

function write(name: string, packets: readonly Packet[], linkType = packets[0]!.linkType): string {
  const path = join(dir, name);
  const w = PcapWriter.open(path, linkType);
  for (const p of packets) w.write({ ...p, linkType });
  w.close();
  return path;
}

const BIN = new URL('../bin/redis-tap.js', import.meta.url).pathname;
function tap(args: string[]): { out: string; err: string; status: number | null } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

const analyze = (path: string): Report =>
  analyzeFile({ path, ports: [6379], top: 10, analyzer: analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 }) });

describe('a merged capture whose timestamps go backwards (mergecap -a of a later capture first)', () => {
  const later = packetsOf('captures/base.pcap');
  const earlier = packetsOf('captures/demo.pcap');
  const r = analyze(write('merged.pcap', [...later, ...earlier]));
  const first = Math.min(...earlier.map((p) => p.tsUs));
  const last = Math.max(...later.map((p) => p.tsUs));

  test('every command of both is counted', () => {
    expect(r.totals.commands).toBe(sent('base') + sent('demo'));
  });

  test('the span runs from the earliest packet to the latest, and says why', () => {
    expect(r.span.startTs).toBeCloseTo(first / 1e6, 6);
    expect(r.span.endTs).toBeCloseTo(last / 1e6, 6);
    expect(r.span.seconds).toBeCloseTo((last - first) / 1e6, 6);
    expect(r.warnings.some((w) => w.startsWith('1 packets are stamped earlier than the packet before them'))).toBe(true);
  });

  test('the commands/s timeline holds every command, from the earliest second', () => {
    expect(r.timeline.startTs).toBe(Math.floor(first / 1e6));
    expect(r.timeline.bucketSeconds).toBe(1);
    expect(r.timeline.counts.length).toBe(Math.floor(last / 1e6) - Math.floor(first / 1e6) + 1);
    expect(r.timeline.counts.reduce((a, b) => a + b, 0)).toBe(r.totals.commands);
  });

  test('a capture in time order gets no such warning', () => {
    expect(analyze('captures/base.pcap').warnings.filter((w) => w.includes('stamped earlier'))).toEqual([]);
  });
});

describe('frames redis-tap cannot decode are named in a warning, not silently dropped', () => {
  // Bad input when nothing else is there: one line and exit 2 (a full empty report said nothing
  // was wrong). Among readable packets: skipped, and a warning names them.
  const ppp = packetsOf('captures/base.pcap');
  const pppPath = write('ppp.pcap', ppp, 9);
  const pppLine = `${pppPath}: every packet is of link type 9, which redis-tap cannot decode (it reads Ethernet, Linux cooked v1/v2, BSD loopback and raw IP)`;

  test('a capture of a link type it does not read (PPP, 9) alone: refused, naming the link type', () => {
    expect(() => analyze(pppPath)).toThrow(new UserError(pppLine));
  });

  test.each([
    ['analyze', ['analyze', pppPath]],
    ['analyze on threads', ['analyze', pppPath, '--threads', '2']],
    ['monitor -r', ['monitor', '-r', pppPath]],
    ['monitor -r on threads', ['monitor', '-r', pppPath, '--threads', '2']],
  ])('%s of it: one line, exit 2', (_name, args) => {
    const r = tap(args);
    expect(r.status).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(`redis-tap: ${pppLine}\n`);
  });

  // Threads run from the built CLI (their workers are compiled files).
  const json = (args: string[]): Report => {
    const r = tap([...args, '--json']);
    expect(r.status, r.err).toBe(0);
    return JSON.parse(r.out) as Report;
  };

  test.each([['1'], ['2']])('PPP frames among readable ones (threads %s): skipped with a warning, the rest analysed', (threads) => {
    const r = json(['analyze', 'captures/base.pcap', pppPath, '-p', '6379', '--threads', threads]);
    expect(r.totals.commands).toBe(sent('base'));
    expect(r.warnings).toContain(
      `frames of a link type redis-tap cannot decode were skipped (${ppp.length} of link type 9): only Ethernet, Linux cooked v1/v2, BSD loopback and raw IP are read`,
    );
  });

  test.each([['1'], ['2']])('no TCP at all but a readable link type (threads %s): an empty report, not an error', (threads) => {
    const udp = ppp.slice(0, 3).map((p) => {
      const data = ethernet(0x0800, ipv4('10.0.0.2', '10.0.0.1', new Uint8Array(8), { proto: 17 }));
      return { ...p, data, capLen: data.length, origLen: data.length };
    });
    const r = json(['analyze', write('udp.pcap', udp, 1), '-p', '6379', '--threads', threads]);
    expect(r.totals.packets).toBe(3);
    expect(r.totals.nonTcpPackets).toBe(3);
  });

  test('IP fragments: counted and named, their bytes shown as gaps', () => {
    const seg = tcp({ src: '10.0.0.2', dst: '10.0.0.1', sport: 50000, dport: 6379, seq: 1000, ack: 1, payload: '*1\r\n$4\r\nPING\r\n' });
    const frag = (ip: Uint8Array, tsUs: number): Packet => {
      const data = ethernet(0x0800, ip);
      return { tsUs, linkType: 1, data, offset: 0, capLen: data.length, origLen: data.length };
    };
    const path = write('frag.pcap', [
      frag(ipv4('10.0.0.2', '10.0.0.1', seg.subarray(0, 24), { moreFragments: true }), 1_000_000),
      frag(ipv4('10.0.0.2', '10.0.0.1', seg.subarray(24), { fragOffset: 3 }), 1_000_001),
    ]);
    const r = analyze(path);
    expect(r.totals.ipFragments).toBe(2);
    expect(r.warnings).toContain('2 IP fragments skipped (fragments are not reassembled): their TCP bytes show as gaps');
  });
});

describe('a capture cut by a snap length (tcpdump -s 200)', () => {
  const SNAP = 200;
  const whole = packetsOf('captures/base.pcap');
  const cut = whole.map((p) => (p.capLen > SNAP ? { ...p, data: p.data.slice(0, SNAP), capLen: SNAP } : p));
  const r = analyze(write('snapped.pcap', cut));

  test('the gap warning names the snap length and how many packets it cut', () => {
    const snapped = whole.filter((p) => p.capLen > SNAP).length;
    expect(snapped).toBeGreaterThan(0);
    expect(r.totals.snappedPackets).toBe(snapped);
    const gaps = r.warnings.find((w) => w.includes(' gaps ('))!;
    expect(gaps).toContain(`; ${snapped} packets were cut by the capture's snap length)`);
  });
});

describe('Timeline', () => {
  test('seconds in any order: the series starts at the earliest and counts each', () => {
    const t = new Timeline();
    for (const sec of [100, 103, 98, 100, 97]) t.add(sec * 1e6 + 5);
    expect(t.series()).toEqual({ startTs: 97, bucketSeconds: 1, counts: [1, 1, 0, 2, 0, 0, 1] });
  });
});

describe('unparsed bytes say why', () => {
  const CLIENT2 = { src: '10.0.0.3', dst: '10.0.0.2', sport: 40001, dport: 6379 };
  const set = cmd('SET', 'k', 'v'.repeat(100));
  /** A client that dies 50 bytes into a SET (its FIN is seen), then, with `junk`, a joined connection sending garbage. */
  function pcap(name: string, junk: boolean): string {
    const frames = [...HS, c(10, 1000, set.slice(0, 50)), c(20, 1050, '', F.FIN | F.ACK), s(30, 5000, '', F.FIN | F.ACK, 1051)];
    if (junk) frames.push(tcpFrame({ ...CLIENT2, seq: 77, ack: 99, flags: F.ACK | F.PSH, payload: '$5\r\nab' }, 40), tcpFrame({ ...CLIENT2, seq: 84, ack: 99, flags: F.ACK | F.PSH, payload: 'zz\r\n' + cmd('PING') }, 50));
    const path = join(dir, name);
    writeFileSync(path, buildPcap({}, frames.map((f) => ({ sec: 1_800_000_000, frac: f.tsUs, data: f.data }))));
    return path;
  }

  test('a request its connection\'s end cut off is named as such, not as damage', () => {
    const r = analyze(pcap('cut-request.pcap', false));
    expect(r.totals.unparsedBytes).toBe(50);
    expect(r.warnings).toContain('50 bytes could not be placed in a request or reply and were skipped (requests or replies cut off where their connection closed or the capture ended)');
  });

  test('with other unparsed bytes, each cause is counted', () => {
    const r = analyze(pcap('cut-and-junk.pcap', true));
    expect(r.totals.unparsedBytes).toBe(60);
    expect(r.warnings).toContain('60 bytes could not be placed in a request or reply and were skipped (50 of them requests or replies cut off where their connection closed or the capture ended; the rest a connection joined mid-value, a gap, or damage)');
  });
});
