import { describe, expect, test } from 'vitest';
import { buildPcap, parseCapture as parse, type PcapRecord } from './helpers/pcap-build.js';

const RECORDS: PcapRecord[] = [
  { sec: 1700000000, frac: 1, data: Buffer.from('first packet') },
  { sec: 1700000001, frac: 999999, data: Buffer.from('2nd'), origLen: 1500 },
  { sec: 1700000002, frac: 500000, data: Buffer.alloc(0) },
  { sec: 4000000000, frac: 0, data: Buffer.from('after 2038, before 2106') },
];

describe('classic pcap', () => {
  test.each([
    { le: true, ns: false, format: 'pcap' },
    { le: false, ns: false, format: 'pcap' },
    { le: true, ns: true, format: 'pcap-ns' },
    { le: false, ns: true, format: 'pcap-ns' },
  ])('byte order le=$le, ns=$ns', ({ le, ns, format }) => {
    const recs = RECORDS.map((r) => ({ ...r, frac: ns ? r.frac * 1000 + 7 : r.frac }));
    const { packets, stats } = parse(buildPcap({ le, ns, linkType: 113 }, recs));
    expect(packets.map((p) => p.tsUs)).toEqual(
      RECORDS.map((r) => r.sec * 1e6 + r.frac + (ns ? 0.007 : 0)),
    );
    expect(packets.map((p) => Buffer.from(p.hex, 'hex').toString())).toEqual(RECORDS.map((r) => r.data.toString()));
    expect(packets.map((p) => p.origLen)).toEqual([12, 1500, 0, 23]);
    expect(packets.every((p) => p.linkType === 113)).toBe(true);
    expect(stats).toMatchObject({
      format, packets: 4, bytes: 38, snappedPackets: 1, truncatedRecords: 0, skippedBytes: 0, warnings: [],
    });
  });

  test('FCS bits in the upper LinkType field are masked off', () => {
    const { packets } = parse(buildPcap({ linkType: 0x40000000 | 0x04000000 | 1 }, RECORDS));
    expect(packets[0]!.linkType).toBe(1);
  });

  test('every split offset gives the same packets', () => {
    const buf = buildPcap({ le: false, ns: true }, RECORDS);
    const whole = parse(buf);
    for (let cut = 0; cut <= buf.length; cut++) {
      expect(parse(buf, [cut])).toEqual(whole);
    }
    const bytewise = parse(buf, Array.from({ length: buf.length }, (_, i) => i));
    expect(bytewise).toEqual(whole);
  });

  test('a record cut by the end of the file: earlier packets delivered, one truncated record', () => {
    const buf = buildPcap({}, RECORDS);
    for (const cutBack of [1, 10, 16, 16 + 22]) {
      const { packets, stats } = parse(buf.subarray(0, buf.length - cutBack));
      expect(packets.length).toBe(3);
      expect(stats.truncatedRecords).toBe(1);
      expect(stats.skippedBytes).toBe(16 + 23 - cutBack);
      expect(stats.warnings).toHaveLength(1);
      expect(stats.warnings[0]).toMatch(/^test\.pcap: the last record is cut short/);
    }
  });

  test('a file cut inside its header', () => {
    const { packets, stats } = parse(buildPcap({}, []).subarray(0, 10));
    expect(packets).toEqual([]);
    expect(stats.skippedBytes).toBe(10);
    expect(stats.warnings[0]).toMatch(/ends inside the pcap file header/);
  });

  test('an absurd captured length with nothing plausible after it: the rest is skipped, with a warning', () => {
    // RECORDS[3] is 73 years after the last good record: not a header to resume at.
    const recs = [...RECORDS.slice(0, 2), { sec: 1, frac: 0, data: Buffer.from('xxxx'), capLen: 0x7fffffff }, RECORDS[3]!];
    const buf = buildPcap({}, recs);
    for (const cuts of [[], [60], [24 + 28 + 19 + 4]]) {
      const { packets, stats } = parse(buf, cuts);
      expect(packets.length).toBe(2);
      expect(stats.skippedBytes).toBe(buf.length - (24 + 28 + 19));
      expect(stats.truncatedRecords).toBe(0);
      expect(stats.warnings).toEqual([
        'test.pcap: damaged pcap record header at byte 71; no good record after it, the rest of the file skipped',
      ]);
    }
  });

  // A run of good records, then damage, then good records again: the reader resumes at the
  // first header that is plausible and followed by another plausible one.
  const GOOD: PcapRecord[] = Array.from({ length: 8 }, (_, i) => ({ sec: 1700000000 + i, frac: i * 1000, data: Buffer.from(`packet ${i} `.repeat(i + 1)) }));
  const DAMAGE: Array<[string, (b: Buffer, at: number) => Buffer]> = [
    // A length field 4 too large: every later header is read 4 bytes late.
    ['a captured length 4 too large', (b, at) => { b.writeUInt32LE(b.readUInt32LE(at + 8) + 4, at + 8); b.writeUInt32LE(b.readUInt32LE(at + 12) + 4, at + 12); return b; }],
    ['garbage bytes between two records', (b, at) => Buffer.concat([b.subarray(0, at), Buffer.from('\x00\x01garbage\xff\xff\xff\x7f!!', 'latin1'), b.subarray(at)])],
    ['a header overwritten with 0xff', (b, at) => { b.fill(0xff, at, at + 16); return b; }],
  ];
  test.each(DAMAGE)('%s: later records are read again, and the skip is counted', (_name, damage) => {
    const clean = buildPcap({}, GOOD);
    // Offset of record 3's header.
    let at = 24;
    for (let i = 0; i < 3; i++) at += 16 + GOOD[i]!.data.length;
    const buf = damage(Buffer.from(clean), at);
    const whole = parse(buf);
    const seen = whole.packets.map((p) => Buffer.from(p.hex, 'hex').toString());
    expect(seen.slice(0, 3)).toEqual(GOOD.slice(0, 3).map((r) => r.data.toString()));
    // Record 3 (or its damaged remains) is lost at most; records 5-7 come back whole.
    expect(seen.slice(-3)).toEqual(GOOD.slice(5).map((r) => r.data.toString()));
    expect(whole.packets.length).toBeGreaterThanOrEqual(GOOD.length - 2);
    expect(whole.stats.skippedBytes).toBeGreaterThan(0);
    // The damage shows at record 3's header, or at the next one when record 3's length is off.
    expect(whole.stats.warnings).toHaveLength(1);
    const [, where, skipped] = /^test\.pcap: damaged pcap record header at byte (\d+); (\d+) bytes skipped to the next good record$/.exec(whole.stats.warnings[0]!) ?? [];
    expect(Number(where)).toBeGreaterThanOrEqual(at);
    expect(Number(skipped)).toBe(whole.stats.skippedBytes);
    // Byte-exact accounting: every byte is a file header, a delivered record, or skipped.
    const delivered = whole.packets.reduce((n, p) => n + 16 + p.hex.length / 2, 0);
    expect(24 + delivered + whole.stats.skippedBytes).toBe(buf.length);
    // The same whatever the chunking.
    for (const cut of [at - 3, at + 5, at + 17, buf.length - 20]) expect(parse(buf, [cut])).toEqual(whole);
    expect(parse(buf, Array.from({ length: buf.length }, (_, i) => i))).toEqual(whole);
  });
});
