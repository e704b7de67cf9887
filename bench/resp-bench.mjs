// RESP decoder throughput on pipelined redis-benchmark-like traffic (SET/GET with 16-byte
// keys, replies +OK / $3 xxx), pushed in 64 KiB chunks and in 1460-byte TCP-segment pieces,
// plus 1 MB bulk replies that are counted, not held.
// Run: npx tsc -p tsconfig.json && node bench/resp-bench.mjs [requests]
import { ReplyDecoder, RequestDecoder } from '../dist/resp/index.js';

const N = Number(process.argv[2] ?? 200_000);
const WARMUP = 5;
const ROUNDS = 11;

function key(i) {
  return 'key:' + String(i % 1_000_000_000_000).padStart(12, '0');
}

function requests(n) {
  let s = '';
  for (let i = 0; i < n; i++) {
    const k = key(i * 7919);
    s += i % 2 === 0
      ? `*3\r\n$3\r\nSET\r\n$16\r\n${k}\r\n$3\r\nxxx\r\n`
      : `*2\r\n$3\r\nGET\r\n$16\r\n${k}\r\n`;
  }
  return Buffer.from(s, 'latin1');
}

function replies(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += i % 2 === 0 ? '+OK\r\n' : '$3\r\nxxx\r\n';
  return Buffer.from(s, 'latin1');
}

function run(label, buf, chunk, make) {
  const rates = [];
  let frames = 0;
  let sink = 0;
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    frames = 0;
    const dec = make((f) => { frames++; sink += f.wireBytes; }, () => { throw new Error('violation'); });
    const t0 = process.hrtime.bigint();
    for (let off = 0; off < buf.length; off += chunk) {
      dec.push(buf, off, Math.min(chunk, buf.length - off), off);
    }
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r >= WARMUP) rates.push(sec);
  }
  rates.sort((a, b) => a - b);
  const med = rates[Math.floor(rates.length / 2)];
  const best = rates[0];
  const fmt = (sec) => `${(frames / sec / 1e6).toFixed(2)} M ${label}/s, ${(buf.length / sec / 1e6).toFixed(0)} MB/s`;
  console.log(`${(label + ' /' + chunk).padEnd(16)} ${frames} frames, ${(buf.length / 1e6).toFixed(1)} MB: median ${fmt(med)}; best ${fmt(best)}${sink < 0 ? '!' : ''}`);
}

function bigReplies(n, size) {
  const parts = [];
  for (let i = 0; i < n; i++) parts.push(Buffer.from(`$${size}\r\n`), Buffer.alloc(size, 0x76), Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

const req = requests(N);
const rep = replies(N);
const big = bigReplies(64, 1024 * 1024);
for (const chunk of [64 * 1024, 1460]) {
  run('requests', req, chunk, (a, b) => new RequestDecoder(a, b));
  run('replies', rep, chunk, (a, b) => new ReplyDecoder(a, b));
}
run('replies', big, 1460, (a, b) => new ReplyDecoder(a, b));
