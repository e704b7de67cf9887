// Structural mutations of a capture doc (see bench/fuzz-formats.mjs for the doc shapes): each
// takes (doc, rnd), changes the doc in place and returns a short description, or null when it
// found nothing to change. `fmt` limits one to pcap or pcapng docs.
import {
  clone, directionKey, epbBlock, frameBytes, frames, int, NG, ngInterfaces, pad4, PCAP_MAGIC_NS, PCAP_MAGIC_US, pick, rd32, reverseKey, setTs, spbBlock, tcpOf, tsOf, wr16, wr32, writable,
} from './fuzz-formats.mjs';
import { epbIface, epbOptions, idbOptionsMutation, isbInsert, LINKS, NG_TS, oddBlock, shbMutation } from './fuzz-mutations-pcapng.mjs';
import { damageResp, respPayload } from './fuzz-resp.mjs';

const units = (doc) => (doc.fmt === 'pcap' ? doc.recs : doc.blocks);
/** First unit a reordering may touch: a pcapng file must keep its leading SHB. */
const first = (doc) => (doc.fmt === 'pcap' ? 0 : 1);

/** A random run [i, i + k) of the units that may move, or null. */
function run(doc, rnd, maxLen) {
  const a = units(doc);
  const lo = first(doc);
  if (a.length <= lo) return null;
  const i = lo + int(rnd, a.length - lo);
  const k = Math.min(a.length - i, 1 + Math.floor(rnd() ** 2 * maxLen));
  return { a, lo, i, k };
}

const DELTAS_SEC = [1e-6, 1e-3, 0.05, 0.1, 1, 60, 3600, 86_401, 7 * 86_400, 8 * 86_400, 366 * 86_400, -1e-3, -0.2, -1, -3600, -86_400, -366 * 86_400, -(2 ** 31)];
const LENGTHS = [0, 1, 15, 16, 19, 20, 54, 65_535, 65_536, 262_144, 262_145, 16_777_216, 16_777_217, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** Moves a pcap record's time by `deltaSec`, wrapping like the 32-bit field would. */
function warpRec(r, ns, deltaSec) {
  const div = ns ? 1_000_000_000n : 1_000_000n;
  const span = 2n ** 32n * div;
  let t = BigInt(r.sec) * div + BigInt(r.frac % Number(div)) + BigInt(Math.round(deltaSec * Number(div)));
  t = ((t % span) + span) % span;
  r.sec = Number(t / div);
  r.frac = Number(t % div);
}

/** Frames that carry TCP, with their offsets. */
function tcpFrames(doc) {
  const out = [];
  for (const f of frames(doc)) {
    f.t = tcpOf(f.data, f.link);
    if (f.t !== null) out.push(f);
  }
  return out;
}

/** A pcap record or a pcapng packet block replaced by one holding `data` (same time, same interface). */
function withData(doc, unit, data) {
  if (doc.fmt === 'pcap') return { ...unit, data, capLen: data.length, origLen: data.length };
  if (unit.type === NG.SPB) return spbBlock(unit.le, data.length, data);
  return epbBlock(unit.le, rd32(unit.body, 0, unit.le), tsOf(unit), data.length, data.length, data);
}

/** Sets the IP length fields for a frame of `len` bytes whose IP header starts at t.ip. */
function fixIpLength(d, t) {
  const n = d.length - t.ip;
  if (t.v6) wr16(d, t.ip + 4, Math.max(0, n - 40) & 0xffff, false);
  else wr16(d, t.ip + 2, n & 0xffff, false);
}

const u32be = (d, o) => rd32(d, o, false);

/**
 * A new segment with a RESP snippet, right after one of the connection's segments: its bytes
 * follow that segment's in sequence space; later segments of that direction move up, and the
 * other direction's acknowledgements with them.
 */
function injectResp(doc, rnd) {
  const all = tcpFrames(doc);
  const withPayload = all.filter((f) => f.t.end > f.t.payload);
  const f = withPayload.length > 0 && rnd() < 0.9 ? pick(rnd, withPayload) : pick(rnd, all);
  if (f === undefined) return null;
  const snippet = respPayload(rnd);
  const d = new Uint8Array(f.t.payload + snippet.length);
  d.set(f.data.subarray(0, f.t.payload));
  d.set(snippet, f.t.payload);
  fixIpLength(d, f.t);
  const len = f.t.end - f.t.payload;
  wr32(d, f.t.tcp + 4, u32be(f.data, f.t.tcp + 4) + len, false);
  const a = units(doc);
  const index = new Map(a.map((u, i) => [u, i]));
  const at = index.get(f.unit);
  const key = directionKey(f.data, f.t);
  const rev = reverseKey(f.data, f.t);
  for (const g of all) {
    if (index.get(g.unit) <= at) continue;
    const k = directionKey(g.data, g.t);
    if (k === key) wr32(frameBytes(g), g.t.tcp + 4, u32be(g.data, g.t.tcp + 4) + snippet.length, false);
    else if (k === rev) wr32(frameBytes(g), g.t.tcp + 8, u32be(g.data, g.t.tcp + 8) + snippet.length, false);
  }
  a.splice(at + 1, 0, withData(doc, f.unit, d));
  return `resp-inject ${snippet.length}B after unit ${at}`;
}

/** One field of a frame's TCP, IP or link header changed: flags, sequence numbers, lengths, versions, ports. */
function frameField(doc, rnd) {
  const f = pick(rnd, tcpFrames(doc));
  if (f === undefined) return null;
  const t = f.t;
  const d = frameBytes(f);
  const field = pick(rnd, ['tcp-flags', 'tcp-seq', 'tcp-ack', 'tcp-doff', 'tcp-port', 'ip-len', 'ip-ihl', 'ip-frag', 'ip-proto', 'ip-version', 'ip-addr', 'link']);
  const seqish = (o) => wr32(d, o, rnd() < 0.3 ? int(rnd, 2 ** 32) : u32be(d, o) + pick(rnd, [1, -1, 1000, -1000, 65_536, 2 ** 31, 2 ** 32 - 1]), false);
  switch (field) {
    case 'tcp-flags': d[t.tcp + 13] = rnd() < 0.5 ? pick(rnd, [0x02, 0x12, 0x10, 0x11, 0x01, 0x04, 0x14, 0x18, 0x19, 0x00, 0xff, 0x03]) : d[t.tcp + 13] ^ (1 << int(rnd, 8)); break;
    case 'tcp-seq': seqish(t.tcp + 4); break;
    case 'tcp-ack': seqish(t.tcp + 8); break;
    case 'tcp-doff': d[t.tcp + 12] = (pick(rnd, [0, 1, 4, 5, 6, 8, 15]) << 4) | (d[t.tcp + 12] & 0x0f); break;
    case 'tcp-port': wr16(d, t.tcp + (rnd() < 0.5 ? 0 : 2), pick(rnd, [0, 1, 6379, 22121, 6380, 7100, 17100, 6510, 65535, int(rnd, 65536)]), false); break;
    case 'ip-len': wr16(d, t.v6 ? t.ip + 4 : t.ip + 2, pick(rnd, [0, 1, 20, 40, 41, d.length - t.ip - 1, d.length - t.ip + 1, 0xffff]) & 0xffff, false); break;
    case 'ip-ihl': if (!t.v6) d[t.ip] = 0x40 | pick(rnd, [0, 4, 5, 6, 15]); break;
    case 'ip-frag': if (t.v6) d[t.ip + 6] = 44; else wr16(d, t.ip + 6, pick(rnd, [0x2000, 0x0001, 0x4000, 0x3fff, 0x2001]), false); break;
    case 'ip-proto': d[t.v6 ? t.ip + 6 : t.ip + 9] = pick(rnd, [17, 1, 0, 255, 43, 60]); break;
    case 'ip-version': d[t.ip] = (pick(rnd, [0, 4, 5, 6, 7, 15]) << 4) | (d[t.ip] & 0x0f); break;
    case 'ip-addr': d[t.ip + (t.v6 ? 8 + int(rnd, 32) : 12 + int(rnd, 8))] ^= 1 << int(rnd, 8); break;
    default: if (t.ip >= 2) wr16(d, t.ip - 2, pick(rnd, [0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, 0]), false);
  }
  return `frame-${field}`;
}

/** The RESP in a few TCP payloads damaged in place (fuzz-resp.mjs damageResp). */
function respDamage(doc, rnd) {
  const fs = tcpFrames(doc).filter((f) => f.t.end > f.t.payload);
  if (fs.length === 0) return null;
  const n = 1 + Math.floor(rnd() ** 2 * 6);
  const done = [];
  for (let i = 0; i < n; i++) {
    const f = pick(rnd, fs);
    const what = damageResp(rnd, frameBytes(f), f.t.payload, f.t.end);
    if (what) done.push(what);
  }
  return done.length > 0 ? done.join(',') : null;
}

/** A TCP payload overwritten with one byte value or noise. */
function frameFill(doc, rnd) {
  const fs = tcpFrames(doc).filter((f) => f.t.end > f.t.payload);
  const f = pick(rnd, fs);
  if (f === undefined) return null;
  const v = pick(rnd, [0x00, 0xff, 0x41, -1]);
  const d = frameBytes(f);
  for (let i = f.t.payload; i < f.t.end; i++) d[i] = v < 0 ? int(rnd, 256) : v;
  return `frame-fill ${v}`;
}

/** A frame captured shorter than it was (a snap length mid-header or mid-payload). */
function cutFrame(doc, rnd) {
  const fs = frames(doc);
  const f = pick(rnd, fs);
  if (f === undefined) return null;
  const k = int(rnd, f.data.length + 1);
  const a = units(doc);
  const at = a.indexOf(f.unit);
  if (doc.fmt === 'pcap') {
    a[at] = { ...f.unit, data: f.unit.data.slice(0, k), capLen: k };
  } else if (f.unit.type === NG.SPB) {
    a[at] = { ...f.unit, body: f.unit.body.slice(0, 4 + k) };
  } else {
    const b = f.unit;
    a[at] = epbBlock(b.le, rd32(b.body, 0, b.le), tsOf(b), k, rd32(b.body, 16, b.le), b.body.subarray(20, 20 + k));
  }
  return `cut-frame ${at} to ${k}`;
}

/** Timestamps moved by a step from a microsecond to years, back or forth: one frame, a suffix, all, every other. */
function tsWarp(doc, rnd) {
  const delta = pick(rnd, DELTAS_SEC);
  const a = units(doc);
  const scope = pick(rnd, ['one', 'suffix', 'all', 'alternate']);
  const i0 = int(rnd, a.length);
  const chosen = (i) => (scope === 'one' ? i === i0 : scope === 'suffix' ? i >= i0 : scope === 'all' ? true : i % 2 === 0);
  if (doc.fmt === 'pcap') {
    const ns = doc.hdr.magic === PCAP_MAGIC_NS;
    a.forEach((r, i) => chosen(i) && warpRec(r, ns, delta));
  } else {
    const per = ngInterfaces(doc);
    a.forEach((b, i) => {
      if (!chosen(i) || b.type !== NG.EPB || b.body.length < 20) return;
      const units_ = per[i][rd32(b.body, 0, b.le)]?.units ?? 1_000_000n;
      setTs(b, tsOf(b) + (BigInt(Math.round(delta * 1e6)) * units_) / 1_000_000n);
    });
  }
  return `ts-warp ${scope} ${i0} ${delta}s`;
}

/** One timestamp set to an edge value: 0, 2^31, 2^32 - 1 seconds (pcap), near 2^63 or 2^64 units (pcapng). */
function tsExtreme(doc, rnd) {
  const a = units(doc);
  if (doc.fmt === 'pcap') {
    const r = pick(rnd, a);
    if (r === undefined) return null;
    r.sec = pick(rnd, [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, (r.sec ^ 0x80000000) >>> 0, r.sec]);
    r.frac = pick(rnd, [r.frac, r.frac, 0, 999_999, 1_000_000, 999_999_999, 1_000_000_000, 0xffffffff]);
    return `ts-extreme ${r.sec}.${r.frac}`;
  }
  const b = pick(rnd, a.filter((x) => x.type === NG.EPB));
  if (b === undefined) return null;
  const old = tsOf(b);
  const v = rnd() < 0.7 ? pick(rnd, NG_TS) : pick(rnd, [old * 1000n, old / 1000n, old * 1_000_000n, old + 2n ** 63n]);
  setTs(b, v);
  return `ts-extreme ${v}`;
}

/** A record's or block's length field (or its trailing copy) lying: 0, off by a few, near 2^31 or 2^32. */
function lengthField(doc, rnd) {
  const a = units(doc);
  if (doc.fmt === 'pcap') {
    const r = pick(rnd, a);
    if (r === undefined) return null;
    const field = rnd() < 0.5 ? 'capLen' : 'origLen';
    r[field] = pick(rnd, [...LENGTHS, r.data.length - 1, r.data.length + 1, r.data.length + 4]) >>> 0;
    return `len ${field}=${r[field]}`;
  }
  const lo = first(doc);
  if (a.length <= lo) return null;
  const b = a[lo + int(rnd, a.length - lo)];
  const len = 12 + pad4(b.body.length);
  const r = rnd();
  if (r < 0.4 && b.type === NG.EPB && b.body.length >= 20) {
    writable(b);
    const o = rnd() < 0.6 ? 12 : 16;
    wr32(b.body, o, pick(rnd, [...LENGTHS, rd32(b.body, o, b.le) + 1]), b.le);
    return `len epb@${o}`;
  }
  const v = pick(rnd, [len - 4, len + 4, len + 1, 0, 8, 12, 0xffffffff, 16 * 1024 * 1024 + 4, 16 * 1024 * 1024 + 8, len * 2]) >>> 0;
  if (r < 0.7) b.lenField = v;
  else if (r < 0.9) b.trailerField = v;
  else b.lenField = b.trailerField = v;
  return `len block ${b.lenField ?? '-'}/${b.trailerField ?? '-'}`;
}

/** The pcap file header's magic (us/ns), byte order, link type, snap length or version changed. */
function pcapHeader(doc, rnd) {
  const h = doc.hdr;
  const kind = pick(rnd, ['magic', 'order', 'link', 'snaplen', 'version']);
  switch (kind) {
    case 'magic': h.magic = h.magic === PCAP_MAGIC_NS ? PCAP_MAGIC_US : PCAP_MAGIC_NS; break;
    case 'order': h.le = !h.le; break;
    case 'link': h.link = rnd() < 0.8 ? pick(rnd, LINKS) : ((h.link & 0xffff) | (pick(rnd, [1, 4, 0xf]) << 28)) >>> 0; break;
    case 'snaplen': h.snaplen = pick(rnd, [0, 1, 54, 65_535, 0xffffffff]); break;
    default: h.major = pick(rnd, [0, 1, 2, 0xffff]); h.minor = pick(rnd, [0, 4, 0xffff]);
  }
  return `pcap-header ${kind}`;
}

/** Every structural mutation, with its weight (by repetition) and the formats it applies to. */
export const STRUCTURAL = [
  { name: 'dup', w: 3, run: (doc, rnd) => {
    const r = run(doc, rnd, 8);
    if (r === null) return null;
    const copies = r.a.slice(r.i, r.i + r.k).map(clone);
    const to = rnd() < 0.6 ? r.i + r.k : r.lo + int(rnd, r.a.length - r.lo + 1);
    r.a.splice(to, 0, ...copies);
    return `dup ${r.i}+${r.k} to ${to}`;
  } },
  { name: 'drop', w: 2, run: (doc, rnd) => {
    const r = run(doc, rnd, 20);
    if (r === null) return null;
    r.a.splice(r.i, r.k);
    return `drop ${r.i}+${r.k}`;
  } },
  { name: 'swap', w: 2, run: (doc, rnd) => {
    const r = run(doc, rnd, 1);
    if (r === null) return null;
    const j = rnd() < 0.7 ? r.i + 1 + int(rnd, 4) : r.lo + int(rnd, r.a.length - r.lo);
    if (j >= r.a.length) return null;
    [r.a[r.i], r.a[j]] = [r.a[j], r.a[r.i]];
    return `swap ${r.i} ${j}`;
  } },
  { name: 'shuffle', w: 1, run: (doc, rnd) => {
    const r = run(doc, rnd, 12);
    if (r === null) return null;
    for (let x = r.i + r.k - 1; x > r.i; x--) {
      const y = r.i + int(rnd, x - r.i + 1);
      [r.a[x], r.a[y]] = [r.a[y], r.a[x]];
    }
    return `shuffle ${r.i}+${r.k}`;
  } },
  { name: 'ts-warp', w: 3, run: tsWarp },
  { name: 'ts-extreme', w: 2, run: tsExtreme },
  { name: 'length', w: 3, run: lengthField },
  { name: 'cut-frame', w: 1, run: cutFrame },
  { name: 'frame-field', w: 4, run: frameField },
  { name: 'resp-damage', w: 6, run: respDamage },
  { name: 'resp-inject', w: 6, run: injectResp },
  { name: 'frame-fill', w: 1, run: frameFill },
  { name: 'isb', w: 3, fmt: 'pcapng', run: isbInsert },
  { name: 'idb', w: 3, fmt: 'pcapng', run: idbOptionsMutation },
  { name: 'shb', w: 2, fmt: 'pcapng', run: shbMutation },
  { name: 'odd-block', w: 1, fmt: 'pcapng', run: oddBlock },
  { name: 'epb-iface', w: 1, fmt: 'pcapng', run: epbIface },
  { name: 'epb-options', w: 1, fmt: 'pcapng', run: epbOptions },
  { name: 'pcap-header', w: 2, fmt: 'pcap', run: pcapHeader },
].flatMap((m) => Array(m.w).fill(m));

