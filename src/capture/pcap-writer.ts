/**
 * Writes frames as a classic pcap file (https://www.tcpdump.org/manpages/pcap-savefile.5.html),
 * little-endian; readers tell the byte order from the magic number.
 * Records are gathered in one buffer and written with one fs.writeSync per batch.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { UserError } from '../errors.js';
import type { Packet } from './packet.js';

/** File header magic: the reader sees it byte-swapped when the writer's byte order differs. */
const PCAP_MAGIC = {
  /** Record timestamps in microseconds. */
  micros: 0xa1b2c3d4,
  /** Record timestamps in nanoseconds. */
  nanos: 0xa1b23c4d,
} as const;
/** File format version 2.4, the only one readers know. */
const VERSION_MAJOR = 2;
const VERSION_MINOR = 4;
const FILE_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;
/** Default snap length written in the header, as tcpdump's. */
const DEFAULT_SNAPLEN = 262_144;
/** Batch size: one write per this many bytes of records. */
const BATCH_BYTES = 1 << 20;

export class PcapWriter {
  private readonly batch: Buffer;
  private used = 0;
  private fd: number | null;
  private written = 0;

  private constructor(
    private readonly path: string,
    fd: number,
    readonly linkType: number,
    readonly snaplen: number,
    readonly nanos: boolean,
  ) {
    this.fd = fd;
    this.batch = Buffer.allocUnsafe(Math.max(BATCH_BYTES, FILE_HEADER_BYTES + RECORD_HEADER_BYTES + snaplen));
  }

  /** Creates or truncates `path` and writes the file header. */
  static open(path: string, linkType: number, snaplen = DEFAULT_SNAPLEN, nanos = false): PcapWriter {
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 0x7fffffff) {
      throw new UserError(`snap length must be a positive integer, got ${snaplen}`);
    }
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (err) {
      throw new UserError(`cannot write capture file '${path}': ${reason(err)}`);
    }
    const writer = new PcapWriter(path, fd, linkType, snaplen, nanos);
    writer.writeFileHeader();
    return writer;
  }

  /** Frames written so far. */
  get packets(): number {
    return this.written;
  }

  /** Appends one frame; bytes beyond the snap length are cut, its wire length is kept. */
  write(p: Packet): void {
    if (this.fd === null) throw new Error(`PcapWriter for '${this.path}' used after close()`);
    const capLen = Math.min(p.capLen, this.snaplen);
    if (this.used + RECORD_HEADER_BYTES + capLen > this.batch.length) this.flush();
    const b = this.batch;
    let at = this.used;
    let sec = Math.floor(p.tsUs / 1e6);
    let frac = this.nanos ? Math.round((p.tsUs - sec * 1e6) * 1000) : Math.floor(p.tsUs - sec * 1e6);
    if (frac >= (this.nanos ? 1e9 : 1e6)) {
      sec += 1; // rounding carried into the next second
      frac = 0;
    }
    b.writeUInt32LE(sec >>> 0, at);
    b.writeUInt32LE(frac, at + 4);
    b.writeUInt32LE(capLen, at + 8);
    b.writeUInt32LE(Math.max(p.origLen, capLen), at + 12);
    at += RECORD_HEADER_BYTES;
    b.set(p.data.subarray(p.offset, p.offset + capLen), at);
    this.used = at + capLen;
    this.written++;
  }

  /** Writes what is buffered and closes the file. Idempotent. */
  close(): void {
    if (this.fd === null) return;
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private writeFileHeader(): void {
    const b = this.batch;
    b.writeUInt32LE(this.nanos ? PCAP_MAGIC.nanos : PCAP_MAGIC.micros, 0);
    b.writeUInt16LE(VERSION_MAJOR, 4);
    b.writeUInt16LE(VERSION_MINOR, 6);
    b.writeInt32LE(0, 8); // thiszone: timestamps are UTC
    b.writeUInt32LE(0, 12); // sigfigs: always 0
    b.writeUInt32LE(this.snaplen, 16);
    b.writeUInt32LE(this.linkType >>> 0, 20);
    this.used = FILE_HEADER_BYTES;
  }

  private flush(): void {
    if (this.fd === null) return;
    let done = 0;
    try {
      while (done < this.used) done += writeSync(this.fd, this.batch, done, this.used - done);
    } catch (err) {
      throw new UserError(`cannot write capture file '${this.path}': ${reason(err)}`);
    }
    this.used = 0;
  }
}

/** "ENOENT: no such file or directory, open '/x'" -> "no such file or directory". */
function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return /^[A-Z]+: ([^,]+)/.exec(message)?.[1] ?? message;
}
