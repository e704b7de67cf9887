/**
 * End to end: `redis-tap analyze --json` on every capture in captures/ must agree with the ground
 * truth written beside it from what the traffic generator sent and the server answered (see
 * captures/README.md). Nothing here is a number taken from the analyzer's own output.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CAPTURES_DIR, loadTruths, type Report, type SlowRow, type Truth } from './helpers/truth.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'redis-tap.js');
/** Clock slack between the generator's timer and the capture's timestamps. */
const SLACK_US = 2000;

const truths = loadTruths();
const byName = new Map(truths.map((t) => [t.capture, t]));

function analyzeArgs(t: Truth, json: boolean): string[] {
  const args = ['analyze', join(CAPTURES_DIR, t.capture), ...t.ports.flatMap((p) => ['-p', String(p)])];
  args.push('--top', '1000', '--max-keys', '100000', '--slow', String(t.slowThresholdMs));
  return json ? [...args, '--json'] : args;
}

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
}

function toMap<R>(rows: R[], key: (r: R) => string, value: (r: R) => unknown): Record<string, unknown> {
  return Object.fromEntries(rows.map((r) => [key(r), value(r)]));
}

/** A slow row may show the whole request (`DEBUG SLEEP 0.05`): compare its first word. */
const nameOf = (r: SlowRow) => (r.command.split(' ')[0] ?? '').toUpperCase();

/** Matches each expected entry to a distinct row; returns the rows left over. */
function claim(rows: SlowRow[], wanted: ((r: SlowRow) => boolean)[]): { missing: number[]; rest: SlowRow[] } {
  const rest = [...rows];
  const missing: number[] = [];
  wanted.forEach((pred, i) => {
    const at = rest.findIndex(pred);
    if (at < 0) missing.push(i);
    else rest.splice(at, 1);
  });
  return { missing, rest };
}

it('finds the captures and their truth', () => {
  expect(truths.length).toBeGreaterThanOrEqual(18);
  for (const name of ['demo.pcap', 'base.pcap', 'dropped.pcap', 'truncated.pcap', 'multi-if.pcapng', 'spb-nano.pcapng']) {
    expect(byName.has(name), name).toBe(true);
  }
});

describe.each(truths.map((t) => ({ capture: t.capture, t })))('$capture', ({ t }) => {
  let report: Report;
  let text: { status: number | null; out: string };

  beforeAll(() => {
    const stdout = execFileSync(process.execPath, [BIN, ...analyzeArgs(t, true)], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 1 << 28,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    report = JSON.parse(stdout) as Report;
    const r = run(analyzeArgs(t, false));
    text = { status: r.status, out: `${r.stdout}\n${r.stderr}` };
  });

  it('reads every complete packet record', () => {
    expect(report.version).toBe(1);
    expect(report.totals.packets).toBe(t.packets);
    expect(text.status).toBe(0);
  });

  it('counts every command by name', () => {
    expect(toMap(report.commands, (r) => r.name, (r) => r.count)).toEqual(t.commands);
    const total = Object.values(t.commands).reduce((a, b) => a + b, 0);
    expect(report.totals.commands).toBe(total);
  });

  it('counts error replies, per command too', () => {
    expect(report.totals.errors).toBe(t.errors);
    const withErrors = report.commands.filter((r) => r.errors > 0);
    expect(toMap(withErrors, (r) => r.name, (r) => r.errors)).toEqual(t.commandErrors);
  });

  it('counts every key occurrence, multi-key commands included', () => {
    const got = toMap(report.hotKeys, (r) => r.key, (r) => r.count);
    for (const [key, count] of Object.entries(t.keys)) expect(got[key], key).toBe(count);
    for (const key of t.notKeys) expect(got[key], `${key} is not a key`).toBeUndefined();
    const counts = report.hotKeys.map((r) => r.count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(counts[0]).toBe(Math.max(...Object.values(t.keys)));
  });

  it('reports each client IP with its connections and commands', () => {
    expect(toMap(report.clients, (r) => r.ip, (r) => ({ connections: r.connections, commands: r.commands }))).toEqual(t.clients);
  });

  it('reports each server endpoint with its connections and commands', () => {
    const got = toMap(report.servers, (r) => r.endpoint, (r) => ({ connections: r.connections, commands: r.commands }));
    expect(got).toEqual(t.servers);
    expect(report.totals.connections).toBe(t.connections);
  });

  it('lists the slept requests as slow and the blocking ones as blocking', () => {
    const slow = claim(
      report.slow,
      t.slow.map((s) => (r: SlowRow) =>
        nameOf(r) === s.command && r.client === s.client && !r.blocking &&
        r.latencyUs >= s.minLatencyUs && r.latencyUs <= s.observedUs + SLACK_US),
    );
    expect(slow.missing.map((i) => t.slow[i])).toEqual([]);
    const blocking = claim(
      slow.rest,
      t.blocking.map((b) => (r: SlowRow) =>
        nameOf(r) === b.command && r.client === b.client && r.blocking &&
        r.latencyUs >= b.timeoutMs * 1000 - SLACK_US && r.latencyUs <= b.observedUs + SLACK_US),
    );
    expect(blocking.missing.map((i) => t.blocking[i])).toEqual([]);
    // Anything else must be a request the generator itself saw take that long, and not blocking.
    for (const r of blocking.rest) {
      expect(r.blocking, `${r.command} from ${r.client}`).toBe(false);
      expect(t.incidentalSlow.some((s) => s.command === nameOf(r) && s.client === r.client), `${r.command} from ${r.client}`).toBe(true);
      expect(t.blocking.some((b) => b.client === r.client && b.command === nameOf(r))).toBe(false);
    }
    for (const r of report.slow) {
      expect(r.ts).toBeGreaterThanOrEqual(t.startedAt - 1);
      expect(r.ts).toBeLessThanOrEqual(t.endedAt + 1);
      expect(Object.keys(t.servers)).toContain(r.server);
    }
  });

  it('shows each big value with its exact size', () => {
    for (const big of t.bigKeys) {
      expect(report.bigKeys.find((r) => r.key === big.key)?.bytes, big.key).toBe(big.bytes);
    }
  });

  it('never prints a secret', () => {
    const all = `${JSON.stringify(report)}\n${text.out}`;
    for (const s of t.secrets) expect(all.includes(s), 'the password leaked').toBe(false);
  });

  it('finds the gaps, and the requests they leave unanswered', () => {
    expect(report.totals.gaps).toBe(t.gaps);
    expect(report.totals.unanswered).toBe(t.unanswered.count);
    // A hole wholly inside a value costs only that value's bytes.
    expect(report.totals.partialValues).toBe(t.partialValues ?? 0);
    expect(report.totals.valueGaps).toBe(t.partialValues ?? 0);
  });

  it('pairs every reply with its request (pushes, MONITOR lines and messages are not replies)', () => {
    expect(report.totals.replies).toBe(t.replies.toCommands);
  });

  it.runIf(t.expectWarning !== null)('warns about a damaged file but still reports', () => {
    expect(text.status).toBe(0);
    expect(text.out).toMatch(new RegExp(t.expectWarning ?? '', 'i'));
  });

  it.runIf(t.derivedFrom !== undefined)('keeps the commands of the capture it was derived from', () => {
    const base = byName.get(t.derivedFrom ?? '');
    expect(base).toBeDefined();
    expect(t.commands).toEqual(base?.commands);
    expect(toMap(report.commands, (r) => r.name, (r) => r.count)).toEqual(base?.commands);
  });
});

describe('bad input', () => {
  it.each([
    ['a file that is not a capture', join(ROOT, 'captures', 'README.md')],
    ['a missing file', join(ROOT, 'captures', 'no-such-file.pcap')],
  ])('%s: exit code 2 and one line on stderr', (_what, file) => {
    const r = run(['analyze', file, '--json']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stdout).toBe('');
  });
});
