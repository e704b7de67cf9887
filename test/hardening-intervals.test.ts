/**
 * Issue 10 #5: every counter in a `live --interval` line is that interval's own. Lines used to
 * carry the run's cumulative packets, bytes, drops, gaps and unparsed bytes beside the
 * interval's commands. Checked offline (real captures cut into intervals: the intervals' counters
 * add up to the whole run's) and live on lo against a real redis-server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Stats } from '../src/analysis/stats.js';
import { readCaptureFile } from '../src/capture/file-reader.js';
import { emptyCaptureStats, type Packet } from '../src/capture/packet.js';
import { counterDelta, IntervalReports } from '../src/engine/live-interval.js';
import { analyzerOptions } from '../src/engine/options.js';
import { Pipeline } from '../src/engine/pipeline.js';
import { errorsByCodeOf, type Report } from '../src/output/report.js';
import { liveCaptureUnavailable } from './helpers/live.js';
import { encodeCommand, haveRedis, startRedis, type RedisServer } from './helpers/redis-server.js';

const capturePath = (name: string) => new URL(`../captures/${name}`, import.meta.url).pathname;

function packetsOf(path: string): Packet[] {
  const out: Packet[] = [];
  readCaptureFile(path, (p) => out.push({ ...p, data: Uint8Array.prototype.slice.call(p.data, p.offset, p.offset + p.capLen), offset: 0 }), {});
  return out;
}

/** Totals that are no counters: a gauge, a rate, a maximum, and the by-code object (summed apart). */
const NOT_ADDED = new Set(['openConnections', 'commandsPerSec', 'maxBackwardsUs', 'errorsByCode']);

describe('counterDelta', () => {
  test('counters differenced, nested ones too; nulls, gauges and lists as they are; a reset counter whole', () => {
    const before = { packets: 10, kernelDrops: 3, interfaceDrops: null, interfaces: 1, links: { 1: 4 }, warnings: ['a'], format: 'live' };
    const now = { packets: 25, kernelDrops: 2, interfaceDrops: null, interfaces: 1, links: { 1: 9, 113: 2 }, warnings: ['a', 'b'], format: 'live' };
    expect(counterDelta(now, before)).toEqual({
      packets: 15, kernelDrops: 2, interfaceDrops: null, interfaces: 1, links: { 1: 5, 113: 2 }, warnings: ['a', 'b'], format: 'live',
    });
  });
});

describe.each(['demo.pcap', 'dropped.pcap', 'duplicated.pcap', 'reordered.pcap', 'midstream.pcap'])('%s cut into 4 intervals', (name) => {
  const packets = packetsOf(capturePath(name));
  const pipe = new Pipeline(analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 50 }), [6379]);
  const intervalStats = new Stats(analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 50 }));
  pipe.analyzer.intervalStats = intervalStats;
  // What live.ts keeps: its own packet and byte counts, and the drops the kernel reports.
  const cap = emptyCaptureStats('live');
  const intervals = new IntervalReports(pipe, intervalStats, cap);
  const source: Report['source'] = { kind: 'live', name: 'lo', format: 'live', ports: [6379], filter: null };
  const drops = [5, 12, 12, 20];
  const cuts = [0.25, 0.5, 0.75, 1].map((f) => Math.round(packets.length * f));
  const lines: Report[] = [];
  const sent: Array<{ packets: number; bytes: number }> = [];
  let at = 0;
  cuts.forEach((end, i) => {
    const part = packets.slice(at, end);
    for (const p of part) {
      cap.packets++;
      cap.bytes += p.capLen;
      intervals.packet(p.tsUs);
      pipe.packet(p);
    }
    if (i === cuts.length - 1) pipe.finish();
    cap.kernelDrops = drops[i]!;
    lines.push(intervals.report(cap, source, 50));
    intervals.restart();
    sent.push({ packets: part.length, bytes: part.reduce((n, p) => n + p.capLen, 0) });
    at = end;
  });
  const whole = pipe.report(cap, source, 50);

  test('packets, bytes and kernel drops are each interval\'s own', () => {
    expect(lines.map((r) => r.totals['packets'])).toEqual(sent.map((s) => s.packets));
    expect(lines.map((r) => r.totals['bytes'])).toEqual(sent.map((s) => s.bytes));
    expect(lines.map((r) => r.totals['kernelDrops'])).toEqual([5, 7, 0, 8]);
  });

  test('every counter of the intervals adds up to the whole run\'s', () => {
    const keys = Object.keys(whole.totals).filter((k) => !NOT_ADDED.has(k));
    // A counter the capture does not know (interface drops here) stays null.
    const sum = (k: string) => (lines.every((r) => r.totals[k] === null) ? null : lines.reduce((n, r) => n + (r.totals[k] ?? 0), 0));
    expect(Object.fromEntries(keys.map((k) => [k, sum(k)]))).toEqual(Object.fromEntries(keys.map((k) => [k, whole.totals[k]])));
    const codes: Record<string, number> = {};
    for (const r of lines) for (const [c, n] of Object.entries(errorsByCodeOf(r))) codes[c] = (codes[c] ?? 0) + n;
    expect(codes).toEqual(errorsByCodeOf(whole));
    expect(lines.reduce((n, r) => n + r.violations.length, 0)).toBe(whole.violations.length);
  });
});

const BIN = new URL('../bin/redis-tap.js', import.meta.url).pathname;
const skipReason = !haveRedis ? 'redis-server not installed' : liveCaptureUnavailable();
if (skipReason) console.warn(`hardening-intervals: live case skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)('live --interval on lo', () => {
  let redis: RedisServer;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await redis?.stop();
  });

  /** `live --json --interval` on lo for `seconds`, once its first line says the capture is open. */
  async function liveIntervals(interval: number, seconds: number): Promise<{ output: () => string; exited: Promise<number | null> }> {
    const child = spawn(process.execPath, [BIN, 'live', '-i', 'lo', '-p', String(redis.port), '--json', '--interval', String(interval), '--duration', String(seconds), '--cpu-priority', 'normal'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // However long a loaded machine took to open it.
    for (const end = Date.now() + 10_000; !out.includes('\n') && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
    return { output: () => out, exited };
  }

  test('a quiet interval after the traffic shows 0 packets, 0 bytes; the lines add up to the final report', async () => {
    const { output, exited } = await liveIntervals(1, 6);
    const s = net.connect(redis.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    for (let i = 0; i < 100; i++) {
      s.write(encodeCommand(['SET', `iv:${i}`, 'v']));
      await new Promise((r) => s.once('data', r));
    }
    s.end();
    expect(await exited).toBe(0);
    const reports = output().trim().split('\n').map((l) => JSON.parse(l) as Report);
    const final = reports.pop()!;
    expect(reports.length).toBeGreaterThanOrEqual(3);
    const total = (k: string) => reports.reduce((n, r) => n + (r.totals[k] ?? 0), 0);
    expect(final.totals['commands']).toBe(100);
    expect([total('commands'), total('packets'), total('bytes'), total('kernelDrops')])
      .toEqual([100, final.totals['packets'], final.totals['bytes'], final.totals['kernelDrops']]);
    // The last interval came well after the traffic: nothing in it.
    const last = reports[reports.length - 1]!;
    expect([last.totals['commands'], last.totals['packets'], last.totals['bytes'], last.totals['kernelDrops']]).toEqual([0, 0, 0, 0]);
  });

  // The audit's live-interval-pending.sh: a BLPOP 0 still waiting at the stop is made unanswered
  // by it; the lines printed before the stop had neither it nor the packets since the last line.
  test('a request pending at the stop is in the last line: commands, unanswered and packets add up', async () => {
    const { output, exited } = await liveIntervals(2, 5);
    const s = net.connect(redis.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    s.write(encodeCommand(['SET', 'pending:a', '1']));
    await new Promise((r) => s.once('data', r));
    s.write(encodeCommand(['BLPOP', 'pending:nolist', '0'])); // no reply until the run has stopped
    try {
      expect(await exited).toBe(0);
    } finally {
      s.destroy();
    }
    const reports = output().trim().split('\n').map((l) => JSON.parse(l) as Report);
    const final = reports.pop()!;
    expect([final.totals['commands'], final.totals['unanswered']]).toEqual([2, 1]);
    const keys = ['commands', 'replies', 'unanswered', 'connections', 'packets', 'bytes'];
    const total = (k: string) => reports.reduce((n, r) => n + (r.totals[k] ?? 0), 0);
    expect(Object.fromEntries(keys.map((k) => [k, total(k)]))).toEqual(Object.fromEntries(keys.map((k) => [k, final.totals[k]])));
  });
});
