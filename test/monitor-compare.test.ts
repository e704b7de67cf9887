import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { haveRedis, session, startRedis, type RedisServer } from './helpers/redis-server.js';
import { liveCaptureUnavailable } from './helpers/live.js';

/** Time a live capture takes to open (a 192 MiB ring, the CPU priority) on a machine busy with other tests. */
const CAPTURE_OPEN_MS = 2500;

const BIN = new URL('../bin/redis-tap.js', import.meta.url).pathname;
const skipReason = !haveRedis ? 'redis-server not installed' : liveCaptureUnavailable();
if (skipReason) console.warn(`monitor-compare: skipped: ${skipReason}`);


/** `ts [db client] args` -> `[db client] args`: what must match (clocks differ). */
const withoutTs = (line: string) => line.replace(/^\d+\.\d{6} /, '');

describe.skipIf(skipReason !== null)('monitor prints what redis-cli monitor prints', () => {
  let redis: RedisServer;
  let sock: string;
  beforeAll(async () => {
    sock = join(mkdtempSync(join(tmpdir(), 'redis-tap-')), 'redis.sock');
    redis = await startRedis(['--unixsocket', sock, '--requirepass', 's3cret-pw']);
  });
  afterAll(async () => {
    await redis?.stop();
  });

  test('same client, db and arguments for every line; AUTH redacted', async () => {
    // MONITOR over the unix socket, so it is not in the capture on lo.
    const truth: ChildProcess = spawn('redis-cli', ['-s', sock, '-a', 's3cret-pw', '--no-auth-warning', 'monitor'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let truthOut = '';
    truth.stdout!.on('data', (d) => (truthOut += d));
    const tap = spawn(process.execPath, [BIN, 'monitor', '-i', 'lo', '-p', String(redis.port), '--duration', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tapOut = '';
    let tapErr = '';
    tap.stdout!.on('data', (d) => (tapOut += d));
    tap.stderr!.on('data', (d) => (tapErr += d));
    await new Promise((r) => setTimeout(r, CAPTURE_OPEN_MS));

    const binary = Buffer.from([0x00, 0x01, 0x0d, 0x0a, 0x22, 0x5c, 0xff, 0x41]);
    await Promise.all([
      session(redis.port, [['AUTH', 's3cret-pw'], ['SET', 'k:1', 'hello world'], ['GET', 'k:1'], ['SELECT', '5'], ['SET', 'db5', 'x'], ['INCR', 'n']], '127.0.0.2'),
      session(redis.port, [['HELLO', '3', 'AUTH', 'default', 's3cret-pw'], ['SET', Buffer.from('bin\x00key', 'latin1'), binary], ['MGET', 'a', 'b', 'c']], '127.0.0.3'),
      session(redis.port, [['AUTH', 'default', 's3cret-pw'], ['SADD', 's', 'quote"and\\backslash', ''], ['EXPIRE', 's', '100'], ['NOSUCHCMD', 'x']], '127.0.0.4'),
    ]);
    await new Promise((r) => tap.once('exit', r));
    truth.kill('SIGINT');
    await new Promise((r) => truth.once('exit', r));

    const monitorLines = truthOut.split('\n').filter((l) => /^\d+\.\d{6} \[\d+ 127\./.test(l)).map(withoutTs);
    const tapLines = new Set(tapOut.split('\n').filter(Boolean).map(withoutTs));
    expect(monitorLines.length).toBeGreaterThanOrEqual(10);
    for (const line of monitorLines) expect(tapLines, `missing: ${line}`).toContain(line);
    expect(tapOut).not.toContain('s3cret-pw');
    expect(tapOut).toContain('"AUTH" "(redacted)"');
    expect(tapErr).toMatch(/0 kernel drops, 0 shed, 0 gaps/);
  });

  test('-w saves packets that analyze reads back to the same command counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-tap-w-'));
    const pcap = join(dir, 'saved.pcap');
    const tap = spawn(process.execPath, [BIN, 'live', '-i', 'lo', '-p', String(redis.port), '--duration', '3', '--json', '-w', pcap], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    tap.stdout!.on('data', (d) => (out += d));
    await new Promise((r) => setTimeout(r, CAPTURE_OPEN_MS));
    const cmds: string[][] = [['AUTH', 's3cret-pw']];
    for (let i = 0; i < 50; i++) cmds.push(['SET', `w:${i}`, String(i)], ['GET', `w:${i % 7}`]);
    await session(redis.port, cmds, '127.0.0.5');
    await new Promise((r) => tap.once('exit', r));
    const live = JSON.parse(out);
    const offline = JSON.parse(spawnSync(process.execPath, [BIN, 'analyze', pcap, '-p', String(redis.port), '--json'], { encoding: 'utf8' }).stdout);
    const counts = (r: { commands: Array<{ name: string; count: number }> }) => Object.fromEntries(r.commands.map((c) => [c.name, c.count]));
    expect(counts(live)).toEqual({ SET: 50, GET: 50, AUTH: 1 });
    expect(counts(offline)).toEqual(counts(live));
    expect(live.totals.kernelDrops).toBe(0);
    expect(typeof live.totals.interfaceDrops).toBe('number');
  });
});
