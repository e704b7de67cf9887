/**
 * `redis-tap merge`: reports of parts of a capture add up to the report of the whole. A capture
 * is split in two by client connection with tcpdump (a BPF test on bit 1 of the client port:
 * Linux's connect() prefers even ports, so not the lowest bit), each part analysed, the two
 * reports merged: totals, per-command counts, per-client and per-server rows equal the whole's;
 * latency percentiles equal (histograms merge bucket by bucket); hot keys equal while exact.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { mergeSummaries, summarize, topKeysOf, type KeySummary } from '../src/analysis/merge/key-summary.js';
import { TopKeys } from '../src/analysis/top-keys.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/redis-tap.js');
const haveTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
if (!haveTcpdump) console.warn('merge: the split-capture tests are skipped: tcpdump is not installed');

function tap(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

type Json = Record<string, any>;
const analyze = (file: string, ports: number[]): Json =>
  JSON.parse(tap(['analyze', file, ...ports.flatMap((p) => ['-p', String(p)]), '--top', '1000', '--json']).out) as Json;

/**
 * Splits by one bit (value `mask`) of the client's port: for packets from a watched port that is
 * the destination port.
 */
function split(file: string, ports: number[], dir: string, mask: number): [string, string] {
  const fromServer = ports.map((p) => `tcp src port ${p}`).join(' or ');
  const bit = (set: boolean) => `((${fromServer}) and (tcp[2:2] & ${mask} ${set ? '!=' : '='} 0)) or (not (${fromServer}) and (tcp[0:2] & ${mask} ${set ? '!=' : '='} 0))`;
  const parts = [join(dir, `a${mask}.pcap`), join(dir, `b${mask}.pcap`)] as [string, string];
  parts.forEach((out, i) => {
    const r = spawnSync('tcpdump', ['-r', file, '-w', out, bit(i === 1)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
  return parts;
}

const byName = (rows: Json[], id: string) => Object.fromEntries(rows.map((r) => [r[id], r]));
const peer = (r: Json) => ({ connections: r['connections'], commands: r['commands'], errors: r['errors'], requestBytes: r['requestBytes'], replyBytes: r['replyBytes'], meanLatencyUs: r['meanLatencyUs'] });

describe.skipIf(!haveTcpdump)('merge of a capture split by client connection equals the whole', () => {
  test.each([
    ['captures/demo.pcap', [6379]],
    ['captures/midstream.pcap', [6379]],
    ['captures/deployments/cluster.pcap', [7100, 7101, 7102, 17100, 17101, 17102]],
    ['captures/deployments/replica-disk.pcap', [6401]],
  ] as Array<[string, number[]]>)('%s', (file, ports) => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-tap-merge-'));
    const whole = analyze(join(ROOT, file), ports);
    // Bit 1 first; a capture of few connections may need another bit to put some on each side.
    let ra: Json = {};
    let rb: Json = {};
    for (const mask of [2, 4, 8, 16, 32]) {
      const [a, b] = split(join(ROOT, file), ports, dir, mask);
      ra = analyze(a, ports);
      rb = analyze(b, ports);
      if (ra['totals']['commands'] > 0 && rb['totals']['commands'] > 0) break;
    }
    // Both halves carry traffic: the split is a real one.
    expect(ra['totals']['commands']).toBeGreaterThan(0);
    expect(rb['totals']['commands']).toBeGreaterThan(0);
    writeFileSync(join(dir, 'a.json'), JSON.stringify(ra));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(rb));
    const m = JSON.parse(tap(['merge', join(dir, 'a.json'), join(dir, 'b.json'), '--top', '1000', '--json']).out) as Json;
    const { commandsPerSec: _w, ...wholeTotals } = whole['totals'];
    const { commandsPerSec: _m, ...mergedTotals } = m['totals'];
    expect(mergedTotals).toEqual(wholeTotals);
    expect(m['commands']).toEqual(whole['commands'].map((c: Json) => ({ ...c, perSec: expect.any(Number) })));
    expect(m['latencyUs']).toEqual(whole['latencyUs']);
    expect(Object.keys(byName(m['clients'], 'ip')).sort()).toEqual(Object.keys(byName(whole['clients'], 'ip')).sort());
    for (const [ip, row] of Object.entries(byName(whole['clients'], 'ip'))) expect(peer(byName(m['clients'], 'ip')[ip]!), ip).toEqual(peer(row));
    for (const [ep, row] of Object.entries(byName(whole['servers'], 'endpoint'))) {
      expect(peer(byName(m['servers'], 'endpoint')[ep]!), ep).toEqual(peer(row));
      expect(byName(m['servers'], 'endpoint')[ep]!['errorsByCode']).toEqual(row['errorsByCode']);
    }
    expect(whole['hotKeysExact']).toBe(true);
    expect(m['hotKeysExact']).toBe(true);
    expect(m['hotKeys']).toEqual(whole['hotKeys']);
    expect(m['hotKeysByBytes']).toEqual(whole['hotKeysByBytes']);
    expect(m['prefixes']).toEqual(whole['prefixes']);
    expect(m['hotSlots']).toEqual(whole['hotSlots']);
    expect(m['replication']).toEqual(whole['replication']);
    expect(m['slow']).toEqual(whole['slow']);
    expect(m['skew']['clients']).toEqual(whole['skew']['clients']);
  });
});

describe('merge refuses what it cannot merge', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redis-tap-merge-bad-'));
  test.each([
    ['not JSON', 'hello', 'not a redis-tap report (not JSON)'],
    ['other JSON', '{"items": []}', 'not a redis-tap report'],
    ['unknown version', JSON.stringify({ version: 7, totals: {}, commands: [] }), 'report version 7 is not one'],
    ['no merge section', JSON.stringify({ version: 1, totals: {}, commands: [] }), 'without its merge section'],
  ])('%s: one line, exit 2', (_name, text, message) => {
    const f = join(dir, `${_name.replace(/ /g, '-')}.json`);
    writeFileSync(f, text);
    const r = tap(['merge', f]);
    expect(r.status).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain(message);
  });

  test('a missing file: one line, exit 2', () => {
    const r = tap(['merge', join(dir, 'nope.json')]);
    expect(r.status).toBe(2);
    expect(r.err).toContain('no such file');
  });
});

describe('hot-key summaries merge with a stated error', () => {
  const S = (floor: number, ...entries: Array<[string, number]>): KeySummary => ({
    total: entries.reduce((n, [, c]) => n + c, 0) + floor, floor, entries: entries.map(([k, c]) => [k, c, c * 10, 0]),
  });

  test('exact summaries that fit: counts add, nothing is estimated', () => {
    const m = mergeSummaries(S(0, ['a', 5], ['b', 3]), S(0, ['b', 4], ['c', 1]), 10);
    expect(m.entries).toEqual([['b', 7, 70, 0], ['a', 5, 50, 0], ['c', 1, 10, 0]]);
    expect(m.floor).toBe(0);
  });

  test('past the limit: the floor bounds every unlisted key, errors bound the listed ones', () => {
    const a = S(2, ['a', 9], ['b', 3]);
    const b = S(1, ['b', 4], ['c', 8]);
    const m = mergeSummaries(a, b, 2);
    // a: 9 + at most 1 unseen in b; c: 8 + at most 2 unseen in a; b (7) dropped: the floor is 7.
    expect(m.entries).toEqual([['a', 9, 90, 1], ['c', 8, 80, 2]]);
    expect(m.floor).toBe(7);
    expect(m.total).toBe(a.total + b.total);
  });
});

describe('hot keys by bytes survive the merge', () => {
  // Synthetic traffic: 200 small keys (1 to 7 requests of 10 bytes) spread over two halves; four
  // keys of 50,000 bytes a request, one request in each half; one key of 200,000 bytes seen
  // once, in one half: hot by bytes, never near the top by count.
  const occurrences: Array<[string, number, 0 | 1]> = [];
  for (let i = 0; i < 200; i++) for (let j = 0; j <= i % 7; j++) occurrences.push([`key:${i}`, 10, ((i + j) % 2) as 0 | 1]);
  for (let i = 0; i < 4; i++) occurrences.push([`fat:${i}`, 50_000, 0], [`fat:${i}`, 50_000, 1]);
  occurrences.push(['bigval', 200_000, 1]);
  const LIMIT = 10;
  const whole = new TopKeys(1000);
  const halves = [new TopKeys(1000), new TopKeys(1000)];
  for (const [key, bytes, half] of occurrences) {
    whole.add(key, bytes);
    halves[half]!.add(key, bytes);
  }
  const row = (k: { key: string; count: number; bytes: number }) => [k.key, k.count, k.bytes];

  test('a half lists its top keys by bytes beside its top by count', () => {
    const s = summarize(halves[1]!, LIMIT);
    expect(s.entries.map((e) => e[0])).toContain('bigval');
    expect(s.entries.length).toBeLessThanOrEqual(2 * LIMIT);
    // Still largest count first; the floor bounds the counts of keys left out.
    expect(s.entries.map((e) => e[1])).toEqual(s.entries.map((e) => e[1]).sort((a, b) => b - a));
    expect(s.floor).toBe(halves[1]!.top(LIMIT + 1)[LIMIT]!.count);
  });

  test('two halves merged give the hot keys by bytes of the whole', () => {
    const m = mergeSummaries(summarize(halves[0]!, LIMIT), summarize(halves[1]!, LIMIT), LIMIT);
    const merged = topKeysOf(m, LIMIT);
    expect(whole.top(5, 'bytes').map(row)[0]).toEqual(['bigval', 1, 200_000]);
    expect(merged.top(5, 'bytes').map(row)).toEqual(whole.top(5, 'bytes').map(row));
  });

  test('a merge keeps the top by bytes of the union, bounded by the limit', () => {
    const S = (...entries: Array<[string, number, number]>): KeySummary => ({ total: 100, floor: 0, entries: entries.map(([k, c, b]) => [k, c, b, 0]) });
    const m = mergeSummaries(S(['a', 9, 9], ['b', 8, 8], ['big', 1, 1000]), S(['a', 1, 1], ['c', 7, 7], ['huge', 1, 5000]), 2);
    // By count a (10) and b (8); by bytes huge and big; c (7) is left out: the floor is 7.
    expect(m.entries.map((e) => e[0])).toEqual(['a', 'b', 'huge', 'big']);
    expect(m.floor).toBe(7);
  });
});

describe('merged reports keep the earliest violations', () => {
  test('by time, then connection, whatever order the reports come in', () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-tap-merge-violations-'));
    const base = JSON.parse(tap(['analyze', join(ROOT, 'captures/demo.pcap'), '--json']).out) as Json;
    const v = (ts: number, connection: string) => ({ ts, connection, direction: 'request', offset: 0, reason: 'x' });
    // The later report first, and each with more than a merged report keeps.
    const late = Array.from({ length: 15 }, (_, i) => v(2000 + i, 'b'));
    const early = [...Array.from({ length: 15 }, (_, i) => v(1000 + i, 'a')), v(1000, '0')];
    writeFileSync(join(dir, 'late.json'), JSON.stringify({ ...base, violations: late }));
    writeFileSync(join(dir, 'early.json'), JSON.stringify({ ...base, violations: early }));
    const m = JSON.parse(tap(['merge', join(dir, 'late.json'), join(dir, 'early.json'), '--json']).out) as { violations: Array<{ ts: number; connection: string }> };
    expect(m.violations.map((x) => `${x.ts} ${x.connection}`)).toEqual([
      '1000 0', '1000 a', ...Array.from({ length: 14 }, (_, i) => `${1001 + i} a`), '2000 b', '2001 b', '2002 b', '2003 b',
    ]);
  });
});
