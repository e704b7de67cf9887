#!/usr/bin/env node
// The fuzz campaign: seeded mutations of every shipped capture (captures/*.pcap*,
// captures/deployments/*.pcap) run in-process through the whole pipeline and every output, by
// worker processes under a supervisor that catches hangs and hard crashes. Each distinct failure
// is saved as a reproducer in test/fuzz-repros/ (the input, and a .json note: case id, seed, base
// capture, mutations, what failed), which test/fuzz-repros.test.ts keeps running for good.
// Run by hand; not part of the test suite's time budget. Build first: npx tsc -p tsconfig.json
//
//   node bench/fuzz.mjs [--cases N] [--start ID] [--workers W] [--seconds S] [--budget-ms MS] [--no-save] [--dist DIR]
//   node bench/fuzz.mjs --case ID [--write FILE]     one case in this process, with its mutations
//   node bench/fuzz.mjs --shrink test/fuzz-repros/F  cut a reproducer down (the campaign does it to each new one)
//
// A case id names its input for a given set of committed captures and MUTATOR_VERSION
// (bench/fuzz-mutate.mjs): `--case ID` makes it again. Defaults: 100,000 cases from id 0, one
// worker per core, 10 s per case before it counts as a hang; --seconds stops handing out cases
// after S seconds. --dist DIR tests another build (a copy of dist/ with the package.json and
// node_modules it needs above it: other people rebuild dist/ while a long campaign runs).
// Prints progress every 30 s, then cases, cases/s, and the failures by kind and signature.
import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeChecker } from './fuzz-check.mjs';
import { distLib } from './fuzz-lib.mjs';
import { shrink } from './fuzz-shrink.mjs';
import { loadBases, makeCase, MUTATOR_VERSION, TUI_SIZES } from './fuzz-mutate.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPROS = join(ROOT, 'test', 'fuzz-repros');
/** Ids handed to a worker at a time. */
const BATCH = 200;

function args(argv) {
  const o = { cases: 100_000, start: 0, workers: availableParallelism(), seconds: Infinity, budgetMs: 10_000, save: true, case: null, write: null, worker: false, dist: undefined, shrink: null, shrinkSeconds: 30 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${a} needs a number`);
      return v;
    };
    if (a === '--cases') o.cases = num();
    else if (a === '--start') o.start = num();
    else if (a === '--workers') o.workers = Math.max(1, num());
    else if (a === '--seconds') o.seconds = num();
    else if (a === '--budget-ms') o.budgetMs = num();
    else if (a === '--no-save') o.save = false;
    else if (a === '--case') o.case = num();
    else if (a === '--write') o.write = argv[++i];
    else if (a === '--worker') o.worker = true;
    else if (a === '--dist') o.dist = argv[++i];
    else if (a === '--shrink') o.shrink = argv[++i];
    else if (a === '--shrink-seconds') o.shrinkSeconds = num();
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Worker: runs the batches of ids it is sent, says which case it starts, reports failures.

async function worker(o) {
  const bases = loadBases(ROOT);
  const checker = makeChecker(await distLib(o.dist), TUI_SIZES);
  // The case running, or the last one run: an exception from a timer it left is its failure.
  let current = -1;
  let dying = false;
  const fatal = (e) => {
    if (dying) return;
    dying = true;
    const msg = String(e?.message ?? e);
    process.send({ t: 'fail', id: current, kind: 'crash', sig: `crash/async/${e?.name ?? 'Error'}: ${msg.replace(/\d+/g, 'N').slice(0, 80)}`, message: msg, stack: String(e?.stack ?? '') }, () => process.exit(70));
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  // The supervisor is gone (killed, or stopped with Ctrl-C): nobody is left to report to.
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (m) => {
    if (m.t === 'stop') process.exit(0);
    if (m.t !== 'batch') return;
    for (let id = m.from; id < m.to; id++) {
      current = id;
      process.send({ t: 'start', id });
      const t0 = performance.now();
      const c = makeCase(id, bases);
      let outcome = 'failed';
      let packets = 0;
      try {
        const r = await checker.check(c.bytes, c.options);
        outcome = r.outcome;
        packets = r.packets;
      } catch (e) {
        const f = e?.sig === undefined ? { kind: 'exception', sig: `exception/harness/${e?.message}`, detail: String(e?.message), origStack: e?.stack } : e;
        process.send({ t: 'fail', id, kind: f.kind, sig: f.sig, message: f.detail, stack: f.origStack ?? '' });
      }
      // Timers the case left (zero-delay ones) run now, while it is still the case running.
      await new Promise((resolve) => setTimeout(resolve, 0));
      process.send({ t: 'end', id, outcome, packets, ms: Math.round(performance.now() - t0), base: c.base, bytes: c.bytes.length });
    }
    process.send({ t: 'done' });
  });
  process.send({ t: 'ready' });
}

// ---------------------------------------------------------------------------------------------
// Supervisor.

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60).replace(/-$/, '');
}

/** Signatures already kept as reproducers: found again, they are counted, not saved again. */
function knownSignatures() {
  const known = new Map();
  if (!existsSync(REPROS)) return known;
  for (const f of readdirSync(REPROS).filter((n) => n.endsWith('.json'))) {
    try {
      const note = JSON.parse(readFileSync(join(REPROS, f), 'utf8'));
      const stem = f.replace(/\.json$/, '');
      const input = ['pcap', 'pcapng'].map((ext) => `${stem}.${ext}`).find((n) => existsSync(join(REPROS, n)));
      if (note.failure?.sig && input) known.set(note.failure.sig, input);
    } catch {
      // a note being written by hand: ignore
    }
  }
  return known;
}

/** The commit the build under test came from (HEAD, + when src/ has changes), as notes record it. */
function buildOf(o) {
  if (o.dist !== undefined) {
    // A snapshot of a build may say which commit it came from in a COMMIT file beside it.
    const stamp = join(o.dist, '..', 'COMMIT');
    return existsSync(stamp) ? readFileSync(stamp, 'utf8').trim().split('\n')[0] : `dist ${o.dist}`;
  }
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return `${head}${dirty ? '+' : ''}`;
  } catch {
    return 'unknown';
  }
}

function saveRepro(bases, f, build) {
  const c = makeCase(f.id, bases);
  const kindName = f.sig.split('/').slice(2).join('/') || f.kind;
  const name = `${f.kind}-${slug(kindName)}-${f.id}`;
  mkdirSync(REPROS, { recursive: true });
  writeFileSync(join(REPROS, `${name}.${c.ext}`), c.bytes);
  const note = {
    case: f.id, seed: c.seed, mutatorVersion: MUTATOR_VERSION, base: c.base, mutations: c.steps, options: c.options,
    failure: { kind: f.kind, sig: f.sig, message: String(f.message).slice(0, 2000), stack: String(f.stack).split('\n').slice(0, 12).join('\n') },
    found: new Date().toISOString().slice(0, 10), build,
  };
  writeFileSync(join(REPROS, `${name}.json`), JSON.stringify(note, null, 2) + '\n');
  return `${name}.${c.ext}`;
}

async function supervise(o) {
  const bases = loadBases(ROOT);
  const known = knownSignatures();
  const build = buildOf(o);
  const end = o.start + o.cases;
  const t0 = Date.now();
  const deadline = t0 + o.seconds * 1000;
  let next = o.start;
  const totals = { done: 0, ok: 0, rejected: 0, failed: 0, packets: 0 };
  const bySig = new Map();
  const slow = [];
  const workers = [];

  // Each new reproducer is cut down in a process of its own, one at a time, beside the workers.
  const shrinkQueue = [];
  let shrinking = null;
  const shrinkNext = () => {
    if (shrinking !== null || shrinkQueue.length === 0) return;
    const file = shrinkQueue.shift();
    const child = fork(fileURLToPath(import.meta.url), ['--shrink', file, '--shrink-seconds', String(o.shrinkSeconds), ...(o.dist === undefined ? [] : ['--dist', o.dist])], { stdio: 'inherit' });
    const timer = setTimeout(() => child.kill('SIGKILL'), (o.shrinkSeconds + 30) * 1000);
    shrinking = new Promise((resolve) => child.on('exit', () => {
      clearTimeout(timer);
      shrinking = null;
      resolve();
      shrinkNext();
    }));
  };
  const shrinkLater = (file) => {
    shrinkQueue.push(file);
    shrinkNext();
  };

  const record = (f) => {
    totals.failed++;
    let e = bySig.get(f.sig);
    if (e === undefined) {
      e = { sig: f.sig, kind: f.kind, count: 0, first: f.id, message: f.message, file: known.get(f.sig) ?? null, isNew: !known.has(f.sig) };
      if (e.isNew && o.save) {
        e.file = saveRepro(bases, f, build);
        if (f.kind !== 'hang' && f.kind !== 'crash') shrinkLater(join(REPROS, e.file));
      }
      bySig.set(f.sig, e);
      console.log(`  ${e.isNew ? 'NEW ' : ''}${f.sig} (case ${f.id})${e.isNew && e.file ? ` -> test/fuzz-repros/${e.file}` : ''}`);
    }
    e.count++;
  };

  const assign = (w) => {
    if (w.queue.length === 0) {
      if (next >= end || Date.now() > deadline) return false;
      w.queue.push([next, Math.min(end, next + BATCH)]);
      next = Math.min(end, next + BATCH);
    }
    const [from, to] = w.queue.shift();
    w.batch = [from, to];
    w.child.send({ t: 'batch', from, to });
    return true;
  };

  const spawn = (w) => {
    const child = fork(fileURLToPath(import.meta.url), ['--worker', ...(o.dist === undefined ? [] : ['--dist', o.dist])], { silent: true, execArgv: ['--max-old-space-size=2048'] });
    w.child = child;
    w.current = -1;
    w.startedAt = 0;
    w.stderr = '';
    w.killedFor = null;
    w.failedId = -1;
    w.ready = false;
    w.lastStarted = -1;
    child.stdout.resume();
    child.stderr.on('data', (d) => (w.stderr = (w.stderr + d).slice(-4000)));
    child.on('message', (m) => {
      if (m.t === 'ready') {
        w.ready = true;
        if (!assign(w)) finish(w);
      } else if (m.t === 'start') {
        w.current = m.id;
        w.lastStarted = m.id;
        w.startedAt = Date.now();
      } else if (m.t === 'fail') {
        w.failedId = m.id;
        record(m);
      } else if (m.t === 'end') {
        totals.done++;
        if (m.outcome === 'ok') totals.ok++;
        else if (m.outcome === 'rejected') totals.rejected++;
        totals.packets += m.packets;
        w.current = -1;
        if (slow.length < 10 || m.ms > slow[slow.length - 1].ms) {
          slow.push(m);
          slow.sort((a, b) => b.ms - a.ms).splice(10);
        }
      } else if (m.t === 'done') {
        if (!assign(w)) finish(w);
      }
    });
    child.on('exit', (code, signal) => {
      if (w.finished) return;
      if (!w.ready) {
        // Not one case run: the build under test does not load. Nothing to supervise.
        console.error(`a worker could not start (${code ?? signal}):\n${w.stderr}`);
        process.exit(2);
      }
      const id = w.current;
      if (w.killedFor === null && id >= 0 && w.failedId !== id) {
        record({ id, kind: 'crash', sig: `crash/process/exit ${code ?? signal}: ${lastLine(w.stderr)}`, message: `worker exited (${code ?? signal})`, stack: w.stderr });
      } else if (w.killedFor !== null) {
        // A hang leaves no stack: hangs are told apart by their base capture only.
        const base = makeCase(id, bases).base;
        record({ id, kind: 'hang', sig: `hang/case/over ${o.budgetMs} ms on ${base}`, message: `no result after ${o.budgetMs} ms`, stack: '' });
      }
      if (id >= 0) totals.done++;
      // Start again after the failing case (or the last one started), with the rest of its batch.
      const after = id >= 0 ? id : w.lastStarted;
      const rest = w.batch !== null && after >= 0 && after + 1 < w.batch[1] ? [[after + 1, w.batch[1]]] : [];
      w.queue.unshift(...rest);
      w.batch = null;
      spawn(w);
    });
  };

  const finish = (w) => {
    w.finished = true;
    w.child.send({ t: 'stop' });
    if (workers.every((x) => x.finished)) done();
  };

  let resolveAll;
  const all = new Promise((resolve) => (resolveAll = resolve));
  const done = () => resolveAll();

  for (let i = 0; i < o.workers; i++) {
    const w = { queue: [], batch: null, finished: false };
    workers.push(w);
    spawn(w);
  }
  const watch = setInterval(() => {
    for (const w of workers) {
      if (!w.finished && w.current >= 0 && w.killedFor === null && Date.now() - w.startedAt > o.budgetMs) {
        w.killedFor = w.current;
        w.child.kill('SIGKILL');
      }
    }
  }, 250);
  const progress = setInterval(() => {
    const s = (Date.now() - t0) / 1000;
    console.log(`${totals.done} cases in ${s.toFixed(0)} s (${(totals.done / s).toFixed(0)}/s), ${totals.failed} failed, ${bySig.size} distinct`);
  }, 30_000);
  await all;
  clearInterval(watch);
  clearInterval(progress);
  while (shrinking !== null) await shrinking;
  const s = (Date.now() - t0) / 1000;
  console.log(`\n${totals.done} cases (ids ${o.start}..${o.start + totals.done - 1}) in ${s.toFixed(1)} s: ${(totals.done / s).toFixed(0)} cases/s with ${o.workers} workers`);
  console.log(`  ok ${totals.ok}, not a capture ${totals.rejected}, failed ${totals.failed}; ${totals.packets} packets analysed`);
  const kinds = {};
  for (const e of bySig.values()) kinds[e.kind] = (kinds[e.kind] ?? 0) + e.count;
  console.log(`  failures by kind: ${Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
  for (const e of [...bySig.values()].sort((a, b) => b.count - a.count)) {
    console.log(`  ${String(e.count).padStart(6)}  ${e.sig}  first case ${e.first}${e.file ? `  test/fuzz-repros/${e.file}` : ''}${e.isNew ? '' : ' (known)'}`);
  }
  if (slow.length > 0) console.log(`  slowest cases: ${slow.map((x) => `${x.id} ${x.ms} ms (${x.base}, ${x.bytes} B)`).join('; ')}`);
  return totals.failed === 0 ? 0 : 1;
}

function lastLine(s) {
  const lines = s.trim().split('\n').filter((l) => !/^\s+at /.test(l));
  return (lines.at(-1) ?? '').replace(/\d+/g, 'N').slice(0, 80);
}

/** Cuts a saved reproducer down while it fails the same way; rewrites it and its note. */
async function shrinkFile(o) {
  const file = o.shrink;
  const notePath = file.replace(/\.pcap(ng)?$/, '.json');
  const note = JSON.parse(readFileSync(notePath, 'utf8'));
  const bytes = new Uint8Array(readFileSync(file));
  const checker = makeChecker(await distLib(o.dist), TUI_SIZES);
  const tui = note.failure.sig.includes('/tui/');
  const small = await shrink(bytes, note.failure.sig, (b) => checker.check(b, note.options, { tui }), o.shrinkSeconds * 1000);
  checker.close();
  if (small === null) {
    console.log(`${file}: does not fail as ${note.failure.sig} with this build`);
    return 1;
  }
  if (small.length < bytes.length) {
    writeFileSync(file, small);
    note.shrunk = { fromBytes: (note.shrunk?.fromBytes ?? bytes.length), toBytes: small.length };
    writeFileSync(notePath, JSON.stringify(note, null, 2) + '\n');
  }
  console.log(`${file}: ${bytes.length} -> ${small.length} bytes`);
  return 0;
}

async function one(o) {
  const bases = loadBases(ROOT);
  const c = makeCase(o.case, bases);
  console.log(`case ${c.id}: seed ${c.seed}, ${c.base}, ${c.bytes.length} bytes (${c.ext})`);
  console.log(`  mutations: ${c.steps.join('; ')}`);
  console.log(`  options: ${JSON.stringify(c.options)}`);
  if (o.write) writeFileSync(o.write, c.bytes);
  const checker = makeChecker(await distLib(o.dist), TUI_SIZES);
  const t0 = performance.now();
  try {
    const r = await checker.check(c.bytes, c.options);
    console.log(`  ${r.outcome}: ${r.packets} packets, ${r.commands} commands, ${(performance.now() - t0).toFixed(1)} ms`);
    return 0;
  } catch (e) {
    console.log(`  FAILED ${e.sig ?? ''}\n  ${e.detail ?? ''}\n${e.origStack ?? e.stack ?? ''}`);
    return 1;
  } finally {
    checker.close();
  }
}

const o = args(process.argv.slice(2));
if (o.worker) await worker(o);
else if (o.shrink !== null) process.exitCode = await shrinkFile(o);
else process.exitCode = o.case !== null ? await one(o) : await supervise(o);
