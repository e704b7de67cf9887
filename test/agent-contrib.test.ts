/**
 * What contrib/ ships for running the agent: the Prometheus rules load and do what they say
 * (promtool check rules, and promtool test rules on synthetic series), and the systemd unit is
 * one systemd accepts, with the capabilities and sandbox the README promises, starting the
 * agent with options it has.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { havePromtool } from './helpers/agent.js';

const ROOT = new URL('..', import.meta.url).pathname;
const RULES = path.join(ROOT, 'contrib/prometheus');
const UNIT = path.join(ROOT, 'contrib/redis-tap-agent.service');
const BIN = path.join(ROOT, 'bin/redis-tap.js');
const haveSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
if (!havePromtool) console.warn('agent-contrib: promtool not installed (Debian package prometheus): the rules checks are skipped');
if (!haveSystemdAnalyze) console.warn('agent-contrib: systemd-analyze not installed: the unit is checked by its text only');

describe.skipIf(!havePromtool)('Prometheus rules', () => {
  test('promtool check rules accepts them', () => {
    const r = spawnSync('promtool', ['check', 'rules', 'redis-tap-rules.yml'], { cwd: RULES, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
  });

  test('promtool test rules: the alerts fire on drops, lag, a slow p99 and an error ratio, and not on blocking commands', () => {
    const r = spawnSync('promtool', ['test', 'rules', 'redis-tap-rules.test.yml'], { cwd: RULES, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });
});

describe('systemd unit', () => {
  const unit = readFileSync(UNIT, 'utf8');
  const directive = (name: string) => unit.match(new RegExp(`^${name}=(.*)$`, 'm'))?.[1];

  test.each([
    ['AmbientCapabilities', 'CAP_NET_RAW CAP_NET_ADMIN'],
    ['CapabilityBoundingSet', 'CAP_NET_RAW CAP_NET_ADMIN'],
    ['User', 'redis-tap'],
    ['ProtectSystem', 'strict'],
    ['ReadWritePaths', '/var/lib/redis-tap'],
    ['Restart', 'on-failure'],
    ['NoNewPrivileges', 'yes'],
    ['ExecReload', '/bin/kill -HUP $MAINPID'],
  ])('%s=%s', (name, value) => {
    expect(directive(name)).toBe(value);
  });

  test('ExecStart uses only options the agent has, and writes only under ReadWritePaths', () => {
    const exec = directive('ExecStart')!.split(/\s+/);
    expect(exec.slice(1, 2)).toEqual(['agent']);
    const help = spawnSync(process.execPath, [BIN, 'agent', '--help'], { encoding: 'utf8' }).stdout;
    for (const opt of exec.filter((a) => a.startsWith('-'))) expect(help).toContain(opt);
    for (const opt of ['--out', '--events']) expect(exec[exec.indexOf(opt) + 1]!.startsWith('/var/lib/redis-tap')).toBe(true);
  });

  test.skipIf(!haveSystemdAnalyze)('systemd-analyze verify accepts it (with ExecStart pointed at this checkout)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'redis-tap-unit-'));
    try {
      const copy = path.join(dir, 'redis-tap-agent.service');
      writeFileSync(copy, unit.replace('/usr/local/bin/redis-tap', BIN));
      const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
