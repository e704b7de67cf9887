import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { Packet } from '../src/capture/packet.js';
import { PcapWriter } from '../src/capture/pcap-writer.js';
import { UserError } from '../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pcap-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LINKTYPE_ETHERNET = 1;

function have(tool: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
  if (!found) console.warn(`pcap-writer: '${tool}' not installed, skipping the check that reads our files with it`);
  return found;
}
const HAVE_TCPDUMP = have('tcpdump');
const HAVE_TSHARK = have('tshark');

/** Ethernet + IPv4 + TCP 127.0.0.1:40000 -> 127.0.0.1:6379 carrying `payload`, checksums left 0. */
function frame(payload: Buffer, seq: number): Buffer {
  const f = Buffer.alloc(14 + 20 + 20 + payload.length);
  f.writeUInt16BE(0x0800, 12); // EtherType IPv4
  f[14] = 0x45; // version 4, 5 words
  f.writeUInt16BE(20 + 20 + payload.length, 16);
  f[22] = 64; // TTL
  f[23] = 6; // TCP
  f.writeUInt32BE(0x7f000001, 26);
  f.writeUInt32BE(0x7f000001, 30);
  f.writeUInt16BE(40000, 34);
  f.writeUInt16BE(6379, 36);
  f.writeUInt32BE(seq, 38);
  f[46] = 5 << 4; // data offset 5 words
  f[47] = 0x18; // PSH ACK
  f.writeUInt16BE(65535, 48);
  payload.copy(f, 54);
  return f;
}

interface Written {
  sec: number;
  /** Microseconds or nanoseconds, as the file holds them. */
  frac: number;
  bytes: Buffer;
  origLen: number;
}

/** Writes `count` frames (sizes 60..1460 B, so the batch is flushed several times), some past the snap length. */
function writeSample(path: string, nanos: boolean, count: number, snaplen: number): Written[] {
  const w = PcapWriter.open(path, LINKTYPE_ETHERNET, snaplen, nanos);
  const expected: Written[] = [];
  const p: Packet = { tsUs: 0, linkType: LINKTYPE_ETHERNET, data: new Uint8Array(0), offset: 0, capLen: 0, origLen: 0 };
  let seq = 1;
  for (let i = 0; i < count; i++) {
    const sec = 1_700_000_000 + Math.floor(i / 7);
    const us = (i * 137_911) % 1_000_000;
    const quarter = i % 4; // 0.25 us steps are exact in a double at today's epoch
    const payload = Buffer.alloc((i * 53) % 1400, 0x61 + (i % 26));
    const f = frame(payload, seq);
    seq += payload.length;
    // put the frame at an offset inside a larger buffer, as a capture reader would
    const backing = Buffer.alloc(f.length + 10);
    f.copy(backing, 3);
    p.tsUs = sec * 1e6 + us + (nanos ? quarter * 0.25 : 0);
    p.data = backing;
    p.offset = 3;
    p.capLen = f.length;
    p.origLen = f.length;
    w.write(p);
    const kept = Math.min(f.length, snaplen);
    expected.push({ sec, frac: nanos ? us * 1000 + quarter * 250 : us, bytes: f.subarray(0, kept), origLen: f.length });
  }
  w.close();
  expect(w.packets).toBe(count);
  return expected;
}

/** Reads our own output back field by field (little-endian, as the writer writes). */
function readBack(path: string): { magic: number; snaplen: number; linkType: number; records: Written[] } {
  const b = readFileSync(path);
  const records: Written[] = [];
  let at = 24;
  while (at < b.length) {
    const incl = b.readUInt32LE(at + 8);
    records.push({
      sec: b.readUInt32LE(at),
      frac: b.readUInt32LE(at + 4),
      origLen: b.readUInt32LE(at + 12),
      bytes: b.subarray(at + 16, at + 16 + incl),
    });
    at += 16 + incl;
  }
  expect(at).toBe(b.length);
  expect([b.readUInt16LE(4), b.readUInt16LE(6)]).toEqual([2, 4]);
  return { magic: b.readUInt32LE(0), snaplen: b.readUInt32LE(16), linkType: b.readUInt32LE(20), records };
}

function stamp(w: Written, nanos: boolean): string {
  return `${w.sec}.${String(w.frac).padStart(nanos ? 9 : 6, '0')}`;
}

describe.each([
  { nanos: false, magic: 0xa1b2c3d4 },
  { nanos: true, magic: 0xa1b23c4d },
])('PcapWriter nanos=$nanos', ({ nanos, magic }) => {
  const COUNT = 3000; // ~2.2 MB: the 1 MiB batch is written three times
  const SNAPLEN = 1200; // the larger frames are cut
  const path = join(dir, nanos ? 'ns.pcap' : 'us.pcap');
  const expected = writeSample(path, nanos, COUNT, SNAPLEN);

  test('records hold the timestamps, bytes and lengths written', () => {
    const { magic: m, snaplen, linkType, records } = readBack(path);
    expect(m).toBe(magic);
    expect(snaplen).toBe(SNAPLEN);
    expect(linkType).toBe(LINKTYPE_ETHERNET);
    expect(records.length).toBe(COUNT);
    expect(records.filter((r) => r.bytes.length < r.origLen).length).toBeGreaterThan(100);
    const head = (r: Written) => [r.sec, r.frac, r.bytes.length, r.origLen];
    expect(records.map(head)).toEqual(expected.map(head));
    const differing = records.filter((r, i) => !r.bytes.equals(expected[i]!.bytes)).length;
    expect(differing).toBe(0);
  });

  test.skipIf(!HAVE_TCPDUMP)('tcpdump reads every packet with the same timestamps', () => {
    const args = ['-r', path, '-nn', '-tt', ...(nanos ? ['--time-stamp-precision=nano'] : [])];
    const out = execFileSync('tcpdump', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
    const stamps = out.trimEnd().split('\n').map((line) => line.split(' ')[0]);
    expect(stamps).toEqual(expected.map((w) => stamp(w, nanos)));
  });

  test.skipIf(!HAVE_TSHARK)('tshark reads every packet with the same timestamps and lengths', () => {
    const out = execFileSync(
      'tshark',
      ['-r', path, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 },
    );
    const rows = out.trimEnd().split('\n').map((line) => line.split('\t'));
    expect(rows.length).toBe(COUNT);
    rows.forEach(([epoch, capLen, len], i) => {
      const w = expected[i]!;
      // tshark prints nine fraction digits; a microsecond file ends in 000
      const [sec, frac] = epoch!.split('.');
      expect(`${sec}.${frac!.padEnd(9, '0')}`).toBe(`${w.sec}.${String(nanos ? w.frac : w.frac * 1000).padStart(9, '0')}`);
      expect([Number(capLen), Number(len)]).toEqual([w.bytes.length, w.origLen]);
    });
  });
});

describe('PcapWriter edges', () => {
  test('a rounding carry moves into the next second', () => {
    const path = join(dir, 'carry.pcap');
    const w = PcapWriter.open(path, LINKTYPE_ETHERNET, 100, true);
    const data = Buffer.alloc(60);
    // 0.9999995 s rounds to 1e9 ns
    w.write({ tsUs: 1_700_000_000_999_999.5, linkType: 1, data, offset: 0, capLen: 60, origLen: 60 });
    w.close();
    const { records } = readBack(path);
    expect(records[0]).toMatchObject({ sec: 1_700_000_000, frac: 999_999_500 });
  });

  test('an empty capture is a valid file', () => {
    const path = join(dir, 'empty.pcap');
    PcapWriter.open(path, 113).close();
    const b = readFileSync(path);
    expect(b.length).toBe(24);
    expect(b.readUInt32LE(20)).toBe(113);
    expect(b.readUInt32LE(16)).toBe(262_144);
  });

  test('close is idempotent and write after close is a bug', () => {
    const w = PcapWriter.open(join(dir, 'closed.pcap'), 1);
    w.close();
    w.close();
    expect(() => w.write({ tsUs: 0, linkType: 1, data: Buffer.alloc(1), offset: 0, capLen: 1, origLen: 1 })).toThrow(
      /after close/,
    );
  });

  test('an unwritable path is one line for the user, exit code 2', () => {
    const path = join(dir, 'no-such-dir', 'x.pcap');
    let err: unknown;
    try {
      PcapWriter.open(path, 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(`cannot write capture file '${path}': no such file or directory`);
    expect((err as UserError).exitCode).toBe(2);
  });
});
