// Start-to-finish time of short runs, two builds taking turns (Node's start and module loading
// dominate them). Prints the median and fastest of each.
//   node bench/startup.mjs A_DIR B_DIR RUNS -- analyze captures/base.pcap --json
import { spawnSync } from 'node:child_process';

const sep = process.argv.indexOf('--');
const [a, b, runs] = process.argv.slice(2, sep < 0 ? undefined : sep);
const args = sep < 0 ? ['analyze', 'captures/base.pcap', '--json'] : process.argv.slice(sep + 1);
if (a === undefined || b === undefined) {
  console.error('usage: node bench/startup.mjs A_DIR B_DIR [RUNS] [-- redis-tap arguments]');
  process.exit(2);
}
const times = { A: [], B: [] };
for (let i = 0; i < Number(runs ?? 20); i++) {
  for (const [side, dir] of [['A', a], ['B', b]]) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [`${dir}/bin/redis-tap.js`, ...args], { stdio: 'ignore' });
    if (r.status !== 0) {
      console.error(`${side} (${dir}) exited with ${r.status}`);
      process.exit(1);
    }
    times[side].push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
for (const side of ['A', 'B']) {
  console.log(`${side} ${side === 'A' ? a : b}: median ${median(times[side]).toFixed(1)} ms, fastest ${Math.min(...times[side]).toFixed(1)} ms (redis-tap ${args.join(' ')})`);
}
