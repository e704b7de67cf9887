// A small classic-pcap reader/writer, a pcapng writer, and an Ethernet/IP/TCP header decoder for
// derive.mjs. Independent of src/ on purpose. Formats:
//   pcap:   https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html
//   pcapng: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
export const LINKTYPE = { NULL: 0, ETHERNET: 1, RAW: 101 };

/** Reads a classic pcap file: { le, nano, snaplen, linkType, packets: [{ sec, frac, origLen, data }] }. */
export function readPcap(buf) {
  let le = true;
  let magic = buf.readUInt32LE(0);
  if (magic !== MAGIC_US && magic !== MAGIC_NS) {
    le = false;
    magic = buf.readUInt32BE(0);
  }
  if (magic !== MAGIC_US && magic !== MAGIC_NS) throw new Error('not a classic pcap file');
  const u32 = (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const file = { le, nano: magic === MAGIC_NS, snaplen: u32(16), linkType: u32(20) & 0x0fffffff, packets: [] };
  let off = 24;
  while (off + 16 <= buf.length) {
    const capLen = u32(off + 8);
    if (off + 16 + capLen > buf.length) throw new Error(`record at ${off} is cut short`);
    file.packets.push({
      sec: u32(off),
      frac: u32(off + 4),
      origLen: u32(off + 12),
      data: Buffer.from(buf.subarray(off + 16, off + 16 + capLen)),
    });
    off += 16 + capLen;
  }
  if (off !== buf.length) throw new Error(`${buf.length - off} stray bytes at the end`);
  return file;
}

/** Writes a classic pcap file in the given byte order. */
export function writePcap({ le = true, nano = false, snaplen = 262144, linkType }, packets) {
  const parts = [];
  const hdr = Buffer.alloc(24);
  const w32 = (b, v, o) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  const w16 = (b, v, o) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  w32(hdr, nano ? MAGIC_NS : MAGIC_US, 0);
  w16(hdr, 2, 4);
  w16(hdr, 4, 6);
  w32(hdr, snaplen, 16);
  w32(hdr, linkType, 20);
  parts.push(hdr);
  for (const p of packets) {
    const rh = Buffer.alloc(16);
    w32(rh, p.sec, 0);
    w32(rh, p.frac, 4);
    w32(rh, p.data.length, 8);
    w32(rh, p.origLen ?? p.data.length, 12);
    parts.push(rh, p.data);
  }
  return Buffer.concat(parts);
}

function pad4(n) {
  return (4 - (n % 4)) % 4;
}

function block(type, body) {
  const total = 12 + body.length;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  body.copy(b, 8);
  b.writeUInt32LE(total, total - 4);
  return b;
}

function option(code, value) {
  const o = Buffer.alloc(4 + value.length + pad4(value.length));
  o.writeUInt16LE(code, 0);
  o.writeUInt16LE(value.length, 2);
  value.copy(o, 4);
  return o;
}

/**
 * Writes a little-endian pcapng file with one interface of if_tsresol 10^-9. Packets with
 * `simple: true` become Simple Packet Blocks (no timestamp, no interface id); the others
 * Enhanced Packet Blocks with `tsNs` (a BigInt of nanoseconds since the epoch).
 */
export function writePcapngNano({ linkType, snaplen }, packets) {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0); // byte-order magic
  shb.writeUInt16LE(1, 4);
  shb.writeUInt16LE(0, 6);
  shb.writeBigInt64LE(-1n, 8); // section length unknown
  const idbHead = Buffer.alloc(8);
  idbHead.writeUInt16LE(linkType, 0);
  idbHead.writeUInt32LE(snaplen, 4);
  const idbOpts = Buffer.concat([
    option(2, Buffer.from('lo')), // if_name
    option(9, Buffer.from([9])), // if_tsresol: 10^-9 s
    Buffer.alloc(4), // opt_endofopt
  ]);
  const blocks = [block(0x0a0d0d0a, shb), block(0x00000001, Buffer.concat([idbHead, idbOpts]))];
  for (const p of packets) {
    const data = Buffer.concat([p.data, Buffer.alloc(pad4(p.data.length))]);
    if (p.simple) {
      const head = Buffer.alloc(4);
      head.writeUInt32LE(p.origLen ?? p.data.length, 0);
      blocks.push(block(0x00000003, Buffer.concat([head, data])));
    } else {
      const head = Buffer.alloc(20);
      head.writeUInt32LE(0, 0); // interface id
      head.writeUInt32LE(Number(p.tsNs >> 32n), 4);
      head.writeUInt32LE(Number(p.tsNs & 0xffffffffn), 8);
      head.writeUInt32LE(p.data.length, 12);
      head.writeUInt32LE(p.origLen ?? p.data.length, 16);
      blocks.push(block(0x00000006, Buffer.concat([head, data])));
    }
  }
  return Buffer.concat(blocks);
}

/** Decodes Ethernet (no tag) + IPv4/IPv6 + TCP; null for anything else. */
export function decodeEthTcp(d) {
  if (d.length < 14) return null;
  const etherType = d.readUInt16BE(12);
  let ip = 14;
  let proto;
  let ipHdr;
  let src;
  let dst;
  let ipEnd;
  if (etherType === 0x0800) {
    ipHdr = (d[ip] & 0x0f) * 4;
    proto = d[ip + 9];
    src = Array.from(d.subarray(ip + 12, ip + 16)).join('.');
    dst = Array.from(d.subarray(ip + 16, ip + 20)).join('.');
    ipEnd = ip + d.readUInt16BE(ip + 2);
  } else if (etherType === 0x86dd) {
    ipHdr = 40;
    proto = d[ip + 6];
    src = d.subarray(ip + 8, ip + 24).toString('hex');
    dst = d.subarray(ip + 24, ip + 40).toString('hex');
    ipEnd = ip + 40 + d.readUInt16BE(ip + 4);
  } else return null;
  if (proto !== 6) return null;
  const tcp = ip + ipHdr;
  const dataOff = tcp + (d[tcp + 12] >> 4) * 4;
  return {
    etherType,
    ip,
    tcp,
    src,
    dst,
    sport: d.readUInt16BE(tcp),
    dport: d.readUInt16BE(tcp + 2),
    seq: d.readUInt32BE(tcp + 4),
    flags: d[tcp + 13],
    payloadOff: dataOff,
    payloadLen: ipEnd - dataOff,
  };
}

/** Recomputes the IPv4 header checksum in place (after a length change). */
export function fixIpv4Checksum(d, ip) {
  const len = (d[ip] & 0x0f) * 4;
  d.writeUInt16BE(0, ip + 10);
  let sum = 0;
  for (let i = 0; i < len; i += 2) sum += d.readUInt16BE(ip + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  d.writeUInt16BE(~sum & 0xffff, ip + 10);
}
