#!/usr/bin/env node
// Derives damaged and re-encapsulated captures from base.pcap (Ethernet, microseconds), each
// with its truth: the base truth, adjusted where the derivation changes what can be known.
//
//   node captures/derive.mjs captures/base.pcap captures/base.truth.json captures/
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeEthTcp, fixIpv4Checksum, LINKTYPE, readPcap, writePcap, writePcapngNano } from './lib/pcap.mjs';

const [basePath, truthPath, outDir] = process.argv.slice(2);
const base = readPcap(readFileSync(basePath));
const baseTruth = JSON.parse(readFileSync(truthPath, 'utf8'));
if (base.linkType !== LINKTYPE.ETHERNET || base.nano) throw new Error('base must be Ethernet, microseconds');

const pkts = base.packets.map((p, i) => ({ ...p, i, tcp: decodeEthTcp(p.data) }));
const bigSet = pkts.find((p) => p.tcp?.payloadLen > 0 && p.data.includes('$5\r\nbig:k\r\n$100000'));
if (bigSet === undefined) throw new Error('no SET big:k in the base capture');
const sameConn = (p) =>
  p.tcp !== null &&
  ((p.tcp.src === bigSet.tcp.src && p.tcp.sport === bigSet.tcp.sport) ||
    (p.tcp.dst === bigSet.tcp.src && p.tcp.dport === bigSet.tcp.sport));
const dataOf = (p) => p.tcp !== null && p.tcp.payloadLen > 0;
/** Segments of the SET value from the client, and of the GET big:k reply from the server. */
const setSlices = pkts.filter((p) => sameConn(p) && dataOf(p) && p.tcp.sport === bigSet.tcp.sport && p.i >= bigSet.i);
const bigReply = pkts.filter((p) => sameConn(p) && p.tcp.dport === bigSet.tcp.sport && p.tcp.payloadLen > 1000);
if (setSlices.length < 6 || bigReply.length < 3) throw new Error(`${setSlices.length} SET slices, ${bigReply.length} reply segments`);
const last = pkts[pkts.length - 1];
if (last.tcp === null || last.tcp.payloadLen !== 0) throw new Error('the last base packet must carry no payload');

function truthFor(name, derivation, changes = {}) {
  const t = structuredClone(baseTruth);
  delete t.tshark;
  delete t.capinfos;
  delete t.tcpdump;
  Object.assign(t, {
    capture: name,
    derivedFrom: 'base.pcap',
    derivation,
    packets: pkts.length,
    ...changes,
    notes: [...(baseTruth.notes ?? []), ...(changes.notes ?? [])],
  });
  writeFileSync(join(outDir, name.replace(/\.pcap(ng)?$/, '.truth.json')), `${JSON.stringify(t, null, 2)}\n`);
}

function emit(name, buf, derivation, changes) {
  writeFileSync(join(outDir, name), buf);
  truthFor(name, derivation, changes);
}

const header = { le: true, snaplen: base.snaplen, linkType: LINKTYPE.ETHERNET };

emit('bigendian.pcap', writePcap({ ...header, le: false }, pkts), 'the base re-written as a big-endian classic pcap');

// Reordered: in each direction of the big connection, a data segment is moved to just before
// the segment that precedes it (as if the two crossed on the way to the capture point). No ACK
// from the peer comes before the data it acknowledges; timestamps stay in file order.
{
  const order = pkts.map((p) => p.i);
  const moveBefore = (moved, anchor) => {
    order.splice(order.indexOf(moved.i), 1);
    order.splice(order.indexOf(anchor.i), 0, moved.i);
  };
  moveBefore(setSlices[3], setSlices[2]);
  moveBefore(bigReply[1], bigReply[0]);
  const out = order.map((i, pos) => ({ ...pkts[i], sec: pkts[pos].sec, frac: pkts[pos].frac }));
  emit('reordered.pcap', writePcap(header, out), 'SET big:k segment 4 moved before segment 3, GET big:k reply segment 2 before segment 1', {
    reorderedSegments: 2,
  });
}

// Duplicated: exact retransmissions, one late, plus one repacketized overlap of two segments.
{
  const extra = new Map();
  const after = (p, copy) => extra.set(p.i, [...(extra.get(p.i) ?? []), copy]);
  after(setSlices[1], setSlices[1]);
  after(bigReply[1], bigReply[0]);
  const smallReply = pkts.find((p) => dataOf(p) && p.tcp.sport === 6379 && p.tcp.payloadLen < 100);
  after(pkts[smallReply.i + 2], smallReply);
  {
    const [a, b] = [setSlices[3], setSlices[4]];
    const half = a.tcp.payloadLen >> 1;
    const payload = Buffer.concat([
      a.data.subarray(a.tcp.payloadOff + half, a.tcp.payloadOff + a.tcp.payloadLen),
      b.data.subarray(b.tcp.payloadOff, b.tcp.payloadOff + (b.tcp.payloadLen >> 1)),
    ]);
    const data = Buffer.concat([Buffer.from(a.data.subarray(0, a.tcp.payloadOff)), payload]);
    data.writeUInt32BE((a.tcp.seq + half) >>> 0, a.tcp.tcp + 4);
    data.writeUInt16BE(data.length - a.tcp.ip, a.tcp.ip + 2);
    fixIpv4Checksum(data, a.tcp.ip);
    after(b, { ...a, data, origLen: data.length });
  }
  const out = [];
  let added = 0;
  for (const p of pkts) {
    out.push(p);
    for (const c of extra.get(p.i) ?? []) {
      out.push({ ...c, sec: p.sec, frac: p.frac });
      added++;
    }
  }
  emit('duplicated.pcap', writePcap(header, out), 'retransmitted copies: a SET big:k segment, a late copy of the first GET big:k reply segment, a small reply, and a segment overlapping two SET big:k segments', {
    packets: pkts.length + added,
    duplicatedSegments: added,
  });
}

// Dropped: the second segment of the GET big:k reply never reaches the capture.
{
  const lost = bigReply[1];
  const out = pkts.filter((p) => p !== lost);
  emit('dropped.pcap', writePcap(header, out), `GET big:k reply segment 2 of ${bigReply.length} removed (${lost.tcp.payloadLen} bytes)`, {
    packets: out.length,
    gaps: 1,
    gapBytes: lost.tcp.payloadLen,
    partialValues: 1,
    notes: ['the hole is wholly inside the value of the GET big:k reply, whose length and framing are intact: the GET is still answered and timed, its reply marked partially captured'],
  });
}

// VLAN: every frame 802.1Q VID 100; every third QinQ (0x88a8 VID 200 outside 0x8100 VID 100).
{
  const tag = (tpid, vid) => Buffer.from([tpid >> 8, tpid & 0xff, vid >> 8, vid & 0xff]);
  const out = pkts.map((p, n) => {
    const tags = n % 3 === 2 ? [tag(0x88a8, 200), tag(0x8100, 100)] : [tag(0x8100, 100)];
    const data = Buffer.concat([p.data.subarray(0, 12), ...tags, p.data.subarray(12)]);
    return { ...p, data, origLen: p.origLen + 4 * tags.length };
  });
  emit('vlan.pcap', writePcap(header, out), '802.1Q tag (VID 100) on every frame, QinQ 0x88a8/0x8100 on every third');
}

// BSD loopback (NULL): a 4-byte address family in the writer's (here little-endian) byte order.
{
  const out = pkts.map((p) => {
    const af = Buffer.alloc(4);
    af.writeUInt32LE(p.tcp?.etherType === 0x86dd ? 24 : 2, 0);
    const data = Buffer.concat([af, p.data.subarray(14)]);
    return { ...p, data, origLen: p.origLen - 10 };
  });
  emit('null.pcap', writePcap({ ...header, linkType: LINKTYPE.NULL }, out), 'LINKTYPE_NULL (0): Ethernet header replaced by AF_INET=2 as a little-endian u32');
}

emit(
  'raw.pcap',
  writePcap({ ...header, linkType: LINKTYPE.RAW }, pkts.map((p) => ({ ...p, data: p.data.subarray(14), origLen: p.origLen - 14 }))),
  'LINKTYPE_RAW (101): Ethernet header removed, frames start with the IPv4 header',
);

// pcapng with nanosecond timestamps; payload-less frames and the middle SET big:k segments as
// Simple Packet Blocks (no timestamp), the rest Enhanced Packet Blocks.
{
  const simple = new Set(setSlices.slice(1, -1).map((p) => p.i));
  const out = pkts.map((p) => ({
    ...p,
    simple: simple.has(p.i) || (p.tcp !== null && p.tcp.payloadLen === 0 && p.i > 0),
    tsNs: BigInt(p.sec) * 1_000_000_000n + BigInt(p.frac) * 1000n + 789n,
  }));
  emit(
    'spb-nano.pcapng',
    writePcapngNano({ linkType: LINKTYPE.ETHERNET, snaplen: base.snaplen }, out),
    `pcapng, if_tsresol=9 (timestamps + 789 ns), ${out.filter((p) => p.simple).length} Simple Packet Blocks (payload-less frames and middle SET big:k segments), the rest EPBs`,
    { simplePacketBlocks: out.filter((p) => p.simple).length },
  );
}

// Truncated: the file ends halfway through the last record (a payload-less ACK).
{
  const whole = writePcap(header, pkts);
  const cut = whole.subarray(0, whole.length - Math.ceil(last.data.length / 2));
  emit('truncated.pcap', cut, `the last record (${last.data.length} bytes, no TCP payload) cut in half`, {
    packets: pkts.length - 1,
    truncatedRecords: 1,
    expectWarning: 'truncat|cut short|incomplete|partial',
    notes: ['the last record is incomplete: the analyzer reads all the others, exits 0 and warns'],
  });
}
