// Fuzz cases: a case id names one seeded mutation of one shipped capture, so any case can be
// made again from its id alone (makeCase(id, bases)). A case takes a window of records (pcap)
// or blocks (pcapng) from a base capture, may re-encode it or splice in another capture, then
// applies structural mutations (records, blocks, timestamps, lengths, TCP and RESP inside the
// frames) and byte-level ones (bit flips, overwrites, cuts, splices) to the written file.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  epbBlock, idbBlock, int, NG, ngInterfaces, PACKET_BLOCKS, parsePcap, parsePcapng, PCAP_MAGIC_NS, PCAP_MAGIC_US, pick, rd32, shbBlock, spbBlock, tsOf,
  wr32, writePcap, writePcapng,
} from './fuzz-formats.mjs';
import { STRUCTURAL } from './fuzz-mutations.mjs';

/** Bumped whenever a case id starts to name a different input. */
export const MUTATOR_VERSION = 1;

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of case `id` (a 32-bit mix of the id, so neighbouring ids are unrelated). */
export function caseSeed(id) {
  let h = (id >>> 0) ^ Math.imul(Math.floor(id / 4294967296), 0x9e3779b9) ^ 0x5bd1e995;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}


/** Every shipped capture: captures/*.pcap*, captures/deployments/*.pcap, with their ports. */
export function loadBases(root) {
  const names = shipped(root).filter((f) => /^captures\/[^/]+\.pcap(ng)?$/.test(f) || /^captures\/deployments\/[^/]+\.pcap$/.test(f)).sort();
  return names.map((name) => {
    const bytes = new Uint8Array(readFileSync(join(root, name)));
    const doc = rd32(bytes, 0, false) === NG.SHB ? parsePcapng(bytes) : parsePcap(bytes);
    const truthPath = join(root, name.replace(/\.pcap(ng)?$/, '.truth.json'));
    const truth = existsSync(truthPath) ? JSON.parse(readFileSync(truthPath, 'utf8')) : {};
    const ports = truth.ports ?? [6379];
    const proxyPorts = truth.proxyPort === undefined ? [] : [truth.proxyPort];
    return { name, bytes, doc, ports, proxyPorts };
  });
}

/** Files committed under captures/ (a capture being made is not shipped yet); all files without git. */
function shipped(root) {
  try {
    return execFileSync('git', ['ls-files', 'captures'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    const list = (dir) => readdirSync(join(root, dir)).map((f) => `${dir}/${f}`);
    return [...list('captures'), ...list('captures/deployments')];
  }
}

/** A unit of a window: its own fields, its bytes shared with the base until writable() (fuzz-formats.mjs). */
const copyRec = (r) => ({ ...r });
const copyBlock = (b) => ({ ...b });

/** Units a window is cut from, by count: mostly a few, sometimes hundreds, rarely the whole capture. */
function windowLength(rnd, total, bytes) {
  const r = rnd();
  if (r < 0.03 && bytes < 400_000) return total;
  const max = r < 0.6 ? 40 : r < 0.95 ? 300 : 2000;
  return Math.max(1, Math.min(total, 1 + Math.floor(rnd() ** 2 * max)));
}

/** A copy of a window of a base capture (pcapng: with the section and interface blocks before it). */
function windowOf(base, rnd) {
  const d = base.doc;
  if (d.fmt === 'pcap') {
    const n = windowLength(rnd, d.recs.length, base.bytes.length);
    const s = int(rnd, d.recs.length - n + 1);
    return { doc: { fmt: 'pcap', hdr: { ...d.hdr }, recs: d.recs.slice(s, s + n).map(copyRec) }, at: s, n };
  }
  const first = d.blocks.findIndex((b) => PACKET_BLOCKS.has(b.type));
  const total = d.blocks.length - first;
  const n = windowLength(rnd, total, base.bytes.length);
  const s = first + int(rnd, total - n + 1);
  const pre = d.blocks.slice(0, s).filter((b) => b.type === NG.SHB || b.type === NG.IDB);
  return { doc: { fmt: 'pcapng', blocks: [...pre, ...d.blocks.slice(s, s + n)].map(copyBlock) }, at: s, n };
}

/** Frames with their timestamps in ns (BigInt) and link types, format aside. */
function packetsOf(doc) {
  if (doc.fmt === 'pcap') {
    const ns = doc.hdr.magic === PCAP_MAGIC_NS;
    return doc.recs.map((r) => ({ ts: BigInt(r.sec) * 1_000_000_000n + BigInt(r.frac) * (ns ? 1n : 1000n), link: doc.hdr.link & 0xffff, data: r.data, origLen: r.origLen }));
  }
  const per = ngInterfaces(doc);
  const out = [];
  let last = 0n;
  doc.blocks.forEach((b, i) => {
    if (b.type === NG.EPB && b.body.length >= 20) {
      const iface = per[i][rd32(b.body, 0, b.le)];
      if (iface === undefined) return;
      last = (tsOf(b) * 1_000_000_000n) / iface.units;
      const cap = Math.min(rd32(b.body, 12, b.le), b.body.length - 20);
      out.push({ ts: last, link: iface.link, data: b.body.slice(20, 20 + cap), origLen: rd32(b.body, 16, b.le) });
    } else if (b.type === NG.SPB && per[i][0] !== undefined) {
      out.push({ ts: last, link: per[i][0].link, data: b.body.slice(4), origLen: rd32(b.body, 0, b.le) });
    }
  });
  return out;
}

const TSRESOLS = [undefined, 9, 3, 0, 0x80 | 20, 0x80 | 30, 12];

/** Frames written as pcap (us or ns, either byte order) or pcapng (EPB or SPB, a chosen resolution). */
function encodeAs(fmt, pkts, rnd, steps, order) {
  if (fmt === 'pcap') {
    const ns = rnd() < 0.4;
    const le = order ?? rnd() < 0.7;
    steps.push(`encode-pcap-${ns ? 'ns' : 'us'}-${le ? 'le' : 'be'}`);
    const hdr = { le, magic: ns ? PCAP_MAGIC_NS : PCAP_MAGIC_US, major: 2, minor: 4, zone: 0, sigfigs: 0, snaplen: 262144, link: pkts[0]?.link ?? 1 };
    const div = ns ? 1_000_000_000n : 1_000_000n;
    const recs = pkts.map((p) => {
      const t = BigInt.asUintN(64, ns ? p.ts : p.ts / 1000n);
      return { sec: Number((t / div) & 0xffffffffn), frac: Number(t % div), capLen: p.data.length, origLen: p.origLen, data: p.data };
    });
    return { fmt: 'pcap', hdr, recs };
  }
  const le = order ?? rnd() < 0.7;
  const resol = pick(rnd, TSRESOLS);
  const spb = rnd() < 0.1;
  steps.push(`encode-pcapng-${le ? 'le' : 'be'}-tsresol-${resol ?? 'default'}${spb ? '-spb' : ''}`);
  const units = resol === undefined ? 1_000_000n : (resol & 0x80) !== 0 ? 1n << BigInt(resol & 0x7f) : 10n ** BigInt(resol);
  const links = [...new Set(pkts.map((p) => p.link))];
  if (links.length === 0) links.push(1);
  const blocks = [shbBlock(le)];
  for (const l of links) blocks.push(idbBlock(le, l, 262144, resol === undefined ? [] : [{ code: 9, value: Uint8Array.of(resol) }]));
  for (const p of pkts) {
    const iface = links.indexOf(p.link);
    if (spb && iface === 0) blocks.push(spbBlock(le, p.origLen, p.data));
    else blocks.push(epbBlock(le, iface, (p.ts * units) / 1_000_000_000n, p.data.length, p.origLen, p.data));
  }
  return { fmt: 'pcapng', blocks };
}

/** Another capture's window put into this one: appended, inserted, or interleaved. */
function splice(doc, other, rnd, steps) {
  const le = doc.fmt === 'pcap' ? doc.hdr.le : doc.blocks[0]?.le ?? true;
  const theirs = encodeAs(doc.fmt, packetsOf(other), rnd, [], le);
  const how = pick(rnd, ['append', 'insert', 'interleave']);
  steps.push(`splice-${how}`);
  if (doc.fmt === 'pcap') {
    doc.recs = mix(doc.recs, theirs.recs, how, rnd);
    return;
  }
  // Their frames come from interfaces declared just before the first of them.
  // Their frames come from interfaces declared just before the first of them, in the last section.
  const mine = doc.blocks;
  const idbs = theirs.blocks.filter((b) => b.type === NG.IDB);
  const per = ngInterfaces(doc);
  const start = per.length > 0 ? per[per.length - 1].length : 0;
  const pkts = theirs.blocks.filter((b) => b.type === NG.EPB || b.type === NG.SPB).map((b) => relabel(b, start));
  const lead = mine.findIndex((b) => PACKET_BLOCKS.has(b.type));
  const head = lead < 0 ? mine : mine.slice(0, lead);
  const body = lead < 0 ? [] : mine.slice(lead);
  doc.blocks = [...head, ...idbs, ...mix(body, pkts, how, rnd)];
}

/** A frame block of another doc renumbered to interface `base + its own`. */
function relabel(b, base) {
  if (b.type === NG.SPB) return epbBlock(b.le, base, 0n, b.body.length - 4, rd32(b.body, 0, b.le), b.body.subarray(4));
  wr32(b.body, 0, rd32(b.body, 0, b.le) + base, b.le);
  return b;
}

function mix(a, b, how, rnd) {
  if (how === 'append') return [...a, ...b];
  if (how === 'insert') {
    const at = int(rnd, a.length + 1);
    return [...a.slice(0, at), ...b, ...a.slice(at)];
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) out.push(j >= b.length || (i < a.length && rnd() < 0.5) ? a[i++] : b[j++]);
  return out;
}

const INTERESTING_U32 = [0, 1, 0xffff, 0x10000, 0x40000, 0x40001, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, PCAP_MAGIC_US, NG.SHB, NG.BOM];
const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x0d, 0x0a, 0x2a, 0x24, 0x01, 0x3a];

/** Byte-level damage to the written file. */
function byteMutation(b, rnd, steps, bases) {
  // Headers get their share; the 4 magic bytes rarely (a file that is no capture stops at once).
  const pos = () => {
    const r = rnd();
    if (r < 0.02) return int(rnd, Math.min(b.length, 4));
    if (r < 0.15) return Math.min(b.length - 1, 4 + int(rnd, 60));
    return int(rnd, b.length);
  };
  const kind = pick(rnd, ['bitflip', 'bitflip', 'byte-set', 'u32-set', 'u32-set', 'truncate', 'delete-range', 'insert-range', 'dup-range', 'raw-splice']);
  if (b.length === 0 && kind !== 'raw-splice') return b;
  steps.push(kind);
  switch (kind) {
    case 'bitflip': {
      const n = 1 + Math.floor(rnd() ** 3 * 64);
      for (let i = 0; i < n; i++) b[pos()] ^= 1 << int(rnd, 8);
      return b;
    }
    case 'byte-set': {
      const n = 1 + Math.floor(rnd() ** 2 * 16);
      for (let i = 0; i < n; i++) b[pos()] = rnd() < 0.7 ? pick(rnd, INTERESTING_BYTES) : int(rnd, 256);
      return b;
    }
    case 'u32-set': {
      const o = Math.min(pos(), Math.max(0, b.length - 4));
      if (b.length < 4) return b;
      wr32(b, o, rnd() < 0.2 ? int(rnd, 2 ** 32) : pick(rnd, INTERESTING_U32), rnd() < 0.7);
      return b;
    }
    case 'truncate':
      return b.subarray(0, Math.floor(b.length * (1 - rnd() ** 2)));
    case 'delete-range': {
      const s = pos();
      const n = 1 + Math.floor(rnd() ** 2 * 4000);
      return concat(b.subarray(0, s), b.subarray(Math.min(b.length, s + n)));
    }
    case 'insert-range': {
      const s = pos();
      const junk = new Uint8Array(1 + Math.floor(rnd() ** 2 * 2000));
      const fill = rnd();
      for (let i = 0; i < junk.length; i++) junk[i] = fill < 0.3 ? 0 : fill < 0.5 ? 0xff : int(rnd, 256);
      return concat(b.subarray(0, s), junk, b.subarray(s));
    }
    case 'dup-range': {
      const s = pos();
      const e = Math.min(b.length, s + 1 + Math.floor(rnd() ** 2 * 5000));
      return concat(b.subarray(0, e), b.subarray(s, e), b.subarray(e));
    }
    default: {
      const ob = pick(rnd, bases);
      const other = ob.bytes;
      const from = int(rnd, other.length);
      steps[steps.length - 1] = `raw-splice ${ob.name}@${from}`;
      const tail = other.subarray(from, Math.min(other.length, from + 1 + int(rnd, 200_000)));
      return concat(b.subarray(0, pos()), tail);
    }
  }
}

function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export const TUI_SIZES = [[80, 24], [120, 40], [200, 60], [40, 12]];

/** How the case is analysed: ports, limits, read chunk, terminal size. */
function optionsFor(rnd, ports, proxyPorts) {
  const extra = rnd() < 0.1 ? [pick(rnd, [6379, 22121, 80, 1, 65535])] : [];
  return {
    ports: [...new Set([...ports, ...extra])],
    proxyPorts: rnd() < 0.7 ? proxyPorts : [],
    cluster: rnd() < 0.2,
    top: pick(rnd, [1, 3, 10, 10, 50]),
    maxKeys: pick(rnd, [2, 50, 1000, 200_000]),
    slowMs: pick(rnd, [0, 0.001, 10, 10, 1000]),
    chunkBytes: pick(rnd, [4096, 4096 + int(rnd, 60_000), 65_536, 8 * 1024 * 1024]),
    compareChunks: rnd() < 0.08,
    tuiRefresh: rnd() < 0.25,
    tui: int(rnd, TUI_SIZES.length),
  };
}

/** Bytes of the frames in a window (what makes a case quick or slow to analyse). */
function windowBytes(doc) {
  let n = 0;
  for (const u of doc.fmt === 'pcap' ? doc.recs : doc.blocks) n += (u.data ?? u.body).length;
  return n;
}

/**
 * Case `id`: { id, seed, base, steps, bytes, ext, options }. Pure: the same id and bases give the
 * same bytes. With `maxWindowBytes`, null when the case's window of its base is larger (a quick
 * slice of the campaign: the same cases, the large ones left out).
 */
export function makeCase(id, bases, maxWindowBytes = Infinity) {
  const seed = caseSeed(id);
  const rnd = mulberry32(seed);
  const base = pick(rnd, bases);
  const w = windowOf(base, rnd);
  if (windowBytes(w.doc) > maxWindowBytes) return null;
  let doc = w.doc;
  const steps = [`window ${w.at}+${w.n}`];
  let ports = base.ports;
  let proxyPorts = base.proxyPorts;
  const plan = rnd();
  if (plan < 0.3) {
    doc = encodeAs(rnd() < 0.75 ? 'pcapng' : 'pcap', packetsOf(doc), rnd, steps);
  } else if (plan < 0.42) {
    const other = pick(rnd, bases);
    steps.push(`with ${other.name}`);
    splice(doc, windowOf(other, rnd).doc, rnd, steps);
    ports = [...new Set([...ports, ...other.ports])];
    proxyPorts = [...new Set([...proxyPorts, ...other.proxyPorts])];
  }
  const nStruct = pick(rnd, [0, 1, 1, 1, 2, 2, 3, 5]);
  for (let i = 0; i < nStruct; i++) {
    const m = pick(rnd, STRUCTURAL.filter((s) => s.fmt === undefined || s.fmt === doc.fmt));
    const what = m.run(doc, rnd);
    if (what) steps.push(what);
  }
  let bytes = doc.fmt === 'pcap' ? writePcap(doc) : writePcapng(doc);
  const nByte = pick(rnd, [0, 0, 0, 0, 1, 1, 1, 2, 3]);
  for (let i = 0; i < nByte; i++) bytes = byteMutation(bytes, rnd, steps, bases);
  const options = optionsFor(rnd, ports, proxyPorts);
  const ext = bytes.length >= 4 && rd32(bytes, 0, false) === NG.SHB ? 'pcapng' : 'pcap';
  return { id, seed, base: base.name, steps, bytes, ext, options };
}
