/**
 * Live capture through libpcap, using the native session of the optional `pcap` module
 * (node_pcap 3.x), loaded by ./interfaces.ts only when a live capture is asked for.
 *
 * Why the native session and not `pcap.createSession()`: the JS wrapper registers a libuv poll
 * handle that only stops when a packet arrives after close(), so a process that closed an idle
 * capture never exits; it also allocates an object and emits an event per packet and prints
 * libpcap warnings to the console. Here the ring is drained from a timer instead (./live-ring.ts),
 * nothing native keeps the event loop alive after close(), and nothing is allocated per packet.
 */
import { UserError } from '../errors.js';
import { listInterfaces, loadPcapBinding } from './interfaces.js';
import { BLOCK_TIMEOUT_MS, LiveRing, type LiveStats } from './live-ring.js';
import type { Packet } from './packet.js';

export interface LiveCaptureOptions {
  /** Interface name; absent = libpcap's default device (the first one pcap_findalldevs lists). */
  iface?: string;
  /** Redis server ports: the capture keeps TCP segments from or to any of them. */
  ports: number[];
  /** Extra BPF expression, and-ed with the port filter. */
  filter?: string;
  /** Kernel ring size in MiB; it absorbs traffic while JavaScript is busy (GC, output). */
  bufferMb: number;
  /** Bytes kept per frame; default LIVE_DEFAULTS.snaplen. */
  snaplen?: number;
  /** Put the interface in promiscuous mode; default false (see LIVE_DEFAULTS). */
  promisc?: boolean;
  /**
   * Longest one read of the ring may block the event loop (Ctrl-C, timers) when onPacket is
   * slower than the traffic; the rest of the ring is then shed (LiveStats.shedFrames). Counted
   * in this process's CPU time, so time other processes take from it does not count.
   * Default LIVE_DEFAULTS.maxStallMs.
   */
  maxStallMs?: number;
  /**
   * Called when a read of the ring finds it empty (every frame captured more than a ring block
   * timeout ago has been delivered): the moment to let capture time pass without packets.
   */
  onIdle?: () => void;
  /**
   * Asked before each read of the ring: true while what was read is still being analysed
   * elsewhere (threads), so frames wait in the kernel ring rather than in memory here.
   */
  paused?: () => boolean;
  /**
   * Called once if libpcap reports a read error after the capture started (the interface went
   * down or away); the capture has stopped when it is called.
   */
  onError?: (err: UserError) => void;
}

export type { LiveStats } from './live-ring.js';

export interface LiveCapture {
  readonly iface: string;
  /** LINKTYPE_* value (1 Ethernet, 113 Linux cooked for `any`, ...). */
  readonly linkType: number;
  readonly snaplen: number;
  /** The BPF expression given to libpcap. */
  readonly filter: string;
  /** Counters since open; after close() they keep their final values. */
  stats(): LiveStats;
  /** Stops delivery at once, even when called from inside onPacket. Idempotent. */
  close(): void;
  /**
   * Delivers the frames the kernel already captured, up to untilTsUs, that were not read yet
   * (a reader at idle CPU priority may be far behind), then closes. Later frames are skipped.
   * Nothing is shed meanwhile; close() ends it early.
   */
  finish(untilTsUs: number): Promise<void>;
}

export const LIVE_DEFAULTS = {
  /**
   * 192 MiB, measured with bench/monitor-impact.sh (redis-benchmark -P 16, 1 M GETs in ~1 s:
   * ~100 MB through the ring on lo, where every frame is queued twice). At the default idle
   * CPU priority the analysis mostly waits until the benchmark is over, so the ring must hold
   * nearly all of it: 128 MiB dropped 1-3 frames in 6 of 10 runs, 192 and 256 MiB none in 5
   * runs each. (At normal priority the analyzer keeps up better: 128 MiB dropped none.) The
   * ring is unswappable kernel memory mapped into the process and counts in its resident
   * size once used. On a real NIC each frame is queued once.
   */
  bufferMb: 192,
  /** tcpdump's default. 65535 would cut frames on lo, whose MTU is 65536. */
  snaplen: 262_144,
  /** Promiscuous mode changes NIC state; a tap on the Redis host sees its own traffic without it. */
  promisc: false,
  /**
   * node_pcap's dispatch returns only once the ring is empty, and nothing else runs meanwhile:
   * not Ctrl-C, not timers. When onPacket is slower than the traffic that would be forever.
   * Measured with bench/monitor-impact.sh on 2 CPUs shared with other work: wall-clock limits
   * of 1, 3 and 5 s threw away 7-65% of a burst that the full analyzer works through with
   * ~3.4 s of CPU. 5 s of CPU sheds none of it and still answers Ctrl-C under lasting overload.
   */
  maxStallMs: 5000,
} as const;

/** Largest libpcap ring node_pcap accepts: it passes the size as an int32 of bytes. */
const MAX_BUFFER_MB = 2047;

/** The link type names node_pcap returns from open_live(); anything else is "Unknown linktype <DLT>". */
const LINK_TYPE_BY_NAME: Record<string, number> = {
  LINKTYPE_NULL: 0,
  LINKTYPE_ETHERNET: 1,
  LINKTYPE_RAW: 101,
  LINKTYPE_LINUX_SLL: 113,
  LINKTYPE_IEEE802_11_RADIO: 127,
};

/** `tcp port A or tcp port B`, and-ed with the user's expression when there is one. */
export function buildLiveFilter(ports: readonly number[], extra?: string): string {
  const byPort = ports.map((port) => `tcp port ${port}`).join(' or ');
  const more = extra?.trim();
  if (!more) return byPort;
  return `${ports.length > 1 ? `(${byPort})` : byPort} and (${more})`;
}

function checkOptions(opts: LiveCaptureOptions): void {
  const badPort = opts.ports.find((p) => !Number.isInteger(p) || p < 1 || p > 65535);
  if (opts.ports.length === 0 || badPort !== undefined) {
    throw new UserError(`capture ports must be integers 1-65535, got '${opts.ports.join(',')}'`);
  }
  if (!(opts.bufferMb > 0 && opts.bufferMb <= MAX_BUFFER_MB)) {
    throw new UserError(`--buffer-mb must be more than 0 and at most ${MAX_BUFFER_MB}, got ${opts.bufferMb}`);
  }
  if (opts.maxStallMs !== undefined && !(opts.maxStallMs > 0)) {
    throw new UserError(`the longest stall must be more than 0 ms, got ${opts.maxStallMs}`);
  }
  const snaplen = opts.snaplen;
  if (snaplen !== undefined && !(Number.isInteger(snaplen) && snaplen >= 64 && snaplen <= 262_144)) {
    throw new UserError(`snap length must be an integer 64-262144, got ${snaplen}`);
  }
}

/** Turns what open_live throws (libpcap's pcap_geterr text) into one line for the user. */
function openError(message: string, iface: string, names: string[], extraFilter: string | undefined): UserError {
  if (/not permitted|permission/i.test(message)) {
    return new UserError(
      `capture on ${iface} needs root or CAP_NET_RAW: run as root, or ` +
        '`sudo setcap cap_net_raw,cap_net_admin=eip $(readlink -f $(which node))`',
    );
  }
  if (/no such device/i.test(message)) return unknownInterface(iface, names);
  if (extraFilter?.trim() && /filter|syntax|parse|illegal|unknown|expression|invalid/i.test(message)) {
    return new UserError(`bad capture filter '${extraFilter}': ${message}`);
  }
  return new UserError(`live capture on ${iface} failed: ${message}`);
}

function unknownInterface(iface: string, names: string[]): UserError {
  return new UserError(`no interface '${iface}'; interfaces: ${names.length ? names.join(', ') : '(none found)'}`);
}

function linkTypeOf(name: string): number {
  const known = LINK_TYPE_BY_NAME[name];
  if (known !== undefined) return known;
  // "Unknown linktype 276": a DLT_ value. It equals the LINKTYPE_ value except for a few old
  // BSD ones below 104 (DLT_RAW, named above, is the one Linux returns).
  const dlt = /(\d+)$/.exec(name);
  return dlt ? Number(dlt[1]) : -1;
}

/**
 * Opens a live capture and calls onPacket for every frame, from a timer on the event loop.
 * The Packet object and its `data` buffer are reused for the next frame: a consumer copies
 * whatever it keeps. Timestamps are the kernel's capture time from the pcap header.
 * An exception thrown by onPacket is fatal (it surfaces from native code as uncaught).
 */
export async function openLiveCapture(
  opts: LiveCaptureOptions,
  onPacket: (p: Packet) => void,
): Promise<LiveCapture> {
  checkOptions(opts);
  const pcap = loadPcapBinding();
  const names = listInterfaces(pcap);
  const iface = opts.iface ?? names[0];
  if (iface === undefined) throw new UserError('no capture interfaces found; name one with --interface');
  if (names.length > 0 && !names.includes(iface)) throw unknownInterface(iface, names);

  const snaplen = opts.snaplen ?? LIVE_DEFAULTS.snaplen;
  const filter = buildLiveFilter(opts.ports, opts.filter);
  const native = new pcap.PcapSession();
  const ring = new LiveRing(native, snaplen, opts.maxStallMs ?? LIVE_DEFAULTS.maxStallMs, onPacket);
  let linkName: string;
  try {
    linkName = native.open_live(
      iface,
      filter,
      Math.round(opts.bufferMb * 1024 * 1024),
      snaplen,
      '',
      ring.onFrame,
      false,
      BLOCK_TIMEOUT_MS,
      () => {}, // pcap_lookupnet failed: only the `net`/`broadcast` filter keywords need the netmask
      opts.promisc ?? LIVE_DEFAULTS.promisc,
    );
  } catch (err) {
    throw openError(err instanceof Error ? err.message : String(err), iface, names, opts.filter);
  }
  ring.onIdle = opts.onIdle;
  ring.paused = opts.paused;
  ring.start(linkTypeOf(linkName), opts.onError);
  return {
    iface,
    linkType: ring.packet.linkType,
    snaplen,
    filter,
    stats: () => ring.stats(),
    close: () => ring.close(),
    finish: (untilTsUs) => ring.finish(untilTsUs),
  };
}
