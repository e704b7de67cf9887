import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { liveCaptureUnavailable } from './helpers/live.js';
import { encodeCommand, haveRedis, startRedis, type RedisServer } from './helpers/redis-server.js';

const BIN = new URL('../bin/redis-tap.js', import.meta.url).pathname;
const skipReason = !haveRedis ? 'redis-server not installed' : liveCaptureUnavailable();
if (skipReason) console.warn(`live-cli: skipped: ${skipReason}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SCHED_OTHER = 0;
const SCHED_IDLE = 5;
/** The scheduling policies (field 41 of /proc/PID/task/TID/stat) of every thread of a process. */
function threadPolicies(pid: number): Set<number> {
  const policies = new Set<number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    policies.add(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3]));
  }
  return policies;
}

/**
 * Waits (up to 15 s) until every thread of the capture runs under SCHED_IDLE: the priority is
 * lowered once the capture is open, so from then on what is sent is captured. A fixed wait was
 * too short when the rest of the suite kept the machine busy.
 */
async function untilCapturing(pid: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      const p = threadPolicies(pid);
      if (p.size === 1 && p.has(SCHED_IDLE)) return;
    } catch {
      // starting, or gone
    }
    await sleep(50);
  }
}

/** N request/reply round trips of `SET live:i i` on one connection. */
async function sets(port: number, n: number, prefix = 'live'): Promise<void> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  for (let i = 0; i < n; i++) {
    s.write(encodeCommand(['SET', `${prefix}:${i}`, String(i)]));
    await new Promise((r) => s.once('data', r));
  }
  s.end();
}

/** Every process a test starts, killed after the file so a failed test leaves no capture running. */
const children: ChildProcess[] = [];

function runTap(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; out: string; err: string; ms: number }>((resolve) => {
    const t0 = Date.now();
    child.once('exit', (code) => resolve({ code, out, err, ms: Date.now() - t0 }));
  });
  return { child, exited };
}

describe.skipIf(skipReason !== null)('live command', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await redis?.stop();
  });

  test('SIGINT stops cleanly and prints the final report with what was seen', async () => {
    const { child, exited } = runTap(['live', '-i', 'lo', '-p', String(redis.port), '--json', '--no-tui']);
    await untilCapturing(child.pid!);
    // By default every thread of the capture runs under SCHED_IDLE (policy 5 in sched(7)).
    expect(threadPolicies(child.pid!)).toEqual(new Set([SCHED_IDLE]));
    await sets(redis.port, 40, 'int');
    await sleep(300);
    child.kill('SIGINT');
    const r = await exited;
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.commands).toEqual([expect.objectContaining({ name: 'SET', count: 40, errors: 0 })]);
    expect(report.totals.kernelDrops).toBe(0);
    expect(report.totals.unanswered).toBe(0);
    expect(report.source.cpuPriority).toBe('idle');
  });

  test('Ctrl-C analyses everything captured before it, however far behind the reader is', async () => {
    const { child, exited } = runTap(['live', '-i', 'lo', '-p', String(redis.port), '--json']);
    await untilCapturing(child.pid!);
    // Stopped, the reader falls behind as a starved idle-priority one does; the kernel keeps capturing.
    child.kill('SIGSTOP');
    await sets(redis.port, 300, 'behind');
    child.kill('SIGCONT');
    child.kill('SIGINT');
    const r = await exited;
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect([report.totals.commands, report.totals.unanswered, report.totals.kernelDrops]).toEqual([300, 0, 0]);
  });

  test('--duration is a window of capture time: frames after it are not analysed, however late the reader', async () => {
    const { child, exited } = runTap(['live', '-i', 'lo', '-p', String(redis.port), '--json', '--duration', '2']);
    // Open and idle: a fixed sleep lost the whole batch when a busy host slowed the start.
    await untilCapturing(child.pid!);
    await sets(redis.port, 100, 'inside');
    // Stopped past the window's end: on waking, the ring holds frames from after it, and the
    // reader's drain timer comes due before the duration timer does.
    child.kill('SIGSTOP');
    await sleep(2000);
    await sets(redis.port, 100, 'after');
    child.kill('SIGCONT');
    const r = await exited;
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect([report.totals.commands, report.totals.kernelDrops]).toEqual([100, 0]);
    expect(report.span.seconds).toBeLessThanOrEqual(2);
  });

  test('without chrt the capture runs at normal priority and the report warns', async () => {
    const { child, exited } = runTap(['live', '-i', 'lo', '-p', String(redis.port), '--json'], { ...process.env, PATH: '/nonexistent' });
    await sleep(1000);
    child.kill('SIGINT');
    const report = JSON.parse((await exited).out);
    expect(report.source.cpuPriority).toBe('normal');
    expect(report.warnings).toEqual([expect.stringMatching(/^could not lower the CPU priority to idle \(chrt: .*ENOENT\)/)]);
  });

  test('--cpu-priority normal leaves the scheduling policy alone and says so', async () => {
    const { child, exited } = runTap(['live', '-i', 'lo', '-p', String(redis.port), '--json', '--cpu-priority', 'normal']);
    await sleep(1000);
    expect(threadPolicies(child.pid!)).toEqual(new Set([SCHED_OTHER]));
    await sets(redis.port, 5, 'normal');
    await sleep(300);
    child.kill('SIGINT');
    const r = await exited;
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect([report.source.cpuPriority, report.totals.commands]).toEqual(['normal', 5]);
  });

  test('--count stops after that many commands', async () => {
    const { exited } = runTap(['live', '-i', 'lo', '-p', String(redis.port), '--json', '--count', '25']);
    await sleep(1000);
    const sending = sets(redis.port, 60, 'count');
    const r = await exited;
    await sending;
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.totals.commands).toBe(25);
  });

  test('--duration ends the capture on time; --interval prints one JSON line per interval', async () => {
    const { exited } = runTap(['live', '-i', 'lo', '-p', String(redis.port), '--json', '--duration', '3', '--interval', '1']);
    await sleep(800);
    await sets(redis.port, 30, 'dur');
    const r = await exited;
    expect(r.code).toBe(0);
    expect(r.ms).toBeGreaterThanOrEqual(2900);
    expect(r.ms).toBeLessThan(6000);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(3); // >= 2 intervals + the final report
    const final = lines[lines.length - 1];
    expect(final.totals.commands).toBe(30);
    const perInterval = lines.slice(0, -1).reduce((n: number, l: { totals: { commands: number } }) => n + l.totals.commands, 0);
    expect(perInterval).toBeLessThanOrEqual(30);
    for (const l of lines) expect(l.totals).toHaveProperty('kernelDrops');
  });

  test('an unwritable -w file: one line, exit 2, and the process does not hang', async () => {
    const { exited } = runTap(['live', '-i', 'lo', '-p', String(redis.port), '-w', '/nonexistent-dir/x.pcap', '--duration', '30']);
    const r = await exited;
    expect(r.code).toBe(2);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.err.trim().split('\n')).toEqual([expect.stringMatching(/^redis-tap: cannot write capture file '\/nonexistent-dir\/x\.pcap'/)]);
  });

  test('a closed stdout ends monitor quietly', async () => {
    // Its own process group, so a pipeline that never ends can be killed whole.
    const child = spawn('sh', ['-c', `node ${BIN} monitor -i lo -p ${redis.port} | head -n 3`], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    await sleep(1000);
    const code = new Promise((r) => child.once('exit', r));
    // head exits after 3 lines; like redis-cli monitor, we notice at the next write.
    for (let i = 0; i < 20 && child.exitCode === null; i++) {
      await sets(redis.port, 5, `pipe${i}`);
      await sleep(100);
    }
    const exit = await Promise.race([code, sleep(20_000).then(() => 'still running')]);
    if (exit === 'still running') process.kill(-child.pid!, 'SIGKILL');
    expect(exit).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(3);
    expect(err).not.toMatch(/Error|at .*\.js/);
  });
});
