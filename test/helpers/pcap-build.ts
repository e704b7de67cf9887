/**
 * Tiny pcap / pcapng writers for tests (facts from draft-ietf-opsawg-pcap and -pcapng).
 * They write exactly what they are told, damage included, so readers can be tested on it.
 */
import { CaptureParser } from '../../src/capture/capture-parser.js';
import type { CaptureStats, Packet } from '../../src/capture/packet.js';

export interface PcapRecord {
  sec: number;
  /** Microseconds, or nanoseconds in an ns file. */
  frac: number;
  data: Uint8Array;
  /** Defaults to data.length. */
  origLen?: number;
  /** Claimed captured length; defaults to data.length (a lie makes a damaged record). */
  capLen?: number;
}

export interface PcapOptions {
  le?: boolean;
  ns?: boolean;
  /** The whole 32-bit LinkType field (upper bits may carry FCS information). */
  linkType?: number;
  snapLen?: number;
}

export function buildPcap(opts: PcapOptions, records: readonly PcapRecord[]): Buffer {
  const le = opts.le ?? true;
  const parts: Buffer[] = [];
  const head = Buffer.alloc(24);
  w32(head, 0, opts.ns ? 0xa1b23c4d : 0xa1b2c3d4, le);
  w16(head, 4, 2, le);
  w16(head, 6, 4, le);
  w32(head, 16, opts.snapLen ?? 262144, le);
  w32(head, 20, opts.linkType ?? 1, le);
  parts.push(head);
  for (const r of records) {
    const h = Buffer.alloc(16);
    w32(h, 0, r.sec, le);
    w32(h, 4, r.frac, le);
    w32(h, 8, r.capLen ?? r.data.length, le);
    w32(h, 12, r.origLen ?? r.data.length, le);
    parts.push(h, Buffer.from(r.data));
  }
  return Buffer.concat(parts);
}

export interface IdbOptions {
  snapLen?: number;
  /** if_tsresol byte (e.g. 9 for ns, 0x80 | 20 for 2^-20 s). */
  tsresol?: number;
  /** if_tsoffset in seconds. */
  tsoffset?: number;
}

/** Builds a pcapng file block by block; shb() may switch the byte order for the next section. */
export class PcapngBuilder {
  private readonly parts: Buffer[] = [];
  private le = true;

  shb(le = true, major = 1): this {
    this.le = le;
    const body = Buffer.alloc(16);
    w32(body, 0, 0x1a2b3c4d, le);
    w16(body, 4, major, le);
    w16(body, 6, 0, le);
    body.fill(0xff, 8, 16); // section length -1: not given
    return this.block(0x0a0d0d0a, body);
  }

  idb(linkType: number, o: IdbOptions = {}): this {
    const fixed = Buffer.alloc(8);
    w16(fixed, 0, linkType, this.le);
    w32(fixed, 4, o.snapLen ?? 0, this.le);
    const opts: Buffer[] = [];
    if (o.tsresol !== undefined) opts.push(this.option(9, Buffer.from([o.tsresol])));
    if (o.tsoffset !== undefined) opts.push(this.option(14, this.u64(BigInt(o.tsoffset))));
    if (opts.length > 0) opts.push(this.option(0, Buffer.alloc(0)));
    return this.block(1, Buffer.concat([fixed, ...opts]));
  }

  /** ts is in the interface's units. */
  epb(ifId: number, ts: bigint, data: Uint8Array, origLen = data.length, capLen = data.length): this {
    const fixed = Buffer.alloc(20);
    w32(fixed, 0, ifId, this.le);
    w32(fixed, 4, Number(ts >> 32n), this.le);
    w32(fixed, 8, Number(ts & 0xffffffffn), this.le);
    w32(fixed, 12, capLen, this.le);
    w32(fixed, 16, origLen, this.le);
    return this.block(6, Buffer.concat([fixed, pad4(data)]));
  }

  spb(data: Uint8Array, origLen = data.length): this {
    const fixed = Buffer.alloc(4);
    w32(fixed, 0, origLen, this.le);
    return this.block(3, Buffer.concat([fixed, pad4(data)]));
  }

  /** Obsolete Packet Block (type 2). */
  pb(ifId: number, ts: bigint, data: Uint8Array, origLen = data.length): this {
    const fixed = Buffer.alloc(20);
    w16(fixed, 0, ifId, this.le);
    w16(fixed, 2, 0xffff, this.le);
    w32(fixed, 4, Number(ts >> 32n), this.le);
    w32(fixed, 8, Number(ts & 0xffffffffn), this.le);
    w32(fixed, 12, data.length, this.le);
    w32(fixed, 16, origLen, this.le);
    return this.block(2, Buffer.concat([fixed, pad4(data)]));
  }

  isb(ifId: number, drops: { ifdrop?: number; osdrop?: number }): this {
    const fixed = Buffer.alloc(12);
    w32(fixed, 0, ifId, this.le);
    const opts: Buffer[] = [this.option(4, this.u64(1000n))]; // isb_ifrecv, ignored
    if (drops.ifdrop !== undefined) opts.push(this.option(5, this.u64(BigInt(drops.ifdrop))));
    if (drops.osdrop !== undefined) opts.push(this.option(7, this.u64(BigInt(drops.osdrop))));
    opts.push(this.option(0, Buffer.alloc(0)));
    return this.block(5, Buffer.concat([fixed, ...opts]));
  }

  /** Any block with the given body (NRB 4, DSB 0x0a, custom 0xbad, unknown types ...). */
  block(type: number, body: Uint8Array): this {
    const padded = pad4(body);
    const len = 12 + padded.length;
    const head = Buffer.alloc(8);
    w32(head, 0, type, this.le);
    w32(head, 4, len, this.le);
    const tail = Buffer.alloc(4);
    w32(tail, 0, len, this.le);
    this.parts.push(head, padded, tail);
    return this;
  }

  /** Raw bytes, for damage. */
  raw(bytes: Uint8Array): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }

  build(): Buffer {
    return Buffer.concat(this.parts);
  }

  private option(code: number, value: Buffer): Buffer {
    const head = Buffer.alloc(4);
    w16(head, 0, code, this.le);
    w16(head, 2, value.length, this.le);
    return Buffer.concat([head, pad4(value)]);
  }

  private u64(v: bigint): Buffer {
    const b = Buffer.alloc(8);
    if (this.le) b.writeBigUInt64LE(BigInt.asUintN(64, v));
    else b.writeBigUInt64BE(BigInt.asUintN(64, v));
    return b;
  }
}

function pad4(b: Uint8Array): Buffer {
  const out = Buffer.alloc((b.length + 3) & ~3);
  out.set(b);
  return out;
}

function w16(b: Buffer, o: number, v: number, le: boolean): void {
  if (le) b.writeUInt16LE(v, o);
  else b.writeUInt16BE(v, o);
}

function w32(b: Buffer, o: number, v: number, le: boolean): void {
  if (le) b.writeUInt32LE(v >>> 0, o);
  else b.writeUInt32BE(v >>> 0, o);
}

export interface Seen {
  tsUs: number;
  linkType: number;
  capLen: number;
  origLen: number;
  hex: string;
}

/** Parses buf pushed in pieces cut at `cuts`; returns copies of every packet and the stats. */
export function parseCapture(buf: Uint8Array, cuts: number[] = []): { packets: Seen[]; stats: CaptureStats } {
  const packets: Seen[] = [];
  const parser = new CaptureParser((p: Packet) => {
    packets.push({
      tsUs: p.tsUs, linkType: p.linkType, capLen: p.capLen, origLen: p.origLen,
      hex: Buffer.from(p.data.subarray(p.offset, p.offset + p.capLen)).toString('hex'),
    });
  }, 'test.pcap');
  let prev = 0;
  for (const c of [...cuts, buf.length]) {
    parser.push(buf.subarray(prev, c));
    prev = c;
  }
  parser.end();
  return { packets, stats: parser.stats };
}
