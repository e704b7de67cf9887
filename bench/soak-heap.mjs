// What does the analysis keep as traffic goes on? The load of bench/soak.sh (redis-benchmark
// rounds: every second CLIENTS connections open, send RATE SETs and GETs of random keys among
// KEYSPACE, unpipelined, and close) made as Ethernet frames and fed to the pipeline offline, as
// fast as it goes, with a full garbage collection every simulated minute: the live heap after
// it shows what the aggregates and the per-connection state hold, apart from the capture ring,
// the kernel and the garbage collector's slack, which bench/soak.sh measures live.
//
// usage:  npm run build && node --expose-gc bench/soak-heap.mjs [minutes=11]
// env:    RATE=25000 CLIENTS=40 KEYSPACE=1000000 INTERVAL=0 (with INTERVAL=1, interval Stats as
//         live --interval keeps them, cut every simulated second)
//         LOSS=0: the fraction of frames lost (as kernel drops lose them: a FIN too)
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { Stats } from '../dist/analysis/stats.js';
import { analyzerOptions } from '../dist/engine/options.js';
import { IntervalReports } from '../dist/engine/live-interval.js';
import { Pipeline } from '../dist/engine/pipeline.js';
import { emptyCaptureStats } from '../dist/capture/packet.js';

if (typeof globalThis.gc !== 'function') {
  console.error('soak-heap: run with node --expose-gc');
  process.exit(2);
}
const MINUTES = Number(process.argv[2] ?? 11);
const RATE = Number(process.env.RATE ?? 25000);
const CLIENTS = Number(process.env.CLIENTS ?? 40);
const KEYSPACE = Number(process.env.KEYSPACE ?? 1000000);
const INTERVAL = process.env.INTERVAL === '1';
const LOSS = Number(process.env.LOSS ?? 0);
const PORT = 6379;

const TCP = { FIN: 0x01, SYN: 0x02, PSH: 0x08, ACK: 0x10 };

/** Ethernet II + IPv4 + TCP (no options) around `payload`, checksums left 0 (nobody checks them). */
function frame(src, dst, sport, dport, seq, ack, flags, payload) {
  const len = 14 + 20 + 20 + payload.length;
  const b = Buffer.allocUnsafe(len);
  b.fill(0, 0, 54);
  b.writeUInt16BE(0x0800, 12);
  b[14] = 0x45;
  b.writeUInt16BE(20 + 20 + payload.length, 16);
  b[22] = 64;
  b[23] = 6;
  b.writeUInt32BE(src, 26);
  b.writeUInt32BE(dst, 30);
  b.writeUInt16BE(sport, 34);
  b.writeUInt16BE(dport, 36);
  b.writeUInt32BE(seq >>> 0, 38);
  b.writeUInt32BE(ack >>> 0, 42);
  b[46] = 5 << 4;
  b[47] = flags;
  b.writeUInt16BE(65535, 48);
  payload.copy(b, 54);
  return b;
}

const CLIENT_IP = 0x7f000001;
const SERVER_IP = 0x7f000001;
const resp = (args) => Buffer.from(`*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join(''), 'latin1');
const OK = Buffer.from('+OK\r\n');
const VALUE = Buffer.from('$3\r\nxxx\r\n');
const key = () => 'key:' + String(Math.floor(Math.random() * KEYSPACE)).padStart(12, '0');

const opts = analyzerOptions({ slowMs: 10, maxKeys: 200000, top: 10 });
const pipe = new Pipeline(opts, [PORT]);
let intervals = null;
const cap = emptyCaptureStats('live');
if (INTERVAL) {
  pipe.analyzer.intervalStats = new Stats(opts);
  intervals = new IntervalReports(pipe, pipe.analyzer.intervalStats, cap);
}
const source = { kind: 'live', name: 'lo', format: 'live', ports: [PORT], filter: null };
let ts = 1_764_000_000 * 1e6;
let nextPort = 10000;
let commands = 0;

function send(data) {
  if (LOSS > 0 && Math.random() < LOSS) {
    ts += 1;
    return;
  }
  const p = { tsUs: ts, linkType: 1, data, offset: 0, capLen: data.length, origLen: data.length };
  cap.packets++;
  cap.bytes += data.length;
  pipe.packet(p);
  ts += 1;
}

/** One connection: handshake, `n` request/reply pairs (SET or GET), both FINs. */
function connection(n, set) {
  const cport = nextPort;
  nextPort = nextPort >= 60999 ? 10000 : nextPort + 1;
  let cseq = Math.floor(Math.random() * 2 ** 32);
  let sseq = Math.floor(Math.random() * 2 ** 32);
  const c2s = (flags, payload) => {
    send(frame(CLIENT_IP, SERVER_IP, cport, PORT, cseq, sseq, flags, payload));
    cseq += payload.length + (flags & (TCP.SYN | TCP.FIN) ? 1 : 0);
  };
  const s2c = (flags, payload) => {
    send(frame(SERVER_IP, CLIENT_IP, PORT, cport, sseq, cseq, flags, payload));
    sseq += payload.length + (flags & (TCP.SYN | TCP.FIN) ? 1 : 0);
  };
  const empty = Buffer.alloc(0);
  c2s(TCP.SYN, empty);
  s2c(TCP.SYN | TCP.ACK, empty);
  c2s(TCP.ACK, empty);
  for (let i = 0; i < n; i++) {
    c2s(TCP.PSH | TCP.ACK, resp(set ? ['SET', key(), 'xxx'] : ['GET', key()]));
    s2c(TCP.PSH | TCP.ACK, set ? OK : VALUE);
    commands++;
  }
  c2s(TCP.FIN | TCP.ACK, empty);
  s2c(TCP.FIN | TCP.ACK, empty);
  c2s(TCP.ACK, empty);
}

const mb = (n) => (n / 1e6).toFixed(1);
function measure(minute) {
  globalThis.gc();
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]));
  return { minute, heapUsed: m.heapUsed, old: spaces.old_space, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss };
}

console.log(`soak-heap: ${MINUTES} simulated minutes, ${RATE} commands/s over ${CLIENTS} connections a second, ${KEYSPACE} keys${INTERVAL ? ', interval Stats cut every second' : ''}${LOSS > 0 ? `, ${LOSS * 100}% of frames lost` : ''}`);
console.log('  minute  heap used after gc (MB)  old space  external  rss   open conns');
const rows = [];
const t0 = performance.now();
for (let minute = 0; minute <= MINUTES; minute++) {
  if (minute > 0) {
    for (let s = 0; s < 60; s++) {
      const start = ts;
      for (let c = 0; c < CLIENTS; c++) connection(Math.round(RATE / CLIENTS), c < CLIENTS / 2);
      ts = Math.max(ts, start + 1e6);
      pipe.tick(ts);
      if (intervals !== null) {
        intervals.report(cap, source, 10);
        intervals.restart();
      }
    }
    pipe.report(cap, source, 10); // what a report (the live view, the end) takes each minute
  }
  const r = measure(minute);
  rows.push(r);
  console.log(`  ${String(minute).padStart(6)}  ${mb(r.heapUsed).padStart(23)}  ${mb(r.old).padStart(9)}  ${mb(r.external).padStart(8)}  ${mb(r.rss).padStart(5)}  ${String(pipe.analyzer.openConnections).padStart(10)}`);
}
const first = rows[1];
const last = rows[rows.length - 1];
const perMinute = (last.heapUsed - first.heapUsed) / (last.minute - first.minute);
console.log(`soak-heap: ${commands} commands in ${((performance.now() - t0) / 1000).toFixed(0)} s; live heap after minute 1 ${mb(first.heapUsed)} MB, at the end ${mb(last.heapUsed)} MB (${perMinute >= 0 ? '+' : ''}${mb(perMinute)} MB a minute)`);
