/**
 * Timestamps a file can hold that no capture can mean. A pcapng stamp is 64 bits of units plus a
 * 64-bit offset: a damaged block can say 2^64 ns (year 2554) or 1900, and one such packet would
 * stretch the span, the rate and the timeline over centuries. Classic pcap cannot: its unsigned
 * 32-bit seconds end in 2106, and the sub-second field is checked where it is read.
 *
 * What is done: a packet with an impossible stamp keeps its place in the stream (its TCP bytes
 * matter) and takes the stamp of the good packet before it, as a Simple Packet Block does. Packets
 * before the first good stamp of a file are held back (copied, bounded) and take the first good
 * stamp after them; if none comes, they are counted and skipped. The file's warnings say how many.
 */
import type { CaptureStats, Packet } from './packet.js';
import * as stepperMod from './stepper.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { addWarning } = stepperMod;

/** 2200-01-01T00:00:00Z in µs: later stamps are damage (and 2^53 µs, the last exact one, is later still). */
export const MAX_TS_US = 7_258_118_400_000_000;

/** Packets held while no good stamp has been seen; past either bound they are skipped. */
const MAX_HELD_PACKETS = 1024;
const MAX_HELD_BYTES = 4 * 1024 * 1024;

/** A stamp that a capture can mean: a number from 1970 up to (not including) 2200. */
export function stampInRange(tsUs: number): boolean {
  return tsUs >= 0 && tsUs < MAX_TS_US; // false for NaN too
}

interface HeldPacket {
  linkType: number;
  data: Uint8Array;
  origLen: number;
}

export class StampGuard {
  /** Last good stamp delivered; NaN before the first. */
  lastGoodUs = Number.NaN;
  /** Packets read with an impossible stamp (or none, an SPB first in a file). */
  badStamps = 0;
  private firstBad = '';
  private held: HeldPacket[] = [];
  private heldBytes = 0;
  private skipped = 0;

  constructor(
    private readonly stats: CaptureStats,
    private readonly source: string,
  ) {}

  /**
   * The stamp to deliver p with (p's own when it is good), or NaN when p was held back and must
   * not be delivered now. `atByte` is where the packet's record starts, for the warning.
   */
  stampFor(p: Packet, atByte: number): number {
    const ts = p.tsUs;
    if (stampInRange(ts)) return ts;
    this.badStamps++;
    if (this.firstBad === '') this.firstBad = `${Number.isNaN(ts) ? 'no stamp' : describeUs(ts)} at byte ${atByte}`;
    if (!Number.isNaN(this.lastGoodUs)) return this.lastGoodUs;
    if (this.held.length < MAX_HELD_PACKETS && this.heldBytes + p.capLen <= MAX_HELD_BYTES) {
      this.held.push({ linkType: p.linkType, data: Uint8Array.prototype.slice.call(p.data, p.offset, p.offset + p.capLen), origLen: p.origLen }); // a copy: a Buffer's slice() is a view of the reused read buffer
      this.heldBytes += p.capLen;
    } else {
      this.skipped++;
      this.stats.skippedBytes += p.capLen;
    }
    return Number.NaN;
  }

  /** A good stamp is about to be delivered: the packets held before it go first, with its stamp. */
  good(tsUs: number, p: Packet, onPacket: (p: Packet) => void): void {
    this.lastGoodUs = tsUs;
    if (this.held.length > 0) this.release(tsUs, p, onPacket);
  }

  private release(tsUs: number, p: Packet, onPacket: (p: Packet) => void): void {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    const keep = { data: p.data, offset: p.offset, capLen: p.capLen, origLen: p.origLen, linkType: p.linkType };
    for (const h of held) {
      p.data = h.data;
      p.offset = 0;
      p.capLen = h.data.length;
      p.origLen = h.origLen;
      p.linkType = h.linkType;
      p.tsUs = tsUs;
      onPacket(p);
    }
    Object.assign(p, keep);
    p.tsUs = tsUs;
  }

  /** End of the file: packets still held never got a stamp; say what was done. */
  finish(): void {
    if (this.badStamps === 0) return;
    const never = this.held.length + this.skipped;
    this.stats.skippedBytes += this.heldBytes;
    this.held = [];
    this.heldBytes = 0;
    const head = `${this.source}: ${this.badStamps} packet${this.badStamps === 1 ? '' : 's'} stamped outside 1970-2200 (first: ${this.firstBad})`;
    if (Number.isNaN(this.lastGoodUs)) {
      addWarning(this.stats, `${head}: no packet of the file has a usable stamp, so none was analysed`);
    } else if (never > 0) {
      addWarning(this.stats, `${head}: read with the stamp of a good packet beside them; ${never} before any good stamp were skipped`);
    } else {
      addWarning(this.stats, `${head}: each was read with the stamp of the good packet before it (or the first after it)`);
    }
  }
}

/** A stamp for a warning: an ISO time when JavaScript can show it, else seconds since 1970. */
function describeUs(ts: number): string {
  const ms = ts / 1000;
  if (Math.abs(ms) <= 8.64e15) return new Date(ms).toISOString();
  return `${(ts / 1e6).toExponential(6)} s since 1970`;
}
