/**
 * `monitor -r FILE` prints what `monitor -i` printed live for the same packets, byte for byte
 * (timestamps included: both are capture times), with and without --with-replies: a live monitor
 * that also writes its packets (-w) is the truth for the offline one. Its lines are in the format
 * redis-faina (and other MONITOR readers) parse.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { haveRedis, session, startRedis, type RedisServer } from './helpers/redis-server.js';
import { liveCaptureUnavailable } from './helpers/live.js';

/** Time a live capture takes to open (a 192 MiB ring, the CPU priority) on a machine busy with other tests. */
const CAPTURE_OPEN_MS = 2500;

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/redis-tap.js');
const CAPTURES = join(ROOT, 'captures');
const skipReason = !haveRedis ? 'redis-server not installed' : liveCaptureUnavailable();
if (skipReason) console.warn(`monitor-offline (live part): skipped: ${skipReason}`);

/**
 * redis-faina's line pattern (redis-faina.py, `line_re_24`): timestamp, [db ip:port], quoted
 * command, optional quoted key, the rest.
 */
const FAINA_LINE = /^(?<timestamp>[\d.]+)\s\[(?<db>\d+)\s\d+\.\d+\.\d+\.\d+:\d+\]\s"(?<command>\w+)"(\s"(?<key>[^"]*)")?(\s(?<args>.+))?$/;

function tap(args: string[]): { out: string; err: string; status: number | null } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'latin1', maxBuffer: 1 << 28 });
  return { out: r.stdout, err: r.stderr, status: r.status };
}


describe.skipIf(skipReason !== null)('monitor -r equals live monitor on the same packets', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis(['--requirepass', 'pw-0ff1ine']);
  });
  afterAll(async () => {
    await redis?.stop();
  });

  test.each([[false], [true]])('with replies: %s', async (withReplies) => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-tap-mon-r-'));
    const pcap = join(dir, 'live.pcap');
    const extra = withReplies ? ['--with-replies'] : [];
    const live = spawn(process.execPath, [BIN, 'monitor', '-i', 'lo', '-p', String(redis.port), '--duration', '3', '-w', pcap, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let liveOut = '';
    live.stdout!.setEncoding('latin1');
    live.stdout!.on('data', (d) => (liveOut += d));
    await new Promise((r) => setTimeout(r, CAPTURE_OPEN_MS));
    await Promise.all([
      session(redis.port, [['AUTH', 'pw-0ff1ine'], ['SET', 'k:1', 'hello world'], ['GET', 'k:1'], ['SELECT', '5'], ['INCR', 'n'], ['INCR', 'k:1']], '127.0.0.2'),
      session(redis.port, [['HELLO', '3', 'AUTH', 'default', 'pw-0ff1ine'], ['SET', Buffer.from('bin\x00key', 'latin1'), Buffer.from([0, 0x0d, 0x0a, 0x22, 0xff])], ['MGET', 'a', 'b']], '127.0.0.3'),
    ]);
    await new Promise((r) => live.once('exit', r));
    const offline = tap(['monitor', '-r', pcap, '-p', String(redis.port), ...extra]);
    expect(offline.status).toBe(0);
    expect(liveOut.split('\n').length).toBeGreaterThan(9);
    expect(offline.out).toBe(liveOut);
    expect(offline.out).not.toContain('pw-0ff1ine');
  });
});

describe('monitor -r on the shipped captures', () => {
  const files = readdirSync(CAPTURES).filter((f) => /^(demo|base|nano|ipv6|midstream)\.pcap$/.test(f));
  test.each(files)('%s: one line per command, in the format MONITOR readers parse', (file) => {
    const json = JSON.parse(tap(['analyze', join(CAPTURES, file), '--json']).out) as { totals: { commands: number } };
    const r = tap(['monitor', '-r', join(CAPTURES, file)]);
    expect(r.status).toBe(0);
    const lines = r.out.split('\n').filter(Boolean);
    expect(lines).toHaveLength(json.totals.commands);
    // Lines of known db on IPv4 are what redis-faina reads; unknown db (`?`, joined mid-stream) and IPv6 it cannot.
    const readable = lines.filter((l) => /^\d+\.\d{6} \[\d+ \d+\.\d+\.\d+\.\d+:\d+\]/.test(l));
    for (const l of readable) expect(l, l).toMatch(FAINA_LINE);
    expect(r.err).toMatch(new RegExp(`^redis-tap: ${json.totals.commands} commands from \\d+ packets`));
  });

  test('-r reads gzip and stdin as analyze does: the same lines', () => {
    const plain = tap(['monitor', '-r', join(CAPTURES, 'base.pcap')]).out;
    const dir = mkdtempSync(join(tmpdir(), 'redis-tap-mon-gz-'));
    const gz = join(dir, 'base.pcap.gz');
    writeFileSync(gz, gzipSync(readFileSync(join(CAPTURES, 'base.pcap'))));
    expect(tap(['monitor', '-r', gz]).out).toBe(plain);
    const piped = spawnSync(process.execPath, [BIN, 'monitor', '-r', '-'], { input: readFileSync(join(CAPTURES, 'base.pcap')), encoding: 'latin1' });
    expect(piped.stdout).toBe(plain);
    expect(plain.split('\n').length).toBeGreaterThan(100);
  });

  test('-r and -i together: one line, exit 2', () => {
    const r = tap(['monitor', '-r', join(CAPTURES, 'demo.pcap'), '-i', 'lo']);
    expect(r.status).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  // A file is read without libpcap, so a BPF filter cannot narrow it: refused, not ignored (it
  // printed every line, even with a filter that does not parse).
  test.each([['host 10.9.9.9'], ['garbage ((']])('-r with --filter %s: no lines, one line on stderr, exit 2', (filter) => {
    const r = tap(['monitor', '-r', join(CAPTURES, 'demo.pcap'), '-p', '6379', '--filter', filter]);
    expect(r.out).toBe('');
    expect(r.status).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain('--filter applies to live capture only');
  });
});
