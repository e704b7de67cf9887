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

  test('an absurd captured length stops reading with a warning', () => {
    const recs = [...RECORDS.slice(0, 2), { sec: 1, frac: 0, data: Buffer.from('xxxx'), capLen: 0x7fffffff }, RECORDS[3]!];
    const buf = buildPcap({}, recs);
    for (const cuts of [[], [60], [24 + 28 + 19 + 4]]) {
      const { packets, stats } = parse(buf, cuts);
      expect(packets.length).toBe(2);
      expect(stats.skippedBytes).toBe(buf.length - (24 + 28 + 19));
      expect(stats.truncatedRecords).toBe(0);
      expect(stats.warnings).toEqual([
        'test.pcap: pcap record at byte 71 claims 2147483647 captured bytes (limit 262144); the file is damaged, the rest of it is skipped',
      ]);
    }
  });
});
