import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { readCaptureFile } from '../src/capture/file-reader.js';
import { UserError } from '../src/errors.js';
import { PcapngBuilder, buildPcap, type PcapRecord } from './helpers/pcap-build.js';

const dir = mkdtempSync(join(tmpdir(), 'redis-tap-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: Uint8Array | string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

function readAll(path: string, chunkBytes?: number): { list: string[]; progress: Array<[number, number]> } {
  const list: string[] = [];
  const progress: Array<[number, number]> = [];
  const opts = chunkBytes === undefined ? {} : { chunkBytes };
  readCaptureFile(path, (p) => list.push(`${p.tsUs} ${p.linkType} ${Buffer.from(p.data.subarray(p.offset, p.offset + p.capLen)).toString('hex')}`),
    { ...opts, onProgress: (r, t) => progress.push([r, t]) });
  return { list, progress };
}

describe('readCaptureFile errors: one line for the user', () => {
  mkdirSync(join(dir, 'a-directory'));
  test.each([
    { name: 'text file', path: () => file('notes.txt', 'GET / HTTP/1.1\r\n'), msg: (p: string) => `${p}: not a pcap or pcapng capture file (starts with 47 45 54 20)` },
    { name: 'gzip file', path: () => file('x.pcap.gz', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0])), msg: (p: string) => `${p}: not a pcap or pcapng capture file (starts with 1f 8b 08 00)` },
    { name: 'two bytes', path: () => file('two', Buffer.from([0xd4, 0xc3])), msg: (p: string) => `${p}: not a pcap or pcapng capture file (starts with d4 c3)` },
    { name: 'empty file', path: () => file('empty.pcap', ''), msg: (p: string) => `${p}: empty file` },
    { name: 'missing file', path: () => join(dir, 'nope.pcap'), msg: (p: string) => `${p}: cannot open: no such file or directory` },
    { name: 'directory', path: () => join(dir, 'a-directory'), msg: (p: string) => `${p}: is a directory, not a capture file` },
  ])('$name', ({ path, msg }) => {
    const p = path();
    let err: unknown = null;
    try {
      readCaptureFile(p, () => {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(msg(p));
    expect((err as UserError).exitCode).toBe(2);
    expect((err as UserError).message).not.toContain('\n');
  });
});

describe('readCaptureFile', () => {
  const records: PcapRecord[] = [];
  for (let i = 0; i < 3000; i++) {
    records.push({ sec: 1700000000 + (i >> 4), frac: i * 37, data: Buffer.alloc(1 + ((i * 7919) % 1500), i & 0xff) });
  }
  const pcap = file('many.pcap', buildPcap({ ns: true }, records));
  const ng = new PcapngBuilder().shb().idb(1, { tsresol: 9 });
  for (const r of records) ng.epb(0, BigInt(r.sec) * 1_000_000_000n + BigInt(r.frac), r.data);
  const pcapng = file('many.pcapng', ng.build());

  test.each([
    { name: 'pcap', path: pcap },
    { name: 'pcapng', path: pcapng },
  ])('$name: small chunks give the same packets as big ones, progress reaches the size', ({ path }) => {
    const big = readAll(path);
    const small = readAll(path, 4096);
    expect(big.list).toHaveLength(3000);
    expect(small.list).toEqual(big.list);
    const size = big.progress[big.progress.length - 1]![1];
    expect(small.progress[small.progress.length - 1]).toEqual([size, size]);
    expect(small.progress.length).toBeGreaterThan(100);
  });

  test('pcap and pcapng of the same packets read the same', () => {
    const a = readAll(pcap).list.map((l) => l.split(' ').slice(1).join(' '));
    const b = readAll(pcapng).list.map((l) => l.split(' ').slice(1).join(' '));
    expect(b).toEqual(a);
  });

  test('stats of a file cut mid-record', () => {
    const whole = buildPcap({}, records.slice(0, 10));
    const p = file('cut.pcap', whole.subarray(0, whole.length - 3));
    let n = 0;
    const stats = readCaptureFile(p, () => n++);
    expect(n).toBe(9);
    expect(stats).toMatchObject({ format: 'pcap', packets: 9, truncatedRecords: 1 });
    expect(stats.warnings[0]).toContain(p);
  });
});
