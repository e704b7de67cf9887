/**
 * Label values from traffic stay bounded: 100,000 distinct keys, client names and command
 * names (and more server endpoints than the cap) fed through the Analyzer as the agent runs it,
 * in windows, give a /metrics exposition whose series stay under the stated caps, whose counters
 * still add up to every request, and which promtool accepts.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { Analyzer } from '../src/analysis/analyzer.js';
import { MAX_NAMES, MAX_SERVERS } from '../src/analysis/server-commands.js';
import { Stats } from '../src/analysis/stats.js';
import { AgentClients } from '../src/engine/agent-clients.js';
import { metricsSource } from '../src/engine/agent.js';
import { analyzerOptions } from '../src/engine/options.js';
import { AgentMetrics, type CaptureHealth } from '../src/output/metrics.js';
import { cmd, testConn } from './helpers/analyzer-run.js';

const FLOOD = 100_000;
const MAX_CLIENTS = 100;
const HOT_KEYS = 20;
const havePromtool = spawnSync('promtool', ['--version']).status === 0;
if (!havePromtool) console.warn('metrics-cardinality: promtool not installed (Debian package prometheus): the promtool check is skipped');

const health = (): CaptureHealth => ({
  packets: 0, kernelDrops: 0, interfaceDrops: 0, shedFrames: 0, gaps: 0, unparsedBytes: 0, violations: 0, unanswered: 0,
  internalErrors: 0, openConnections: 0, lagSeconds: 0, windowWriteFailures: 0, eventWriteFailures: 0, windows: 0,
});

/** Series (sample lines) per metric family of an exposition. */
function seriesCount(text: string): Map<string, number> {
  const n = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = line.replace(/[{ ].*$/, '').replace(/_(bucket|sum|count)$/, '');
    n.set(name, (n.get(name) ?? 0) + 1);
  }
  return n;
}

function sumOf(text: string, name: string): number {
  return text.split('\n').filter((l) => l.startsWith(name + '{')).reduce((t, l) => t + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** One connection: names itself, sends a command of its own name on its own key, and a GET of an odd key. */
function conversation(a: Analyzer, id: number, serverPort: number, ts: number): number {
  const ip = `10.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}`;
  const conn = testConn(id, false, ip, serverPort);
  a.onOpen(conn, ts);
  const say = (fromClient: boolean, text: string) => {
    const b = Buffer.from(text, 'latin1');
    a.onData(conn, fromClient, b, 0, b.length, (ts += 50));
  };
  say(true, cmd('CLIENT', 'SETNAME', `app-${id}`));
  say(false, '+OK\r\n');
  say(true, cmd(`CMD${id}`, `key:${id}`));
  say(false, '-ERR unknown command\r\n');
  say(true, cmd('GET', `odd "key" \\ \n \xff ${id}`));
  say(false, '$1\r\nx\r\n');
  a.onClose(conn, ts, 'fin');
  return ts;
}

describe('metrics under a flood of distinct label values', () => {
  test(`${FLOOD.toLocaleString('en-US')} keys, clients and command names: series stay under the caps`, async () => {
    const opts = analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 });
    const a = new Analyzer(opts);
    a.intervalStats = new Stats(opts);
    const clients = new AgentClients({ maxSeries: MAX_CLIENTS, hotKeys: HOT_KEYS }, a.apps);
    const metrics = new AgentMetrics(metricsSource(a, clients, health));
    let ts = 1_000_000;
    for (let id = 1; id <= FLOOD; id++) {
      // Two ports carry the flood of names; 100 more endpoints, one connection each, pass the endpoint cap.
      ts = conversation(a, id, id <= FLOOD - 100 ? 6379 + (id & 1) : 7000 + (id % 100), ts);
      if (id % 10_000 === 0) {
        // A window ends, as the agent cuts it.
        a.flushAggregates();
        clients.endWindow(a.intervalStats);
        a.intervalStats.clear();
      }
      if (id === FLOOD / 2) await metrics.render(); // a scrape in between: counters must not go back after it
    }
    const text = await metrics.render();
    const series = seriesCount(text);
    const rows = series.get('redis_tap_commands_total')!;
    const perServer = new Map<string, number>();
    for (const m of text.matchAll(/^redis_tap_commands_total\{server="([^"]*)"/gm)) perServer.set(m[1]!, (perServer.get(m[1]!) ?? 0) + 1);
    expect(perServer.size).toBe(MAX_SERVERS + 1);
    expect(Math.max(...perServer.values())).toBe(MAX_NAMES + 1);
    expect(rows).toBeLessThanOrEqual((MAX_SERVERS + 1) * (MAX_NAMES + 1));
    expect(series.get('redis_tap_command_duration_seconds')).toBe(rows * (18 + 1 + 2));
    expect(series.get('redis_tap_client_commands_total')!).toBeLessThanOrEqual(MAX_CLIENTS + MAX_SERVERS + 1);
    expect(series.get('redis_tap_client_connections')!).toBeLessThanOrEqual(MAX_CLIENTS + MAX_SERVERS + 1);
    expect(series.get('redis_tap_hot_key_commands')!).toBeLessThanOrEqual(HOT_KEYS + 1);
    let total = 0;
    for (const [name, n] of series) if (name.startsWith('redis_tap_')) total += n;
    expect(total).toBeLessThan(30_000);
    // Nothing lost to the caps: every request is in some series, 'other' included.
    expect(sumOf(text, 'redis_tap_commands_total')).toBe(3 * FLOOD);
    expect(sumOf(text, 'redis_tap_client_commands_total')).toBe(3 * FLOOD);
    expect(sumOf(text, 'redis_tap_command_errors_total')).toBe(FLOOD);
    expect(text).toMatch(/redis_tap_commands_total\{server="10\.0\.0\.1:6379",cmd="other"\} \d+/);
    expect(text).toMatch(/redis_tap_client_commands_total\{server="10\.0\.0\.1:6379",client="other"\} \d+/);
    expect(text).toMatch(/redis_tap_hot_key_commands\{server="all",key="other"\} \d+/);
    // Quotes, backslashes and newlines in a key escaped as the format requires; a byte that is not UTF-8 as \xHH.
    expect(text).toContain(String.raw`redis_tap_hot_key_commands{server="all",key="odd \"key\" \\\\ \\n \\xff 100000"}`);
    if (havePromtool) {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(check.stdout + check.stderr).toBe('');
      expect(check.status).toBe(0);
    }
  }, 120_000);
});
