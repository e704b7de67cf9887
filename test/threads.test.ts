/**
 * --threads: shards by connection must not change a single figure. Every shipped capture is
 * analysed on one thread and on three (files read by every shard; stdin routed from the reader)
 * and the JSON reports compared whole; MONITOR lines compared per connection; a live capture
 * on three threads checked against the server's own INFO commandstats.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { liveCaptureUnavailable } from './helpers/live.js';
import { encodeCommand, haveRedis, startRedis, type RedisServer } from './helpers/redis-server.js';

/** Time a live capture takes to open (a 192 MiB ring, the CPU priority) on a machine busy with other tests. */
const CAPTURE_OPEN_MS = 2500;

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = `${ROOT}bin/redis-tap.js`;

function tap(args: string[], input?: Buffer): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, ...(input === undefined ? {} : { input }) });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Every capture beside its truth, with the ports the truth names (6379 when it names none). */
function captures(): Array<{ file: string; ports: string[] }> {
  const out: Array<{ file: string; ports: string[] }> = [];
  for (const dir of ['captures', 'captures/deployments']) {
    for (const name of readdirSync(`${ROOT}${dir}`).sort()) {
      if (!/\.pcap(ng)?$/.test(name)) continue;
      const truth = `${ROOT}${dir}/${name.replace(/\.pcap(ng)?$/, '.truth.json')}`;
      const t = existsSync(truth) ? (JSON.parse(readFileSync(truth, 'utf8')) as { ports?: number[] }) : {};
      out.push({ file: `${dir}/${name}`, ports: (t.ports ?? [6379]).flatMap((p) => ['-p', String(p)]) });
    }
  }
  return out;
}

const all = captures();

describe('--threads gives the report one thread gives', () => {
  test('there are captures to compare', () => {
    expect(all.length).toBeGreaterThan(20);
  });

  test.each(all)('$file: 3 threads, each reading the file', ({ file, ports }) => {
    const one = tap(['analyze', file, ...ports, '--json', '--threads', '1']);
    const three = tap(['analyze', file, ...ports, '--json', '--threads', '3']);
    expect(three.code).toBe(one.code);
    expect(three.err).toBe(one.err);
    expect(JSON.parse(three.out)).toEqual(JSON.parse(one.out));
  });

  test.each(all.filter((c) => /demo|twemproxy2|cluster|midstream|reordered|truncated/.test(c.file)))(
    '$file: 3 threads fed from stdin',
    ({ file, ports }) => {
      const bytes = readFileSync(`${ROOT}${file}`);
      const one = JSON.parse(tap(['analyze', '-', ...ports, '--json', '--threads', '1'], bytes).out);
      const three = JSON.parse(tap(['analyze', '-', ...ports, '--json', '--threads', '3'], bytes).out);
      expect(three).toEqual(one);
      expect(one.totals.commands).toBeGreaterThan(0);
    },
  );

  test.each(['captures/demo.pcap', 'captures/deployments/apps.pcap'])('%s: monitor -r makes the same lines, in order per connection', (file) => {
    const byConn = (text: string) => {
      const m = new Map<string, string[]>();
      for (const line of text.split('\n').filter((l) => l !== '')) {
        const conn = /\[\d+ ([^\]]+)\]/.exec(line)?.[1] ?? '?';
        m.set(conn, [...(m.get(conn) ?? []), line]);
      }
      return m;
    };
    const one = tap(['monitor', '-r', file, '-p', file.includes('apps') ? '6600' : '6379', '--threads', '1']);
    const three = tap(['monitor', '-r', file, '-p', file.includes('apps') ? '6600' : '6379', '--threads', '3']);
    expect(one.out.split('\n').length).toBeGreaterThan(100);
    expect(byConn(three.out)).toEqual(byConn(one.out));
    expect(three.err).toBe(one.err);
  });

  test('a thread count that is no count is one clear line and exit 2', () => {
    for (const bad of ['0', 'two', '65']) {
      const r = tap(['analyze', 'captures/base.pcap', '--threads', bad]);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/thread count/);
    }
  });
});

const liveSkip = !haveRedis ? 'redis-server not installed' : liveCaptureUnavailable();
if (liveSkip) console.warn(`threads (live): skipped: ${liveSkip}`);

/** `n` SET round trips on each of `conns` connections at once. */
async function load(port: number, conns: number, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: conns }, async (_, c) => {
      const s = net.connect(port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      for (let i = 0; i < n; i++) {
        s.write(encodeCommand(['SET', `t${c}:${i}`, 'v'.repeat(c + 1)]));
        await new Promise((r) => s.once('data', r));
      }
      s.end();
    }),
  );
}

async function commandstats(port: number): Promise<Map<string, number>> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  s.write(encodeCommand(['INFO', 'commandstats']));
  let text = '';
  await new Promise<void>((resolve) => s.on('data', (d) => ((text += d), text.includes('\r\n\r\n') || /cmdstat_\w+:.*\r\n$/.test(text) ? resolve() : undefined)));
  s.end();
  return new Map([...text.matchAll(/cmdstat_(\w+):calls=(\d+)/g)].map((m) => [m[1]!.toUpperCase(), Number(m[2])]));
}

function runLive(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
  return { child, exited };
}

describe.skipIf(liveSkip !== null)('--threads on a live capture', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  test('live on 3 threads counts what the server counted', async () => {
    const before = await commandstats(redis.port);
    const run = runLive(['live', '-i', 'lo', '-p', String(redis.port), '--json', '--no-tui', '--threads', '3']);
    await new Promise((r) => setTimeout(r, CAPTURE_OPEN_MS));
    await load(redis.port, 12, 50);
    await new Promise((r) => setTimeout(r, 500));
    run.child.kill('SIGINT');
    const r = await run.exited;
    const after = await commandstats(redis.port);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    const sets = (after.get('SET') ?? 0) - (before.get('SET') ?? 0);
    expect(sets).toBe(600);
    expect(report.commands.find((c: { name: string }) => c.name === 'SET')?.count).toBe(sets);
    expect(report.totals.connections).toBe(12);
    expect(report.totals.kernelDrops).toBe(0);
    expect(report.totals.unanswered).toBe(0);
    expect(report.hotKeys).toHaveLength(10);
  }, 30_000);

  test('monitor on 3 threads prints every command once, in order per connection', async () => {
    const run = runLive(['monitor', '-i', 'lo', '-p', String(redis.port), '--threads', '3']);
    await new Promise((r) => setTimeout(r, CAPTURE_OPEN_MS));
    await load(redis.port, 6, 40);
    await new Promise((r) => setTimeout(r, 500));
    run.child.kill('SIGINT');
    const r = await run.exited;
    expect(r.code).toBe(0);
    const lines = r.out.split('\n').filter((l) => l.includes('"SET"'));
    expect(lines).toHaveLength(240);
    for (let c = 0; c < 6; c++) {
      const mine = lines.filter((l) => l.includes(`"t${c}:`)).map((l) => Number(/"t\d+:(\d+)"/.exec(l)![1]));
      expect(mine).toEqual(Array.from({ length: 40 }, (_, i) => i));
    }
  }, 30_000);

  test('the live view, --interval and --count need one thread, and say so', () => {
    const r = tap(['live', '-i', 'lo', '-p', String(redis.port), '--interval', '1', '--threads', '2']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--interval reads the analysis as it goes, on one thread/);
  });
});
