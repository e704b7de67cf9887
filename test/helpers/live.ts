import { spawnSync } from 'node:child_process';

/**
 * Whether this process may capture on lo: root (or CAP_NET_RAW) and the optional pcap module
 * built. Tests that need it skip with this reason printed, never pass silently.
 */
export function liveCaptureUnavailable(): string | null {
  if (process.platform !== 'linux') return 'live capture tests run on Linux only';
  const caps = spawnSync('sh', ['-c', 'grep CapEff /proc/self/status'], { encoding: 'utf8' }).stdout;
  const eff = BigInt('0x' + (caps.split(/\s+/)[1] ?? '0'));
  const CAP_NET_RAW = 13n;
  if (process.getuid?.() !== 0 && (eff & (1n << CAP_NET_RAW)) === 0n) return 'not root and no CAP_NET_RAW: live capture not permitted';
  const probe = spawnSync(process.execPath, ['-e', "require('pcap')"], { cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8' });
  if (probe.status !== 0) return "the optional 'pcap' module is not built (needs libpcap-dev)";
  return null;
}
