#!/usr/bin/env node
// What each layer of `analyze` costs, in ns per command decoded (issue 11, "keep up with a
// busy Redis"): the capture file read alone, then each layer added on top, then the full
// analysis with one aggregator at a time stubbed out (its marginal cost), and report building.
// Build first: npx tsc -p tsconfig.json
//
// Usage: node bench/layers.mjs FILE PORT [RUNS]      (RUNS default 5)
//   e.g. node bench/layers.mjs /work/main/bench/out/pipelined.pcap 7460
// env:  STAGES='read flow resp pair full -keys ...'   a subset (full is needed for the marginals)
//       TAP_DIR=DIR   measure the build in DIR/dist instead of this checkout's (another worktree)
//       CLOCK=instr      instructions instead of time: each stage's process runs under cachegrind
//                        (valgrind --tool=cachegrind; Node's start and the JIT's compiling included,
//                        so use a slice of 50k+ packets and RUNS=1: the count repeats within ~2%)
//       CLOCK=cpu|wall   what a run's time is (default cpu: the process's user+system time, GC
//                        helper threads included; on a shared 2-core machine it barely moves
//                        when a neighbour runs, wall time does). Both are listed per run.
//
// Every measurement is one fresh `node` process running one stage over the whole file: no
// stage inherits another's JIT feedback or monkey-patched prototypes, and each pays the
// warm-up the CLI pays. Stages take turns within each round, so drifting background load
// blurs them alike. The stubs patch prototypes in the child only; src/ is never touched.
// Stage (d) and the aggregator rows patch classes of src/analysis: if one is renamed this
// script says which, rather than measuring something else.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = resolve(process.env.TAP_DIR ?? resolve(HERE, '..'), 'dist');
const dist = (p) => import(pathToFileURL(resolve(DIST, p)).href);

/** Layer stages, each adding one layer to the one before. */
const LAYERS = [
  ['read', '(a) capture read (CaptureSet, count packets)'],
  ['flow', '(b) + flow (FlowTable, kind sniff, data ignored)'],
  ['resp', '(c) + RESP framing (Request/Reply decoders, frames counted)'],
  ['pair', '(d) + pairing (Session/Analyzer, Stats stubbed)'],
  ['full', '(e) full analysis (report not built)'],
];

/** Aggregators, each stubbed alone in a full analysis: full minus this stage is its cost. */
const AGGREGATES = [
  ['-keys', 'hot keys + prefixes (TopKeys.queue)'],
  ['-keyvals', 'keys + values whole (key positions, TopKeys, biggest arg, BigValues)'],
  ['-commands', 'command stats + latency histograms (CommandStats.add)'],
  ['-peers', 'peer stats: clients, servers, connections (PeerStats.add)'],
  ['-servercmds', 'server commands (ServerCommands.add)'],
  ['-timeline', 'timeline (Timeline.add)'],
  ['-slowbig', 'slow requests + big values (addSlow, BigValues.wants)'],
];

// ---------------------------------------------------------------- child: one stage, one pass

async function stubAll(stage) {
  const { Stats } = await dist('analysis/stats.js');
  const { TopKeys } = await dist('analysis/top-keys.js');
  const { CommandStats } = await dist('analysis/command-stats.js');
  const { PeerStats } = await dist('analysis/peer-stats.js');
  const { ServerCommands } = await dist('analysis/server-commands.js');
  const { Timeline } = await dist('analysis/timeline.js');
  const { BigValues } = await dist('analysis/big-values.js');
  const stub = (cls, name, fn = function () {}) => {
    if (typeof cls.prototype[name] !== 'function') throw new Error(`${cls.name}.prototype.${name} is gone: update bench/layers.mjs`);
    cls.prototype[name] = fn;
  };
  switch (stage) {
    case 'pair': stub(Stats, 'request'); stub(Stats, 'complete'); stub(Stats, 'unpaired'); break;
    case '-keys': stub(TopKeys, 'queue'); break;
    case '-keyvals': stub(Stats, 'addKeysAndValues'); break;
    case '-commands': stub(CommandStats, 'add'); break;
    case '-peers': stub(PeerStats, 'add'); break;
    case '-servercmds': stub(ServerCommands, 'add'); break;
    case '-timeline': stub(Timeline, 'add'); break;
    case '-slowbig': stub(Stats, 'addSlow'); stub(BigValues, 'wants', () => false); break;
    default: break;
  }
}

/** (c): per connection a RequestDecoder and a ReplyDecoder, frames counted, nothing paired. */
function framer(RequestDecoder, ReplyDecoder, counts) {
  const onReq = () => { counts.requests++; };
  const onRep = () => { counts.replies++; };
  const onBad = () => { counts.violations++; };
  return {
    onOpen(conn) { conn.handlerState = { req: new RequestDecoder(onReq, onBad, {}), rep: new ReplyDecoder(onRep, onBad, {}) }; },
    onData(conn, fromClient, data, off, len, ts) {
      const s = conn.handlerState;
      if (fromClient) s.req.push(data, off, len, ts);
      else s.rep.push(data, off, len, ts);
    },
    onGap(conn, fromClient, n) {
      const d = fromClient ? conn.handlerState.req : conn.handlerState.rep;
      if (!d.skip(n)) d.resync();
    },
    onClose(conn) {
      conn.handlerState.req.end();
      conn.handlerState.rep.end();
      conn.handlerState = null;
    },
  };
}

/** Wall and CPU (user + system, all threads) time now, in ns. */
function clocks() {
  const c = process.cpuUsage();
  return { wall: Number(process.hrtime.bigint()), cpu: (c.user + c.system) * 1000 };
}
const since = (a, b) => ({ wall: b.wall - a.wall, cpu: b.cpu - a.cpu });

async function child(stage, file, port) {
  // V8's inlining budget as bin/redis-tap.js sets it, before anything is compiled (a build
  // older than src/engine/inlining.ts has none).
  if (existsSync(resolve(DIST, 'engine/inlining.js'))) (await dist('engine/inlining.js')).widenInlining();
  const { CaptureSet } = await dist('capture/capture-set.js');
  const { FlowTable, emptyFlowStats } = await dist('flow/flow-table.js');
  const { KindSniffer } = await dist('flow/sniff.js');
  const { RequestDecoder, ReplyDecoder } = await dist('resp/index.js');
  const { Pipeline } = await dist('engine/pipeline.js');
  const { analyzerOptions, DEFAULTS } = await dist('engine/options.js');
  const { renderJson } = await dist('output/json.js');
  await stubAll(stage);
  const ports = [port];
  const out = { stage, packets: 0, commands: null, frames: null, reportNs: null, jsonNs: null };
  let onPacket;
  let done = () => {};
  let pipe = null;
  const counts = { requests: 0, replies: 0, violations: 0 };
  if (stage === 'read') {
    onPacket = () => { out.packets++; };
  } else if (stage === 'flow' || stage === 'resp') {
    const stats = emptyFlowStats();
    const inner = stage === 'flow' ? { onOpen() {}, onData() {}, onGap() {}, onClose() {} } : framer(RequestDecoder, ReplyDecoder, counts);
    const table = new FlowTable({ serverPorts: new Set(ports), stats }, new KindSniffer(inner, stats));
    onPacket = (p) => table.packet(p);
    done = () => {
      table.finish(0);
      out.packets = stats.packets;
      if (stage === 'resp') out.frames = counts;
    };
  } else {
    const opts = analyzerOptions({ slowMs: DEFAULTS.slowMs, maxKeys: DEFAULTS.maxKeys, top: DEFAULTS.top });
    pipe = new Pipeline(opts, ports);
    onPacket = pipe.packet;
    done = () => {
      pipe.finish();
      out.packets = pipe.flows.stats.packets;
      out.commands = pipe.analyzer.stats.counters.commands;
    };
  }
  const set = await CaptureSet.open([file], onPacket);
  const t0 = clocks();
  try {
    while (await set.step());
  } finally {
    set.close();
  }
  done();
  const t1 = clocks();
  out.ns = since(t0, t1);
  if (stage === 'full') {
    const capture = set.stats;
    const report = pipe.report(capture, { kind: 'file', name: file, format: capture.format, ports, filter: null, files: [file] }, DEFAULTS.top);
    const t2 = clocks();
    const json = renderJson(report);
    out.reportNs = since(t1, t2);
    out.jsonNs = since(t2, clocks());
    out.check = { unanswered: report.totals.unanswered, gaps: report.totals.gaps, violations: report.totals.violations, jsonBytes: json.length };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

// ---------------------------------------------------------------- parent: rounds and the table

/** Flags that make V8 compile on the main thread, so cachegrind counts the same work each run. */
const VALGRIND = ['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null', process.execPath, '--no-concurrent-recompilation', '--no-concurrent-sparkplug'];

function runStage(stage, file, port) {
  const args = [fileURLToPath(import.meta.url), '--stage', stage, file, String(port)];
  const instr = CLOCK === 'instr';
  const r = instr
    ? spawnSync('valgrind', [...VALGRIND, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 })
    : spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`stage ${stage} failed (exit ${r.status})`);
  }
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  if (instr) {
    // The whole process's instructions: the report's share is not told apart.
    const m = /I\s+refs:\s+([\d,]+)/.exec(r.stderr);
    if (m === null) throw new Error(`stage ${stage}: no instruction count from valgrind`);
    out.ns.instr = Number(m[1].replaceAll(',', ''));
    out.reportNs = null;
  }
  return out;
}

/** Puts the file in the page cache, so the first stage of round 1 does not pay the disk. */
function warmCache(file) {
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  while (readSync(fd, buf, 0, buf.length, null) > 0);
  closeSync(fd);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const best = (xs) => Math.min(...xs);
const f1 = (x) => (x === null || Number.isNaN(x) ? '-' : x.toFixed(1));
const signed = (x) => (x >= 0 ? '+' : '') + x.toFixed(1);

const CLOCK = process.env.CLOCK ?? 'cpu';

async function parent(file, port, runs) {
  if (CLOCK !== 'cpu' && CLOCK !== 'wall' && CLOCK !== 'instr') throw new Error(`CLOCK is cpu, wall or instr, not '${CLOCK}'`);
  const all = [...LAYERS, ...AGGREGATES].map(([s]) => s);
  const stages = process.env.STAGES ? process.env.STAGES.split(/\s+/).filter(Boolean) : all;
  for (const s of stages) if (!all.includes(s)) throw new Error(`unknown stage '${s}'; known: ${all.join(' ')}`);
  warmCache(file);
  const ns = Object.fromEntries(stages.map((s) => [s, []]));
  const wall = Object.fromEntries(stages.map((s) => [s, []]));
  const last = {};
  for (let round = 0; round < runs; round++) {
    // A different stage goes first each round, so none is always the one after a pause.
    const order = stages.map((_, i) => stages[(i + round) % stages.length]);
    for (const s of order) {
      const r = runStage(s, file, port);
      ns[s].push(r.ns[CLOCK]);
      wall[s].push(r.ns.wall);
      if (r.reportNs !== null) {
        (ns.report ??= []).push(r.reportNs[CLOCK]);
        (ns.json ??= []).push(r.jsonNs[CLOCK]);
      }
      last[s] = r;
    }
    process.stderr.write(`round ${round + 1}/${runs} done\n`);
  }
  const commands = last.full?.commands ?? last.pair?.commands ?? last.resp?.frames.requests ?? null;
  const packets = Object.values(last)[0].packets;
  const per = (x) => (commands ? x / commands : NaN);
  const row = (label, xs, extra = '') => `| ${label} | ${f1(per(best(xs)))} | ${f1(per(median(xs)))} | ${extra} |`;

  console.log(`${file}, port ${port}: ${packets.toLocaleString('en-US')} packets, ${commands?.toLocaleString('en-US') ?? '?'} commands; ` +
    `${runs} runs per stage, ${CLOCK === 'instr' ? 'instructions' : `${CLOCK} ns`} per command (best, median); node ${process.version}, build ${DIST}`);
  console.log('');
  const unit = CLOCK === 'instr' ? 'instr/cmd' : 'ns/cmd';
  console.log(`| stage | best ${unit} | median ${unit} | layer adds (median) |`);
  console.log('|---|---:|---:|---:|');
  let prev = null;
  for (const [s, label] of LAYERS) {
    if (!ns[s]) continue;
    const add = prev === null ? '' : signed(per(median(ns[s]) - median(ns[prev])));
    console.log(row(label, ns[s], add));
    prev = s;
  }
  if (ns.report) {
    console.log(row('report building (buildReport, top 10)', ns.report));
    console.log(row('renderJson of the report (--json, merge state included)', ns.json));
  }
  const aggs = AGGREGATES.filter(([s]) => ns[s]);
  if (aggs.length > 0 && ns.full) {
    console.log('');
    console.log('Marginal cost of each aggregator: the full analysis minus the same with it stubbed, paired by round.');
    console.log('');
    console.log('| aggregator stubbed | stubbed best | stubbed median | costs (best) | costs (median of paired diffs) |');
    console.log('|---|---:|---:|---:|---:|');
    for (const [s, label] of aggs) {
      const diffs = ns[s].map((x, i) => ns.full[i] - x);
      console.log(`| ${label} | ${f1(per(best(ns[s])))} | ${f1(per(median(ns[s])))} | ${signed(per(best(ns.full) - best(ns[s])))} | ${signed(per(median(diffs)))} |`);
    }
  }
  console.log('');
  const fr = last.resp?.frames;
  if (fr) console.log(`checks: (c) framed ${fr.requests} requests, ${fr.replies} replies, ${fr.violations} violations` + (commands !== null && last.full ? `; (e) counted ${commands} commands` : ''));
  if (last.full) console.log(`checks: (e) unanswered ${last.full.check.unanswered}, gaps ${last.full.check.gaps}, violations ${last.full.check.violations}, JSON ${last.full.check.jsonBytes} bytes`);
  const list = (o) => Object.entries(o).map(([s, xs]) => `${s} ${xs.map((x) => Math.round(x / 1e6)).join('/')}`).join('; ');
  console.log(`${CLOCK === 'instr' ? 'M instructions' : `${CLOCK} ms`} per run: ${list(ns)}`);
  if (CLOCK !== 'wall') console.log(`wall ms per run: ${list(wall)}`);
}

const argv = process.argv.slice(2);
if (argv[0] === '--stage') {
  await child(argv[1], argv[2], Number(argv[3]));
} else {
  const [file, port, runs] = argv;
  if (!file || !port) {
    console.error('usage: node bench/layers.mjs FILE PORT [RUNS]   (build first: npx tsc -p tsconfig.json)');
    process.exit(2);
  }
  await parent(file, Number(port), Number(runs ?? 5));
}
