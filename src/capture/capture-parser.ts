/**
 * Push-style reader for classic pcap and pcapng byte streams. Whole records are delivered from
 * the pushed chunk without copying; only a record that spans two chunks is copied, into one
 * retained buffer that grows rarely.
 */
import { UserError } from '../errors.js';
import * as byteOrderMod from './byte-order.js';
import type { CaptureStats, Packet } from './packet.js';
import * as packetMod from './packet.js';
import { PcapStepper } from './pcap-format.js';
import * as pcapFormatMod from './pcap-format.js';
import { PcapngStepper } from './pcapng-format.js';
import * as pcapngFormatMod from './pcapng-format.js';
import type { FormatStepper, StepContext } from './stepper.js';
import * as stepperMod from './stepper.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { hexPrefix, u32be } = byteOrderMod;
const { emptyCaptureStats } = packetMod;
const { PCAP } = pcapFormatMod;
const { PCAPNG } = pcapngFormatMod;
const { addWarning } = stepperMod;

export type CaptureFormat = 'pcap' | 'pcapng';

/** Bytes needed to tell the format. */
export const SNIFF_BYTES = 4;

/** The capture format the first bytes announce, or null when they are no capture file's. */
export function sniffFormat(firstBytes: Uint8Array): CaptureFormat | null {
  if (firstBytes.length < SNIFF_BYTES) return null;
  const be = u32be(firstBytes, 0);
  if (be === PCAPNG.SHB) return 'pcapng';
  const le = ((be & 0xff) << 24 | (be & 0xff00) << 8 | (be >>> 8) & 0xff00 | be >>> 24) >>> 0;
  for (const magic of [PCAP.MAGIC_US, PCAP.MAGIC_NS]) if (be === magic || le === magic) return 'pcap';
  return null;
}

export function notACaptureError(source: string, firstBytes: Uint8Array): UserError {
  return new UserError(`${source}: not a pcap or pcapng capture file (starts with ${hexPrefix(firstBytes)})`);
}

export class CaptureParser {
  readonly stats: CaptureStats = emptyCaptureStats('unknown');
  private readonly ctx: StepContext;
  private stepper: FormatStepper | null = null;
  /**
   * Bytes carried over from earlier chunks: the start of a unit that was not yet whole. A Buffer
   * as the chunks read are: the layers above then only ever see one kind of array.
   */
  private pend: Uint8Array = Buffer.alloc(64 * 1024);
  private pendLen = 0;
  /** Input offset of the first byte not yet consumed. */
  private consumed = 0;
  private ended = false;

  /** `source` names the input in warnings and errors. */
  constructor(onPacket: (p: Packet) => void, source = 'input') {
    const packet: Packet = { tsUs: 0, linkType: 0, data: this.pend, offset: 0, capLen: 0, origLen: 0 };
    this.ctx = { stats: this.stats, packet, onPacket, source, base: 0 };
  }

  /**
   * Reads a chunk; packets are delivered before it returns. The chunk may be reused by the
   * caller afterwards. Throws UserError only when the input does not start like a capture file.
   */
  push(chunk: Uint8Array): void {
    if (this.ended || chunk.length === 0) return;
    let off = 0;
    if (this.pendLen > 0) {
      off = this.feedPending(chunk);
      if (this.pendLen > 0) return;
    }
    const end = chunk.length;
    this.ctx.base = this.consumed - off;
    while (off < end) {
      const n = this.step(chunk, off, end);
      if (n === 0) break;
      off += n;
      this.consumed += n;
    }
    if (off < end) this.keep(chunk, off, end);
  }

  /**
   * The input is over: a unit left incomplete is counted as truncated. `stopped`: reading
   * stopped early (Ctrl-C), which the caller reports; a unit left incomplete was not cut short,
   * only not read whole.
   */
  end(stopped = false): void {
    if (this.ended) return;
    this.ended = true;
    this.ctx.base = this.consumed;
    if (this.stepper !== null) {
      this.stepper.finish(this.pend, stopped ? 0 : this.pendLen);
      // A header and nothing else reads as an all-zero report: say why.
      if (this.stats.packets === 0 && !stopped) addWarning(this.stats, `${this.ctx.source}: the capture holds no packets`);
    } else if (this.pendLen > 0 && !stopped) {
      this.stats.skippedBytes += this.pendLen;
      addWarning(this.stats, `${this.ctx.source}: input ended after ${this.pendLen} bytes, before any capture header`);
    }
    this.pendLen = 0;
  }

  private step(b: Uint8Array, off: number, end: number): number {
    if (this.stepper === null) {
      if (end - off < SNIFF_BYTES) return 0;
      const head = b.subarray(off, off + SNIFF_BYTES);
      const format = sniffFormat(head);
      if (format === null) throw notACaptureError(this.ctx.source, head);
      this.stepper = format === 'pcap' ? new PcapStepper(this.ctx) : new PcapngStepper(this.ctx);
    }
    return this.stepper.step(b, off, end);
  }

  private need(): number {
    return this.stepper === null ? SNIFF_BYTES : this.stepper.need;
  }

  /** Completes the carried-over unit(s) from the head of chunk; returns the chunk offset reached. */
  private feedPending(chunk: Uint8Array): number {
    let coff = 0;
    for (;;) {
      const want = this.need() - this.pendLen;
      if (want > 0) {
        const take = Math.min(want, chunk.length - coff);
        this.append(chunk, coff, coff + take);
        coff += take;
        if (take < want) return coff;
      }
      this.ctx.base = this.consumed;
      const n = this.step(this.pend, 0, this.pendLen);
      if (n > 0) {
        this.consumed += n;
        this.pend.copyWithin(0, n, this.pendLen);
        this.pendLen -= n;
        if (this.pendLen === 0) return coff;
      } else if (this.need() <= this.pendLen) {
        // A stepper that neither consumed nor asked for more bytes would loop forever: drop the bytes.
        this.stats.skippedBytes += this.pendLen;
        this.consumed += this.pendLen;
        this.pendLen = 0;
        addWarning(this.stats, `${this.ctx.source}: reader stalled at byte ${this.consumed}; bytes skipped`);
        return coff;
      }
    }
  }

  private keep(chunk: Uint8Array, off: number, end: number): void {
    this.pendLen = 0;
    this.append(chunk, off, end);
  }

  private append(src: Uint8Array, from: number, to: number): void {
    const len = to - from;
    if (this.pendLen + len > this.pend.length) {
      const grown = Buffer.alloc(Math.max(this.pend.length * 2, this.pendLen + len));
      grown.set(this.pend.subarray(0, this.pendLen));
      this.pend = grown;
    }
    this.pend.set(src.subarray(from, to), this.pendLen);
    this.pendLen += len;
  }
}
