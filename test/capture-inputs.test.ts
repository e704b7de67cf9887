/**
 * The pieces behind `analyze` with many inputs (issue 13): the set's order and merged counts,
 * the rotated-set hint, addresses and times for --client / --since, progress over a set, and
 * the replay (--tui) of a set.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { captureCopies } from './helpers/capture-copies.js';
import { CaptureSet, mergeStats, rotatedSiblings } from '../src/capture/capture-set.js';
import { emptyCaptureStats } from '../src/capture/packet.js';
import { isoTimeUs } from '../src/cli/args.js';
import { analyzeCapture } from '../src/engine/analyze-file.js';
import { analyzerOptions } from '../src/engine/options.js';
import { parseIpNet } from '../src/engine/packet-filter.js';
import { replayCapture } from '../src/engine/replay.js';
import type { Report } from '../src/output/report.js';
import { PcapngBuilder } from './helpers/pcap-build.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEMO = join(ROOT, 'captures', 'demo.pcap');
const dir = mkdtempSync(join(tmpdir(), 'redis-tap-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PARTS = ['x.pcap', 'x.pcap1', 'x.pcap2'].map((f) => join(dir, f));
const job = (inputs: string[]) => ({ inputs, ports: [6379], top: 10, analyzer: analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 }) });
const body = (r: Report) => ({ ...r, source: null });

beforeAll(() => {
  execFileSync('editcap', ['-F', 'pcap', '-c', '300', DEMO, join(dir, 'part.pcap')]);
  readdirSync(dir).filter((f) => f.startsWith('part_')).sort().forEach((f, i) => renameSync(join(dir, f), PARTS[i]!));
});

describe('a set of files is one capture', () => {
  test('read in first-packet order into one pipeline: the report of the whole file', async () => {
    const plain = await analyzeCapture(job([DEMO]));
    const set = await analyzeCapture(job([PARTS[2]!, PARTS[0]!, PARTS[1]!]));
    expect(body(set)).toEqual(body(plain));
    expect(set.source.files).toEqual(PARTS);
  });

  test('progress runs over the stored bytes of every file, compressed ones as stored', async () => {
    writeFileSync(join(dir, 'z.pcap1'), gzipSync(readFileSync(PARTS[1]!)));
    const inputs = [PARTS[0]!, join(dir, 'z.pcap1'), PARTS[2]!];
    const size = inputs.reduce((n, p) => n + statSync(p).size, 0);
    const seen: Array<[number, number]> = [];
    await analyzeCapture({ ...job(inputs), onProgress: (read, total) => seen.push([read, total]) });
    expect(seen.at(-1)).toEqual([size, size]);
    expect(seen.every(([, total]) => total === size)).toBe(true);
    expect(seen.every(([read], i) => i === 0 || read >= seen[i - 1]![0])).toBe(true);
  });

  test('the replay (--tui) of a set gives the report of the whole file', async () => {
    const plain = await analyzeCapture(job([DEMO]));
    const run = await replayCapture({ ...job([PARTS[1]!, PARTS[2]!, PARTS[0]!]), speed: Infinity });
    expect(run.name).toBe(`${PARTS[0]} (+2 files)`);
    expect(body(await run.done)).toEqual(body(plain));
  });

  test('files that overlap in time are read one after the other, and the report says so', async () => {
    writeFileSync(join(dir, 'copy.pcap'), readFileSync(PARTS[0]!));
    const r = await analyzeCapture(job([PARTS[0]!, PARTS[1]!, join(dir, 'copy.pcap')]));
    expect(r.warnings.some((w) => /copy\.pcap starts [\d.]+ s before .*\/x\.pcap ends: the files overlap in time/.test(w))).toBe(true);
  });

  test('a file with no packets goes last and says so', async () => {
    const empty = join(dir, 'a-empty.pcapng');
    writeFileSync(empty, new PcapngBuilder().shb().idb(1).build());
    const set = await CaptureSet.open([empty, PARTS[1]!, PARTS[0]!], () => undefined);
    expect(set.members.map((m) => m.name)).toEqual([PARTS[0], PARTS[1], empty]);
    while (await set.step());
    expect(set.stats.warnings).toContain(`${empty}: the capture holds no packets`);
    expect(set.stats.format).toBe('pcap+pcapng');
  });
});

describe('merged counts', () => {
  test('sums, the largest drop counters (they run from the capture\'s start), warnings once', () => {
    const a = { ...emptyCaptureStats('pcapng'), packets: 10, bytes: 100, kernelDrops: 3, interfaces: 2, warnings: ['w1'] };
    const b = { ...emptyCaptureStats('pcapng'), packets: 5, bytes: 50, kernelDrops: 7, truncatedRecords: 1, warnings: ['w1', 'w2'] };
    const c = { ...emptyCaptureStats('pcapng'), packets: 1, bytes: 1 };
    expect(mergeStats([a, b, c])).toMatchObject({
      format: 'pcapng', packets: 16, bytes: 151, kernelDrops: 7, interfaceDrops: null, truncatedRecords: 1, interfaces: 2, warnings: ['w1', 'w2'],
    });
  });
});

describe('the rest of a rotated set is named, never read', () => {
  beforeAll(() => {
    for (const f of ['r.pcap', 'r.pcap1', 'r.pcap2', 'r.pcap10', 'r.pcap.gz', 'capture1', 'capture2']) writeFileSync(join(dir, f), '');
  });

  test.each([
    { named: ['r.pcap'], want: ['r.pcap1, r.pcap10, r.pcap2 beside r.pcap'] },
    { named: ['r.pcap1'], want: ['r.pcap, r.pcap10, r.pcap2 beside r.pcap1'] },
    { named: ['r.pcap', 'r.pcap1', 'r.pcap2', 'r.pcap10'], want: [] },
    { named: ['r.pcap.gz'], want: [] },
    { named: ['capture1'], want: [] }, // no extension: not a tcpdump -C name, too likely a guess
  ])('$named', ({ named, want }) => {
    const lines = rotatedSiblings(named.map((n) => join(dir, n)));
    expect(lines.map((l) => l.replaceAll(`${dir}/`, '').replace(/ look like.*/, ''))).toEqual(want);
  });
});

describe('--client addresses', () => {
  test.each([
    { text: '10.1.2.3', v6: false, words: [0, 0, 0, 0x0a010203], prefix: 32 },
    { text: '10.1.2.3/8', v6: false, words: [0, 0, 0, 0x0a000000], prefix: 8 },
    { text: '0.0.0.0/0', v6: false, words: [0, 0, 0, 0], prefix: 0 },
    { text: '::1', v6: true, words: [0, 0, 0, 1], prefix: 128 },
    { text: 'fd00::/8', v6: true, words: [0xfd000000, 0, 0, 0], prefix: 8 },
    { text: '2001:db8::ff00:42:8329', v6: true, words: [0x20010db8, 0, 0xff00, 0x00428329], prefix: 128 },
    { text: '::ffff:10.0.0.1', v6: true, words: [0, 0, 0xffff, 0x0a000001], prefix: 128 },
    { text: '2001:DB8:0:0:1:0:0:1/64', v6: true, words: [0x20010db8, 0, 0, 0], prefix: 64 },
  ])('$text', ({ text, v6, words, prefix }) => {
    expect(parseIpNet(text)).toMatchObject({ v6, words, prefix });
  });

  test.each(['10.0.0.256', '10.0.0', '10.0.0.1/33', '10.0.0.1/', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'app-name', '', '::/129'])('%j is refused', (text) => {
    expect(parseIpNet(text)).toBeNull();
  });
});

describe('--since / --until times', () => {
  const at = (iso: string) => Date.parse(iso) * 1000;
  test.each([
    { text: '2026-11-22T02:19:14Z', us: at('2026-11-22T02:19:14Z') },
    { text: '2026-11-22 02:19:14', us: at('2026-11-22T02:19:14Z') },
    { text: '2026-11-22T02:19', us: at('2026-11-22T02:19:00Z') },
    { text: '2026-11-22', us: at('2026-11-22T00:00:00Z') },
    { text: '2026-11-22T03:19:14.5+01:00', us: at('2026-11-22T02:19:14.500Z') },
    { text: '2026-11-22T02:19:14.123456789-0130', us: at('2026-11-22T03:49:14.123Z') + 456.789 },
  ])('$text', ({ text, us }) => {
    expect(isoTimeUs(text)).toBeCloseTo(us, 3);
  });

  test.each(['2026-02-29', '2026-13-01', '2026-11-22T24:00', '2026-11-22T02:60', 'now', '1700000000', '2026-11-22T02:19:14.1234567890Z'])('%j is no time', (text) => {
    expect(isoTimeUs(text)).toBeNull();
  });
});

describe('stopping a plain file early (Ctrl-C)', () => {
  test('the read gives way to the event loop: an abort during it stops it, and the report says where', async () => {
    // demo.pcap (2 s of traffic) 25 times over, each copy 10 s after the one before: 100 MB,
    // which a plain file's reader reads synchronously.
    const big = join(dir, 'big.pcap');
    writeFileSync(big, captureCopies(readFileSync(DEMO), 25));
    // As a signal comes: from the event loop, here 20 ms after reading began.
    const stop = new AbortController();
    let armed = false;
    const onProgress = () => {
      if (!armed) setTimeout(() => stop.abort('interrupted (Ctrl-C or SIGTERM)'), 20);
      armed = true;
    };
    const r = await analyzeCapture({ ...job([big]), signal: stop.signal, onProgress });
    const whole = statSync(big).size;
    // (Requests the stop cut in two are counted as unparsed bytes, in a warning of their own.)
    const said = r.warnings.map((w) => /^interrupted \(Ctrl-C or SIGTERM\): reading stopped after (\d+) bytes in .*big\.pcap; the report covers what was read$/.exec(w)).filter((m) => m !== null);
    expect(said, r.warnings.join('\n')).toHaveLength(1);
    const read = Number(said[0]![1]);
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(whole);
    expect(r.totals.commands).toBeLessThan(25 * 729);
  });
});
