#!/usr/bin/env node
// Throughput of the capture file reader alone, of reader + FlowTable (no-op handler), and of
// reader + FlowTable + a Session per connection (RESP decoding and pairing, no aggregates),
// next to `tcpdump -r` on the same file. Build first: npx tsc -p tsconfig.json
// Usage: node bench/flow-bench.mjs FILE [PORT ...]   (default port 6379; repeat with -n RUNS)
//
// Making a capture of redis-benchmark traffic (not committed):
//   redis-server --port 7001 --save '' --appendonly no --daemonize yes
//   tcpdump -i lo -w /tmp/bench.pcap 'tcp port 7001' &
//   redis-benchmark -p 7001 -n 500000 -c 50 -r 100000 -t set,get -q
//   kill %1; redis-cli -p 7001 shutdown nosave
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { readCaptureFile } from '../dist/capture/file-reader.js';
import { FlowTable } from '../dist/flow/flow-table.js';
import { Session } from '../dist/analysis/session.js';

const args = process.argv.slice(2);
let runs = 3;
const nAt = args.indexOf('-n');
if (nAt >= 0) {
  runs = Number(args[nAt + 1]);
  args.splice(nAt, 2);
}
const [file, ...portArgs] = args;
if (!file) {
  console.error('usage: node bench/flow-bench.mjs FILE [PORT ...] [-n RUNS]');
  process.exit(2);
}
const ports = new Set((portArgs.length ? portArgs : ['6379']).map(Number));
const size = statSync(file).size;

const noop = { onOpen() {}, onData() {}, onGap() {}, onClose() {} };

// Sessions whose events only count requests: the cost of the RESP and pairing layers.
let requests = 0;
const events = {
  request() {}, complete() { requests++; }, unpaired() {}, violation() {}, linkRequest() {},
  linkStart() {}, rdb() {}, propagated() {}, clientInfo() {},
};
const sessions = {
  onOpen(conn) { conn.handlerState = new Session(conn, events, {}, 10_000); },
  onData(conn, fromClient, d, off, len, ts) { conn.handlerState.data(fromClient, d, off, len, ts); },
  onGap(conn, fromClient, missing) { conn.handlerState.gap(fromClient, missing); },
  onClose(conn) { conn.handlerState.close(); },
};

function time(fn) {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return { r, s: Number(process.hrtime.bigint() - t0) / 1e9 };
}

function line(label, packets, s) {
  const pps = (packets / s / 1e6).toFixed(2);
  const mbs = (size / s / 1e6).toFixed(0);
  console.log(`${label.padEnd(22)} ${s.toFixed(3)} s  ${pps} M packets/s  ${mbs} MB/s`);
}

console.log(`${file}: ${(size / 1e6).toFixed(1)} MB, ports ${[...ports].join(',')}, best of ${runs}`);
let best = { read: Infinity, flow: Infinity, sessions: Infinity };
let packets = 0;
let flowStats = null;
for (let i = 0; i < runs; i++) {
  let n = 0;
  const a = time(() => readCaptureFile(file, () => { n++; }));
  packets = a.r.packets;
  best.read = Math.min(best.read, a.s);
  const b = time(() => {
    const table = new FlowTable({ serverPorts: ports }, noop);
    const st = readCaptureFile(file, (p) => table.packet(p));
    table.finish(0);
    return table.stats;
  });
  flowStats = b.r;
  best.flow = Math.min(best.flow, b.s);
  requests = 0;
  const c = time(() => {
    const table = new FlowTable({ serverPorts: ports }, sessions);
    readCaptureFile(file, (p) => table.packet(p));
    table.finish(0);
  });
  best.sessions = Math.min(best.sessions, c.s);
}
line('read only', packets, best.read);
line('read + flow', packets, best.flow);
line('read + flow + sessions', packets, best.sessions);
console.log(`${''.padEnd(22)} ${(requests / best.sessions / 1e6).toFixed(2)} M requests/s (${requests} requests)`);
try {
  const t = time(() => execFileSync('tcpdump', ['-r', file, '-w', '/dev/null'], { stdio: 'ignore' }));
  line('tcpdump -r -w /dev/null', packets, t.s);
  const t2 = time(() => execFileSync('sh', ['-c', `tcpdump -nr '${file}' > /dev/null 2>&1`]));
  line('tcpdump -nr (print)', packets, t2.s);
} catch (err) {
  console.log(`tcpdump: not run (${err.message.split('\n')[0]})`);
}
const f = flowStats;
console.log(
  `flow: ${f.connections} connections, ${f.payloadBytes} payload bytes, ${f.deliveredBytes} delivered, ` +
    `${f.gaps} gaps, ${f.duplicateBytes} duplicate, ${f.outOfOrderSegments} out of order`,
);
