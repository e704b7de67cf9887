/**
 * Packets packed into one transferable buffer for a shard's worker, in capture order, with
 * the records that must reach every shard at their place in the stream (capture time passing).
 * Record: kind u32, linkType u32, tsUs f64, origLen u32, capLen u32, then capLen frame bytes,
 * padded so the next record starts on 8 bytes. The buffer goes to the worker and back, so a
 * batch costs one copy of each frame and no allocation once the pool is warm.
 */
import type { Packet } from '../../capture/packet.js';

export const RECORD = {
  /** A captured frame. */
  PACKET: 0,
  /** Capture time reached tsUs (packets of other shards): connections may time out. */
  TICK: 1,
  /** A server endpoint of another shard's connection (ip as latin1 bytes, port in origLen). */
  SERVER: 2,
} as const;

const HEADER_BYTES = 24;
/** A batch is handed over once it holds this much, or at the end of a read. */
export const BATCH_BYTES = 256 * 1024;

export class BatchWriter {
  buf: ArrayBuffer;
  private u8: Uint8Array;
  private dv: DataView;
  len = 0;
  packets = 0;
  /** Where the last tick record starts (-1: none in this batch). */
  private lastTickAt = -1;

  constructor(buf: ArrayBuffer = new ArrayBuffer(BATCH_BYTES * 2)) {
    this.buf = buf;
    this.u8 = new Uint8Array(buf);
    this.dv = new DataView(buf);
  }

  get full(): boolean {
    return this.len >= BATCH_BYTES;
  }

  packet(p: Packet): void {
    const at = this.record(RECORD.PACKET, p.linkType, p.tsUs, p.origLen, p.capLen);
    this.u8.set(p.data.subarray(p.offset, p.offset + p.capLen), at);
    this.len = (at + p.capLen + 7) & ~7;
    this.packets++;
  }

  /** Capture time reached tsUs; a tick right after another replaces it. */
  tick(tsUs: number): void {
    if (this.lastTickAt >= 0 && this.lastTickAt + HEADER_BYTES === this.len) {
      this.dv.setFloat64(this.lastTickAt + 8, tsUs, true);
      return;
    }
    this.lastTickAt = this.len;
    this.len = this.record(RECORD.TICK, 0, tsUs, 0, 0);
  }

  server(ip: string, port: number): void {
    const at = this.record(RECORD.SERVER, 0, 0, port, ip.length);
    for (let i = 0; i < ip.length; i++) this.u8[at + i] = ip.charCodeAt(i);
    this.len = (at + ip.length + 7) & ~7;
  }

  /** Hands the buffer over; the writer starts again on `next` (a returned buffer, or a new one). */
  take(next: ArrayBuffer | null): { buf: ArrayBuffer; len: number } {
    const out = { buf: this.buf, len: this.len };
    this.buf = next ?? new ArrayBuffer(BATCH_BYTES * 2);
    this.u8 = new Uint8Array(this.buf);
    this.dv = new DataView(this.buf);
    this.len = 0;
    this.packets = 0;
    this.lastTickAt = -1;
    return out;
  }

  /** Writes a header; returns where the frame bytes go. */
  private record(kind: number, linkType: number, tsUs: number, origLen: number, capLen: number): number {
    const need = this.len + HEADER_BYTES + capLen + 8;
    if (need > this.buf.byteLength) this.grow(need);
    const dv = this.dv;
    const at = this.len;
    dv.setUint32(at, kind, true);
    dv.setUint32(at + 4, linkType, true);
    dv.setFloat64(at + 8, tsUs, true);
    dv.setUint32(at + 16, origLen, true);
    dv.setUint32(at + 20, capLen, true);
    return at + HEADER_BYTES;
  }

  /** A frame bigger than the batch (jumbo, or a 256 KiB snap length): room for it. */
  private grow(need: number): void {
    const bigger = new ArrayBuffer(Math.max(need, 2 * this.buf.byteLength));
    new Uint8Array(bigger).set(this.u8.subarray(0, this.len));
    this.buf = bigger;
    this.u8 = new Uint8Array(bigger);
    this.dv = new DataView(bigger);
  }
}

/** Reads a batch back: each frame as one reused Packet (valid during the call), each tick and server. */
export interface BatchReader {
  packet(p: Packet): void;
  tick(tsUs: number): void;
  server(ip: string, port: number): void;
}

export function readBatch(buf: ArrayBuffer, len: number, to: BatchReader): void {
  const dv = new DataView(buf);
  const data = new Uint8Array(buf);
  const p: Packet = { tsUs: 0, linkType: 0, data, offset: 0, capLen: 0, origLen: 0 };
  let at = 0;
  while (at < len) {
    const kind = dv.getUint32(at, true);
    const tsUs = dv.getFloat64(at + 8, true);
    const capLen = dv.getUint32(at + 20, true);
    if (kind === RECORD.TICK) to.tick(tsUs);
    else if (kind === RECORD.SERVER) to.server(String.fromCharCode.apply(null, data.subarray(at + HEADER_BYTES, at + HEADER_BYTES + capLen) as unknown as number[]), dv.getUint32(at + 16, true));
    else {
      p.tsUs = tsUs;
      p.linkType = dv.getUint32(at + 4, true);
      p.origLen = dv.getUint32(at + 16, true);
      p.capLen = capLen;
      p.offset = at + HEADER_BYTES;
      to.packet(p);
    }
    at = (at + HEADER_BYTES + capLen + 7) & ~7;
  }
}
