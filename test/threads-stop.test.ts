/**
 * Ctrl-C on `analyze --threads 3` of a capture file: every thread reads the file itself and
 * keeps its own connections, so the report is honest only if all of them stop at the same
 * packet. The stopped report must be, figure for figure, what one thread reports of the capture
 * cut at the packet the report says it reached.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { captureCopies } from './helpers/capture-copies.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = `${ROOT}bin/redis-tap.js`;
const PCAP_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;
const STOPPED = /^interrupted \(Ctrl-C or SIGTERM\): reading stopped after (\d+) bytes in .*big\.pcap(\.gz)?; the report covers what was read$/;
/** Tries at the stop's timing: a busy machine starts and reads at its own pace. */
const ATTEMPTS = 20;

const dir = mkdtempSync(join(tmpdir(), 'redis-tap-threads-stop-'));
const big = join(dir, 'big.pcap');
/** The same, gzipped: read through a decompressor, whose reads are not done at once. */
const bigGz = join(dir, 'big.pcap.gz');
/** Where each record of big.pcap ends. */
let recordEnds: number[] = [];
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  // demo.pcap (2 s of traffic, 300 connections' worth over the copies) 25 times over, each copy
  // 10 s after the one before: 100 MB, long enough to be stopped midway.
  const bytes = captureCopies(readFileSync(`${ROOT}captures/demo.pcap`), 25);
  writeFileSync(big, bytes);
  writeFileSync(bigGz, gzipSync(bytes, { level: 1 }));
  recordEnds = [];
  for (let off = PCAP_HEADER_BYTES; off < bytes.length; ) recordEnds.push((off += RECORD_HEADER_BYTES + bytes.readUInt32LE(off + 8)));
});

interface JsonReport {
  totals: { packets: number; commands: number; replies: number; connections: number };
  source: unknown;
  warnings: string[];
}

function analyze(file: string, threads: number): JsonReport {
  const r = spawnSync(process.execPath, [BIN, 'analyze', '-r', file, '-p', '6379', '--json', '--threads', String(threads)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as JsonReport;
}

/** The run, given SIGINT after delayMs: too early (before reading, or before the handler), too late (read whole), or stopped midway. */
async function stopAfter(file: string, delayMs: number): Promise<{ kind: 'early' } | { kind: 'late'; report: JsonReport } | { kind: 'stopped'; report: JsonReport; bytesRead: number }> {
  const child = spawn(process.execPath, [BIN, 'analyze', '-r', file, '-p', '6379', '--json', '--threads', '3'], { cwd: ROOT });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGINT'), delayMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  if (code === null) return { kind: 'early' };
  expect(code, err).toBe(0);
  const report = JSON.parse(out) as JsonReport;
  const said = report.warnings.map((w) => STOPPED.exec(w)).filter((m) => m !== null);
  if (said.length === 0) return { kind: 'late', report };
  expect(said, report.warnings.join('\n')).toHaveLength(1);
  if (report.totals.packets === 0) return { kind: 'early' };
  return { kind: 'stopped', report, bytesRead: Number(said[0]![1]) };
}

/** A report without what names the input. */
const body = (r: JsonReport) => ({ ...r, source: null });

/** A stopped report against one thread's report of the capture cut at the packet it reached. */
function checkStopped(report: JsonReport, bytesRead: number | null): void {
  const packets = report.totals.packets;
  // Every whole record in the bytes read, and no more.
  if (bytesRead !== null) expect(packets).toBe(recordEnds.filter((end) => end <= bytesRead).length);
  expect(packets).toBeLessThan(recordEnds.length);
  const prefix = join(dir, 'prefix.pcap');
  writeFileSync(prefix, readFileSync(big).subarray(0, recordEnds[packets - 1]));
  const one = analyze(prefix, 1);
  expect(one.totals.packets).toBe(packets);
  expect(report.totals.commands).toBe(one.totals.commands);
  expect({ ...body(report), warnings: report.warnings.filter((w) => !STOPPED.test(w)) }).toEqual(body(one));
}

describe('Ctrl-C on a file read by 3 threads', () => {
  // Several stops, at different points: threads that stop apart may by chance stop together once.
  test.each([
    { name: 'big.pcap', stops: 3 },
    { name: 'big.pcap.gz', stops: 2 },
  ])('$name: the report is one thread\'s report of the capture cut where it says it stopped', { timeout: 240_000 }, async ({ name, stops }) => {
    const file = join(dir, name);
    const plain = file === big;
    let whole: JsonReport | null = null;
    let delayMs = 400;
    let stopped = 0;
    const tried: string[] = [];
    for (let i = 0; i < ATTEMPTS && stopped < stops; i++) {
      const run = await stopAfter(file, delayMs);
      tried.push(`${Math.round(delayMs)} ms: ${run.kind}`);
      if (run.kind === 'early') delayMs *= 1.6;
      else if (run.kind === 'late') {
        // The first thread had read the whole file: so have the others.
        whole ??= analyze(big, 1);
        expect(body(run.report)).toEqual(body(whole));
        delayMs *= 0.6;
      } else {
        // A compressed file's bytes read are compressed bytes.
        checkStopped(run.report, plain ? run.bytesRead : null);
        stopped++;
        delayMs *= 1.3;
      }
    }
    expect(stopped, tried.join(', ')).toBe(stops);
  });
});
