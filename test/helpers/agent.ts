/** Running `redis-tap agent` (and Prometheus) from tests: processes, polling, and traffic. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { encodeCommand } from './redis-server.js';

const BIN = new URL('../../bin/redis-tap.js', import.meta.url).pathname;

export const havePrometheus = spawnSync('prometheus', ['--version']).status === 0;
export const havePromtool = spawnSync('promtool', ['--version']).status === 0;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Proc {
  child: ChildProcess;
  out(): string;
  err(): string;
  exited: Promise<number | null>;
}

/** Every process started here, killed by killAll() after a test file. */
const started: ChildProcess[] = [];

export function start(cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

export function startAgent(args: string[]): Proc {
  return start(process.execPath, [BIN, 'agent', ...args]);
}

export function killAll(): void {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** Polls `probe` until it returns a value that is not undefined, or throws after `ms`. */
export async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown = null;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${last === null ? '' : ` (last error: ${String(last)})`}`);
}

export async function getText(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

/** The exposition once the agent serves it. */
export function scrape(port: number, ms = 15_000): Promise<string> {
  return waitFor(`/metrics on port ${port}`, ms, async () => {
    const r = await getText(`http://127.0.0.1:${port}/metrics`);
    return r.status === 200 ? r.text : undefined;
  });
}

/** Sum of the samples of one metric name (with labels) in an exposition. */
export function sumSamples(text: string, name: string, labels = ''): number {
  return text
    .split('\n')
    .filter((l) => (l.startsWith(name + '{') || l.startsWith(name + ' ')) && l.includes(labels))
    .reduce((t, l) => t + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Sends commands one at a time on one connection, each waiting for its reply. */
export async function roundTrips(port: number, commands: string[][]): Promise<void> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  for (const c of commands) {
    s.write(encodeCommand(c));
    await new Promise((r) => s.once('data', r));
  }
  s.end();
  await new Promise((r) => s.once('close', r));
}

/** Whether the agent's capture is open (its stderr says so). */
export function agentReady(p: Proc, ms = 15_000): Promise<true> {
  return waitFor('the agent to start capturing', ms, async () => {
    if (p.child.exitCode !== null) throw new Error(`agent exited: ${p.err()}`);
    return /capturing on/.test(p.err()) ? true : undefined;
  });
}
