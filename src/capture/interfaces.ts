/**
 * The optional `pcap` module (node_pcap 3.x): its native binding, loaded on first use so that
 * offline analysis never needs it, and the capture devices libpcap knows.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';

export const PCAP_MODULE_MISSING =
  "live capture needs the optional 'pcap' module, which failed to install (needs libpcap-dev and a C++ compiler): " +
  'apt-get install libpcap-dev && npm rebuild pcap';

/** pcap_stats() counters; u_int in C, so they wrap at 2^32. */
export interface NativeStats {
  ps_recv: number;
  ps_drop: number;
  ps_ifdrop: number;
}

/** node_pcap's native PcapSession (pcap_session.cc), the part redis-tap uses. */
export interface NativeSession {
  /** pcap_create + activate + setfilter + setnonblock; returns the link type as a name. Throws pcap_geterr text. */
  open_live(
    device: string,
    filter: string,
    bufferBytes: number,
    snaplen: number,
    dumpFile: string,
    onPacket: () => void,
    monitorMode: boolean,
    timeoutMs: number,
    onWarning: (message: string) => void,
    promisc: boolean,
  ): string;
  /**
   * Calls pcap_dispatch until the ring is empty, copying each frame into `buf` and its
   * pcap_pkthdr into `header` before calling onPacket. Returns the last pcap_dispatch result:
   * 0 ring empty, -1 error, -2 after close() (the handle is then closed; never call again).
   */
  dispatch(buf: Buffer, header: Buffer): number;
  /** pcap_breakloop(): the next dispatch that meets a frame closes the handle. */
  close(): void;
  stats(): NativeStats;
}

export interface PcapBinding {
  PcapSession: new () => NativeSession;
  /** pcap_findalldevs(), in libpcap's order: up and running, non-loopback devices first. */
  findalldevs(): Array<{ name: string; flags?: string }>;
}

let binding: PcapBinding | undefined;

/** Loads node_pcap's binding, or throws a UserError saying how to install it. */
export function loadPcapBinding(): PcapBinding {
  if (binding) return binding;
  let loaded: Partial<PcapBinding>;
  try {
    const require = createRequire(import.meta.url);
    const pcapDir = dirname(require.resolve('pcap'));
    loaded = require(join(pcapDir, 'build', 'Release', 'pcap_binding.node')) as Partial<PcapBinding>;
  } catch (err) {
    throw Object.assign(new UserError(PCAP_MODULE_MISSING), { cause: err });
  }
  if (typeof loaded.PcapSession !== 'function' || typeof loaded.findalldevs !== 'function') {
    throw new UserError("the installed 'pcap' module is not the 3.x version redis-tap was written for: npm install pcap@3");
  }
  binding = loaded as PcapBinding;
  return binding;
}

/** Device names libpcap can capture on (no privileges needed); empty when it finds none. */
export function listInterfaces(pcap: PcapBinding = loadPcapBinding()): string[] {
  try {
    return pcap.findalldevs().map((dev) => dev.name);
  } catch {
    return []; // pcap_findalldevs found nothing or failed: opening a device reports the real problem
  }
}
