/**
 * The agent end to end with the real parts: a redis-server on its own port, `redis-tap agent`
 * capturing on lo, and a real Prometheus scraping it every second. Known traffic must come back
 * exactly from Prometheus's query API and from the window files; SIGTERM writes the last
 * window and exits 0.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { agentReady, havePrometheus, killAll, roundTrips, scrape, start, startAgent, waitFor, type Proc } from './helpers/agent.js';
import { liveCaptureUnavailable } from './helpers/live.js';
import { freePort, haveRedis, startRedis, type RedisServer } from './helpers/redis-server.js';

const skipReason = !haveRedis
  ? 'redis-server not installed'
  : !havePrometheus
    ? 'prometheus not installed (Debian package prometheus; .ci/run installs it)'
    : liveCaptureUnavailable();
if (skipReason) console.warn(`agent-prometheus: skipped: ${skipReason}`);

const SENT = { set: 300, get: 200, incr: 50 };
const TOTAL = SENT.set + SENT.get + SENT.incr;

/** The value of a PromQL query: { labelValue: number } by `by`, or { '': n } for a scalar sum. */
async function query(promPort: number, q: string, by = ''): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  if (body.status !== 'success') throw new Error(`query ${q}: ${JSON.stringify(body)}`);
  return Object.fromEntries(body.data.result.map((r) => [by === '' ? '' : r.metric[by] ?? '', Number(r.value[1])]));
}

describe.skipIf(skipReason !== null)('agent scraped by a real Prometheus', () => {
  let redis: RedisServer;
  let agent: Proc;
  let prom: Proc;
  let promPort: number;
  const dir = mkdtempSync(path.join(tmpdir(), 'redis-tap-agent-prom-'));
  const out = path.join(dir, 'windows');

  beforeAll(async () => {
    redis = await startRedis();
    const metricsPort = await freePort();
    agent = startAgent(['-i', 'lo', '-p', String(redis.port), '--metrics-listen', `127.0.0.1:${metricsPort}`, '--window', '2', '--out', out]);
    await agentReady(agent);
    await scrape(metricsPort);
    promPort = await freePort();
    const config = path.join(dir, 'prometheus.yml');
    writeFileSync(config, ['global:', '  scrape_interval: 1s', 'scrape_configs:', '  - job_name: redis-tap', '    static_configs:', `      - targets: ['127.0.0.1:${metricsPort}']`, ''].join('\n'));
    prom = start('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`]);
    await waitFor('prometheus to be ready', 30_000, async () => {
      if (prom.child.exitCode !== null) throw new Error(`prometheus exited: ${prom.err().slice(-500)}`);
      return (await fetch(`http://127.0.0.1:${promPort}/-/ready`)).status === 200 ? true : undefined;
    });
    // The target is up: the first scrapes happened.
    await waitFor('a scrape of the agent', 30_000, async () => ((await query(promPort, 'up{job="redis-tap"}'))[''] === 1 ? true : undefined));
  }, 90_000);

  afterAll(async () => {
    killAll();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('Prometheus reads exactly the commands sent, in total and by command', async () => {
    const commands: string[][] = [];
    for (let i = 0; i < SENT.set; i++) commands.push(['SET', `prom:${i}`, String(i)]);
    for (let i = 0; i < SENT.get; i++) commands.push(['GET', `prom:${i}`]);
    for (let i = 0; i < SENT.incr; i++) commands.push(['INCR', 'prom:counter']);
    await roundTrips(redis.port, commands);
    const total = await waitFor(`sum(redis_tap_commands_total) = ${TOTAL}`, 30_000, async () => {
      const v = (await query(promPort, 'sum(redis_tap_commands_total)'))[''];
      return v === TOTAL ? v : undefined;
    });
    expect(total).toBe(TOTAL);
    expect(await query(promPort, 'sum by (cmd) (redis_tap_commands_total)', 'cmd')).toEqual(SENT);
    expect(await query(promPort, 'sum(redis_tap_command_duration_seconds_count)')).toEqual({ '': TOTAL });
    expect(await query(promPort, 'sum(redis_tap_client_commands_total)')).toEqual({ '': TOTAL });
    expect(await query(promPort, 'sum(redis_tap_command_errors_total)')).toEqual({ '': 0 });
    expect(await query(promPort, 'redis_tap_kernel_drops_total')).toEqual({ '': 0 });
    // The p99 of SET from the histogram: a latency, in seconds, under the histogram's top bucket.
    // Over the whole run (the burst is over, so a rate() would be 0 in every bucket).
    const p99 = (await query(promPort, 'histogram_quantile(0.99, sum by (le) (redis_tap_command_duration_seconds_bucket{cmd="set"}))'))[''];
    expect(p99).toBeGreaterThan(0);
    expect(p99).toBeLessThan(10);
  }, 60_000);

  test('SIGTERM writes the last window and exits 0; the window files add up to what was sent', async () => {
    await roundTrips(redis.port, [['SET', 'last', 'window']]);
    const killedAt = Date.now();
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    const files = readdirSync(out).sort();
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) expect(f).toMatch(/^redis-tap-\d{8}T\d{6}Z\.json$/);
    const reports = files.map((f) => JSON.parse(readFileSync(path.join(out, f), 'utf8')));
    const byName: Record<string, number> = {};
    for (const r of reports) for (const c of r.commands) byName[c.name] = (byName[c.name] ?? 0) + c.count;
    expect(byName).toEqual({ SET: SENT.set + 1, GET: SENT.get, INCR: SENT.incr });
    expect(reports.reduce((n, r) => n + r.totals.commands, 0)).toBe(TOTAL + 1);
    // The window under way at SIGTERM was written: the last file is named by its start.
    const m = /^redis-tap-(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z/.exec(files[files.length - 1]!)!.slice(1).map(Number);
    const lastStart = Date.UTC(m[0]!, m[1]! - 1, m[2]!, m[3]!, m[4]!, m[5]!);
    expect(killedAt - lastStart).toBeGreaterThanOrEqual(0);
    expect(killedAt - lastStart).toBeLessThan(2000 + 100);
    expect(reports.every((r) => r.totals.unanswered === 0 && r.version === 1)).toBe(true);
  }, 30_000);
});
