/**
 * Who is calling: names connections give themselves (CLIENT SETNAME, HELLO ... SETNAME, CLIENT
 * SETINFO), the --clients mapping (lines or kubectl JSON, longest prefix wins), reverse DNS,
 * and the precedence between them; rows gathered per application.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { AppNamer } from '../src/analysis/apps/app-namer.js';
import { appEntries } from '../src/analysis/apps/app-rows.js';
import { parseClientMap, parseIp } from '../src/analysis/apps/client-map.js';
import { ReverseResolver } from '../src/analysis/apps/resolver.js';
import { Analyzer } from '../src/analysis/analyzer.js';
import { analyzerOptions } from '../src/engine/options.js';
import { UserError } from '../src/errors.js';
import { cmd, testConn } from './helpers/analyzer-run.js';

describe('parseIp', () => {
  test.each([
    ['10.2.3.4', false, 0x0a020304n],
    ['::1', true, 1n],
    ['[::1]', true, 1n],
    ['2001:db8::ff00:42:8329', true, 0x20010db8000000000000ff0000428329n],
    ['::ffff:10.0.0.1', true, 0xffff0a000001n],
  ])('%s', (text, v6, value) => expect(parseIp(text)).toEqual({ v6, value }));
  test.each(['10.2.3', '256.1.1.1', 'a.b.c.d', '1::2::3', '', 'host.example'])('%s is no address', (t) => expect(parseIp(t)).toBeNull());
});

const MAP = `# who is who
10.2.0.0/16      payments
10.2.3.0/24      payments-batch
10.2.3.4:5000    cron
fd00::/8         ipv6-app
127.0.0.3        demo-three   # a trailing comment
`;

describe('client mapping file', () => {
  const map = parseClientMap(MAP, 'apps.txt');
  test.each([
    ['10.2.9.9', 1, 'payments'],
    ['10.2.3.9', 1, 'payments-batch'],
    ['10.2.3.4', 5000, 'cron'],
    ['10.2.3.4', 5001, 'payments-batch'],
    ['fd12::5', 1, 'ipv6-app'],
    ['127.0.0.3', 40000, 'demo-three'],
    ['10.3.0.1', 1, null],
  ])('%s:%i -> %s (longest prefix, ip:port first)', (ip, port, name) => expect(map.lookup(ip, port)).toBe(name));

  test.each([
    ['10.2.0.0/16\n', 'apps.txt line 1: expected'],
    ['# ok\n10.2.0.0/33 x\n', "apps.txt line 2: '10.2.0.0/33' is not an IP address"],
    ['host.example app\n', "apps.txt line 1: 'host.example' is not an IP address"],
    ['{"kind":"List"}', "apps.txt: JSON without 'items'"],
    ['{"items": [', 'apps.txt: not valid JSON'],
  ])('bad input %j: one line naming the line', (text, message) => {
    expect(() => parseClientMap(text, 'apps.txt')).toThrow(UserError);
    expect(() => parseClientMap(text, 'apps.txt')).toThrow(message);
  });

  test('kubectl get pods -A -o json: pod IP -> namespace/<app label or pod name>', () => {
    const pods = {
      apiVersion: 'v1', kind: 'List',
      items: [
        { metadata: { name: 'checkout-7d9f', namespace: 'shop', labels: { app: 'checkout' } }, status: { podIP: '10.244.1.7', podIPs: [{ ip: '10.244.1.7' }, { ip: 'fd00::7' }] } },
        { metadata: { name: 'loner', namespace: 'default' }, status: { podIP: '10.244.2.9' } },
        { metadata: { name: 'pending', namespace: 'default' }, status: {} },
      ],
    };
    const m = parseClientMap(JSON.stringify(pods, null, 2), 'pods.json');
    expect(m.lookup('10.244.1.7', 1)).toBe('shop/checkout');
    expect(m.lookup('fd00::7', 1)).toBe('shop/checkout');
    expect(m.lookup('10.244.2.9', 1)).toBe('default/loner');
    expect(m.size).toBe(3);
  });
});

describe('precedence: own name, mapping, reverse DNS, IP', () => {
  test('in that order', async () => {
    const resolver = new ReverseResolver(async (ip) => (ip === '10.9.9.9' ? ['web-1.example.'] : Promise.reject(new Error('ENOTFOUND'))));
    const namer = new AppNamer(parseClientMap(MAP, 'm'), resolver);
    for (const ip of ['10.9.9.9', '10.8.8.8']) namer.seen(ip, 1);
    await resolver.settle(1000);
    expect(namer.name('10.2.9.9', 1, 'billing')).toEqual({ name: 'billing', source: 'setname' });
    expect(namer.name('10.2.9.9', 1, null)).toEqual({ name: 'payments', source: 'map' });
    expect(namer.name('10.9.9.9', 1, null)).toEqual({ name: 'web-1.example', source: 'dns' });
    expect(namer.name('10.8.8.8', 1, null)).toEqual({ name: '10.8.8.8', source: 'ip' });
  });

  test('lookups are bounded in time: settle() returns after its bound whatever DNS does', async () => {
    const resolver = new ReverseResolver(() => new Promise<string[]>(() => undefined));
    resolver.name('10.1.1.1');
    const t0 = Date.now();
    await resolver.settle(50);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(resolver.name('10.1.1.1')).toBeNull();
  });
});

describe('names from the wire', () => {
  function run(convs: Array<{ ip: string; steps: Array<['C' | 'S', string]> }>, namer?: AppNamer) {
    const a = new Analyzer({ ...analyzerOptions({ slowMs: 10, maxKeys: 100, top: 10 }), ...(namer ? { apps: namer } : {}) });
    convs.forEach((c, i) => {
      const conn = testConn(i + 1, false, c.ip);
      a.onOpen(conn, 0);
      for (const [who, text] of c.steps) a.onData(conn, who === 'C', Buffer.from(text, 'latin1'), 0, text.length, 1);
      a.onClose(conn, 2, 'fin');
    });
    return appEntries(a.stats.peers.connections, a.apps).map((e) => ({ name: e.name, source: e.source, ips: e.ips, libs: e.libs, connections: e.peer.connections, commands: e.peer.commands }));
  }

  test('SETNAME, HELLO SETNAME and SETINFO; a refused name is not taken; rows gather by name', () => {
    const rows = run([
      { ip: '10.0.0.5', steps: [['C', cmd('CLIENT', 'SETNAME', 'billing') + cmd('CLIENT', 'SETINFO', 'LIB-NAME', 'redis-py') + cmd('CLIENT', 'SETINFO', 'LIB-VER', '5.0.1') + cmd('GET', 'k')], ['S', '+OK\r\n+OK\r\n+OK\r\n$-1\r\n']] },
      { ip: '10.0.0.6', steps: [['C', cmd('HELLO', '3', 'AUTH', 'u', 'secret', 'SETNAME', 'billing') + cmd('GET', 'k')], ['S', '%1\r\n+server\r\n+redis\r\n_\r\n']] },
      { ip: '10.0.0.7', steps: [['C', cmd('CLIENT', 'SETNAME', 'bad name') + cmd('GET', 'k')], ['S', '-ERR Client names cannot contain spaces\r\n$-1\r\n']] },
    ]);
    expect(rows).toEqual([
      { name: 'billing', source: 'setname', ips: ['10.0.0.5', '10.0.0.6'], libs: ['redis-py 5.0.1'], connections: 2, commands: 6 },
      { name: '10.0.0.7', source: 'ip', ips: ['10.0.0.7'], libs: [], connections: 1, commands: 2 },
    ]);
  });

  test('the mapping names connections that give no name; a joined connection gets its name when next seen', () => {
    const namer = new AppNamer(parseClientMap('10.0.0.0/24 payments\n', 'm'), null);
    const rows = run([
      { ip: '10.0.0.5', steps: [['C', cmd('GET', 'a')], ['S', '$-1\r\n']] },
      { ip: '10.0.0.9', steps: [['C', cmd('GET', 'a') + cmd('CLIENT', 'SETNAME', 'late')], ['S', '$-1\r\n+OK\r\n']] },
      { ip: '10.1.0.1', steps: [['C', cmd('GET', 'a')], ['S', '$-1\r\n']] },
    ], namer);
    expect(rows.map((r) => [r.name, r.source, r.connections])).toEqual([['late', 'setname', 1], ['10.1.0.1', 'ip', 1], ['payments', 'map', 1]]);
  });
});

describe('the CLI', () => {
  const ROOT = new URL('..', import.meta.url).pathname;
  const run = (args: string[]) => spawnSync(process.execPath, [`${ROOT}bin/redis-tap.js`, ...args], { encoding: 'utf8' });

  test('--client <app> selects the addresses --clients maps to that name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-tap-apps-'));
    writeFileSync(join(dir, 'm.txt'), '127.0.0.2 webapp\n127.0.0.3/32 worker\n');
    const all = JSON.parse(run(['analyze', `${ROOT}captures/demo.pcap`, '--json']).stdout) as { clients: Array<{ ip: string; commands: number }> };
    const r = JSON.parse(run(['analyze', `${ROOT}captures/demo.pcap`, '--clients', join(dir, 'm.txt'), '--client', 'webapp', '--json']).stdout) as { totals: { commands: number }; apps: Array<{ name: string }> };
    expect(r.totals.commands).toBe(all.clients.find((c) => c.ip === '127.0.0.2')!.commands);
    expect(r.apps.map((a) => a.name)).toEqual(['webapp']);
    const bad = run(['analyze', `${ROOT}captures/demo.pcap`, '--clients', join(dir, 'm.txt'), '--client', 'nosuch']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain("names no client 'nosuch'");
  });

  test('--resolve never holds the analysis up for long, and falls back to the IP', () => {
    const t0 = Date.now();
    const r = run(['analyze', `${ROOT}captures/demo.pcap`, '--resolve', '--json']);
    expect(r.status).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const apps = (JSON.parse(r.stdout) as { apps: Array<{ name: string; source: string }> }).apps;
    for (const a of apps) expect(['dns', 'ip']).toContain(a.source);
  });
});
