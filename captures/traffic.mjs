#!/usr/bin/env node
// Traffic generator for the reference captures: speaks raw RESP to a real redis-server (or to
// nutcracker in front of it) and writes the ground truth of what it sent and got back.
//
//   node captures/traffic.mjs --scenario demo --out captures/demo.truth.json \
//     --host 127.0.0.1 --port 6379 --unix /tmp/x/redis.sock [--password pw] \
//     [--ready-file f --go-file f]     (midstream: wait for the capture to start)
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { sleep } from './lib/client.mjs';
import { openServerView, diffCounts } from './lib/server-view.mjs';
import { endpoint, keysFor, Recorder } from './lib/truth.mjs';
import { demo } from './scenarios/demo.mjs';
import { midstream } from './scenarios/midstream.mjs';
import { small } from './scenarios/small.mjs';
import { twemproxy } from './scenarios/twemproxy.mjs';

const { values: opt } = parseArgs({
  options: {
    scenario: { type: 'string' },
    out: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '6379' },
    unix: { type: 'string' },
    password: { type: 'string' },
    'ready-file': { type: 'string' },
    'go-file': { type: 'string' },
    'redis-port': { type: 'string', default: '6379' },
    'noise-port': { type: 'string' },
  },
});

const v4 = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const SCENARIOS = {
  demo: (rec, ctx) => demo(rec, ctx),
  small: (rec, ctx) => small(rec, { ...ctx, ips: v4 }),
  small6: (rec, ctx) => small(rec, { ...ctx, ips: ['::1', '::1', '::1'] }),
  base: (rec, ctx) => small(rec, { ...ctx, ips: v4, big: true }),
  twemproxy: (rec, ctx) => twemproxy(rec, ctx),
  midstream: (rec, ctx) => midstream(rec, ctx),
};

/** The proxy leg as redis saw it: commands nutcracker sent, from the MONITOR log. */
function proxyLeg(server, redisEndpoint) {
  const leg = { commands: {}, keys: {}, conns: new Set(), total: 0 };
  for (const line of server.monitorLog) {
    if (line === null || !line.client.startsWith('127.0.0.1:')) continue;
    const name = line.args[0].toUpperCase();
    leg.commands[name] = (leg.commands[name] ?? 0) + 1;
    for (const k of keysFor(name, line.args)) leg.keys[k] = (leg.keys[k] ?? 0) + 1;
    leg.conns.add(line.client);
    leg.total++;
  }
  leg.endpoint = redisEndpoint;
  return leg;
}

function addProxyLeg(truth, leg, server) {
  const fromMonitor = diffCounts(leg.commands, server.commandstats);
  if (Object.keys(fromMonitor).length > 0) throw new Error(`proxy leg: MONITOR != commandstats ${JSON.stringify(fromMonitor)}`);
  if (server.totalErrorReplies !== truth.errors) {
    throw new Error(`proxy leg: ${server.totalErrorReplies} error replies, client leg ${truth.errors}`);
  }
  for (const [n, c] of Object.entries(leg.commands)) truth.commands[n] = (truth.commands[n] ?? 0) + c;
  for (const [k, c] of Object.entries(leg.keys)) truth.keys[k] = (truth.keys[k] ?? 0) + c;
  // nutcracker forwards the redis error reply as is: each error happens once per leg.
  for (const [n, c] of Object.entries(truth.commandErrors)) truth.commandErrors[n] = 2 * c;
  truth.errors *= 2;
  truth.clients['127.0.0.1'] = { connections: leg.conns.size, commands: leg.total };
  truth.servers[leg.endpoint] = { connections: leg.conns.size, commands: leg.total };
  truth.connections += leg.conns.size;
  truth.replies.toCommands += leg.total;
  truth.commands = Object.fromEntries(Object.entries(truth.commands).sort());
  truth.keys = Object.fromEntries(Object.entries(truth.keys).sort());
}

async function main() {
  const run = SCENARIOS[opt.scenario];
  if (run === undefined) throw new Error(`unknown --scenario ${opt.scenario}`);
  const rec = new Recorder({ slowThresholdMs: 10 });
  const target = { host: opt.host, port: Number(opt.port) };
  const isProxy = opt.scenario === 'twemproxy';
  const view = await openServerView(rec, { unixPath: opt.unix, password: opt.password, monitor: isProxy });
  const begin = async () => {
    await view.reset();
    rec.startedAt = Date.now() / 1000;
  };
  if (opt.scenario !== 'midstream') await begin();
  await run(rec, {
    target,
    password: opt.password,
    readyFile: opt['ready-file'],
    goFile: opt['go-file'],
    onActive: begin,
    noise: opt['noise-port'] === undefined ? null : { host: opt.host, port: Number(opt['noise-port']), tracked: false },
  });
  await sleep(50);
  rec.endedAt = Date.now() / 1000;
  const server = await view.finish();
  const truth = rec.toTruth();
  const unknown = Object.keys(truth.commandErrors).filter((n) =>
    rec.entries.some((e) => e.name === n && e.error?.startsWith('ERR unknown command')),
  );
  const crossChecks = {};
  if (isProxy) {
    addProxyLeg(truth, proxyLeg(server, endpoint(opt.host, opt['redis-port'])), server);
    crossChecks.proxyLeg = 'MONITOR over the unix socket matches INFO commandstats; error replies match';
  } else {
    const diff = diffCounts(truth.commands, server.commandstats, unknown);
    if (Object.keys(diff).length > 0) throw new Error(`generator != commandstats: ${JSON.stringify(diff)}`);
    if (server.totalErrorReplies !== truth.errors) {
      throw new Error(`generator saw ${truth.errors} errors, server sent ${server.totalErrorReplies}`);
    }
    crossChecks.commandstats = `generator counts == INFO commandstats (unknown commands ${JSON.stringify(unknown)} excepted)`;
    crossChecks.errorReplies = `generator errors == INFO stats total_error_replies (${server.totalErrorReplies})`;
  }
  delete server.monitorLog;
  const out = {
    scenario: opt.scenario,
    ...truth,
    secrets: opt.password === undefined ? [] : [opt.password],
    unknownCommands: unknown,
    notes: rec.notes,
    server,
    crossChecks,
  };
  writeFileSync(opt.out, `${JSON.stringify(out, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`traffic.mjs: ${err.stack ?? err}`);
    process.exit(1);
  },
);
