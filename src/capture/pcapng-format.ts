/**
 * pcapng files. Spec: https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/
 * Every block: type (4), total length (4), body, total length again (4); the byte order is set
 * per section by the Section Header Block's byte-order magic.
 */
import * as byteOrderMod from './byte-order.js';
import type { FormatStepper, StepContext } from './stepper.js';
import * as stepperMod from './stepper.js';
import { PcapngInterface } from './pcapng-interface.js';
import { StampGuard } from './stamp-guard.js';
import * as stampGuardMod from './stamp-guard.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { u16, u32, u32be, u32le, u64, u64Text } = byteOrderMod;
const { addWarning, MAX_PACKET_BYTES } = stepperMod;
const { stampInRange } = stampGuardMod;

export const PCAPNG = {
  /** Section Header Block; the value reads the same in both byte orders. */
  SHB: 0x0a0d0d0a,
  /** Interface Description Block. */
  IDB: 0x00000001,
  /** Obsolete Packet Block. */
  PB: 0x00000002,
  /** Simple Packet Block (interface 0, no timestamp). */
  SPB: 0x00000003,
  /** Name Resolution Block. */
  NRB: 0x00000004,
  /** Interface Statistics Block. */
  ISB: 0x00000005,
  /** Enhanced Packet Block. */
  EPB: 0x00000006,
  /** systemd Journal Export Block. */
  JOURNAL: 0x00000009,
  /** Decryption Secrets Block. */
  DSB: 0x0000000a,
  /** Custom blocks, copyable and not. */
  CUSTOM: 0x00000bad,
  CUSTOM_NOCOPY: 0x40000bad,
  BYTE_ORDER_MAGIC: 0x1a2b3c4d,
  /** Type, length and trailing length. */
  MIN_BLOCK_BYTES: 12,
  /** ISB options: packets dropped by the interface / by the operating system (u64). */
  ISB_IFDROP: 5,
  ISB_OSDROP: 7,
} as const;

/**
 * A drop counter above this many times the packets read so far (or above this many times
 * DROP_CHECK_MIN_PACKETS, for a short file) is damage, not drops: a capture that kept 1 packet
 * in 1000 would be no capture. 2^64-1, a counter's "unknown", is far past it.
 */
const MAX_DROPS_PER_PACKET = 1000;
const DROP_CHECK_MIN_PACKETS = 1000;

/** Largest block accepted; a longer length field means the block header is damaged. */
export const MAX_BLOCK_BYTES = 16 * 1024 * 1024;

/** Block types that are read or skipped silently as normal content. */
const KNOWN_BLOCKS: ReadonlySet<number> = new Set([
  PCAPNG.SHB, PCAPNG.IDB, PCAPNG.PB, PCAPNG.SPB, PCAPNG.NRB, PCAPNG.ISB, PCAPNG.EPB,
  PCAPNG.JOURNAL, PCAPNG.DSB, PCAPNG.CUSTOM, PCAPNG.CUSTOM_NOCOPY,
]);

export class PcapngStepper implements FormatStepper {
  need: number = PCAPNG.MIN_BLOCK_BYTES;
  /** Byte order of the current section. */
  private le = true;
  /** Interfaces of the current section, by interface id. */
  private ifaces: PcapngInterface[] = [];
  /** Interfaces of every section, for drop totals. */
  private readonly allIfaces: PcapngInterface[] = [];
  /** Scanning for the next plausible block after a damaged one. */
  private resyncing = false;
  /** Impossible stamps (and an SPB's missing one, which takes the previous packet's). */
  private readonly stamps: StampGuard;
  private readonly unknownTypes = new Set<number>();
  /** Drop counters that cannot be counts, already warned about (interface index and option). */
  private readonly badDrops = new Set<string>();

  constructor(private readonly ctx: StepContext) {
    ctx.stats.format = 'pcapng';
    ctx.stats.interfaces = 0;
    this.stamps = new StampGuard(ctx.stats, ctx.source);
  }

  step(b: Uint8Array, off: number, end: number): number {
    const start = off;
    if (this.resyncing) {
      off += this.resync(b, off, end);
      if (this.resyncing) return off - start;
    }
    for (;;) {
      const avail = end - off;
      if (avail < PCAPNG.MIN_BLOCK_BYTES) {
        this.need = PCAPNG.MIN_BLOCK_BYTES;
        break;
      }
      const type = u32(b, off, this.le);
      let le = this.le;
      if (type === PCAPNG.SHB) {
        const order = byteOrderOf(b, off);
        if (order === null) {
          off += this.damaged(b, off, end, 'section header without a valid byte-order magic');
          if (this.resyncing) break;
          continue;
        }
        le = order;
      }
      const len = u32(b, off + 4, le);
      if (len < PCAPNG.MIN_BLOCK_BYTES || (len & 3) !== 0 || len > MAX_BLOCK_BYTES) {
        off += this.damaged(b, off, end, `block length ${len} is impossible`);
        if (this.resyncing) break;
        continue;
      }
      if (avail < len) {
        this.need = len;
        break;
      }
      if (u32(b, off + len - 4, le) !== len) {
        off += this.damaged(b, off, end, `block length ${len} does not match its trailing copy`);
        if (this.resyncing) break;
        continue;
      }
      if (type === PCAPNG.EPB) this.enhancedPacket(b, off, len);
      else this.otherBlock(type, le, b, off, len);
      off += len;
    }
    return off - start;
  }

  /** The hot path: one Enhanced Packet Block. */
  private enhancedPacket(b: Uint8Array, off: number, len: number): void {
    const le = this.le;
    const iface = this.ifaces[u32(b, off + 8, le)];
    const capLen = u32(b, off + 20, le);
    if (iface === undefined) return this.badBlock(off, 'enhanced packet block names an undeclared interface');
    if (capLen > MAX_PACKET_BYTES || 28 + capLen > len - 4) {
      return this.badBlock(off, `enhanced packet block claims ${capLen} captured bytes`);
    }
    const tsUs = iface.tsUs(u32(b, off + 12, le), u32(b, off + 16, le));
    this.deliver(iface, b, off, 28, capLen, u32(b, off + 24, le), tsUs);
  }

  /** One packet of the block at b[off], its frame at off + head; tsUs NaN when it has none. */
  private deliver(iface: PcapngInterface, b: Uint8Array, off: number, head: number, capLen: number, origLen: number, tsUs: number): void {
    const ctx = this.ctx;
    const p = ctx.packet;
    const stats = ctx.stats;
    p.data = b;
    p.offset = off + head;
    p.capLen = capLen;
    p.origLen = origLen;
    p.tsUs = tsUs;
    p.linkType = iface.linkType;
    stats.packets++;
    stats.bytes += capLen;
    if (capLen < origLen) stats.snappedPackets++;
    if (!iface.carried) {
      iface.carried = true;
      stats.interfaces++;
    }
    if (stampInRange(tsUs)) {
      this.stamps.good(tsUs, p, ctx.onPacket);
    } else {
      p.tsUs = this.stamps.stampFor(p, ctx.base + off);
      if (Number.isNaN(p.tsUs)) return;
    }
    ctx.onPacket(p);
  }

  private otherBlock(type: number, le: boolean, b: Uint8Array, off: number, len: number): void {
    switch (type) {
      case PCAPNG.SHB:
        return this.sectionHeader(le, b, off);
      case PCAPNG.IDB:
        return this.interfaceDescription(b, off, len);
      case PCAPNG.SPB:
        return this.simplePacket(b, off, len);
      case PCAPNG.PB:
        return this.obsoletePacket(b, off, len);
      case PCAPNG.ISB:
        return this.interfaceStatistics(b, off, len);
      default:
        if (!KNOWN_BLOCKS.has(type)) this.unknownBlock(type);
    }
  }

  private sectionHeader(le: boolean, b: Uint8Array, off: number): void {
    this.le = le;
    this.ifaces = [];
    const major = u16(b, off + 12, le);
    if (major !== 1) {
      addWarning(this.ctx.stats, `${this.ctx.source}: pcapng section version ${major} is unknown; read as version 1`);
    }
  }

  private interfaceDescription(b: Uint8Array, off: number, len: number): void {
    if (len < 20) return this.badBlock(off, 'interface description block too short');
    const iface = new PcapngInterface(u16(b, off + 8, this.le), u32(b, off + 12, this.le));
    const bad = iface.readOptions(b, off + 16, off + len - 4, this.le);
    if (bad !== null) addWarning(this.ctx.stats, `${this.ctx.source}: interface ${this.ifaces.length}: ${bad}`);
    this.ifaces.push(iface);
    this.allIfaces.push(iface);
  }

  private simplePacket(b: Uint8Array, off: number, len: number): void {
    const iface = this.ifaces[0];
    if (iface === undefined) return this.badBlock(off, 'simple packet block before any interface');
    const origLen = u32(b, off + 8, this.le);
    let capLen = Math.min(origLen, len - 16);
    if (iface.snapLen > 0 && iface.snapLen < capLen) capLen = iface.snapLen;
    this.deliver(iface, b, off, 12, capLen, origLen, this.stamps.lastGoodUs);
  }

  private obsoletePacket(b: Uint8Array, off: number, len: number): void {
    const le = this.le;
    const iface = this.ifaces[u16(b, off + 8, le)];
    const capLen = u32(b, off + 20, le);
    if (iface === undefined) return this.badBlock(off, 'packet block names an undeclared interface');
    if (capLen > MAX_PACKET_BYTES || 28 + capLen > len - 4) {
      return this.badBlock(off, `packet block claims ${capLen} captured bytes`);
    }
    const tsUs = iface.tsUs(u32(b, off + 12, le), u32(b, off + 16, le));
    this.deliver(iface, b, off, 28, capLen, u32(b, off + 24, le), tsUs);
  }

  /** Keeps the latest ISB per interface and sums the drop counters over interfaces. */
  private interfaceStatistics(b: Uint8Array, off: number, len: number): void {
    const le = this.le;
    const id = u32(b, off + 8, le);
    const iface = this.ifaces[id];
    if (iface === undefined) return this.badBlock(off, 'statistics block names an undeclared interface');
    const end = off + len - 4;
    for (let o = off + 20; o + 4 <= end; ) {
      const code = u16(b, o, le);
      const olen = u16(b, o + 2, le);
      if (code === 0 || o + 4 + olen > end) break;
      // A counter that cannot be one leaves the interface's last good value (or none) in place.
      if (olen >= 8 && code === PCAPNG.ISB_IFDROP) iface.ifDrop = this.dropCount(b, o + 4, iface, id, 'isb_ifdrop') ?? iface.ifDrop;
      if (olen >= 8 && code === PCAPNG.ISB_OSDROP) iface.osDrop = this.dropCount(b, o + 4, iface, id, 'isb_osdrop') ?? iface.osDrop;
      o += 4 + ((olen + 3) & ~3);
    }
    // isb_ifdrop goes to kernelDrops: dumpcap stores libpcap's ps_drop (kernel buffer drops) there.
    this.ctx.stats.kernelDrops = sumDrops(this.allIfaces, 'ifDrop');
    this.ctx.stats.interfaceDrops = sumDrops(this.allIfaces, 'osDrop');
  }

  /** A u64 drop counter at b[o], or null (with a warning) when it cannot be a count of drops. */
  private dropCount(b: Uint8Array, o: number, iface: PcapngInterface, id: number, name: string): number | null {
    const v = u64(b, o, this.le);
    const packets = this.ctx.stats.packets;
    if (Number.isSafeInteger(v) && v <= MAX_DROPS_PER_PACKET * Math.max(packets, DROP_CHECK_MIN_PACKETS)) return v;
    const key = `${this.allIfaces.indexOf(iface)}:${name}`;
    if (!this.badDrops.has(key)) {
      this.badDrops.add(key);
      addWarning(
        this.ctx.stats,
        `${this.ctx.source}: interface ${id} statistics give ${name} ${u64Text(b, o, this.le)}, which cannot be a drop count ` +
          `after ${packets} packets (a damaged block?): ignored; the drops shown come from its earlier statistics, if any`,
      );
    }
    return null;
  }

  private unknownBlock(type: number): void {
    this.ctx.stats.skippedBlocks++;
    if (this.unknownTypes.has(type)) return;
    this.unknownTypes.add(type);
    addWarning(this.ctx.stats, `${this.ctx.source}: skipped pcapng blocks of unknown type 0x${type.toString(16)}`);
  }

  /** A block whose framing is fine but whose content is not usable: skipped by its length. */
  private badBlock(off: number, why: string): void {
    this.ctx.stats.skippedBlocks++;
    addWarning(this.ctx.stats, `${this.ctx.source}: pcapng block at byte ${this.ctx.base + off}: ${why}; skipped`);
  }

  /** A block whose framing is broken: count it, then scan forward for the next plausible block. */
  private damaged(b: Uint8Array, off: number, end: number, why: string): number {
    const stats = this.ctx.stats;
    stats.skippedBlocks++;
    stats.skippedBytes += 1;
    addWarning(
      stats,
      `${this.ctx.source}: pcapng block at byte ${this.ctx.base + off}: ${why}; skipping to the next readable block`,
    );
    this.resyncing = true;
    return 1 + this.resync(b, off + 1, end);
  }

  /** Skips bytes until a plausible block starts; returns the bytes skipped. */
  private resync(b: Uint8Array, off: number, end: number): number {
    const start = off;
    while (end - off >= PCAPNG.MIN_BLOCK_BYTES) {
      const verdict = this.plausible(b, off, end);
      if (verdict === 1) {
        this.resyncing = false;
        break;
      }
      if (verdict < 0) break;
      off++;
    }
    if (this.resyncing && end - off < PCAPNG.MIN_BLOCK_BYTES) this.need = PCAPNG.MIN_BLOCK_BYTES;
    this.ctx.stats.skippedBytes += off - start;
    return off - start;
  }

  /** 1: a whole, well-framed block of a known type starts at off; 0: not; -1: need `need` bytes. */
  private plausible(b: Uint8Array, off: number, end: number): number {
    let le = this.le;
    const type = u32(b, off, le);
    if (type === PCAPNG.SHB) {
      const order = byteOrderOf(b, off);
      if (order === null) return 0;
      le = order;
    } else if (!KNOWN_BLOCKS.has(type)) return 0;
    const len = u32(b, off + 4, le);
    if (len < PCAPNG.MIN_BLOCK_BYTES || (len & 3) !== 0 || len > MAX_BLOCK_BYTES) return 0;
    if ((type === PCAPNG.EPB || type === PCAPNG.ISB) && u32(b, off + 8, le) >= this.ifaces.length) return 0;
    if (end - off < len) {
      this.need = len;
      return -1;
    }
    return u32(b, off + len - 4, le) === len ? 1 : 0;
  }

  /**
   * The input ended inside a block. If well-framed blocks follow inside it, its length field was
   * damaged (it runs past the end): resync and read them. Otherwise it is a cut last block.
   */
  finish(b: Uint8Array, pending: number): void {
    this.finishBlocks(b, pending);
    this.stamps.finish();
  }

  private finishBlocks(b: Uint8Array, pending: number): void {
    let off = 0;
    if (!this.resyncing && pending > PCAPNG.MIN_BLOCK_BYTES && this.blockFollows(b, pending)) {
      const len = u32(b, 4, this.le);
      off = this.damaged(b, 0, pending, `block length ${len} runs past the end of the input`);
      while (off < pending) {
        const n = this.step(b, off, pending);
        if (n === 0) break;
        off += n;
      }
    }
    const rest = pending - off;
    if (rest === 0) return;
    const stats = this.ctx.stats;
    stats.skippedBytes += rest;
    if (this.resyncing) return;
    stats.truncatedRecords++;
    addWarning(
      stats,
      `${this.ctx.source}: the last block is cut short (${rest} bytes at the end skipped; ` +
        `the capture was probably stopped mid-write)`,
    );
  }

  private blockFollows(b: Uint8Array, end: number): boolean {
    for (let off = 1; end - off >= PCAPNG.MIN_BLOCK_BYTES; off++) if (this.plausible(b, off, end) === 1) return true;
    return false;
  }
}

/** Byte order of the section whose SHB starts at off: true = little-endian, null = no magic. */
function byteOrderOf(b: Uint8Array, off: number): boolean | null {
  if (u32le(b, off + 8) === PCAPNG.BYTE_ORDER_MAGIC) return true;
  if (u32be(b, off + 8) === PCAPNG.BYTE_ORDER_MAGIC) return false;
  return null;
}

function sumDrops(ifaces: readonly PcapngInterface[], field: 'ifDrop' | 'osDrop'): number | null {
  let sum: number | null = null;
  for (const i of ifaces) {
    const v = i[field];
    if (v !== null) sum = (sum ?? 0) + v;
  }
  return sum;
}
