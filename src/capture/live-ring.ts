/**
 * The reading side of a live capture: drains node_pcap's native session from a timer into one
 * reused Packet, sheds frames when one read stalls the event loop too long, reads the ring up
 * to a stop time when finishing, and keeps libpcap's counters across their 32-bit wraps.
 */
import { endianness } from 'node:os';
import { UserError } from '../errors.js';
import type { NativeSession } from './interfaces.js';
import type { Packet } from './packet.js';

export interface LiveStats {
  /** Frames handed to onPacket. (libpcap's ps_recv is not used: on lo it counts each frame twice.) */
  received: number;
  /** Frames that matched the filter but found the ring full (ps_drop); on lo a lost frame may count twice. */
  kernelDrops: number;
  /** Frames the interface or driver dropped, all traffic, not only the filter's (ps_ifdrop). */
  interfaceDrops: number;
  /**
   * Frames read from the ring but not handed to onPacket because one read of the ring had
   * already blocked the event loop for `maxStallMs`. Like drops, they leave gaps in the streams.
   */
  shedFrames: number;
}

/**
 * libpcap's read timeout: the kernel hands over a partly filled ring block after this long.
 * It bounds delivery delay at low rates; at high rates blocks fill first. Each block is
 * 256 KiB, so a ring of N blocks holds at least N x this much time of sparse traffic.
 */
export const BLOCK_TIMEOUT_MS = 20;
/** Drain period while frames arrive; the next drain waits twice as long after an empty one, up to the max. */
const DRAIN_BUSY_MS = 20;
const DRAIN_IDLE_MAX_MS = 160;
/** After close() the native handle is released by the first dispatch that finds a frame; retried this often. */
const FINALIZE_RETRY_MS = 1000;
/** Frames between two looks at the clock during a dispatch. */
const BUDGET_CHECK_EVERY = 64;
/** pcap_dispatch() return values (pcap.h). */
const PCAP_ERROR = -1;
const PCAP_ERROR_BREAK = -2;

/** Drains one native session into one reused Packet and keeps its counters. */
export class LiveRing {
  readonly packet: Packet;
  private readonly buf: Buffer;
  private readonly header = Buffer.alloc(16);
  private readonly headerView: DataView;
  private readonly littleEndian = endianness() === 'LE';
  private received = 0;
  private shed = 0;
  private shedding = false;
  private dispatchStartCpuMs = 0;
  private dispatchStartWallMs = 0;
  private sinceClockCheck = 0;
  private readonly dropCounter = new Wrapping32();
  private readonly ifDropCounter = new Wrapping32();
  private timer: NodeJS.Timeout | undefined;
  private delayMs = DRAIN_BUSY_MS;
  private closed = false;
  private finalized = false;
  private dispatching = false;
  /** Called after a read of the ring found it empty: every frame captured more than BLOCK_TIMEOUT_MS ago has been delivered. */
  onIdle: (() => void) | undefined;
  /** While true, the ring is not read (see LiveCaptureOptions.paused). */
  paused: (() => boolean) | undefined;
  private onError: ((err: UserError) => void) | undefined;
  /** While finishing: frames captured after this are not delivered, and say the end is reached. */
  private untilTsUs = Infinity;
  private pastUntil = false;

  constructor(
    private readonly native: NativeSession,
    snaplen: number,
    private readonly budgetMs: number,
    private readonly deliver: (p: Packet) => void,
  ) {
    this.buf = Buffer.alloc(snaplen);
    this.headerView = new DataView(this.header.buffer, this.header.byteOffset, 16);
    this.packet = { tsUs: 0, linkType: -1, data: this.buf, offset: 0, capLen: 0, origLen: 0 };
  }

  start(linkType: number, onError: ((err: UserError) => void) | undefined): void {
    this.packet.linkType = linkType;
    this.onError = onError;
    this.timer = setTimeout(this.drain, DRAIN_BUSY_MS);
  }

  /** Called by native dispatch per frame; the header holds the pcap_pkthdr as 4 native-endian u32. */
  readonly onFrame = (): void => {
    if (this.closed) return;
    if (++this.sinceClockCheck >= BUDGET_CHECK_EVERY) this.checkBudget();
    if (this.shedding) {
      this.shed++;
      return;
    }
    const h = this.headerView;
    const le = this.littleEndian;
    const p = this.packet;
    p.tsUs = h.getUint32(0, le) * 1e6 + h.getUint32(4, le);
    if (p.tsUs > this.untilTsUs) {
      this.pastUntil = true;
      return;
    }
    p.capLen = Math.min(h.getUint32(8, le), this.buf.length);
    p.origLen = h.getUint32(12, le);
    this.received++;
    this.deliver(p);
  };

  private readonly drain = (): void => {
    this.timer = undefined;
    if (this.paused?.() === true) {
      this.timer = setTimeout(this.drain, DRAIN_BUSY_MS);
      return;
    }
    const before = this.received;
    const result = this.dispatch();
    if (this.closed) return;
    if (result === PCAP_ERROR) {
      this.fail();
      return;
    }
    if (this.received === before) this.onIdle?.();
    this.delayMs = this.received > before ? DRAIN_BUSY_MS : Math.min(this.delayMs * 2, DRAIN_IDLE_MAX_MS);
    this.timer = setTimeout(this.drain, this.delayMs);
  };

  /** Never re-entered, and never called once the native handle is closed (it would dereference NULL). */
  private dispatch(): number {
    if (this.finalized || this.dispatching) return 0;
    this.dispatching = true;
    this.shedding = false;
    this.sinceClockCheck = 0;
    this.dispatchStartCpuMs = cpuMs();
    this.dispatchStartWallMs = performance.now();
    if (!this.closed) this.stats(); // reads libpcap's u_int counters often enough that a wrap is never missed
    let result: number;
    try {
      result = this.native.dispatch(this.buf, this.header);
    } finally {
      this.dispatching = false;
    }
    if (result === PCAP_ERROR_BREAK) this.finalized = true;
    else if (this.closed && !this.finalized) this.retryFinalize();
    return result;
  }

  private checkBudget(): void {
    this.sinceClockCheck = 0;
    if (this.untilTsUs !== Infinity) return; // finishing: what is left is read whole
    // CPU time never runs ahead of wall time, so the (costly) getrusage call is only needed
    // once the dispatch has lasted longer than the budget: it cost 2% of the observer's CPU
    // under redis-benchmark -P 16 when made every 64 frames.
    if (performance.now() - this.dispatchStartWallMs <= this.budgetMs) return;
    if (cpuMs() - this.dispatchStartCpuMs > this.budgetMs) this.shedding = true;
  }

  private retryFinalize(): void {
    if (this.dispatching) return; // the running dispatch meets the break itself
    setTimeout(() => this.dispatch(), FINALIZE_RETRY_MS).unref();
  }

  private fail(): void {
    this.stats();
    this.closed = true;
    this.finalized = true; // the handle is in error; leave it to process exit rather than call into it again
    this.onError?.(new UserError('live capture stopped: libpcap reported a read error (did the interface go down?)'));
  }

  stats(): LiveStats {
    if (!this.closed) {
      const s = this.native.stats();
      this.dropCounter.update(s.ps_drop);
      this.ifDropCounter.update(s.ps_ifdrop);
    }
    return {
      received: this.received,
      kernelDrops: this.dropCounter.total,
      interfaceDrops: this.ifDropCounter.total,
      shedFrames: this.shed,
    };
  }

  async finish(untilTsUs: number): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.untilTsUs = untilTsUs;
    // The kernel hands over a partly filled block only after BLOCK_TIMEOUT_MS: the ring is
    // known to be read up to untilTsUs once a later frame shows up, or once it stays empty
    // for longer than that.
    let emptyReads = 0;
    while (!this.closed && !this.pastUntil && emptyReads < 2) {
      if (this.paused?.() === true) {
        await new Promise((r) => setTimeout(r, DRAIN_BUSY_MS));
        continue;
      }
      const before = this.received;
      if (this.dispatch() === PCAP_ERROR) return this.fail();
      if (this.received > before) emptyReads = 0;
      else if (++emptyReads < 2) await new Promise((r) => setTimeout(r, 2 * BLOCK_TIMEOUT_MS));
    }
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.stats();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.native.close();
    if (!this.dispatching) this.dispatch();
  }
}

/** User + system CPU time of this process, in milliseconds. */
function cpuMs(): number {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
}

/** libpcap's counters are u_int and wrap; this keeps a running total across wraps. */
class Wrapping32 {
  total = 0;
  private last = 0;

  update(raw: number): void {
    const now = raw >>> 0;
    this.total += (now - this.last) >>> 0;
    this.last = now;
  }
}
