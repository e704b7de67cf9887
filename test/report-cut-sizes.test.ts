/**
 * What the report says it left out, it says truly. A slow request's argument cut to its preview
 * ends with `...(N bytes)` where N is the argument's size on the wire (the size the client sent),
 * in every output: JSON, text, on threads, and after `redis-tap merge`. A row of errors by code
 * that names only some commands says how many more there are and how many errors they had.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { cmd } from './helpers/analyzer-run.js';
import { F, type Frame } from './helpers/frame-build.js';
import { buildPcap } from './helpers/pcap-build.js';
import { c, HS, s } from './helpers/tcp-conversation.js';

const BIN = new URL('../bin/redis-tap.js', import.meta.url).pathname;

function tap(args: string[]): { out: string; err: string; status: number | null } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

/** One connection: each request sent in segments of at most 1400 bytes, its reply `gapUs` later. */
function conversation(exchanges: Array<[request: string, reply: string, gapUs: number]>): Buffer {
  const frames: Frame[] = [...HS];
  let cseq = 1000;
  let sseq = 5000;
  let ts = 1_000_000;
  for (const [req, rep, gapUs] of exchanges) {
    for (let at = 0; at < req.length; at += 1400) {
      const part = req.slice(at, at + 1400);
      frames.push(c((ts += 10), cseq, part));
      cseq += part.length;
    }
    frames.push(s((ts += gapUs), sseq, rep));
    sseq += rep.length;
  }
  frames.push(c((ts += 10), cseq, '', F.FIN | F.ACK), s((ts += 10), sseq, '', F.FIN | F.ACK, cseq + 1));
  return buildPcap({}, frames.map((f) => ({ sec: Math.floor(f.tsUs / 1e6), frac: f.tsUs % 1e6, data: f.data })));
}

type Json = Record<string, any>;

describe('a slow request with a cut argument', () => {
  // The truth: the sizes the client sent.
  const SIZE = 70_000;
  const value = 'C'.repeat(SIZE);
  let dir: string;
  let pcap: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'redis-tap-cut-'));
    pcap = join(dir, 'slow-big.pcap');
    writeFileSync(pcap, conversation([[cmd('SET', 'big:two', value), '+OK\r\n', 20_000], [cmd('GET', 'small'), '$-1\r\n', 15_000]]));
  });

  const slowBig = (r: Json): string => (r['slow'] as Json[]).find((x) => String(x['command']).startsWith('SET big:two'))!['command'] as string;

  test.each([[['--threads', '1']], [['--threads', '2']]])('JSON %j: the argument size, not the preview size', (extra) => {
    const r = tap(['analyze', pcap, '-p', '6379', '--json', ...extra]);
    expect(r.status, r.err).toBe(0);
    const json = JSON.parse(r.out) as Json;
    expect(slowBig(json)).toMatch(new RegExp(`^SET big:two C{64}\\.\\.\\.\\(${SIZE} bytes\\)$`));
    // An argument shown whole has no size suffix.
    expect((json['slow'] as Json[]).map((x) => x['command'])).toContain('GET small');
  });

  test('text: the row, cut to its column, still ends with the argument size', () => {
    const r = tap(['analyze', pcap, '-p', '6379']);
    expect(r.status, r.err).toBe(0);
    const row = r.out.split('\n').find((l) => l.includes('SET big:two'))!;
    expect(row).toMatch(new RegExp(`slow +SET big:two C+\\.\\.\\.\\(${SIZE} bytes\\)$`));
  });

  test('merge: a report merged keeps the size; a report made before sizes were kept still merges', () => {
    const report = tap(['analyze', pcap, '-p', '6379', '--json']).out;
    const file = join(dir, 'r.json');
    writeFileSync(file, report);
    const merged = tap(['merge', file, file, '--json']);
    expect(merged.status, merged.err).toBe(0);
    expect(slowBig(JSON.parse(merged.out) as Json)).toContain(`(${SIZE} bytes)`);

    const old = JSON.parse(report) as Json;
    for (const x of old['merge']['slow'] as Json[]) delete x['argLens'];
    const oldFile = join(dir, 'old.json');
    writeFileSync(oldFile, JSON.stringify(old));
    const r = tap(['merge', oldFile, file, '--json']);
    expect(r.status, r.err).toBe(0);
    expect(slowBig(JSON.parse(r.out) as Json)).toMatch(/^SET big:two C{64}\.\.\.\(\d+ bytes\)$/);
  });
});

describe('errors by code in the text report', () => {
  test('a row naming four commands says how many more, with their errors: the row adds up', () => {
    const names = ['DEBUG', 'GET', 'CLIENT', 'INCR', 'NOSUCHCMD', 'WRONGARITY'];
    const counts = [6, 1, 1, 1, 1, 1];
    const exchanges: Array<[string, string, number]> = [];
    names.forEach((n, i) => {
      for (let k = 0; k < counts[i]!; k++) exchanges.push([cmd(n, 'x'), `-ERR failed ${n}\r\n`, 100]);
    });
    exchanges.push([cmd('LPUSH', 's', 'v'), '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n', 100]);
    const dir = mkdtempSync(join(tmpdir(), 'redis-tap-codes-'));
    const pcap = join(dir, 'errors.pcap');
    writeFileSync(pcap, conversation(exchanges));

    const r = tap(['analyze', pcap, '-p', '6379']);
    expect(r.status, r.err).toBe(0);
    const row = r.out.split('\n').find((l) => /^\s+ERR\s/.test(l))!;
    expect(row).toMatch(/^\s+ERR\s+11\s+DEBUG 6, \w+ 1, \w+ 1, \w+ 1, \.\.\. 2 more commands: 2$/);
    const listed = [...row.matchAll(/(\d+)(?:,|$)/g)].reduce((n, m) => n + Number(m[1]), 0);
    expect(listed).toBe(11);

    // Codes past --top are said to be left out, as commands past it are.
    const top1 = tap(['analyze', pcap, '-p', '6379', '--top', '1']).out;
    expect(top1).toMatch(/^\s+ERR\s+11\s/m);
    expect(top1).not.toMatch(/^\s+WRONGTYPE\s/m);
    expect(top1).toContain('... 1 more codes');
  });
});
