/**
 * `live --http ADDR` serves the web view over the running capture: its JSON shows the commands
 * sent to a real redis-server while they are sent; the capture's report is unchanged.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { encodeCommand, haveRedis, startRedis, type RedisServer } from './helpers/redis-server.js';
import { liveCaptureUnavailable } from './helpers/live.js';

const BIN = new URL('../bin/redis-tap.js', import.meta.url).pathname;
const skipReason = !haveRedis ? 'redis-server not installed' : liveCaptureUnavailable();
if (skipReason) console.warn(`live-http: skipped: ${skipReason}`);

async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe.skipIf(skipReason !== null)('live --http', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis([]);
  });
  afterAll(async () => {
    await redis?.stop();
  });

  test('serves the page and the JSON of the running capture', async () => {
    const port = await freePort();
    const tap = spawn(process.execPath, [BIN, 'live', '-i', 'lo', '-p', String(redis.port), '--duration', '6', '--json', '--http', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    tap.stdout!.on('data', (d) => (out += d));
    await new Promise((r) => setTimeout(r, 1500));
    const sock = net.connect({ port: redis.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
    await new Promise((r) => sock.once('connect', r));
    for (let i = 0; i < 30; i++) {
      sock.write(encodeCommand(['SET', 'web:hot', String(i)]));
      await new Promise((r) => sock.once('data', r));
    }
    sock.end();
    let seen = 0;
    for (let i = 0; i < 30 && seen < 30; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const r = (await (await fetch(`http://127.0.0.1:${port}/api/report`)).json()) as { totals: { commands: number } };
      seen = r.totals.commands;
    }
    expect(seen).toBe(30);
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(page).toContain('<title>redis-tap</title>');
    await new Promise((r) => tap.once('exit', r));
    expect((JSON.parse(out) as { totals: { commands: number } }).totals.commands).toBe(30);
  });
});
