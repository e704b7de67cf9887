#!/usr/bin/env node
// Traffic and truth for apps.pcap (make-apps.sh): "who is calling". Twelve client connections
// from 127.0.0.10-.40 to one redis-server; some name themselves (CLIENT SETNAME, HELLO 3 SETNAME,
// CLIENT SETINFO), one's name is refused, one opened before the capture names itself late, the
// others are unnamed and named only by apps.map / apps-pods.json (or not at all).
//
//   node apps-traffic.mjs --step traffic --port P --unix S --out facts.json --ready-file F --go-file F
//   node apps-traffic.mjs --step truth --facts facts.json --pcap apps.pcap --port P --how "..."
//
// The truth is what the generator sent (per connection), the server's own CLIENT LIST (names,
// taken over the unix socket before any connection closed) and INFO commandstats/errorstats;
// the expected application of each connection per run is declared below (CONNS) and checked
// against an independent reading of apps.map and apps-pods.json. Nothing here imports src/.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prng, RedisConn, sleep } from '../lib/client.mjs';
import { readPcap } from '../lib/pcap.mjs';
import { ServerControl, until } from '../lib/server-info.mjs';
import { tcpStreams } from '../lib/tcp-streams.mjs';
import { endpoint, Recorder } from '../lib/truth.mjs';
import { tsharkOf } from '../lib/tshark.mjs';
import { requestsOf } from '../lib/wire-scan.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const MAP_FILE = 'apps.map';
const PODS_FILE = 'apps-pods.json';
/** The fixed client port of the one connection apps.map names by ip:port. */
const CRON_PORT = 46026;

/**
 * The connections, in the order they are opened. setup: requests sent first, one at a time;
 * ops: further requests (mixed reads and writes, never an error); late: requests before the
 * capture (not in the truth) and the point after which the name is given. name: what the
 * server's CLIENT LIST must show; expect: the application per run, [name, source].
 */
const CONNS = [
  { id: 'checkout-1', ip: '127.0.0.10', setup: [['CLIENT', 'SETNAME', 'checkout']], ops: 30, name: 'checkout',
    expect: { none: ['checkout', 'setname'], map: ['checkout', 'setname'], pods: ['checkout', 'setname'] } },
  { id: 'checkout-2', ip: '127.0.0.11', setup: [['CLIENT', 'SETNAME', 'checkout']], ops: 17, name: 'checkout',
    expect: { none: ['checkout', 'setname'], map: ['checkout', 'setname'], pods: ['checkout', 'setname'] } },
  { id: 'billing', ip: '127.0.0.12', setup: [['HELLO', '3', 'SETNAME', 'billing']], ops: 24, name: 'billing', resp3: true,
    expect: { none: ['billing', 'setname'], map: ['billing', 'setname'], pods: ['billing', 'setname'] } },
  { id: 'worker', ip: '127.0.0.13', ops: 40, name: 'worker', lib: 'redis-py 5.0.1',
    // Redis 7.0 has no CLIENT SETINFO (7.2+): both answer ERR unknown subcommand; the library is still what the client said.
    setup: [['CLIENT', 'SETINFO', 'LIB-NAME', 'redis-py'], ['CLIENT', 'SETINFO', 'LIB-VER', '5.0.1'], ['CLIENT', 'SETNAME', 'worker']],
    expect: { none: ['worker', 'setname'], map: ['worker', 'setname'], pods: ['worker', 'setname'] } },
  { id: 'bad-name', ip: '127.0.0.14', setup: [['CLIENT', 'SETNAME', 'bad name']], ops: 11, name: null,
    expect: { none: ['127.0.0.14', 'ip'], map: ['legacy', 'map'], pods: ['127.0.0.14', 'ip'] } },
  { id: 'late', ip: '127.0.0.15', late: { before: 6, nameAfter: 9, name: ['CLIENT', 'SETNAME', 'reporter'] }, setup: [], ops: 15, name: 'reporter',
    expect: { none: ['reporter', 'setname'], map: ['reporter', 'setname'], pods: ['reporter', 'setname'] } },
  { id: 'web-1', ip: '127.0.0.20', setup: [], ops: 14, name: null,
    expect: { none: ['127.0.0.20', 'ip'], map: ['frontend', 'map'], pods: ['shop/web', 'map'] } },
  { id: 'web-2', ip: '127.0.0.21', setup: [], ops: 22, name: null,
    expect: { none: ['127.0.0.21', 'ip'], map: ['frontend', 'map'], pods: ['shop/web', 'map'] } },
  { id: 'batch', ip: '127.0.0.25', setup: [], ops: 27, name: null,
    expect: { none: ['127.0.0.25', 'ip'], map: ['frontend-batch', 'map'], pods: ['jobs/batch-7f9c', 'map'] } },
  { id: 'cron', ip: '127.0.0.26', localPort: CRON_PORT, setup: [], ops: 8, name: null,
    expect: { none: ['127.0.0.26', 'ip'], map: ['cron', 'map'], pods: ['ops/cron', 'map'] } },
  { id: 'batch-26', ip: '127.0.0.26', setup: [], ops: 20, name: null,
    expect: { none: ['127.0.0.26', 'ip'], map: ['frontend-batch', 'map'], pods: ['ops/cron', 'map'] } },
  { id: 'stray', ip: '127.0.0.40', setup: [], ops: 5, name: null,
    expect: { none: ['127.0.0.40', 'ip'], map: ['127.0.0.40', 'ip'], pods: ['127.0.0.40', 'ip'] } },
];

const RUNS = { none: null, map: MAP_FILE, pods: PODS_FILE };

const { values: opt } = parseArgs({
  options: {
    step: { type: 'string' },
    port: { type: 'string' },
    unix: { type: 'string' },
    out: { type: 'string' },
    facts: { type: 'string' },
    pcap: { type: 'string' },
    how: { type: 'string' },
    'ready-file': { type: 'string' },
    'go-file': { type: 'string' },
  },
});

const bump = (map, key, by = 1) => {
  map[key] = (map[key] ?? 0) + by;
};
const sorted = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);

/** RedisConn with a fixed local port (the library's own open() binds the address only). */
class PortConn extends RedisConn {
  open() {
    return new Promise((resolve, reject) => {
      const o = this.opts;
      const sock = net.connect({ host: o.host, port: o.port, localAddress: o.localAddress, localPort: o.localPort });
      this.sock = sock;
      sock.setNoDelay(true);
      sock.once('error', reject);
      sock.once('connect', () => {
        sock.off('error', reject);
        sock.on('error', (err) => this.fail(err));
        this.ip = sock.localAddress;
        this.clientEndpoint = endpoint(sock.localAddress, sock.localPort);
        this.server = endpoint(sock.remoteAddress, sock.remotePort);
        this.rec.addConn(this);
        resolve(this);
      });
      sock.on('data', (chunk) => this.onData(chunk));
      this.closed = new Promise((r) => sock.once('close', r));
    });
  }
}

/** n requests on keys of `prefix`: strings, a counter, a hash, a list, a set; none fails. */
function opsFor(prefix, n, rnd) {
  const kinds = [
    (i) => ['SET', `${prefix}:s:${i % 5}`, `v${i}`],
    (i) => ['GET', `${prefix}:s:${i % 5}`],
    () => ['INCR', `${prefix}:count`],
    (i) => ['HSET', `${prefix}:h`, `f${i % 3}`, String(i)],
    () => ['HGETALL', `${prefix}:h`],
    (i) => ['LPUSH', `${prefix}:l`, `e${i}`],
    () => ['LRANGE', `${prefix}:l`, '0', '4'],
    (i) => ['SADD', `${prefix}:set`, `m${i % 4}`],
    () => ['SMEMBERS', `${prefix}:set`],
    (i) => ['EXISTS', `${prefix}:s:${i % 7}`],
    () => ['PING'],
  ];
  return Array.from({ length: n }, (_, i) => kinds[Math.floor(rnd() * kinds.length)](i));
}

async function readyGo() {
  writeFileSync(opt['ready-file'], 'ready\n');
  await until(`the go file ${opt['go-file']}`, () => existsSync(opt['go-file']), 60_000);
}

/** CLIENT LIST lines as objects (addr, name, resp, lib-name on 7.2+, ...). */
async function clientList(ctl) {
  const text = (await ctl.send(['CLIENT', 'LIST'])).toString('latin1');
  return text.split('\n').filter((l) => l.trim() !== '').map((l) =>
    Object.fromEntries(l.trim().split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])));
}

async function trafficStep() {
  const rec = new Recorder({ slowThresholdMs: 10 });
  const target = { host: '127.0.0.1', port: Number(opt.port) };
  const rnd = prng(6600);
  const ctl = await ServerControl.open(rec, opt.unix);
  const conns = new Map();
  const open = (c) => new PortConn(rec, { ...target, localAddress: c.ip, localPort: c.localPort }).open();

  // Before the capture: the late connection opens and works without a name.
  rec.active = false;
  const lateSpec = CONNS.find((c) => c.late !== undefined);
  const late = await open(lateSpec);
  conns.set(lateSpec.id, late);
  for (const args of opsFor('report:pre', lateSpec.late.before, rnd)) await late.send(args);
  await sleep(100);
  await ctl.send(['CONFIG', 'RESETSTAT']);
  await readyGo();
  rec.active = true;
  rec.startedAt = Date.now() / 1000;

  // Every other connection opens inside the capture and sends its setup requests one by one.
  for (const c of CONNS) {
    if (c.late !== undefined) continue;
    const conn = await open(c);
    conns.set(c.id, conn);
    for (const args of c.setup) await conn.send(args);
  }
  // Then all of them, round-robin, in pipelined batches of 1-4; the late one names itself
  // after `nameAfter` of its requests, in a write of its own.
  const queues = new Map(CONNS.map((c) => {
    const ops = opsFor(c.id, c.ops, rnd).map((args) => ({ args }));
    if (c.late !== undefined) ops.splice(c.late.nameAfter, 0, { args: c.late.name, alone: true });
    return [c.id, ops];
  }));
  while ([...queues.values()].some((q) => q.length > 0)) {
    for (const c of CONNS) {
      const q = queues.get(c.id);
      if (q.length === 0) continue;
      let n = 1 + Math.floor(rnd() * 4);
      if (q[0].alone) n = 1;
      const stop = q.findIndex((x, i) => i > 0 && x.alone);
      if (stop > 0) n = Math.min(n, stop);
      await conns.get(c.id).pipeline(q.splice(0, n).map((x) => x.args));
    }
    await sleep(5);
  }
  await sleep(50);
  // The server's account while every connection is still open.
  const list = await clientList(ctl);
  const server = await ctl.account();
  for (const c of CONNS) await conns.get(c.id).close();
  await ctl.close();
  await sleep(100);
  rec.endedAt = Date.now() / 1000;

  const perConn = CONNS.map((c) => {
    const conn = conns.get(c.id);
    const entries = rec.entries.filter((e) => e.conn === conn && e.active);
    const commands = {};
    for (const e of entries) bump(commands, e.name);
    return {
      id: c.id,
      endpoint: conn.clientEndpoint,
      server: conn.server,
      midstream: !conn.openedActive,
      commands: sorted(commands),
      errors: entries.filter((e) => e.error !== null).map((e) => `${e.preview} -> ${e.error}`),
      sentBeforeCapture: rec.entries.filter((e) => e.conn === conn && !e.active).length,
    };
  });
  const generator = rec.toTruth();
  writeFileSync(opt.out, `${JSON.stringify({ generator, perConn, clientList: list, server, notes: rec.notes }, null, 2)}\n`);
}

// ---- truth --------------------------------------------------------------------------------

/** An independent reading of the two mapping files (IPv4 only: the capture has no IPv6). */
function ipValue(s) {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  return m === null ? null : m.slice(1).reduce((a, p) => a * 256 + Number(p), 0);
}

function mapResolver(file) {
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.json')) {
    const byIp = {};
    for (const pod of JSON.parse(text).items) {
      const md = pod.metadata;
      const app = md.labels?.app ?? md.name;
      for (const ip of [pod.status?.podIP, ...(pod.status?.podIPs ?? []).map((p) => p.ip)]) {
        if (ip !== undefined) byIp[ip] = `${md.namespace}/${app}`;
      }
    }
    return (ip) => byIp[ip] ?? null;
  }
  const exact = {};
  const prefixes = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [target, name] = line.split(/\s+/);
    if (/:\d+$/.test(target)) exact[target] = name;
    else {
      const [addr, len = '32'] = target.split('/');
      prefixes.push({ base: ipValue(addr), len: Number(len), name });
    }
  }
  return (ip, port) => {
    if (exact[`${ip}:${port}`] !== undefined) return exact[`${ip}:${port}`];
    const v = ipValue(ip);
    const hits = prefixes.filter((p) => Math.floor(v / 2 ** (32 - p.len)) === Math.floor(p.base / 2 ** (32 - p.len)));
    hits.sort((a, b) => b.len - a.len);
    return hits[0]?.name ?? null;
  };
}

function truthStep() {
  const facts = JSON.parse(readFileSync(opt.facts, 'utf8'));
  const port = Number(opt.port);
  const problems = [];
  const checks = {};
  const check = (what, truth, seen) => {
    const good = JSON.stringify(truth) === JSON.stringify(seen);
    checks[what] = good ? 'ok' : { truth, seen };
    if (!good) problems.push(`${what}: truth ${JSON.stringify(truth)}, evidence ${JSON.stringify(seen)}`);
  };
  const gen = facts.generator;
  const byId = new Map(facts.perConn.map((p) => [p.id, p]));

  // 1. The capture itself: every connection, its requests, its ends.
  const streams = tcpStreams(opt.pcap, [port]);
  const streamOf = new Map(streams.map((s) => [s.client, s]));
  check('connections in the pcap == connections opened', CONNS.length, streams.length);
  for (const c of CONNS) {
    const p = byId.get(c.id);
    const s = streamOf.get(p.endpoint);
    if (s === undefined) {
      problems.push(`${c.id} (${p.endpoint}) is not in the pcap`);
      continue;
    }
    const wire = requestsOf(s.toServer);
    check(`${c.id} ${p.endpoint}: requests sent == requests on the wire`, p.commands, wire.commands);
    check(`${c.id}: no unread bytes, no holes`, [0, 0, 0], [wire.unread, s.toServer.holes.length, s.toClient.holes.length]);
    check(`${c.id}: SYN in the file unless opened before the capture`, !p.midstream, s.syn);
    check(`${c.id}: both FINs in the file`, 2, s.fin);
  }
  const tshark = tsharkOf(opt.pcap, [port]);
  const evidence = {
    packets: tshark.packets(),
    tcpConversations: tshark.conversations(),
    handshakes: tshark.handshakes(),
    finPackets: tshark.finPackets(),
    lostSegments: tshark.lostSegments(),
    respRequests: tshark.respRequests(`tcp.dstport==${port}`),
  };
  const packets = readPcap(readFileSync(opt.pcap)).packets.length;
  check('packets: own reader == tshark', packets, evidence.packets);
  check('tshark conversations == connections', CONNS.length, evidence.tcpConversations);
  check('tshark handshakes == connections opened inside the capture', CONNS.filter((c) => c.late === undefined).length, evidence.handshakes);
  check('tshark FIN packets == 2 per connection', 2 * CONNS.length, evidence.finPackets);
  check('tshark lost segments', 0, evidence.lostSegments);
  check('generator requests == tshark RESP requests to the server', gen.commands, evidence.respRequests);

  // 2. The server's account: commandstats (7.0 rejects CLIENT SETINFO before the command
  //    lookup, so it counts in no commandstat, only in errorstats), errors, names.
  const setinfo = CONNS.flatMap((c) => c.setup).filter((a) => a[0] === 'CLIENT' && a[1] === 'SETINFO').length;
  const expectStats = { ...gen.commands, CLIENT: gen.commands.CLIENT - setinfo };
  check('generator requests == server commandstats (+ CLIENT SETINFO, which 7.0 rejects uncounted)', expectStats, facts.server.commandstats);
  check('generator error replies == server total_error_replies', gen.errors, facts.server.totalErrorReplies);
  check('generator error replies == server errorstats', { ERR: gen.errors }, facts.server.errorstats);
  check('connections received since the reset == connections opened inside the capture',
    CONNS.filter((c) => c.late === undefined).length, facts.server.connectionsReceived);
  const tcpClients = facts.clientList.filter((l) => /^127\./.test(l.addr));
  check('CLIENT LIST: one line per connection', CONNS.length, tcpClients.length);
  const listed = Object.fromEntries(tcpClients.map((l) => [l.addr, l.name === '' ? null : l.name]));
  for (const c of CONNS) {
    const p = byId.get(c.id);
    check(`CLIENT LIST name of ${c.id} ${p.endpoint}`, c.name, p.endpoint in listed ? listed[p.endpoint] : 'missing');
  }
  const billing = tcpClients.find((l) => l.addr === byId.get('billing').endpoint);
  check('CLIENT LIST: billing speaks RESP3', '3', billing?.resp);
  const cron = byId.get('cron').endpoint;
  check('the cron connection has its fixed port', `127.0.0.26:${CRON_PORT}`, cron);

  // 3. The expected application of each connection per run == the mapping files as written.
  const resolvers = { none: () => null, map: mapResolver(join(HERE, MAP_FILE)), pods: mapResolver(join(HERE, PODS_FILE)) };
  for (const [run, resolve] of Object.entries(resolvers)) {
    for (const c of CONNS) {
      const p = byId.get(c.id);
      const ip = p.endpoint.slice(0, p.endpoint.lastIndexOf(':'));
      const mapped = resolve(ip, Number(p.endpoint.slice(p.endpoint.lastIndexOf(':') + 1)));
      const got = c.name !== null ? [c.name, 'setname'] : mapped !== null ? [mapped, 'map'] : [ip, 'ip'];
      check(`${run}: ${c.id} is ${c.expect[run].join(' / ')}`, c.expect[run], got);
    }
  }
  if (problems.length > 0) {
    console.error(`apps-traffic: the truth is contradicted:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }

  // 4. The truth.
  const connections = {};
  for (const c of CONNS) {
    const p = byId.get(c.id);
    connections[p.endpoint] = {
      id: c.id, name: c.name, lib: c.lib ?? null, commands: sum(p.commands), errors: p.errors.length,
      midstream: p.midstream, byCommand: p.commands,
    };
  }
  const runs = {};
  for (const [run, file] of Object.entries(RUNS)) {
    const apps = {};
    const appOf = {};
    for (const c of CONNS) {
      const p = byId.get(c.id);
      const [name, source] = c.expect[run];
      appOf[p.endpoint] = name;
      const row = (apps[name] ??= { source, ips: [], connections: 0, commands: 0, errors: 0, libs: [] });
      if (!row.ips.includes(p.endpoint.slice(0, p.endpoint.lastIndexOf(':')))) row.ips.push(p.endpoint.slice(0, p.endpoint.lastIndexOf(':')));
      row.connections++;
      row.commands += sum(p.commands);
      row.errors += p.errors.length;
      if (c.lib !== undefined && !row.libs.includes(c.lib)) row.libs.push(c.lib);
    }
    for (const row of Object.values(apps)) {
      row.ips.sort();
      row.libs.sort();
    }
    runs[run] = { clients: file, apps: sorted(apps), appOf: sorted(appOf) };
  }
  const truth = {
    capture: 'apps.pcap',
    capturedWith: opt.how,
    ports: [port],
    packets,
    connections: CONNS.length,
    midstreamConnections: facts.perConn.filter((p) => p.midstream).length,
    commands: gen.commands,
    totalCommands: sum(gen.commands),
    errors: gen.errors,
    connectionNames: Object.fromEntries(Object.entries(connections).map(([ep, c]) => [ep, c.name])),
    connectionsByEndpoint: connections,
    runs,
    startedAt: gen.startedAt,
    endedAt: gen.endedAt,
    notes: [
      `${byId.get('late').endpoint} connected and sent ${byId.get('late').sentBeforeCapture} requests before the capture started (not counted, no SYN in the file); it sends CLIENT SETNAME reporter after ${CONNS.find((c) => c.late).late.nameAfter} requests inside the capture`,
      'CLIENT SETINFO exists from Redis 7.2: 7.0.15 answers both of the worker\'s SETINFO with "ERR unknown subcommand" and counts them in no commandstat; the library is what the client said (redis-py 5.0.1), as the analyzer records it',
      'CLIENT SETNAME "bad name" is refused ("ERR Client names cannot contain spaces, newlines or special characters."): CLIENT LIST shows name= for that connection',
      'CLIENT LIST shows lib-name/lib-ver only on 7.2+: the libraries in the truth are what the generator sent',
      ...facts.perConn.flatMap((p) => p.errors.map((e) => `${p.endpoint}: ${e}`)),
      ...facts.notes,
    ],
    server: {
      version: facts.server.version,
      commandstats: facts.server.commandstats,
      errorstats: facts.server.errorstats,
      totalErrorReplies: facts.server.totalErrorReplies,
      connectionsReceived: facts.server.connectionsReceived,
      clientList: tcpClients.map((l) => ({ addr: l.addr, name: l.name, resp: l.resp, cmd: l.cmd })),
    },
    crossChecks: checks,
    tshark: evidence,
  };
  writeFileSync(join(HERE, 'apps.truth.json'), `${JSON.stringify(truth, null, 2)}\n`);
}

if (opt.step === 'traffic') await trafficStep();
else if (opt.step === 'truth') truthStep();
else throw new Error(`unknown --step ${opt.step}`);
