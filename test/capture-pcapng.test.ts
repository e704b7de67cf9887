import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { PcapngBuilder, buildPcap, parseCapture as parse } from './helpers/pcap-build.js';

const P1 = Buffer.from('packet one');
const P2 = Buffer.from('packet two, longer');
const P3 = Buffer.from('three');

/** Two interfaces: Ethernet in ns, Linux SLL2 in 2^-20 s with a 100 s offset. */
function twoInterfaces(le: boolean): PcapngBuilder {
  return new PcapngBuilder()
    .shb(le)
    .idb(1, { tsresol: 9, snapLen: 65535 })
    .idb(276, { tsresol: 0x80 | 20, tsoffset: 100 })
    .epb(0, 1700000000123456789n, P1)
    .epb(1, 1700000000n * 2n ** 20n + 2n ** 19n, P2, 1400)
    .epb(0, 1700000001000000000n, P3);
}

function near(a: number, b: number): boolean {
  return Math.abs(a - b) <= 0.25;
}

describe('pcapng', () => {
  test.each([true, false])('two interfaces with their own link type and ts resolution (le=%s)', (le) => {
    const { packets, stats } = parse(twoInterfaces(le).build());
    expect(packets.map((p) => [p.linkType, p.capLen, p.origLen])).toEqual([[1, 10, 10], [276, 18, 1400], [1, 5, 5]]);
    expect(packets.map((p) => Buffer.from(p.hex, 'hex').toString())).toEqual([P1, P2, P3].map(String));
    expect(near(packets[0]!.tsUs, 1700000000123456.789)).toBe(true);
    expect(packets[1]!.tsUs).toBe(1700000100_500000);
    expect(packets[2]!.tsUs).toBe(1700000001_000000);
    expect(stats).toMatchObject({ format: 'pcapng', packets: 3, bytes: 33, snappedPackets: 1, skippedBlocks: 0, warnings: [] });
    expect(stats.kernelDrops).toBeNull();
    expect(stats.interfaceDrops).toBeNull();
  });

  test('timestamps at the default resolution and at 10^-3 / 2^-10 s', () => {
    const buf = new PcapngBuilder().shb()
      .idb(1).idb(1, { tsresol: 3 }).idb(1, { tsresol: 0x80 | 10 })
      .epb(0, 1700000000654321n, P1).epb(1, 1700000000654n, P1).epb(2, 1700000000n * 1024n + 256n, P1).build();
    expect(parse(buf).packets.map((p) => p.tsUs)).toEqual([1700000000654321, 1700000000654000, 1700000000250000]);
  });

  test('sections in different byte orders each bring their own interfaces', () => {
    const buf = new PcapngBuilder()
      .shb(true).idb(1).epb(0, 1n, P1)
      .shb(false).idb(101).idb(228).epb(1, 2n, P2).epb(0, 3n, P3)
      .build();
    const { packets, stats } = parse(buf);
    expect(packets.map((p) => [p.linkType, p.tsUs])).toEqual([[1, 1], [228, 2], [101, 3]]);
    expect(stats.warnings).toEqual([]);
  });

  test('simple packet blocks: interface 0, cut to the snap length, previous timestamp', () => {
    const buf = new PcapngBuilder().shb().idb(1, { snapLen: 8 }).epb(0, 42n, P1).spb(P2).spb(P3).build();
    const { packets, stats } = parse(buf);
    expect(packets.map((p) => [p.capLen, p.origLen, p.tsUs, Buffer.from(p.hex, 'hex').toString()])).toEqual([
      [10, 10, 42, 'packet one'], [8, 18, 42, 'packet t'], [5, 5, 42, 'three'],
    ]);
    expect(stats.snappedPackets).toBe(1);
  });

  test('the obsolete packet block (type 2)', () => {
    const buf = new PcapngBuilder().shb().idb(113).idb(1).pb(1, 7n, P2, 100).build();
    expect(parse(buf).packets).toEqual([{ tsUs: 7, linkType: 1, capLen: 18, origLen: 100, hex: P2.toString('hex') }]);
  });

  test('interface statistics: latest block per interface, summed over interfaces', () => {
    const buf = twoInterfaces(true)
      .isb(0, { ifdrop: 5, osdrop: 1 })
      .isb(1, { ifdrop: 3, osdrop: 2 })
      .isb(0, { ifdrop: 7 })
      .build();
    const { stats } = parse(buf);
    expect([stats.kernelDrops, stats.interfaceDrops]).toEqual([7 + 3, 1 + 2]);
  });

  test('name resolution, decryption secrets, journal and custom blocks are skipped silently', () => {
    const buf = new PcapngBuilder().shb().idb(1)
      .block(4, Buffer.alloc(8)).block(0x0a, Buffer.alloc(12)).block(9, Buffer.from('x=1\n'))
      .block(0xbad, Buffer.alloc(8)).block(0x40000bad, Buffer.alloc(4))
      .epb(0, 1n, P1).build();
    const { packets, stats } = parse(buf);
    expect(packets).toHaveLength(1);
    expect(stats).toMatchObject({ skippedBlocks: 0, skippedBytes: 0, warnings: [] });
  });

  test('an unknown block type is skipped by its length and counted', () => {
    const buf = new PcapngBuilder().shb().idb(1).block(0x1234, Buffer.alloc(8)).block(0x1234, Buffer.alloc(0)).epb(0, 1n, P1).build();
    const { packets, stats } = parse(buf);
    expect(packets).toHaveLength(1);
    expect(stats.skippedBlocks).toBe(2);
    expect(stats.warnings).toEqual(['test.pcap: skipped pcapng blocks of unknown type 0x1234']);
  });

  test('unusable packet blocks with sound framing are skipped by length', () => {
    const buf = new PcapngBuilder().shb().idb(1)
      .epb(3, 1n, P1) // undeclared interface
      .epb(0, 2n, P1, 10, 5000) // claims more than the block holds
      .epb(0, 3n, P3).build();
    const { packets, stats } = parse(buf);
    expect(packets.map((p) => p.tsUs)).toEqual([3]);
    expect(stats.skippedBlocks).toBe(2);
    expect(stats.skippedBytes).toBe(0);
  });

  test('a block with a broken length: skipped bytes counted, reading resumes at the next block', () => {
    const garbage = Buffer.from([6, 0, 0, 0, 11, 0, 0, 0, 0x41, 0x42]);
    const b = twoInterfaces(true).raw(garbage).epb(0, 5n, P3);
    const { packets, stats } = parse(b.build());
    expect(packets.map((p) => p.tsUs)).toEqual([packets[0]!.tsUs, packets[1]!.tsUs, 1700000001000000, 0.005]);
    expect(stats).toMatchObject({ skippedBlocks: 1, skippedBytes: 10, truncatedRecords: 0 });
    expect(stats.warnings[0]).toMatch(/^test\.pcap: pcapng block at byte \d+: block length 11 is impossible; skipping/);
  });

  test('a trailing length that does not match: resync finds the next block', () => {
    const bad = new PcapngBuilder().epb(0, 9n, P2).build();
    bad.writeUInt32LE(12345, bad.length - 4);
    const buf = new PcapngBuilder().shb().idb(1).epb(0, 1n, P1).raw(bad).epb(0, 2n, P3).build();
    const { packets, stats } = parse(buf);
    expect(packets.map((p) => p.tsUs)).toEqual([1, 2]);
    expect(stats.skippedBytes).toBe(bad.length);
    expect(stats.skippedBlocks).toBe(1);
  });

  test('a length field that runs past the end of the file: the blocks inside it are recovered', () => {
    const buf = twoInterfaces(true).epb(0, 5n, P1).epb(0, 6n, P2).build();
    const third = buf.length - 52 - 44 - 40; // the EPB of P3, before those of P1 (44 bytes) and P2 (52)
    expect(buf.readUInt32LE(third)).toBe(6);
    buf.writeUInt32LE(0x100000, third + 4);
    const { packets, stats } = parse(buf);
    expect(packets.map((p) => Buffer.from(p.hex, 'hex').toString())).toEqual(['packet one', 'packet two, longer', 'packet one', 'packet two, longer']);
    expect(stats).toMatchObject({ truncatedRecords: 0, skippedBlocks: 1, skippedBytes: 40 });
    expect(stats.warnings[0]).toMatch(/block length 1048576 runs past the end of the input/);
  });

  test('a block cut by the end of the file', () => {
    const buf = twoInterfaces(false).build();
    const { packets, stats } = parse(buf.subarray(0, buf.length - 6));
    expect(packets).toHaveLength(2);
    expect(stats.truncatedRecords).toBe(1);
    expect(stats.skippedBytes).toBe(32 + 8 - 6);
  });

  test('every split offset gives the same packets and stats, damaged file included', () => {
    const good = twoInterfaces(false).isb(1, { osdrop: 4 }).build();
    const damaged = twoInterfaces(true).raw(Buffer.from([6, 0, 0, 0, 11, 0, 0, 0, 1, 2])).epb(0, 5n, P3).build();
    const longLength = twoInterfaces(false).epb(0, 5n, P1).build();
    longLength.writeUInt32BE(0x1000, longLength.length - 44 + 4);
    for (const buf of [good, damaged, longLength]) {
      const whole = parse(buf);
      for (let cut = 0; cut <= buf.length; cut++) expect(parse(buf, [cut])).toEqual(whole);
      expect(parse(buf, Array.from({ length: buf.length }, (_, i) => i))).toEqual(whole);
    }
  });

  test('random bytes after a valid start never throw, in any chunking', () => {
    const heads = [new PcapngBuilder().shb().idb(1).build(), buildPcap({}, [])];
    fc.assert(
      fc.property(fc.nat({ max: 1 }), fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat({ max: 500 })), (h, tail, cuts) => {
        const buf = Buffer.concat([heads[h]!, tail]);
        const sorted = [...new Set(cuts.filter((c) => c <= buf.length))].sort((a, b) => a - b);
        const r = parse(buf, sorted);
        expect(r).toEqual(parse(buf));
        expect(r.stats.packets).toBe(r.packets.length);
      }),
      { numRuns: 400 },
    );
  });
});
