/**
 * End to end on captures/deployments/apps.pcap (make-apps.sh): who is calling. Twelve real
 * connections to one redis-server 7.0; some name themselves (CLIENT SETNAME, HELLO 3 SETNAME,
 * CLIENT SETINFO), one's name is refused, one opened before the capture names itself late, the
 * others get their names from apps.map or apps-pods.json (or keep their IP). `redis-tap analyze
 * --json` must agree with apps.truth.json, written from what the generator sent and from the
 * server's own CLIENT LIST and INFO commandstats, for each of the three runs (no mapping,
 * --clients apps.map, --clients apps-pods.json). Nothing here is a number taken from the
 * analyzer's own output.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'redis-tap.js');
const DIR = join(ROOT, 'captures', 'deployments');
const PCAP = join(DIR, 'apps.pcap');

type Source = 'setname' | 'map' | 'dns' | 'ip';

interface AppTruth {
  source: Source;
  ips: string[];
  connections: number;
  commands: number;
  errors: number;
  libs: string[];
}

interface Truth {
  capture: string;
  ports: number[];
  packets: number;
  connections: number;
  midstreamConnections: number;
  commands: Record<string, number>;
  totalCommands: number;
  errors: number;
  connectionNames: Record<string, string | null>;
  connectionsByEndpoint: Record<string, { id: string; name: string | null; lib: string | null; commands: number; errors: number; midstream: boolean }>;
  runs: Record<'none' | 'map' | 'pods', { clients: string | null; apps: Record<string, AppTruth>; appOf: Record<string, string> }>;
  crossChecks: Record<string, unknown>;
}

interface PeerRow {
  connections: number;
  commands: number;
  errors: number;
  share: number;
  meanLatencyUs: number;
  requestBytes: number;
  replyBytes: number;
}

interface Skew {
  peers: number;
  busiest: string;
  share: number;
  maxOverMean: number;
}

interface Report {
  totals: Record<string, number | null>;
  commands: { name: string; count: number }[];
  apps: Array<PeerRow & { name: string; source: Source; ips: string[]; libs: string[] }>;
  connections: Array<PeerRow & { connection: string; name: string | null; lib: string | null }>;
  skew: { apps: Skew | null };
}

const truth = JSON.parse(readFileSync(join(DIR, 'apps.truth.json'), 'utf8')) as Truth;
const SERVER = `127.0.0.1:${truth.ports[0]}`;

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
}

function analyze(clients: string | null, json: boolean) {
  const args = ['analyze', PCAP, '-p', String(truth.ports[0]), '--top', '1000'];
  if (json) args.push('--json');
  if (clients !== null) args.push('--clients', join(DIR, clients));
  return run(args);
}

it('the truth was cross-checked against the server and the capture when it was made', () => {
  const failed = Object.entries(truth.crossChecks).filter(([, v]) => v !== 'ok');
  expect(failed).toEqual([]);
  expect(Object.keys(truth.crossChecks).length).toBeGreaterThan(50);
  // The truth is consistent with itself: each run's rows are the connections gathered by app.
  const sumOf = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  expect(truth.totalCommands).toBe(sumOf(truth.commands));
  for (const r of Object.values(truth.runs)) {
    expect(Object.values(r.apps).reduce((n, a) => n + a.commands, 0)).toBe(truth.totalCommands);
    expect(Object.values(r.apps).reduce((n, a) => n + a.connections, 0)).toBe(truth.connections);
    for (const [name, row] of Object.entries(r.apps)) {
      const mine = Object.entries(r.appOf).filter(([, app]) => app === name).map(([ep]) => truth.connectionsByEndpoint[ep]!);
      expect(mine.reduce((n, c) => n + c.commands, 0), name).toBe(row.commands);
    }
  }
});

describe.each(Object.entries(truth.runs).map(([run, t]) => ({ run, t })))('apps.pcap, run $run', ({ t }) => {
  let report: Report;
  let text: { status: number | null; stdout: string; stderr: string };

  beforeAll(() => {
    const r = analyze(t.clients, true);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    report = JSON.parse(r.stdout) as Report;
    text = analyze(t.clients, false);
  });

  it('counts every command the generator sent inside the capture', () => {
    expect(report.totals['commands']).toBe(truth.totalCommands);
    expect(report.totals['connections']).toBe(truth.connections);
    expect(report.totals['errors']).toBe(truth.errors);
    expect(Object.fromEntries(report.commands.map((c) => [c.name, c.count]))).toEqual(truth.commands);
  });

  it('has one row per application, with its source, IPs, connections and commands', () => {
    const seen = Object.fromEntries(report.apps.map((a) => [a.name, { source: a.source, ips: a.ips, connections: a.connections, commands: a.commands }]));
    const want = Object.fromEntries(Object.entries(t.apps).map(([name, a]) => [name, { source: a.source, ips: a.ips, connections: a.connections, commands: a.commands }]));
    expect(seen).toEqual(want);
  });

  it('gives each application its errors, share and libraries', () => {
    for (const a of report.apps) {
      const want = t.apps[a.name]!;
      expect(a.errors, a.name).toBe(want.errors);
      expect(a.libs, a.name).toEqual(want.libs);
      expect(a.share, a.name).toBeCloseTo(want.commands / truth.totalCommands, 9);
    }
    expect(report.apps.find((a) => a.name === 'worker')?.libs).toEqual(['redis-py 5.0.1']);
  });

  it('lists the applications busiest first', () => {
    const order = Object.entries(t.apps).sort((a, b) => b[1].commands - a[1].commands).map(([name]) => name);
    expect(report.apps.map((a) => a.name)).toEqual(order);
  });

  it('measures the skew between applications', () => {
    const rows = Object.entries(t.apps).sort((a, b) => b[1].commands - a[1].commands);
    const [busiest, top] = rows[0]!;
    expect(report.skew.apps).not.toBeNull();
    expect(report.skew.apps!.peers).toBe(rows.length);
    expect(report.skew.apps!.busiest).toBe(busiest);
    expect(report.skew.apps!.share).toBeCloseTo(top.commands / truth.totalCommands, 9);
    expect(report.skew.apps!.maxOverMean).toBeCloseTo(top.commands / (truth.totalCommands / rows.length), 9);
  });

  it('names each connection as the server did (CLIENT LIST), with its library and commands', () => {
    const seen = Object.fromEntries(report.connections.map((c) => [c.connection, { name: c.name, lib: c.lib, commands: c.commands, errors: c.errors }]));
    const want = Object.fromEntries(
      Object.entries(truth.connectionsByEndpoint).map(([ep, c]) => [`${ep} -> ${SERVER}`, { name: c.name, lib: c.lib, commands: c.commands, errors: c.errors }]),
    );
    expect(seen).toEqual(want);
    for (const [ep, name] of Object.entries(truth.connectionNames)) {
      expect(report.connections.find((c) => c.connection === `${ep} -> ${SERVER}`)?.name, ep).toBe(name);
    }
  });

  it('prints a "Clients by application" section listing every name', () => {
    expect(text.status).toBe(0);
    expect(text.stderr).toBe('');
    const at = text.stdout.indexOf('Clients by application');
    expect(at).toBeGreaterThanOrEqual(0);
    const section = text.stdout.slice(at, text.stdout.indexOf('\nServers', at));
    const rows = section.split('\n').slice(2).filter((l) => l.trim() !== '');
    expect(rows.map((l) => l.trim().split(/\s+/)[0])).toEqual(report.apps.map((a) => a.name));
    for (const name of Object.keys(t.apps)) expect(section).toContain(name);
    expect(section).toContain('redis-py 5.0.1');
  });
});

describe('a mapping file that cannot be used', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'redis-tap-apps-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const fails = (file: string) => {
    const r = run(['analyze', PCAP, '-p', String(truth.ports[0]), '--json', '--clients', file]);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    return { status: r.status, stdout: r.stdout, lines };
  };

  it.each([
    ['a line without a name', '# who is who\n127.0.0.16/28 frontend\n127.0.0.20\n', 3],
    ['a line whose address is no address', '127.0.0.16/28 frontend\n\n# next: a typo\n127.0.0.300 web\n', 4],
    ['a prefix longer than 32 bits', '127.0.0.16/28 frontend\n127.0.0.0/33 web\n', 2],
    ['an ip:port with port 0', '127.0.0.26:0 cron\n', 1],
  ])('%s: exit 2, one stderr line naming the file and line', (_what, body, line) => {
    const file = join(tmp, `bad-${line}-${body.length}.map`);
    writeFileSync(file, body);
    const r = fails(file);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain(file);
    expect(r.lines[0]).toMatch(new RegExp(`line ${line}\\b`));
  });

  it('kubectl JSON that does not parse: exit 2, one stderr line naming the file', () => {
    const file = join(tmp, 'pods.json');
    writeFileSync(file, '{ "apiVersion": "v1", "kind": "List", "items": [ { "metadata": ');
    const r = fails(file);
    expect(r.status).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain(file);
  });

  it.each([
    ['missing', (d: string) => join(d, 'no-such.map')],
    ['a directory', (d: string) => {
      const p = join(d, 'a-dir.map');
      mkdirSync(p, { recursive: true });
      return p;
    }],
  ])('unreadable (%s): exit 2, one stderr line naming the file', (_what, make) => {
    const file = make(tmp);
    const r = fails(file);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain(file);
  });

  it.skipIf(process.getuid?.() === 0)('unreadable (no read permission): exit 2, one stderr line naming the file', () => {
    const file = join(tmp, 'secret.map');
    writeFileSync(file, '127.0.0.20 web\n');
    chmodSync(file, 0o000);
    const r = fails(file);
    expect(r.status).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain(file);
  });
});
