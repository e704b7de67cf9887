/**
 * Classic libpcap files. Spec: https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/
 * File header (24 bytes), then records of a 16-byte header and the captured bytes.
 */
import { u32be, u32le } from './byte-order.js';
import { addWarning, MAX_PACKET_BYTES, type FormatStepper, type StepContext } from './stepper.js';

export const PCAP = {
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

const enum State {
  FileHeader,
  Records,
  /** A damaged record header: the rest of the input is counted and skipped. */
  Stopped,
}

export class PcapStepper implements FormatStepper {
  need: number = PCAP.FILE_HEADER_BYTES;
  private state = State.FileHeader;
  private le = true;
  /** Divisor turning the sub-second field into microseconds (1 for us, 1000 for ns). */
  private fracDiv = 1;
  private linkType = 0;

  constructor(private readonly ctx: StepContext) {}

  step(b: Uint8Array, off: number, end: number): number {
    if (this.state === State.Records) return this.records(b, off, end);
    if (this.state === State.Stopped) {
      this.ctx.stats.skippedBytes += end - off;
      this.need = 1;
      return end - off;
    }
    if (end - off < PCAP.FILE_HEADER_BYTES) {
      this.need = PCAP.FILE_HEADER_BYTES;
      return 0;
    }
    this.fileHeader(b, off);
    return PCAP.FILE_HEADER_BYTES;
  }

  private fileHeader(b: Uint8Array, off: number): void {
    const be = u32be(b, off);
    this.le = be !== PCAP.MAGIC_US && be !== PCAP.MAGIC_NS;
    const magic = this.le ? u32le(b, off) : be;
    this.fracDiv = magic === PCAP.MAGIC_NS ? 1000 : 1;
    const lt = this.le ? u32le(b, off + PCAP.LINKTYPE_OFFSET) : u32be(b, off + PCAP.LINKTYPE_OFFSET);
    this.linkType = lt & PCAP.LINKTYPE_MASK;
    this.ctx.stats.format = magic === PCAP.MAGIC_NS ? 'pcap-ns' : 'pcap';
    this.state = State.Records;
    this.need = PCAP.RECORD_HEADER_BYTES;
  }

  /** The hot loop: every whole record in b[off, end) is delivered without copying. */
  private records(b: Uint8Array, off: number, end: number): number {
    const start = off;
    const ctx = this.ctx;
    const stats = ctx.stats;
    const p = ctx.packet;
    const le = this.le;
    const fracDiv = this.fracDiv;
    p.data = b;
    p.linkType = this.linkType;
    for (;;) {
      const avail = end - off;
      if (avail < PCAP.RECORD_HEADER_BYTES) {
        this.need = PCAP.RECORD_HEADER_BYTES;
        break;
      }
      const capLen = le ? u32le(b, off + 8) : u32be(b, off + 8);
      if (capLen > MAX_PACKET_BYTES) {
        this.stop(off, capLen);
        stats.skippedBytes += avail;
        return end - start;
      }
      const recLen = PCAP.RECORD_HEADER_BYTES + capLen;
      if (avail < recLen) {
        this.need = recLen;
        break;
      }
      const sec = le ? u32le(b, off) : u32be(b, off);
      const frac = le ? u32le(b, off + 4) : u32be(b, off + 4);
      const origLen = le ? u32le(b, off + 12) : u32be(b, off + 12);
      p.tsUs = sec * 1e6 + (fracDiv === 1 ? frac : frac / fracDiv);
      p.offset = off + PCAP.RECORD_HEADER_BYTES;
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

  private stop(off: number, capLen: number): void {
    const at = this.ctx.base + off;
    addWarning(
      this.ctx.stats,
      `${this.ctx.source}: pcap record at byte ${at} claims ${capLen} captured bytes ` +
        `(limit ${MAX_PACKET_BYTES}); the file is damaged, the rest of it is skipped`,
    );
    this.state = State.Stopped;
    this.need = 1;
  }

  finish(_b: Uint8Array, pending: number): void {
    if (pending === 0) return;
    const stats = this.ctx.stats;
    stats.skippedBytes += pending;
    if (this.state === State.FileHeader) {
      addWarning(stats, `${this.ctx.source}: the file ends inside the pcap file header (${pending} bytes)`);
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
