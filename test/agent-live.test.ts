/**
 * The agent on lo against a real redis-server: requests whose replies come in a later window
 * are paired, not lost; SIGHUP reopens the events file; a window that cannot be written is
 * logged and counted and the capture goes on; SIGINT ends with the last window and exit 0.
 */
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { agentReady, killAll, roundTrips, scrape, sleep, startAgent, sumSamples, waitFor } from './helpers/agent.js';
import { liveCaptureUnavailable } from './helpers/live.js';
import { freePort, haveRedis, startRedis, type RedisServer } from './helpers/redis-server.js';

const skipReason = !haveRedis ? 'redis-server not installed' : liveCaptureUnavailable();
if (skipReason) console.warn(`agent-live: skipped: ${skipReason}`);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const reportsIn = (dir: string): Json[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')));

describe.skipIf(skipReason !== null)('agent on a live interface', () => {
  let redis: RedisServer;
  const dir = mkdtempSync(path.join(tmpdir(), 'redis-tap-agent-live-'));
  beforeAll(async () => {
    redis = await startRedis(['--enable-debug-command', 'yes']);
  });
  afterAll(async () => {
    killAll();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a reply that comes windows after its request is paired; events carry window and host; SIGHUP reopens them', async () => {
    const out = path.join(dir, 'pairing');
    const events = path.join(dir, 'events.ndjson');
    const metricsPort = await freePort();
    const agent = startAgent(['-i', 'lo', '-p', String(redis.port), '--window', '1', '--out', out, '--events', events, '--slow', '500', '--metrics-listen', `127.0.0.1:${metricsPort}`]);
    await agentReady(agent);
    // DEBUG SLEEP 2.5: the request in one 1 s window, its reply two or three windows later.
    await roundTrips(redis.port, [['SET', 'a', '1'], ['DEBUG', 'SLEEP', '2.5'], ['GET', 'a'], ['SET', 'big', 'x'.repeat(20_000)]]);
    await waitFor('the slow request and the big value in the events file', 15_000, async () =>
      /"DEBUG SLEEP 2\.5"[^]*"event":"bigValue"/.test(readFileSync(events, 'utf8')) ? true : undefined,
    );
    renameSync(events, events + '.1');
    agent.child.kill('SIGHUP');
    await sleep(300);
    await roundTrips(redis.port, [['DEBUG', 'SLEEP', '0.6']]);
    await waitFor('an event in the reopened file', 15_000, async () => {
      try {
        return readFileSync(events, 'utf8').includes('DEBUG SLEEP 0.6') ? true : undefined;
      } catch {
        return undefined;
      }
    });
    const text = await scrape(metricsPort);
    expect(sumSamples(text, 'redis_tap_commands_total')).toBe(5);
    // The same server serves the web view at / and its JSON.
    const page = await (await fetch(`http://127.0.0.1:${metricsPort}/`)).text();
    expect(page).toContain('<title>redis-tap</title>');
    // The web view's report is remade once a second: it counts the last request within one.
    const commands = async (): Promise<number> => ((await (await fetch(`http://127.0.0.1:${metricsPort}/api/report`)).json()) as { totals: { commands: number } }).totals.commands;
    await waitFor('the web view to count the 5 commands', 5_000, async () => ((await commands()) === 5 ? true : undefined)).catch(() => undefined);
    expect(await commands()).toBe(5);
    agent.child.kill('SIGINT');
    expect(await agent.exited).toBe(0);
    const reports = reportsIn(out);
    expect(reports.length).toBeGreaterThanOrEqual(4);
    const debug = reports.flatMap((r: Json) => r.commands.filter((c: Json) => c.name === 'DEBUG'));
    expect(debug.reduce((n: number, c: Json) => n + c.count, 0)).toBe(2);
    expect(reports.reduce((n: number, r: Json) => n + r.totals.unanswered, 0)).toBe(0);
    const slowest = reports.flatMap((r: Json) => r.slow).find((s: Json) => s.command === 'DEBUG SLEEP 2.5');
    expect(slowest.latencyUs).toBeGreaterThanOrEqual(2_500_000);
    const rotated = readFileSync(events + '.1', 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // Small values are in the window reports' big-value lists but are no events (--big-value, 10 KiB).
    expect(rotated.map((e: Json) => `${e.event} ${e.command} ${e.bytes ?? ''}`)).toEqual(['slow DEBUG SLEEP 2.5 ', 'bigValue SET 20000']);
    const first = rotated[0];
    expect(first).toMatchObject({ event: 'slow', command: 'DEBUG SLEEP 2.5', server: `127.0.0.1:${redis.port}`, host: expect.any(String) });
    expect(first.window).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // It counts in the window of its reply: the request's time plus its latency.
    const replyMs = first.ts * 1000 + first.latencyUs / 1000;
    expect(Date.parse(first.window)).toBeLessThanOrEqual(replyMs);
    expect(Date.parse(first.window) + 1000).toBeGreaterThan(replyMs - 5);
  }, 60_000);

  test('a window that cannot be written is logged and counted; the capture goes on and later windows are written', async () => {
    const out = path.join(dir, 'failing');
    const metricsPort = await freePort();
    const agent = startAgent(['-i', 'lo', '-p', String(redis.port), '--window', '1', '--out', out, '--metrics-listen', `127.0.0.1:${metricsPort}`]);
    await agentReady(agent);
    rmSync(out, { recursive: true });
    writeFileSync(out, 'not a directory');
    await roundTrips(redis.port, [['SET', 'f', '1']]);
    const failures = await waitFor('a counted write failure', 15_000, async () => {
      const n = sumSamples(await scrape(metricsPort), 'redis_tap_window_write_failures_total', '');
      return n > 0 ? n : undefined;
    });
    expect(failures).toBeGreaterThan(0);
    expect(agent.err()).toMatch(/redis-tap agent: cannot write the window report .*: E[A-Z]+ \(the capture goes on\)/);
    rmSync(out);
    await sleep(1200);
    await roundTrips(redis.port, [['SET', 'f', '2']]);
    await waitFor('a window written again', 15_000, async () => (readdirSync(out).length > 0 ? true : undefined));
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(reportsIn(out).reduce((n: number, r: Json) => n + r.totals.commands, 0)).toBeGreaterThanOrEqual(1);
  }, 60_000);

  test('bad options are one line and exit 2, before any capture', async () => {
    const file = path.join(dir, 'plain-file');
    writeFileSync(file, '');
    for (const [args, msg] of [
      [['--keep', '3 weeks'], /'3 weeks' is not a duration/],
      [['--metrics-listen', 'nowhere'], /'nowhere' is not a listen address/],
      [['--out', path.join(file, 'sub')], /cannot create the --out directory/],
    ] as const) {
      const agent = startAgent(['-i', 'lo', '-p', String(redis.port), ...args]);
      expect(await agent.exited).toBe(2);
      expect(agent.err().trim().split('\n')).toEqual([expect.stringMatching(msg)]);
    }
  }, 30_000);
});
