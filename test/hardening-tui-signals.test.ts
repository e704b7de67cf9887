/**
 * Issue 10 #6: the terminal view ends on SIGTERM (and on a SIGINT sent by another process) the
 * way it ends on `q`: the final report on the normal screen, exit code 0. `analyze --tui` used to
 * keep its end state on screen until `q`, whatever it was sent; `live --tui` got SIGTERM twice
 * (the view's handler and the command's), the second one throwing away what the reader had not
 * read yet.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { liveCaptureUnavailable } from './helpers/live.js';
import { encodeCommand, haveRedis, startRedis, type RedisServer } from './helpers/redis-server.js';

const BIN = new URL('../bin/redis-tap.js', import.meta.url).pathname;
const DEMO = new URL('../captures/demo.pcap', import.meta.url).pathname;
const haveTmux = spawnSync('tmux', ['-V']).status === 0;
if (!haveTmux) console.warn('hardening-tui-signals: skipped: tmux not installed');
const liveSkip = !haveRedis ? 'redis-server not installed' : liveCaptureUnavailable();
if (haveTmux && liveSkip) console.warn(`hardening-tui-signals: live case skipped: ${liveSkip}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmux = (...args: string[]) => spawnSync('tmux', args, { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'tui-signals-'));
let n = 0;

/** A tmux session running `redis-tap args` (its pid written to a file), then EXIT=<code>. */
function session(args: string) {
  const name = `redis-tap-sig-${process.pid}-${++n}`;
  const pidFile = join(dir, `${name}.pid`);
  // exec: the pid written is the one of redis-tap itself.
  const cmd = `sh -c 'echo $$ > ${pidFile}; exec node ${BIN} ${args}'; echo EXIT=$?; sleep 60`;
  expect(tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '40', cmd).status).toBe(0);
  const screen = () => tmux('capture-pane', '-p', '-S', '-300', '-t', name).stdout;
  const until = async (pred: (text: string) => boolean, ms: number) => {
    let text = '';
    for (const end = Date.now() + ms; Date.now() < end; await sleep(200)) {
      text = screen();
      if (pred(text)) return text;
    }
    return text;
  };
  const pid = () => Number(readFileSync(pidFile, 'utf8'));
  return { name, screen, until, pid, kill: () => tmux('kill-session', '-t', name) };
}

const sessions: Array<{ kill: () => void }> = [];
afterAll(() => {
  for (const s of sessions) s.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveTmux)('analyze --tui ends on a signal as on q, with the final report', () => {
  test.each([
    { name: 'SIGTERM during the replay', speed: '0.01', signal: 'SIGTERM' as const, wait: 'Commands' },
    { name: 'SIGTERM while the end state is held', speed: 'max', signal: 'SIGTERM' as const, wait: 'GET        509' },
    { name: 'SIGINT from another process while the end state is held', speed: 'max', signal: 'SIGINT' as const, wait: 'GET        509' },
  ])('$name', async ({ speed, signal, wait }) => {
    const s = session(`analyze ${DEMO} --tui --speed ${speed}`);
    sessions.push(s);
    const view = await s.until((t) => t.includes(wait), 10_000);
    expect(view).toContain(wait);
    process.kill(s.pid(), signal);
    const after = await s.until((t) => t.includes('EXIT='), 10_000);
    expect(after).toContain('EXIT=0');
    expect(after).toContain(`redis-tap report: ${DEMO}`);
    expect(after).toMatch(/Skew/);
    s.kill();
  });
});

describe.skipIf(!haveTmux || liveSkip !== null)('live --tui on SIGTERM', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  test('analyses what the kernel captured before the signal, however far behind the reader, then prints the report', async () => {
    const s = session(`live -i lo -p ${redis.port} --tui`);
    sessions.push(s);
    await s.until((t) => t.includes('Commands'), 10_000);
    // Stopped, the reader falls behind as a starved idle-priority one does; the kernel keeps capturing.
    process.kill(s.pid(), 'SIGSTOP');
    const c = net.connect(redis.port, '127.0.0.1');
    await new Promise((r) => c.once('connect', r));
    for (let i = 0; i < 200; i++) {
      c.write(encodeCommand(['SET', `sig:${i}`, 'v']));
      await new Promise((r) => c.once('data', r));
    }
    c.end();
    // Sent while stopped, the signal is handled on waking, before the reader's timer reads the ring.
    process.kill(s.pid(), 'SIGTERM');
    process.kill(s.pid(), 'SIGCONT');
    const after = await s.until((t) => t.includes('EXIT='), 15_000);
    expect(after).toContain('EXIT=0');
    expect(after).toMatch(/commands 200 \(/);
    expect(after).toMatch(/unanswered 0 /);
    s.kill();
  });
});
