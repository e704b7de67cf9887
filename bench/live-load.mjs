#!/usr/bin/env node
// Stand-in observer for bench/monitor-impact.sh: a live capture that only counts frames and bytes.
// usage: node bench/live-load.mjs --port 6379 [--iface lo] [--buffer-mb 64]
// Runs until SIGINT or SIGTERM, then prints one line of JSON (packets, bytes, kernelDrops, ...).
import { parseArgs } from 'node:util';
import { openLiveCapture, LIVE_DEFAULTS } from '../dist/capture/live.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '6379' },
    iface: { type: 'string', default: 'lo' },
    'buffer-mb': { type: 'string', default: String(LIVE_DEFAULTS.bufferMb) },
  },
});

let packets = 0;
let bytes = 0;
let capture;
try {
  capture = await openLiveCapture(
    { iface: values.iface, ports: [Number(values.port)], bufferMb: Number(values['buffer-mb']) },
    (p) => {
      packets++;
      bytes += p.capLen;
    },
  );
} catch (err) {
  process.stderr.write(`live-load: ${err.message}\n`);
  process.exit(err.exitCode ?? 1);
}

function stop() {
  const stats = capture.stats();
  capture.close();
  const usage = process.resourceUsage();
  const line = {
    iface: capture.iface,
    packets,
    bytes,
    ...stats,
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    maxRssMb: Math.round(usage.maxRSS / 1024),
  };
  process.stdout.write(JSON.stringify(line) + '\n');
}

process.once('SIGINT', stop);
process.once('SIGTERM', stop);
