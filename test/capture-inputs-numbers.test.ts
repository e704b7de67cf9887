/**
 * Numbers read from a capture file are checked against what they can mean (issue 10): pcapng
 * stamps near 2^64 ns or before 1970, drop counters of 2^64-1, a file with no packets; and port
 * numbers on the command line are plain decimal.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { CaptureParser } from '../src/capture/capture-parser.js';
import { portArg } from '../src/cli/args.js';
import { analyzeFile } from '../src/engine/analyze-file.js';
import { analyzerOptions } from '../src/engine/options.js';
import type { Report } from '../src/output/report.js';
import { renderText } from '../src/output/text.js';
import { buildPcap, PcapngBuilder, parseCapture } from './helpers/pcap-build.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'redis-tap.js');
const BASE = join(ROOT, 'captures', 'base.pcap');
const dir = mkdtempSync(join(tmpdir(), 'redis-tap-numbers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NS_2_64 = (1n << 64n) - 1n;

interface Frame {
  tsNs: bigint;
  data: Buffer;
}

/** base.pcap's frames, with their stamps in ns. */
function baseFrames(): Frame[] {
  const out: Frame[] = [];
  const p = new CaptureParser((x) => {
    out.push({ tsNs: BigInt(Math.round(x.tsUs)) * 1000n, data: Buffer.from(x.data.subarray(x.offset, x.offset + x.capLen)) });
  });
  p.push(readFileSync(BASE));
  p.end();
  return out;
}

/** base.pcap as pcapng in ns, with the stamps of some frames replaced. */
function asPcapng(name: string, stamp: (f: Frame, i: number) => bigint, tsoffset?: number): string {
  const b = new PcapngBuilder().shb().idb(1, tsoffset === undefined ? { tsresol: 9 } : { tsresol: 9, tsoffset });
  baseFrames().forEach((f, i) => b.epb(0, stamp(f, i), f.data));
  const path = join(dir, name);
  writeFileSync(path, b.build());
  return path;
}

function analyze(path: string): Report {
  return analyzeFile({ path, ports: [6379], top: 10, analyzer: analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 }) });
}

/** What must not change when only stamps are damaged: everything counted, by name. */
function counts(r: Report) {
  const t = r.totals;
  return { packets: t['packets'], commands: t['commands'], replies: t['replies'], connections: t['connections'], unanswered: t['unanswered'],
    commandsByName: r.commands.map((c) => [c.name, c.count]), hotKeys: r.hotKeys };
}

describe('pcapng stamps no capture can mean', () => {
  const plain = analyze(BASE);

  test('one packet at 2^64 ns: read with the stamp before it; span, rate and timeline are the capture\'s own', () => {
    const r = analyze(asPcapng('one-huge.pcapng', (f, i) => (i === 5 ? NS_2_64 : f.tsNs)));
    expect(counts(r)).toEqual(counts(plain));
    expect(r.span).toEqual(plain.span);
    expect(r.totals['commandsPerSec']).toBe(plain.totals['commandsPerSec']);
    expect(r.timeline).toEqual(plain.timeline);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/one-huge\.pcapng: 1 packet stamped outside 1970-2200 \(first: 2554-07-21T23:34:33\.709Z at byte \d+\): each was read with the stamp/);
    expect(() => renderText(r, { color: false, top: 10 })).not.toThrow();
  });

  test('the first packets stamped 2^64 ns: held back, then read with the first good stamp', () => {
    const r = analyze(asPcapng('first-huge.pcapng', (f, i) => (i < 3 ? NS_2_64 : f.tsNs)));
    expect(counts(r)).toEqual(counts(plain));
    expect(r.span.endTs).toBe(plain.span.endTs);
    expect(r.span.startTs).toBeGreaterThanOrEqual(plain.span.startTs!);
    expect(r.warnings[0]).toMatch(/3 packets stamped outside 1970-2200/);
  });

  test.each([
    { name: 'every stamp past JavaScript\'s dates (2^64 us)', resol: 6, tsoffset: undefined, first: /first: 1\.844674e\+13 s since 1970 at byte/ },
    { name: 'every stamp before 1970 (if_tsoffset -4e9 s)', resol: 9, tsoffset: -4e9, first: /first: 1900-02-19T/ },
  ])('$name: nothing analysed, one warning, every output renders', ({ resol, tsoffset, first }) => {
    const b = new PcapngBuilder().shb().idb(1, tsoffset === undefined ? { tsresol: resol } : { tsresol: resol, tsoffset });
    for (const f of baseFrames()) b.epb(0, resol === 6 ? NS_2_64 - 5n : f.tsNs, f.data);
    const path = join(dir, 'all-bad.pcapng');
    writeFileSync(path, b.build());
    const r = analyze(path);
    expect(r.totals['packets']).toBe(plain.totals['packets']);
    expect(r.totals['commands']).toBe(0);
    expect(r.span).toEqual({ startTs: null, endTs: null, seconds: 0 });
    expect(r.warnings[0]).toMatch(first);
    expect(r.warnings[0]).toMatch(/no packet of the file has a usable stamp, so none was analysed$/);
    expect(() => renderText(r, { color: false, top: 10 })).not.toThrow();
    const cli = spawnSync(process.execPath, [BIN, 'analyze', path], { encoding: 'utf8' });
    expect([cli.status, cli.stderr]).toEqual([0, '']);
  });

  test('a simple packet block before any stamp waits for the first one', () => {
    const buf = new PcapngBuilder().shb().idb(1).spb(Buffer.from('first')).epb(0, 1_700_000_000_000_000n, Buffer.from('second')).build();
    const { packets, stats } = parseCapture(buf);
    expect(packets.map((p) => [p.tsUs, Buffer.from(p.hex, 'hex').toString()])).toEqual([[1_700_000_000_000_000, 'first'], [1_700_000_000_000_000, 'second']]);
    expect(stats.warnings).toEqual([expect.stringMatching(/1 packet stamped outside 1970-2200 \(first: no stamp at byte 48\)/)]);
  });

  test('split at every offset: the same packets, held ones included', () => {
    const b = new PcapngBuilder().shb().idb(1, { tsresol: 9 });
    b.epb(0, NS_2_64, Buffer.from('a')).epb(0, 1_700_000_000_000_000_000n, Buffer.from('bb')).epb(0, NS_2_64, Buffer.from('ccc'));
    const buf = b.build();
    const whole = parseCapture(buf);
    expect(whole.packets.map((p) => p.tsUs)).toEqual([1_700_000_000_000_000, 1_700_000_000_000_000, 1_700_000_000_000_000]);
    for (let cut = 0; cut <= buf.length; cut++) expect(parseCapture(buf, [cut])).toEqual(whole);
  });
});

describe('drop counters no capture can mean', () => {
  const P = Buffer.from('packet');
  const withDrops = (...isbs: Array<{ ifdrop?: number | bigint }>) => {
    const b = new PcapngBuilder().shb().idb(1).idb(1).epb(0, 1n, P).epb(1, 2n, P);
    for (const d of isbs) b.block(5, isbBody(d.ifdrop));
    return parseCapture(b.build()).stats;
  };

  test('isb_ifdrop 2^64-1 on two interfaces: no total, one warning each', () => {
    const stats = withDrops({ ifdrop: NS_2_64 }, { ifdrop: NS_2_64 });
    expect(stats.kernelDrops).toBeNull();
    expect(stats.warnings).toEqual([
      'test.pcap: interface 0 statistics give isb_ifdrop 18446744073709551615, which cannot be a drop count after 2 packets (a damaged block?): ignored; the drops shown come from its earlier statistics, if any',
    ]);
  });

  test('a sound counter then a damaged one: the sound one stays', () => {
    expect(withDrops({ ifdrop: 12 }, { ifdrop: 2n ** 40n }).kernelDrops).toBe(12);
  });

  test.each([
    { drops: 2n ** 53n, ok: false },
    { drops: 1_000_001n, ok: false }, // over 1000 per packet, for a file of 2 (floor 1000) packets
    { drops: 1_000_000n, ok: true },
    { drops: 0n, ok: true },
  ])('isb_ifdrop $drops: counted $ok', ({ drops, ok }) => {
    expect(withDrops({ ifdrop: drops }).kernelDrops).toBe(ok ? Number(drops) : null);
  });

  test('the report and the text say n/a, not 36893488147419103000', () => {
    const b = new PcapngBuilder().shb().idb(1).idb(1);
    for (const f of baseFrames()) b.epb(0, f.tsNs / 1000n, f.data);
    b.block(5, isbBody(NS_2_64, 0)).block(5, isbBody(NS_2_64, 1));
    const path = join(dir, 'drops.pcapng');
    writeFileSync(path, b.build());
    const r = analyze(path);
    expect(r.totals['kernelDrops']).toBeNull();
    expect(renderText(r, { color: false, top: 10 })).toContain('kernel drops n/a');
    expect(r.warnings.filter((w) => w.includes('cannot be a drop count'))).toHaveLength(2);
  });
});

/** An ISB body for interface `id` with isb_ifdrop (any u64) and an end-of-options. */
function isbBody(ifdrop: number | bigint | undefined, id = 0): Buffer {
  const fixed = Buffer.alloc(12);
  fixed.writeUInt32LE(id, 0);
  const parts = [fixed];
  if (ifdrop !== undefined) {
    const opt = Buffer.alloc(12);
    opt.writeUInt16LE(5, 0);
    opt.writeUInt16LE(8, 2);
    opt.writeBigUInt64LE(BigInt(ifdrop), 4);
    parts.push(opt);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

describe('a capture with no packets', () => {
  test.each([
    { name: 'empty.pcap', bytes: buildPcap({}, []) },
    { name: 'empty.pcapng', bytes: new PcapngBuilder().shb().idb(1).build() },
  ])('$name: an all-zero report that says why', ({ name, bytes }) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    const r = analyze(path);
    expect(r.totals['packets']).toBe(0);
    expect(r.warnings).toEqual([`${path}: the capture holds no packets`]);
  });
});

describe('ports are plain decimal numbers', () => {
  test.each(['0x18eb', '1e3', ' 6379', '6379 ', '+6379', '6379.0', '', '0', '65536', '-1', '६३७९'])('%j is refused', (v) => {
    expect(() => portArg(v, undefined)).toThrow(/is not a TCP port \(a decimal number 1-65535\)/);
  });

  test.each([['1', 1], ['6379', 6379], ['65535', 65535], ['06379', 6379]])('%j is port %d', (v, n) => {
    expect(portArg(v, [22121])).toEqual([22121, n]);
  });

  test.each([['-p', '0x18eb'], ['--proxy-port', '0x18eb'], ['-p', '1e3']])('%s %s: one line, exit 2', (opt, v) => {
    const r = spawnSync(process.execPath, [BIN, 'analyze', BASE, opt, v], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^redis-tap: option '.*' argument '${v}' is invalid\\. '${v}' is not a TCP port \\(a decimal number 1-65535\\)\\. \\(see --help\\)\\n$`));
  });
});
