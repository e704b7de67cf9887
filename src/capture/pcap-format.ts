/**
 * Classic libpcap files. Spec: https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/
 * File header (24 bytes), then records of a 16-byte header and the captured bytes.
 */
import * as byteOrderMod from './byte-order.js';
import type { FormatStepper, StepContext } from './stepper.js';
import * as stepperMod from './stepper.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { u32be, u32le, viewOf } = byteOrderMod;
const { addWarning, MAX_PACKET_BYTES } = stepperMod;

const FMT = {
  /** Magic as read in the writer's byte order: microsecond timestamps. */
  MAGIC_US: 0xa1b2c3d4,
  /** Nanosecond timestamps. */
  MAGIC_NS: 0xa1b23c4d,
  FILE_HEADER_BYTES: 24,
  /** Offset of the LinkType field in the file header. */
  LINKTYPE_OFFSET: 20,
  /** LinkType is the low 16 bits; the upper bits carry FCS length and flags. */
  LINKTYPE_MASK: 0xffff,
  RECORD_HEADER_BYTES: 16,
} as const;
export const PCAP = FMT; // an alias: code here reads the module const (README, "Design notes")

/** Largest original length a record header may claim (a 16 MiB frame is no real frame). */
const MAX_ORIG_BYTES = 16 * 1024 * 1024;
/** Seconds a record may be stamped before the last good one (merged captures go backwards); while resyncing, before or after it. */
const MAX_BACKWARDS_SEC = 365 * 24 * 3600;

const enum State {
  FileHeader,
  Records,
  /**
   * After a damaged record header: bytes are skipped up to the next offset where a plausible
   * header is followed by another, and reading goes on from there.
   */
  Resync,
}

export class PcapStepper implements FormatStepper {
  need: number = FMT.FILE_HEADER_BYTES;
  private state = State.FileHeader;
  private le = true;
  /** Divisor turning the sub-second field into microseconds (1 for us, 1000 for ns). */
  private fracDiv = 1;
  private linkType = 0;
  /** Seconds of the last good record, -1 before the first. */
  private lastSec = -1;
  /** Absolute offset of the damaged record header, while resyncing. */
  private damageAt = 0;
  private switched = false;

  constructor(private readonly ctx: StepContext) {}

  step(b: Uint8Array, off: number, end: number): number {
    if (this.state !== State.FileHeader) {
      // Damage switches to resync and a good header back; each switch goes on from where the
      // other stopped, so a stepper never returns 0 while it could go on.
      let used = 0;
      do {
        this.switched = false;
        used += this.state === State.Records ? this.records(b, off + used, end) : this.resync(b, off + used, end);
      } while (this.switched);
      return used;
    }
    if (end - off < FMT.FILE_HEADER_BYTES) {
      this.need = FMT.FILE_HEADER_BYTES;
      return 0;
    }
    this.fileHeader(b, off);
    return FMT.FILE_HEADER_BYTES;
  }

  private fileHeader(b: Uint8Array, off: number): void {
    const be = u32be(b, off);
    this.le = be !== FMT.MAGIC_US && be !== FMT.MAGIC_NS;
    const magic = this.le ? u32le(b, off) : be;
    this.fracDiv = magic === FMT.MAGIC_NS ? 1000 : 1;
    const lt = this.le ? u32le(b, off + FMT.LINKTYPE_OFFSET) : u32be(b, off + FMT.LINKTYPE_OFFSET);
    this.linkType = lt & FMT.LINKTYPE_MASK;
    this.ctx.stats.format = magic === FMT.MAGIC_NS ? 'pcap-ns' : 'pcap';
    this.state = State.Records;
    this.need = FMT.RECORD_HEADER_BYTES;
  }

  /** The hot loop: every whole record in b[off, end) is delivered without copying. */
  private records(b: Uint8Array, off: number, end: number): number {
    const start = off;
    const ctx = this.ctx;
    const stats = ctx.stats;
    const p = ctx.packet;
    const le = this.le;
    const fracDiv = this.fracDiv;
    const v = viewOf(b);
    p.data = b;
    p.linkType = this.linkType;
    for (;;) {
      const avail = end - off;
      if (avail < FMT.RECORD_HEADER_BYTES) {
        this.need = FMT.RECORD_HEADER_BYTES;
        break;
      }
      const sec = v.getUint32(off, le);
      const frac = v.getUint32(off + 4, le);
      const capLen = v.getUint32(off + 8, le);
      const origLen = v.getUint32(off + 12, le);
      // A header no writer produces (a length field off by a few bytes shifts every later
      // header): resynchronise on the next plausible one rather than read garbage as frames.
      if (capLen > MAX_PACKET_BYTES || capLen > origLen || frac >= 1e6 * fracDiv || this.lastSec - sec > MAX_BACKWARDS_SEC) {
        this.state = State.Resync;
        this.switched = true;
        this.damageAt = ctx.base + off;
        return off - start;
      }
      const recLen = FMT.RECORD_HEADER_BYTES + capLen;
      if (avail < recLen) {
        this.need = recLen;
        break;
      }
      this.lastSec = sec;
      p.tsUs = sec * 1e6 + (fracDiv === 1 ? frac : frac / fracDiv);
      p.offset = off + FMT.RECORD_HEADER_BYTES;
      p.capLen = capLen;
      p.origLen = origLen;
      stats.packets++;
      stats.bytes += capLen;
      if (capLen < origLen) stats.snappedPackets++;
      ctx.onPacket(p);
      off += recLen;
    }
    return off - start;
  }

  /** Length of the record whose header is at b[o], or -1 if no writer would produce it. */
  private plausible(b: Uint8Array, o: number): number {
    const le = this.le;
    const sec = le ? u32le(b, o) : u32be(b, o);
    const frac = le ? u32le(b, o + 4) : u32be(b, o + 4);
    const capLen = le ? u32le(b, o + 8) : u32be(b, o + 8);
    const origLen = le ? u32le(b, o + 12) : u32be(b, o + 12);
    if (capLen > MAX_PACKET_BYTES || capLen > origLen || origLen > MAX_ORIG_BYTES || frac >= 1e6 * this.fracDiv) return -1;
    if (this.lastSec >= 0 && Math.abs(sec - this.lastSec) > MAX_BACKWARDS_SEC) return -1;
    return FMT.RECORD_HEADER_BYTES + capLen;
  }

  /** Skips to the next offset holding a plausible header followed by another. */
  private resync(b: Uint8Array, off: number, end: number): number {
    const H = FMT.RECORD_HEADER_BYTES;
    let o = off;
    for (; o + H <= end; o++) {
      const len = this.plausible(b, o);
      if (len < 0) continue;
      if (o + len + H > end) {
        // The header that would confirm it is not read yet.
        if (o > off) break;
        this.need = len + H;
        return 0;
      }
      if (this.plausible(b, o + len) < 0) continue;
      const stats = this.ctx.stats;
      const skipped = this.ctx.base + o - this.damageAt;
      stats.skippedBytes += o - off;
      addWarning(stats, `${this.ctx.source}: damaged pcap record header at byte ${this.damageAt}; ${skipped} bytes skipped to the next good record`);
      this.state = State.Records;
      this.switched = true;
      return o - off;
    }
    this.ctx.stats.skippedBytes += o - off;
    this.need = H;
    return o - off;
  }

  finish(_b: Uint8Array, pending: number): void {
    if (pending === 0) return;
    const stats = this.ctx.stats;
    stats.skippedBytes += pending;
    if (this.state === State.FileHeader) {
      addWarning(stats, `${this.ctx.source}: the file ends inside the pcap file header (${pending} bytes)`);
      return;
    }
    if (this.state === State.Resync) {
      addWarning(stats, `${this.ctx.source}: damaged pcap record header at byte ${this.damageAt}; no good record after it, the rest of the file skipped`);
      return;
    }
    stats.truncatedRecords++;
    addWarning(
      stats,
      `${this.ctx.source}: the last record is cut short (${pending} bytes at the end skipped; ` +
        `the capture was probably stopped mid-write)`,
    );
  }
}
