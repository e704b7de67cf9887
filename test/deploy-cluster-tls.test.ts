/**
 * Deployments end to end: TLS next to plain RESP, a three-master Redis Cluster (MOVED/ASK
 * redirections, hash slots, the cluster bus) and twemproxy over two backends. The captures and
 * their truth are made by captures/deployments/make-cluster-tls.sh from real servers; nothing
 * here is a number taken from the analyzer's own output.
 *
 * JSON contract asserted here (beyond version 1):
 *   totals.tlsConnections, totals.violations, totals.unparsedBytes, totals.errorsByCode {CODE: n},
 *   totals.clusterBusConnections, commands[i].errorsByCode {CODE: n}, hotSlots [{slot, count}]
 *   (count desc), cluster (boolean), hops [{hop: 'client' | 'backend', ports, connections,
 *   commands, errors, hotKeys [{key, count}]}] with --proxy-port, warnings [string].
 *   A hop's `commands` may be `{NAME: count}` or rows `[{name, count}]` like report.commands.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'redis-tap.js');
const DIR = join(ROOT, 'captures', 'deployments');

type Counts = Record<string, number>;
interface CommandRow { name: string; count: number; errors: number; errorsByCode?: Counts }
interface Hop { hop: string; ports: number[]; connections: number; commands: Counts | { name: string; count: number }[]; errors: number; hotKeys: { key: string; count: number }[] }
interface Report {
  totals: Record<string, number> & { errorsByCode?: Counts };
  commands: CommandRow[];
  hotKeys: { key: string; count: number }[];
  hotSlots?: { slot: number; count: number }[];
  cluster?: boolean;
  hops?: Hop[];
  clients: { ip: string; connections: number; commands: number }[];
  warnings: string[];
}

/** The truth files are JSON written by the capture scripts; fields per capture are read below. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Truth = any;
const truth = (name: string): Truth => JSON.parse(readFileSync(join(DIR, `${name}.truth.json`), 'utf8'));

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, maxBuffer: 1 << 28 });
}

function analyze(file: string, args: string[]): Report {
  const r = run(['analyze', join(DIR, file), ...args, '--top', '20000', '--max-keys', '100000', '--json']);
  if (r.status !== 0) throw new Error(`redis-tap exited ${r.status}: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString('utf8')) as Report;
}

const portArgs = (ports: number[]) => ports.flatMap((p) => ['-p', String(p)]);
const byName = (rows: CommandRow[]): Counts => Object.fromEntries(rows.map((r) => [r.name, r.count]));
const sum = (c: Counts) => Object.values(c).reduce((a, b) => a + b, 0);
const hopCommands = (c: Hop['commands']): Counts => (Array.isArray(c) ? Object.fromEntries(c.map((r) => [r.name, r.count])) : c);
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

describe('tls.pcap: TLS connections are counted, never decoded', () => {
  const t = truth('tls');
  let report: Report;
  let text: { status: number | null; bytes: Buffer };

  beforeAll(() => {
    report = analyze('tls.pcap', portArgs(t.ports));
    const r = run(['analyze', join(DIR, 'tls.pcap'), ...portArgs(t.ports), '--no-color']);
    text = { status: r.status, bytes: Buffer.concat([r.stdout, r.stderr]) };
  });

  it('counts the TLS connections, the mid-stream one included', () => {
    expect(t.tlsConnections).toBe(6);
    expect(report.totals.tlsConnections).toBe(t.tlsConnections);
  });

  it('reports exactly the commands of the plain connection', () => {
    expect(byName(report.commands)).toEqual(t.commands);
    expect(report.totals.commands).toBe(sum(t.commands));
    for (const r of report.commands) expect(CONTROL.test(r.name), JSON.stringify(r.name)).toBe(false);
  });

  it('finds no keys inside TLS and no protocol violations', () => {
    const keys = new Set(report.hotKeys.map((r) => r.key));
    for (const k of t.notKeys as string[]) expect(keys.has(k), k).toBe(false);
    for (const [k, n] of Object.entries(t.keys as Counts)) expect(report.hotKeys.find((r) => r.key === k)?.count, k).toBe(n);
    expect(report.totals.violations).toBe(0);
  });

  it('warns about TLS in the text report, which holds no raw control bytes', () => {
    expect(text.status).toBe(0);
    expect(report.warnings.some((w) => /TLS/.test(w))).toBe(true);
    const out = text.bytes.toString('latin1');
    expect(out.split('\n').some((l) => l.includes('TLS'))).toBe(true);
    const raw = [...text.bytes].filter((b) => b < 0x20 && b !== 0x0a);
    expect(raw.map((b) => `0x${b.toString(16)}`)).toEqual([]);
  });
});

describe('cluster.pcap: redirections, hash slots and the cluster bus', () => {
  const t = truth('cluster');
  let report: Report;

  beforeAll(() => {
    report = analyze('cluster.pcap', portArgs(t.ports));
  });

  it('counts every command by name', () => {
    expect(t.ports).toHaveLength(6);
    expect(byName(report.commands)).toEqual(t.commands);
    expect(report.totals.commands).toBe(sum(t.commands));
    expect(report.totals.errors).toBe(t.errors);
  });

  it('counts MOVED and ASK replies, in total and per command', () => {
    expect(t.errorsByCode.MOVED).toBeGreaterThan(0);
    expect(t.errorsByCode.ASK).toBeGreaterThan(0);
    expect(report.totals.errorsByCode?.MOVED).toBe(t.errorsByCode.MOVED);
    expect(report.totals.errorsByCode?.ASK).toBe(t.errorsByCode.ASK);
    const perCommand: Record<string, Counts> = {};
    const summed: Counts = {};
    for (const r of report.commands) {
      for (const [code, n] of Object.entries(r.errorsByCode ?? {})) {
        if (n === 0) continue;
        (perCommand[r.name] ??= {})[code] = n;
        summed[code] = (summed[code] ?? 0) + n;
      }
    }
    expect(summed).toEqual(t.errorsByCode);
    expect(perCommand).toEqual(t.errorsByCommand);
  });

  it('counts every key occurrence per hash slot (CRC16, hash tags)', () => {
    const slots = report.hotSlots ?? [];
    const got = Object.fromEntries(slots.map((r) => [String(r.slot), r.count]));
    expect(got).toEqual(t.hotSlots);
    const counts = slots.map((r) => r.count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    const keys = Object.fromEntries(report.hotKeys.map((r) => [r.key, r.count]));
    for (const [k, n] of Object.entries(t.keys as Counts)) expect(keys[k], k).toBe(n);
  });

  it('recognises the cluster bus and skips it', () => {
    expect(report.cluster).toBe(true);
    expect(report.totals.clusterBusConnections).toBe(t.clusterBusConnections);
    expect(report.totals.violations).toBe(0);
    expect(report.totals.unparsedBytes).toBe(0);
  });
});

describe('twemproxy2.pcap: a proxy over two backends', () => {
  const t = truth('twemproxy2');
  const { client, backend } = t.hops;
  let report: Report;
  let hops: Record<string, Hop>;

  beforeAll(() => {
    report = analyze('twemproxy2.pcap', [...portArgs(t.backendPorts), '--proxy-port', String(t.proxyPort)]);
    hops = Object.fromEntries((report.hops ?? []).map((h) => [h.hop, h]));
  });

  it('reports the client hop as the generator sent it', () => {
    const h = hops['client'];
    expect(h).toBeDefined();
    expect(h?.ports).toEqual([t.proxyPort]);
    expect(h?.connections).toBe(client.connections);
    expect(hopCommands(h?.commands ?? {})).toEqual(client.commands);
    expect(h?.errors).toBe(client.errors);
    const keys = Object.fromEntries((h?.hotKeys ?? []).map((r) => [r.key, r.count]));
    for (const [k, n] of Object.entries(client.keys as Counts)) expect(keys[k], k).toBe(n);
  });

  it('reports the backend hop as the backends counted it (MGETs split per backend)', () => {
    const h = hops['backend'];
    expect(h).toBeDefined();
    expect([...(h?.ports ?? [])].sort()).toEqual([...t.backendPorts].sort());
    expect(h?.connections).toBe(backend.connections);
    expect(hopCommands(h?.commands ?? {})).toEqual(backend.commands);
    expect(backend.commands.MGET).toBeGreaterThan(client.commands.MGET);
    expect(h?.errors).toBe(backend.errors);
    const keys = Object.fromEntries((h?.hotKeys ?? []).map((r) => [r.key, r.count]));
    for (const [k, n] of Object.entries(backend.keys as Counts)) expect(keys[k], k).toBe(n);
  });

  it('counts each command once, and the proxy is no client', () => {
    expect(report.totals.commands).toBe(sum(client.commands));
    expect(byName(report.commands)).toEqual(client.commands);
    const clients = Object.fromEntries(report.clients.map((r) => [r.ip, { connections: r.connections, commands: r.commands }]));
    expect(clients).toEqual(client.clients);
    expect(report.clients.reduce((n, r) => n + r.connections, 0)).toBe(client.connections);
    expect(report.totals.violations).toBe(0);
  });
});

describe('twemproxy2.pcap without --proxy-port', () => {
  it('warns that the proxy makes commands count twice', () => {
    const t = truth('twemproxy2');
    const plain = analyze('twemproxy2.pcap', portArgs([t.proxyPort, ...t.backendPorts]));
    expect(plain.warnings.some((w) => /proxy/i.test(w) || /double|twice/i.test(w)), JSON.stringify(plain.warnings)).toBe(true);
  });
});
