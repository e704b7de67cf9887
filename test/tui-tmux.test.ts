import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { liveCaptureUnavailable } from './helpers/live.js';
import { encodeCommand, haveRedis, startRedis, type RedisServer } from './helpers/redis-server.js';

const BIN = new URL('../bin/redis-tap.js', import.meta.url).pathname;
const haveTmux = spawnSync('tmux', ['-V']).status === 0;
const skipReason = !haveRedis ? 'redis-server not installed' : !haveTmux ? 'tmux not installed' : liveCaptureUnavailable();
if (skipReason) console.warn(`tui-tmux: skipped: ${skipReason}`);

const SESSION = `redis-tap-test-${process.pid}`;
const tmux = (...args: string[]) => spawnSync('tmux', args, { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', SESSION).stdout;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(pred: (text: string) => boolean, ms: number): Promise<string> {
  let text = '';
  for (const end = Date.now() + ms; Date.now() < end; await sleep(250)) {
    text = screen();
    if (pred(text)) return text;
  }
  return text;
}

/** Known traffic: hot key hot:key x 300, DEBUG SLEEP 0.2, three client IPs with 3/1/1 connections. */
async function traffic(port: number): Promise<void> {
  const conn = async (localAddress: string, cmds: string[][]) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    await new Promise((r) => s.once('connect', r));
    for (const c of cmds) {
      s.write(encodeCommand(c));
      await new Promise((r) => s.once('data', r));
    }
    return s;
  };
  const hot = Array.from({ length: 100 }, () => ['GET', 'hot:key']);
  const socks = await Promise.all([
    conn('127.0.0.2', hot), conn('127.0.0.2', hot), conn('127.0.0.2', hot),
    conn('127.0.0.3', [['SET', 'cold:1', 'x'], ['DEBUG', 'SLEEP', '0.2']]),
    conn('127.0.0.4', [['GET', 'cold:2']]),
  ]);
  for (const s of socks) s.end();
}

describe.skipIf(skipReason !== null)('live view in tmux against a real server', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis(['--enable-debug-command', 'yes']);
  });
  afterAll(async () => {
    tmux('kill-session', '-t', SESSION);
    await redis?.stop();
  });

  test('shows the hot key, the slow command and the clients; q prints the final report', async () => {
    const cmd = `node ${BIN} live -i lo -p ${redis.port} --tui; echo EXIT=$?; sleep 60`;
    expect(tmux('new-session', '-d', '-s', SESSION, '-x', '120', '-y', '40', cmd).status).toBe(0);
    await until((t) => t.includes('Commands'), 10_000);
    await traffic(redis.port);
    const view = await until((t) => t.includes('hot:key') && t.includes('DEBUG SLEEP 0.2') && t.includes('127.0.0.4'), 10_000);
    expect(view).toMatch(/hot:key\s+300/);
    expect(view).toContain('DEBUG SLEEP 0.2');
    expect(view).toMatch(/127\.0\.0\.2\s+3\s/); // 3 connections from the busiest client
    expect(view).toMatch(/127\.0\.0\.3\s+1\s/);
    tmux('send-keys', '-t', SESSION, 'q');
    const after = await until((t) => t.includes('EXIT='), 10_000);
    expect(after).toContain('EXIT=0');
    expect(after).toMatch(/Skew/);
    expect(after).toMatch(/127\.0\.0\.2:\d+ -> 127\.0\.0\.1:\d+/);
  });
});
