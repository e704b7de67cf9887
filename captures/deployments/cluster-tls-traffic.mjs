#!/usr/bin/env node
// Traffic generator and truth for the TLS, Redis Cluster and two-backend twemproxy captures
// (make-cluster-tls.sh). Like captures/traffic.mjs: raw RESP from plain Node, and the truth is
// what the generator sent and got back, checked against each server's own INFO commandstats /
// errorstats read over unix sockets the capture never sees. Nothing comes from src/.
//
//   node cluster-tls-traffic.mjs --scenario tls --out tls.truth.json --work DIR \
//     --ports 6500,6501 --ready-file F --go-file F
//   node cluster-tls-traffic.mjs --scenario cluster --out cluster.truth.json --work DIR --ports 7100,7101,7102
//   node cluster-tls-traffic.mjs --scenario twemproxy2 --out twemproxy2.truth.json --work DIR \
//     --ports 6510,6511,6512          (proxy port, then the backends)
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RedisConn, sleep } from '../lib/client.mjs';
import { keyHashSlot } from '../lib/hash-slot.mjs';
import { diffCounts, openServerView } from '../lib/server-view.mjs';
import { keysFor, Recorder } from '../lib/truth.mjs';
import { clusterScenario } from '../scenarios/cluster.mjs';
import { tlsScenario } from '../scenarios/tls.mjs';
import { twemproxy2 } from '../scenarios/twemproxy2.mjs';

const { values: opt } = parseArgs({
  options: {
    scenario: { type: 'string' },
    out: { type: 'string' },
    work: { type: 'string' },
    ports: { type: 'string' },
    'ready-file': { type: 'string' },
    'go-file': { type: 'string' },
  },
});
const ports = opt.ports.split(',').map(Number);
const sock = (port) => `${opt.work}/redis-${port}.sock`;
const HOST = '127.0.0.1';

function bump(map, key, by = 1) {
  map[key] = (map[key] ?? 0) + by;
}
const sorted = (obj) => Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const sum = (obj) => Object.values(obj).reduce((a, b) => a + b, 0);

function addCounts(a, b) {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) bump(out, k, v);
  return sorted(out);
}

function mustEqual(what, mine, server, ignore = []) {
  const diff = diffCounts(mine, server, ignore);
  if (Object.keys(diff).length > 0) throw new Error(`${what}: ${JSON.stringify(diff)}`);
}

/** Sends one command over a control connection (unix socket, not captured). */
async function control(path, args) {
  const c = await new RedisConn(null, { path }).open();
  const r = await c.send(args);
  await c.close();
  return r;
}

async function views(rec, list, monitor = false) {
  const out = [];
  for (const port of list) out.push(await openServerView(rec, { unixPath: sock(port), monitor }));
  return {
    async reset() {
      for (const v of out) await v.reset();
      rec.startedAt = Date.now() / 1000;
    },
    async finish() {
      await sleep(50);
      rec.endedAt = Date.now() / 1000;
      const res = [];
      for (const v of out) res.push(await v.finish());
      return res;
    },
  };
}

function stripRecorder(t) {
  const { slow, blocking, incidentalSlow, bigKeys, slowThresholdMs, ...rest } = t;
  return rest;
}

async function tls() {
  const [plainPort, tlsPort] = ports;
  const rec = new Recorder();
  const tlsRec = new Recorder();
  const v = await views(rec, [plainPort]);
  await tlsScenario(rec, tlsRec, {
    plain: { host: HOST, port: plainPort },
    tls: { host: HOST, port: tlsPort },
    readyFile: opt['ready-file'],
    goFile: opt['go-file'],
    onActive: () => v.reset(),
  });
  const [server] = await v.finish();
  const plain = rec.toTruth();
  const inside = tlsRec.toTruth();
  mustEqual('plain + TLS commands != INFO commandstats', addCounts(plain.commands, inside.commands), server.commandstats);
  if (plain.errors + inside.errors !== server.totalErrorReplies) {
    throw new Error(`errors: plain ${plain.errors} + TLS ${inside.errors} != server ${server.totalErrorReplies}`);
  }
  const protocols = [...new Set(tlsRec.conns.map((c) => c.tlsProtocol))];
  const tlsKeys = Object.keys(inside.keys);
  return {
    capture: 'tls.pcap',
    scenario: 'tls',
    ports,
    ...stripRecorder(plain),
    connections: plain.connections + inside.connections,
    midstreamConnections: inside.midstreamConnections,
    tlsConnections: inside.connections,
    tlsMidstreamConnections: inside.midstreamConnections,
    tlsProtocols: protocols,
    commandsInsideTls: inside.commands,
    errorsInsideTls: inside.errors,
    tlsKeys: inside.keys,
    tlsClients: inside.clients,
    tlsServers: inside.servers,
    notKeys: tlsKeys.filter((k) => plain.keys[k] === undefined),
    notes: rec.notes,
    server,
    crossChecks: {
      commandstats: 'plain commands + commandsInsideTls == INFO commandstats of the captured phase (CONFIG RESETSTAT when the capture had started)',
      errorReplies: `plain errors ${plain.errors} + TLS errors ${inside.errors} == total_error_replies`,
    },
  };
}

/** Node ids and slot ranges, over the unix sockets (before the capture's traffic). */
async function clusterLayout() {
  const nodes = [];
  for (const port of ports) {
    const id = String(await control(sock(port), ['CLUSTER', 'MYID']));
    nodes.push({ port, id, endpoint: `${HOST}:${port}` });
  }
  const owners = [];
  for (const [from, to, master] of await control(sock(ports[0]), ['CLUSTER', 'SLOTS'])) {
    owners.push({ from: Number(from), to: Number(to), port: Number(master[1]) });
  }
  const slotOwner = (slot) => ports.indexOf(owners.find((r) => slot >= r.from && slot <= r.to).port);
  return { nodes, owners, slotOwner };
}

/** Per node commands and error codes, error codes per command, key occurrences per slot. */
function clusterCounts(rec) {
  const perNode = Object.fromEntries(ports.map((p) => [p, { commands: {}, errorsByCode: {} }]));
  const c = { perNode, errorsByCode: {}, errorsByCommand: {}, hotSlots: {}, keySlots: {} };
  for (const e of rec.entries) {
    const node = perNode[Number(e.conn.server.split(':')[1])];
    bump(node.commands, e.name);
    for (const k of e.keys) {
      c.keySlots[k] = keyHashSlot(k);
      bump(c.hotSlots, c.keySlots[k]);
    }
    if (e.error === null) continue;
    const code = e.error.split(' ')[0];
    bump(c.errorsByCode, code);
    bump(node.errorsByCode, code);
    bump((c.errorsByCommand[e.name] ??= {}), code);
  }
  for (const p of ports) perNode[p].commands = sorted(perNode[p].commands);
  return c;
}

/** Each node's INFO must agree with what the generator sent it and got back; sums errorstats. */
function checkNodes(perNode, servers) {
  const errorstats = {};
  servers.forEach((s, i) => {
    const node = perNode[ports[i]];
    mustEqual(`node ${ports[i]}: generator != commandstats`, node.commands, s.commandstats);
    mustEqual(`node ${ports[i]}: generator errors != errorstats`, node.errorsByCode, s.errorstats);
    if (sum(node.errorsByCode) !== s.totalErrorReplies) throw new Error(`node ${ports[i]}: total_error_replies ${s.totalErrorReplies}`);
    for (const [code, n] of Object.entries(s.errorstats)) bump(errorstats, code, n);
  });
  return sorted(errorstats);
}

/** The servers' own hash: CLUSTER KEYSLOT for every distinct key (after INFO was read). */
async function checkKeySlots(keySlots) {
  const mismatched = [];
  for (const [k, s] of Object.entries(keySlots)) {
    const theirs = Number(await control(sock(ports[0]), ['CLUSTER', 'KEYSLOT', k]));
    if (theirs !== s) mismatched.push({ key: k, mine: s, redis: theirs });
  }
  if (mismatched.length > 0) throw new Error(`CRC16 slots differ from CLUSTER KEYSLOT: ${JSON.stringify(mismatched)}`);
}

/** CLUSTER LINKS of every node: each bus connection is a `to` link of one node. */
async function clusterLinks() {
  const links = [];
  for (const p of ports) {
    for (const l of await control(sock(p), ['CLUSTER', 'LINKS'])) {
      const m = {};
      for (let i = 0; i < l.length; i += 2) m[String(l[i])] = typeof l[i + 1] === 'bigint' ? Number(l[i + 1]) : String(l[i + 1]);
      links.push({ node: p, direction: m.direction, peer: m.node, createTime: m['create-time'] });
    }
  }
  return links;
}

async function cluster() {
  const { nodes, owners, slotOwner } = await clusterLayout();
  const rec = new Recorder();
  const v = await views(rec, ports);
  await v.reset();
  const run = await clusterScenario(rec, { nodes, slotOwner });
  const servers = await v.finish();
  const t = rec.toTruth();
  const c = clusterCounts(rec);
  const errorstats = checkNodes(c.perNode, servers);
  if (c.errorsByCode.MOVED !== run.moved || c.errorsByCode.ASK !== run.ask) throw new Error('redirect counts disagree');
  await checkKeySlots(c.keySlots);
  const node = (p, i) => ({
    id: nodes[i].id,
    slots: owners.filter((o) => o.port === p).map((o) => [o.from, o.to]),
    ...c.perNode[p],
  });
  return {
    capture: 'cluster.pcap',
    scenario: 'cluster',
    // The cluster bus of each node listens on its port + 10000.
    ports: [...ports, ...ports.map((p) => p + 10000)],
    ...stripRecorder(t),
    clientConnections: t.connections,
    errorsByCode: sorted(c.errorsByCode),
    errorsByCommand: c.errorsByCommand,
    hotSlots: sorted(c.hotSlots),
    keySlots: sorted(c.keySlots),
    migration: run.migration,
    nodes: Object.fromEntries(ports.map((p, i) => [p, node(p, i)])),
    notes: rec.notes,
    server: { errorstats, byNode: Object.fromEntries(ports.map((p, i) => [p, servers[i]])), clusterLinks: await clusterLinks() },
    crossChecks: {
      commandstats: 'per node: generator counts == INFO commandstats (calls + rejected_calls: a redirected command is a rejected call)',
      errorstats: 'per node: MOVED/ASK the generator received == INFO errorstats, == total_error_replies',
      hotSlots: 'own CRC16/XMODEM (captures/lib/hash-slot.mjs) == CLUSTER KEYSLOT for every distinct key',
    },
  };
}

/** What one backend saw from nutcracker (127.0.0.1): its MONITOR log, checked against INFO. */
function backendLeg(s, port) {
  const leg = { connections: 0, commands: {}, keys: {}, errors: s.totalErrorReplies };
  const conns = new Set();
  for (const line of s.monitorLog) {
    if (line === null || !line.client.startsWith('127.0.0.1:')) continue;
    const name = line.args[0].toUpperCase();
    bump(leg.commands, name);
    for (const k of keysFor(name, line.args)) bump(leg.keys, k);
    conns.add(line.client);
  }
  mustEqual(`backend ${port}: MONITOR != commandstats`, leg.commands, s.commandstats);
  delete s.monitorLog;
  return { ...leg, connections: conns.size, proxyEndpoints: [...conns], commands: sorted(leg.commands), keys: sorted(leg.keys) };
}

async function twemproxy() {
  const [proxyPort, ...backendPorts] = ports;
  const rec = new Recorder();
  const v = await views(rec, backendPorts, true);
  await v.reset();
  await twemproxy2(rec, { target: { host: HOST, port: proxyPort } });
  const servers = await v.finish();
  const t = rec.toTruth();
  const backend = Object.fromEntries(servers.map((s, i) => [backendPorts[i], backendLeg(s, backendPorts[i])]));
  // Every GET/SET goes to one backend; an MGET goes to each backend holding one of its keys.
  const sent = t.commands;
  const seen = Object.values(backend).reduce((acc, l) => addCounts(acc, l.commands), {});
  if (sent.GET !== seen.GET || sent.SET !== seen.SET) throw new Error(`GET/SET: client ${JSON.stringify(sent)} backend ${JSON.stringify(seen)}`);
  const keysSeen = Object.values(backend).reduce((acc, l) => addCounts(acc, l.keys), {});
  mustEqual('client keys != backend keys', t.keys, keysSeen);
  const backendConns = Object.values(backend).reduce((n, l) => n + l.connections, 0);
  const backendErrors = Object.values(backend).reduce((n, l) => n + l.errors, 0);
  return {
    capture: 'twemproxy2.pcap',
    scenario: 'twemproxy2',
    ports,
    ...stripRecorder(t),
    commands: t.commands,
    connections: t.connections + backendConns,
    proxyPort,
    backendPorts,
    hops: {
      client: { ports: [proxyPort], connections: t.connections, commands: t.commands, errors: t.errors, keys: t.keys, clients: t.clients },
      backend: {
        ports: backendPorts,
        connections: backendConns,
        commands: seen,
        errors: backendErrors,
        keys: keysSeen,
        byPort: backend,
      },
    },
    notes: [
      ...rec.notes,
      `nutcracker split the ${sent.MGET} client MGETs into ${seen.MGET} backend MGETs, one per backend holding at least one of the keys; GET/SET pass through one for one (client ${sum(sent)} commands, backends ${sum(seen)})`,
      'on the wire, every MGET nutcracker sends is rebuilt as lower-case `mget` with only that backend\'s keys, in the client\'s order, duplicates kept (also when all keys are on one backend); requests of several client connections share one write to a backend',
    ],
    server: { byPort: Object.fromEntries(backendPorts.map((p, i) => [p, servers[i]])) },
    crossChecks: {
      backend: 'per backend: MONITOR over the unix socket == INFO commandstats',
      keys: 'every key occurrence the clients sent reached exactly one backend (client keys == sum of backend keys)',
    },
  };
}

const SCENARIOS = { tls, cluster, twemproxy2: twemproxy };

async function main() {
  const run = SCENARIOS[opt.scenario];
  if (run === undefined) throw new Error(`unknown --scenario ${opt.scenario}`);
  const truth = await run();
  writeFileSync(opt.out, `${JSON.stringify(truth, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`cluster-tls-traffic.mjs: ${err.stack ?? err}`);
    process.exit(1);
  },
);
