// Capture formats for the fuzz campaign (bench/fuzz.mjs): reading the shipped captures into
// records (pcap) or blocks (pcapng), writing them back after mutation, and finding the IP, TCP
// and payload bytes inside a frame. Written from the specs, apart from src/, so a case id keeps
// naming the same input whatever src/ does.
//   pcap:   https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/
//   pcapng: https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const NG = {
  SHB: 0x0a0d0d0a, IDB: 1, PB: 2, SPB: 3, NRB: 4, ISB: 5, EPB: 6, JOURNAL: 9, DSB: 0x0a,
  CUSTOM: 0x0bad, CUSTOM_NOCOPY: 0x40000bad, BOM: 0x1a2b3c4d,
};
/** Blocks that carry a frame. */
export const PACKET_BLOCKS = new Set([NG.EPB, NG.SPB, NG.PB]);

export function rd32(b, o, le) {
  return le ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0 : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
export function rd16(b, o, le) {
  return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
}
export function wr32(b, o, v, le) {
  v >>>= 0;
  if (le) { b[o] = v; b[o + 1] = v >>> 8; b[o + 2] = v >>> 16; b[o + 3] = v >>> 24; } else { b[o] = v >>> 24; b[o + 1] = v >>> 16; b[o + 2] = v >>> 8; b[o + 3] = v; }
}
export function wr16(b, o, v, le) {
  if (le) { b[o] = v & 0xff; b[o + 1] = (v >>> 8) & 0xff; } else { b[o] = (v >>> 8) & 0xff; b[o + 1] = v & 0xff; }
}
/** A 64-bit value (BigInt, taken mod 2^64) in the given byte order. */
export function wr64(b, o, v, le) {
  const u = BigInt.asUintN(64, v);
  const hi = Number(u >> 32n);
  const lo = Number(u & 0xffffffffn);
  if (le) { wr32(b, o, lo, true); wr32(b, o + 4, hi, true); } else { wr32(b, o, hi, false); wr32(b, o + 4, lo, false); }
}
export function rd64(b, o, le) {
  const hi = BigInt(rd32(b, le ? o + 4 : o, le));
  const lo = BigInt(rd32(b, le ? o : o + 4, le));
  return (hi << 32n) | lo;
}

// ---------------------------------------------------------------------------------------------
// pcap: { fmt: 'pcap', hdr: { le, magic, major, minor, zone, sigfigs, snaplen, link }, recs: [{ sec, frac, capLen, origLen, data }] }

export function parsePcap(buf) {
  const be = rd32(buf, 0, false);
  const le = !(be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS);
  const magic = rd32(buf, 0, le);
  const hdr = {
    le, magic, major: rd16(buf, 4, le), minor: rd16(buf, 6, le), zone: rd32(buf, 8, le), sigfigs: rd32(buf, 12, le),
    snaplen: rd32(buf, 16, le), link: rd32(buf, 20, le),
  };
  const recs = [];
  for (let o = 24; o + 16 <= buf.length; ) {
    const capLen = rd32(buf, o + 8, le);
    if (o + 16 + capLen > buf.length) break;
    recs.push({ sec: rd32(buf, o, le), frac: rd32(buf, o + 4, le), capLen, origLen: rd32(buf, o + 12, le), data: buf.subarray(o + 16, o + 16 + capLen) });
    o += 16 + capLen;
  }
  return { fmt: 'pcap', hdr, recs };
}

export function writePcap(doc) {
  const { hdr, recs } = doc;
  let size = 24;
  for (const r of recs) size += 16 + r.data.length;
  const out = new Uint8Array(size);
  const le = hdr.le;
  wr32(out, 0, hdr.magic, le); wr16(out, 4, hdr.major, le); wr16(out, 6, hdr.minor, le);
  wr32(out, 8, hdr.zone, le); wr32(out, 12, hdr.sigfigs, le); wr32(out, 16, hdr.snaplen, le); wr32(out, 20, hdr.link, le);
  let o = 24;
  for (const r of recs) {
    wr32(out, o, r.sec, le); wr32(out, o + 4, r.frac, le); wr32(out, o + 8, r.capLen, le); wr32(out, o + 12, r.origLen, le);
    out.set(r.data, o + 16);
    o += 16 + r.data.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// pcapng: { fmt: 'pcapng', blocks: [{ type, le, body, lenField?, trailerField? }] }. `body` is what
// lies between the length field and its trailing copy (options and padding included).

export function parsePcapng(buf) {
  const blocks = [];
  let le = true;
  for (let o = 0; o + 12 <= buf.length; ) {
    let type = rd32(buf, o, le);
    if (type === NG.SHB) le = rd32(buf, o + 8, true) === NG.BOM;
    type = rd32(buf, o, le);
    const len = rd32(buf, o + 4, le);
    if (len < 12 || o + len > buf.length) break;
    blocks.push({ type, le, body: buf.subarray(o + 8, o + len - 4) });
    o += len;
  }
  return { fmt: 'pcapng', blocks };
}

export function writePcapng(doc) {
  let size = 0;
  for (const b of doc.blocks) size += 12 + pad4(b.body.length);
  const out = new Uint8Array(size);
  let o = 0;
  for (const b of doc.blocks) {
    const len = 12 + pad4(b.body.length);
    wr32(out, o, b.type, b.le);
    wr32(out, o + 4, b.lenField ?? len, b.le);
    out.set(b.body, o + 8);
    wr32(out, o + len - 4, b.trailerField ?? len, b.le);
    o += len;
  }
  return out;
}

export const pad4 = (n) => (n + 3) & ~3;

/** Options as pcapng encodes them: code, length, value padded to 4, then opt_endofopt. */
export function encodeOptions(opts, le, end = true) {
  let size = end && opts.length > 0 ? 4 : 0;
  for (const op of opts) size += 4 + pad4(op.value.length);
  const out = new Uint8Array(size);
  let o = 0;
  for (const op of opts) {
    wr16(out, o, op.code, le);
    wr16(out, o + 2, op.lenField ?? op.value.length, le);
    out.set(op.value, o + 4);
    o += 4 + pad4(op.value.length);
  }
  return out;
}

function cat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function shbBlock(le, { major = 1, minor = 0, sectionLen = -1n, options = [] } = {}) {
  const head = new Uint8Array(16);
  wr32(head, 0, NG.BOM, le); wr16(head, 4, major, le); wr16(head, 6, minor, le); wr64(head, 8, sectionLen, le);
  return { type: NG.SHB, le, body: cat(head, encodeOptions(options, le)) };
}

export function idbBlock(le, link, snaplen, options = []) {
  const head = new Uint8Array(8);
  wr16(head, 0, link, le); wr32(head, 4, snaplen, le);
  return { type: NG.IDB, le, body: cat(head, encodeOptions(options, le)) };
}

export function epbBlock(le, iface, ts, capLen, origLen, data, options = []) {
  const head = new Uint8Array(20);
  wr32(head, 0, iface, le); wr32(head, 4, Number((ts >> 32n) & 0xffffffffn), le); wr32(head, 8, Number(ts & 0xffffffffn), le);
  wr32(head, 12, capLen, le); wr32(head, 16, origLen, le);
  const padded = new Uint8Array(pad4(data.length));
  padded.set(data);
  return { type: NG.EPB, le, body: cat(head, padded, encodeOptions(options, le)) };
}

export function spbBlock(le, origLen, data) {
  const head = new Uint8Array(4);
  wr32(head, 0, origLen, le);
  return { type: NG.SPB, le, body: cat(head, data) };
}

export function isbBlock(le, iface, ts, options = []) {
  const head = new Uint8Array(12);
  wr32(head, 0, iface, le); wr32(head, 4, Number((ts >> 32n) & 0xffffffffn), le); wr32(head, 8, Number(ts & 0xffffffffn), le);
  return { type: NG.ISB, le, body: cat(head, encodeOptions(options, le)) };
}

export function u64Value(v, le) {
  const b = new Uint8Array(8);
  wr64(b, 0, v, le);
  return b;
}

/** Options of an IDB body (past linktype/snaplen): [{ code, value }]. */
export function idbOptions(body, le) {
  const out = [];
  for (let o = 8; o + 4 <= body.length; ) {
    const code = rd16(body, o, le);
    const len = rd16(body, o + 2, le);
    if (code === 0 || o + 4 + len > body.length) break;
    out.push({ code, value: body.slice(o + 4, o + 4 + len) });
    o += 4 + pad4(len);
  }
  return out;
}

/** Timestamp units per second of an if_tsresol byte (default 10^6). */
export function unitsOf(tsresol) {
  if (tsresol === undefined) return 1_000_000n;
  const exp = BigInt(tsresol & 0x7f);
  return (tsresol & 0x80) !== 0 ? 1n << exp : 10n ** exp;
}

/**
 * Walks a pcapng doc's sections: for every block, the interfaces declared so far in its section
 * ({ link, units }). Lets mutations find a frame's link type and timestamp unit.
 */
export function ngInterfaces(doc) {
  const per = [];
  let ifaces = [];
  for (const b of doc.blocks) {
    if (b.type === NG.SHB) ifaces = [];
    if (b.type === NG.IDB && b.body.length >= 8) {
      const tsresol = idbOptions(b.body, b.le).find((o) => o.code === 9 && o.value.length >= 1)?.value[0];
      ifaces = [...ifaces, { link: rd16(b.body, 0, b.le), units: unitsOf(tsresol) }];
    }
    per.push(ifaces);
  }
  return per;
}

/**
 * Bytes a case may change in place. A window shares its records' bytes with the base capture
 * (copying a window of a 4 MB capture per case would cost more than analysing it): a mutation
 * that writes into a unit's bytes calls writable() first, which copies them once.
 */
const OWNED = new WeakSet();

export function owned(bytes) {
  OWNED.add(bytes);
  return bytes;
}

/** The unit (pcap record or pcapng block), its bytes now its own to change. */
export function writable(unit) {
  if (unit.data !== undefined) {
    if (!OWNED.has(unit.data)) unit.data = owned(unit.data.slice());
  } else if (!OWNED.has(unit.body)) unit.body = owned(unit.body.slice());
  return unit;
}

/** A frame's bytes, writable: the view into its unit after writable(). */
export function frameBytes(f) {
  writable(f.unit);
  f.data = (f.unit.data ?? f.unit.body).subarray(f.at, f.at + f.data.length);
  return f.data;
}

/**
 * Frames of a doc, format aside: { data (a read-only view: frameBytes() gives a writable one),
 * at (its offset in the unit's bytes), link, unit (record or block) }.
 */
export function frames(doc) {
  const out = [];
  if (doc.fmt === 'pcap') {
    for (const r of doc.recs) out.push({ data: r.data, at: 0, link: doc.hdr.link & 0xffff, unit: r });
    return out;
  }
  const per = ngInterfaces(doc);
  doc.blocks.forEach((b, i) => {
    const ifaces = per[i];
    if (b.type === NG.EPB && b.body.length >= 20) {
      const iface = ifaces[rd32(b.body, 0, b.le)];
      const cap = Math.min(rd32(b.body, 12, b.le), b.body.length - 20);
      if (iface) out.push({ data: b.body.subarray(20, 20 + cap), at: 20, link: iface.link, unit: b });
    } else if (b.type === NG.SPB && b.body.length >= 4 && ifaces[0]) {
      out.push({ data: b.body.subarray(4), at: 4, link: ifaces[0].link, unit: b });
    }
  });
  return out;
}

/** A unit with bytes of its own (dup copies a record or block). */
export const clone = (u) => (u.data ? { ...u, data: owned(u.data.slice()) } : { ...u, body: owned(u.body.slice()) });

/** An EPB's 64-bit timestamp (high word, then low word, each in the section's byte order). */
export function tsOf(b) {
  return (BigInt(rd32(b.body, 4, b.le)) << 32n) | BigInt(rd32(b.body, 8, b.le));
}
export function setTs(b, v) {
  writable(b);
  const u = BigInt.asUintN(64, v);
  wr32(b.body, 4, Number(u >> 32n), b.le);
  wr32(b.body, 8, Number(u & 0xffffffffn), b.le);
}

/** A random element; a random integer in [0, n). */
export const pick = (rnd, a) => a[Math.floor(rnd() * a.length)];
export const int = (rnd, n) => Math.floor(rnd() * n);

// ---------------------------------------------------------------------------------------------
// Inside a frame: link header -> IP -> TCP -> payload.

/** Offset of the IP header in a frame, or -1. */
export function ipOffset(d, link) {
  let o;
  let proto;
  switch (link) {
    case 1: {
      if (d.length < 14) return -1;
      o = 14;
      proto = (d[12] << 8) | d[13];
      while ((proto === 0x8100 || proto === 0x88a8 || proto === 0x9100) && o + 4 <= d.length) {
        proto = (d[o + 2] << 8) | d[o + 3];
        o += 4;
      }
      return proto === 0x0800 || proto === 0x86dd ? o : -1;
    }
    case 113:
      return d.length >= 16 ? 16 : -1;
    case 276:
      return d.length >= 20 ? 20 : -1;
    case 0:
    case 108:
      return d.length >= 4 ? 4 : -1;
    case 12: case 14: case 101: case 228: case 229:
      return 0;
    default:
      return -1;
  }
}

/**
 * The TCP segment in a frame: { ip, v6, tcp, payload, end } offsets (payload..end is the TCP
 * payload as captured), or null when the frame holds no plain IPv4/IPv6 TCP.
 */
export function tcpOf(d, link) {
  const ip = ipOffset(d, link);
  if (ip < 0 || ip >= d.length) return null;
  const ver = d[ip] >> 4;
  let tcp;
  let ipEnd;
  if (ver === 4) {
    if (ip + 20 > d.length || d[ip + 9] !== 6) return null;
    tcp = ip + (d[ip] & 0x0f) * 4;
    ipEnd = ip + ((d[ip + 2] << 8) | d[ip + 3]);
  } else if (ver === 6) {
    if (ip + 40 > d.length || d[ip + 6] !== 6) return null;
    tcp = ip + 40;
    ipEnd = tcp + ((d[ip + 4] << 8) | d[ip + 5]);
  } else return null;
  if (tcp + 20 > d.length) return null;
  const payload = tcp + (d[tcp + 12] >> 4) * 4;
  const end = Math.min(d.length, ipEnd);
  if (payload > end) return null;
  return { ip, v6: ver === 6, tcp, payload, end };
}

/** A flow key for one direction of a TCP segment (addresses and ports as bytes). */
export function directionKey(d, t) {
  const addrs = t.v6 ? d.subarray(t.ip + 8, t.ip + 40) : d.subarray(t.ip + 12, t.ip + 20);
  return Buffer.from(addrs).toString('hex') + ':' + Buffer.from(d.subarray(t.tcp, t.tcp + 4)).toString('hex');
}

/** The key of the opposite direction of the same connection. */
export function reverseKey(d, t) {
  const n = t.v6 ? 16 : 4;
  const base = t.v6 ? t.ip + 8 : t.ip + 12;
  const src = Buffer.from(d.subarray(base, base + n)).toString('hex');
  const dst = Buffer.from(d.subarray(base + n, base + 2 * n)).toString('hex');
  const sp = Buffer.from(d.subarray(t.tcp, t.tcp + 2)).toString('hex');
  const dp = Buffer.from(d.subarray(t.tcp + 2, t.tcp + 4)).toString('hex');
  return dst + src + ':' + dp + sp;
}
