#!/usr/bin/env node
// Where `analyze` spends its instructions, function by function: one run under callgrind with
// V8's perf map (`node --perf-basic-prof`), so the optimised JavaScript that callgrind sees as
// bare addresses is named (`*fn` optimised, `^fn` baseline). Counts are self instructions
// (callees apart), repeatable within ~1% run to run, and printed per command decoded: by
// layer (the folder of dist/ the function is in; V8's compiler, the collector and builtins
// apart) and the TOP functions. Node's start and the report are in, as in any run; use a
// capture slice of 50k+ packets (`tcpdump -r FILE -c 60000 -w SLICE`). Writing the map costs
// the run itself ~1% (V8 computing scripts' line ends, `CalculateLineEndsImpl`).
//
// Usage: node bench/js-profile.mjs FILE PORT [TOP]         (TOP default 30; build first)
// env:   TAP_DIR=DIR    profile the build in DIR instead of this checkout's
//        TAP_ARGS='...' more analyze arguments (e.g. --threads 1)
//        KEEP=DIR       keep the callgrind output, perf map and report in DIR
// Needs valgrind. About 15 s of callgrind per 100 M instructions of the run.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const [file, port, topArg] = process.argv.slice(2);
if (file === undefined || port === undefined) {
  console.error('usage: node bench/js-profile.mjs FILE PORT [TOP]');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const tapDir = resolve(process.env.TAP_DIR ?? resolve(HERE, '..'));
const work = process.env.KEEP ?? mkdtempSync(join(tmpdir(), 'js-profile-'));
mkdirSync(work, { recursive: true });
const out = join(work, 'callgrind.out');
const report = join(work, 'report.json');

const args = [
  '--tool=callgrind', `--callgrind-out-file=${out}`,
  'node', '--perf-basic-prof', '--no-concurrent-recompilation', '--no-concurrent-sparkplug',
  join(tapDir, 'bin/redis-tap.js'), 'analyze', '-r', resolve(file), '-p', port, '--json',
  ...(process.env.TAP_ARGS ?? '').split(' ').filter(Boolean),
];
const reportFd = openSync(report, 'w');
const run = spawnSync('valgrind', args, { cwd: work, encoding: 'utf8', stdio: ['ignore', reportFd, 'pipe'], maxBuffer: 1 << 26 });
closeSync(reportFd);
if (run.status !== 0) {
  console.error(`valgrind failed (${run.status}): ${(run.stderr ?? '').split('\n').slice(-5).join(' ')}`);
  process.exit(1);
}
// V8 writes the map as /tmp/perf-PID.map; under valgrind the PID is the one spawned.
const mapAt = `/tmp/perf-${run.pid}.map`;
if (!existsSync(mapAt)) {
  console.error(`no perf map at ${mapAt}`);
  process.exit(1);
}
const mapFile = join(work, 'perf.map');
renameSync(mapAt, mapFile);
const commands = JSON.parse(readFileSync(report, 'utf8')).totals.commands;

/** JIT code ranges, sorted by start, to name callgrind's bare addresses. */
const ranges = readFileSync(mapFile, 'utf8').split('\n').filter(Boolean).map((l) => {
  const [a, s, ...name] = l.split(' ');
  return { start: parseInt(a, 16), end: parseInt(a, 16) + parseInt(s, 16), name: name.join(' ') };
}).sort((x, y) => x.start - y.start);

function jitName(addr) {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid].start <= addr) lo = mid + 1;
    else hi = mid - 1;
  }
  const r = ranges[hi];
  return r !== undefined && addr < r.end ? r.name : 'JIT code not in the map';
}

/** A callgrind function name as this table lists it: JS functions without line and column. */
function display(raw) {
  const name = raw.startsWith('0x') ? jitName(parseInt(raw.split("'")[0], 16)) : raw.replace(/'\d+$/, '');
  return name.replace(/^JS:([*^~]?)(\S*) file:\/\/\/.*\/dist\/(\S+?)\.js:\d+:\d+$/, 'JS:$1$2 src/$3.ts');
}

function layerOf(name) {
  const js = /^JS:\S* src\/([^/]+)\//.exec(name);
  if (js !== null) return `src/${js[1]}`;
  if (name.startsWith('JS:')) return "Node's own JavaScript";
  if (name.startsWith('Builtins_InterpreterEntry')) return 'JavaScript in the interpreter (start, report, warm-up)';
  if (name.includes('compiler::') || name.includes('Turbofan') || name.includes('maglev')) return "V8's optimising compiler";
  if (/Scaveng|Mark|Sweep|heap::|Heap::|Evacuat|RememberedSet|Collector/.test(name)) return 'garbage collection';
  if (name.startsWith('Builtins_')) return 'V8 builtins (strings, ICs, write barriers)';
  return 'Node and V8 runtime (start, parsing, malloc)';
}

// Self cost per function. Cost lines follow fn=; the line after calls= is a call's inclusive
// cost, which belongs to the callee.
const names = new Map();
const self = new Map();
let current = null;
let skipNext = false;
for (const line of readFileSync(out, 'utf8').split('\n')) {
  const fn = /^fn=\((\d+)\)(?: (.*))?$/.exec(line);
  if (fn !== null) {
    if (fn[2] !== undefined) names.set(fn[1], display(fn[2]));
    current = names.get(fn[1]);
    skipNext = false;
    continue;
  }
  const cfn = /^c(?:fn)=\((\d+)\)(?: (.*))?$/.exec(line);
  if (cfn !== null) {
    if (cfn[2] !== undefined) names.set(cfn[1], display(cfn[2]));
    continue;
  }
  if (line.startsWith('calls=')) {
    skipNext = true;
    continue;
  }
  const cost = /^[+\-*]?\d*\s+(\d+)/.exec(line);
  if (cost === null || current === undefined || current === null) continue;
  if (skipNext) {
    skipNext = false;
    continue;
  }
  self.set(current, (self.get(current) ?? 0) + Number(cost[1]));
}

const total = [...self.values()].reduce((a, b) => a + b, 0);
const layers = new Map();
for (const [name, n] of self) layers.set(layerOf(name), (layers.get(layerOf(name)) ?? 0) + n);
const per = (n) => (n / commands).toFixed(0);
const pct = (n) => ((100 * n) / total).toFixed(1);

console.log(`${file}: ${commands.toLocaleString('en-US')} commands, ${(total / 1e9).toFixed(3)} G instructions, ${per(total)} a command\n`);
console.log('| where | instructions a command | share |\n| --- | ---: | ---: |');
for (const [name, n] of [...layers].sort((a, b) => b[1] - a[1])) console.log(`| ${name} | ${per(n)} | ${pct(n)}% |`);
console.log(`\n| function (self) | instructions a command | share |\n| --- | ---: | ---: |`);
for (const [name, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`| \`${name}\` | ${per(n)} | ${pct(n)}% |`);
if (process.env.KEEP === undefined) rmSync(work, { recursive: true, force: true });
