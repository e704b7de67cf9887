#!/usr/bin/env node
// Traffic and the servers' own account for the deployment captures of make-replication.sh.
// One run per capture (--step); it writes what the generator sent and what the servers say
// (INFO commandstats/errorstats/replication over their unix sockets, the replica's log, the
// RDB files) to --out. deploy-truth.mjs then checks that against the pcap and writes the truth.
//
//   node deploy-traffic.mjs --step replica|midstream|sentinel|bigvalue --out facts.json
//     --master-port P --master-unix S [--replica-unix S --replica-log F --replica-rdb F
//     --master-rdb F --keys N --seconds N --ready-file F --go-file F]
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { prng, sleep } from '../lib/client.mjs';
import { ServerControl, until } from '../lib/server-info.mjs';
import { Recorder } from '../lib/truth.mjs';
import { bigvalue } from '../scenarios/bigvalue.mjs';
import { midstreamTraffic, preloadKey, randomValue, replicaTraffic } from '../scenarios/replication.mjs';
import { sentinelClient } from '../scenarios/sentinel.mjs';

const { values: opt } = parseArgs({
  options: {
    step: { type: 'string' },
    out: { type: 'string' },
    'master-port': { type: 'string' },
    'master-unix': { type: 'string' },
    'replica-unix': { type: 'string' },
    'replica-log': { type: 'string' },
    'replica-rdb': { type: 'string' },
    'master-rdb': { type: 'string' },
    keys: { type: 'string', default: '3000' },
    seconds: { type: 'string', default: '20' },
    'ready-file': { type: 'string' },
    'go-file': { type: 'string' },
  },
});

const target = { host: '127.0.0.1', port: Number(opt['master-port']) };
const num = (v) => Number(v);

/** Tells the shell we are ready for the capture, and waits until it has started. */
async function readyGo() {
  writeFileSync(opt['ready-file'], 'ready\n');
  await until(`the go file ${opt['go-file']}`, () => existsSync(opt['go-file']), 60_000);
}

/** n keys of 48 printable random bytes over the unix socket: the capture never sees them. */
async function preload(ctl, n, keyOf = preloadKey) {
  const rnd = prng(7000);
  for (let i = 0; i < n; i += 500) {
    const batch = [];
    for (let k = i; k < Math.min(n, i + 500); k++) batch.push(['SET', keyOf(k), randomValue(rnd, 48)]);
    await ctl.conn.pipeline(batch);
  }
}

async function linkUp(replica) {
  await until('master_link_status:up', async () => (await replica.replication()).master_link_status === 'up');
}

/** Offsets once the replica has processed everything the master propagated. */
async function inSync(master, replica) {
  return until('the replica to catch up', async () => {
    const m = num((await master.replication()).master_repl_offset);
    const r = num((await replica.replication()).slave_repl_offset);
    return m === r ? { masterReplOffset: m } : null;
  });
}

/** Stops the master's PINGs and waits until the stream is still and the replica caught up. */
async function freeze(master, replica) {
  await master.send(['CONFIG', 'SET', 'repl-ping-replica-period', '3600']);
  await sleep(1500);
  return inSync(master, replica);
}

/**
 * Closes the link inside the capture: once nothing more is propagated (PINGs stopped) and the
 * replica has caught up, REPLICAOF NO ONE on the replica closes its connection (FINs in the file).
 */
async function endLink(master, replica) {
  const { masterReplOffset } = await freeze(master, replica);
  await replica.send(['REPLICAOF', 'NO', 'ONE']);
  await until('the master to drop the replica', async () => (await master.replication()).connected_slaves === '0');
  const after = num((await master.replication()).master_repl_offset);
  if (after !== masterReplOffset) throw new Error(`master_repl_offset moved on after the freeze: ${masterReplOffset} -> ${after}`);
  return { masterReplOffset };
}

function replicaLog() {
  const lines = readFileSync(opt['replica-log'], 'latin1').split('\n');
  return lines.filter((l) => /MASTER <-> REPLICA|Full resync|Partial resync|EOF/.test(l)).map((l) => l.replace(/^\d+:S /, ''));
}

const size = (f) => (f !== undefined && existsSync(f) ? statSync(f).size : null);

async function replicaStep(rec) {
  const keys = num(opt.keys);
  const master = await ServerControl.open(rec, opt['master-unix']);
  await preload(master, keys);
  await master.send(['CONFIG', 'RESETSTAT']);
  await readyGo(); // the capture runs, and the shell has started the replica
  const replica = await ServerControl.open(rec, opt['replica-unix']);
  await linkUp(replica);
  rec.startedAt = Date.now() / 1000;
  await replicaTraffic(rec, { target, preloaded: keys });
  await sleep(3000); // REPLCONF ACKs every second, the master's PINGs every second
  const link = await endLink(master, replica);
  rec.endedAt = Date.now() / 1000;
  return {
    preloadedKeys: keys,
    link,
    master: await master.account(),
    replica: await replica.account(),
    replicaLog: replicaLog(),
    rdbFiles: { master: size(opt['master-rdb']), replica: size(opt['replica-rdb']) },
  };
}

async function midstreamStep(rec) {
  const master = await ServerControl.open(rec, opt['master-unix']);
  const replica = await ServerControl.open(rec, opt['replica-unix']);
  await linkUp(replica);
  // Written after the sync, so propagated (SELECT included) before the capture starts.
  await preload(master, 300, (i) => `pre:${i}`);
  const before = await freeze(master, replica);
  await readyGo();
  await master.send(['CONFIG', 'RESETSTAT']);
  await replica.send(['CONFIG', 'RESETSTAT']);
  const start = await inSync(master, replica);
  if (start.masterReplOffset !== before.masterReplOffset) throw new Error('the stream moved while the capture started');
  await master.send(['CONFIG', 'SET', 'repl-ping-replica-period', '1']);
  rec.startedAt = Date.now() / 1000;
  await midstreamTraffic(rec, { target });
  await sleep(3000);
  const link = await endLink(master, replica);
  rec.endedAt = Date.now() / 1000;
  return {
    link: { ...link, startReplOffset: start.masterReplOffset },
    master: await master.account(),
    replica: await replica.account(),
    replicaLog: replicaLog(),
  };
}

/** CLIENT LIST lines as { addr, name, sub, cmd }. */
async function clientList(ctl) {
  const text = (await ctl.send(['CLIENT', 'LIST'])).toString('latin1');
  return text.split('\n').filter(Boolean).map((l) => Object.fromEntries(l.trim().split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])));
}

async function sentinelStep(rec) {
  const master = await ServerControl.open(rec, opt['master-unix']);
  const sentinels = await until('the sentinel command and hello connections', async () => {
    const list = (await clientList(master)).filter((c) => /^sentinel-/.test(c.name));
    const cmd = list.find((c) => c.name.endsWith('-cmd'));
    const hello = list.find((c) => c.name.endsWith('-pubsub') && c.sub === '1');
    return cmd !== undefined && hello !== undefined ? { cmd, hello } : null;
  });
  await sleep(3000); // past the connect burst (CLIENT SETNAME, SUBSCRIBE, the first INFO)
  await readyGo();
  await master.send(['CONFIG', 'RESETSTAT']);
  rec.startedAt = Date.now() / 1000;
  await sentinelClient(rec, { target, seconds: num(opt.seconds) });
  rec.endedAt = Date.now() / 1000;
  return {
    sentinelConnections: { command: sentinels.cmd.addr, hello: sentinels.hello.addr, names: [sentinels.cmd.name, sentinels.hello.name] },
    master: await master.account(),
  };
}

async function bigvalueStep(rec) {
  const master = await ServerControl.open(rec, opt['master-unix']);
  await master.send(['CONFIG', 'RESETSTAT']);
  rec.startedAt = Date.now() / 1000;
  await bigvalue(rec, { target });
  await sleep(50);
  rec.endedAt = Date.now() / 1000;
  return { master: await master.account() };
}

/** The write commands the scenarios send (each is propagated to replicas). */
const WRITES = new Set(['SET', 'INCR', 'EXPIRE', 'DEL', 'LPUSH']);

const STEPS = { replica: replicaStep, midstream: midstreamStep, sentinel: sentinelStep, bigvalue: bigvalueStep };

async function main() {
  const step = STEPS[opt.step];
  if (step === undefined) throw new Error(`unknown --step ${opt.step}`);
  const rec = new Recorder({ slowThresholdMs: 10 });
  const facts = await step(rec);
  const generator = rec.toTruth();
  generator.notes = rec.notes;
  // Keys of the generator's writes: what the master propagates to a replica.
  const writeKeys = {};
  for (const e of rec.entries) {
    if (!WRITES.has(e.name)) continue;
    for (const k of e.keys) writeKeys[k] = (writeKeys[k] ?? 0) + 1;
  }
  writeFileSync(opt.out, `${JSON.stringify({ step: opt.step, generator, writeKeys, ...facts }, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`deploy-traffic.mjs: ${err.stack ?? err}`);
    process.exit(1);
  },
);
