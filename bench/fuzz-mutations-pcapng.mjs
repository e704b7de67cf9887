// pcapng-only mutations (see bench/fuzz-mutations.mjs): interface statistics with drop counters
// at the edges of 64 bits, interface descriptions with odd timestamp units and offsets, section
// headers damaged or repeated, blocks of unknown or rare types, packet blocks naming interfaces
// that are not there or carrying options.
import {
  clone, encodeOptions, idbBlock, idbOptions, int, isbBlock, NG, ngInterfaces, pad4, pick, rd16, rd32, shbBlock, u64Value, wr32, writable,
} from './fuzz-formats.mjs';

/** Drop counters and timestamps at the edges of what a double holds exactly and of 64 bits. */
const DROPS = [0n, 1n, 1000n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 2n, 2n ** 64n - 1n];
export const NG_TS = [2n ** 64n - 1n, 2n ** 64n - 2n ** 20n, 2n ** 64n - 2n ** 32n, 2n ** 63n, 2n ** 63n - 1n, 2n ** 53n, 2n ** 53n + 1n, 0n, 1n, 2n ** 32n - 1n, 2n ** 32n];
/** if_tsresol: 10^-n (high bit clear) and 2^-n (set), the supported range and past it. */
const TSRESOL = [0, 1, 3, 6, 9, 12, 15, 18, 19, 63, 127, 0x80, 0x80 | 1, 0x80 | 10, 0x80 | 20, 0x80 | 30, 0x80 | 52, 0x80 | 60, 0x80 | 61, 0xff];
/** if_tsoffset, seconds, signed 64-bit. */
const TSOFFSET = [0n, 1n, -1n, 2n ** 31n, -(2n ** 31n), 2n ** 53n, -(2n ** 53n), 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n, -1_700_000_000n, 86_400n * 7n];
export const LINKS = [0, 1, 12, 14, 101, 108, 113, 147, 228, 229, 276, 0xffff];

/** An ISB (or three) with drop and other counters, for a declared interface or one that is not. */
export function isbInsert(doc, rnd) {
  const a = doc.blocks;
  const per = ngInterfaces(doc);
  const at = 1 + int(rnd, a.length);
  const n = per[Math.min(at, per.length) - 1]?.length ?? 0;
  const le = a[0]?.le ?? true;
  const iface = rnd() < 0.85 ? int(rnd, Math.max(1, n)) : pick(rnd, [n, 0xffff, 0xffffffff]);
  const opts = [];
  const said = [];
  for (const code of [5, 7, 4, 2, 3, 6, 8, 1]) {
    if (rnd() < (code === 5 || code === 7 ? 0.7 : 0.15)) {
      const n = code === 1 ? 0n : pick(rnd, DROPS);
      const value = code === 1 ? Uint8Array.from('drops\x1b[2J\r\n', (c) => c.charCodeAt(0)) : u64Value(n, le);
      opts.push(rnd() < 0.1 ? { code, value, lenField: pick(rnd, [0, 4, 7, 9, 0xffff]) } : { code, value });
      said.push(`${code}=${code === 1 ? 'comment' : n}${opts.at(-1).lenField === undefined ? '' : `(len ${opts.at(-1).lenField})`}`);
    }
  }
  const copies = rnd() < 0.2 ? 3 : 1;
  for (let i = 0; i < copies; i++) a.splice(at, 0, isbBlock(le, iface, pick(rnd, NG_TS), opts));
  return `isb iface ${iface} ${said.join(' ')} x${copies}`;
}

/** An IDB's timestamp resolution and offset, name, link type or snap length changed (or a changed copy added). */
export function idbOptionsMutation(doc, rnd) {
  const a = doc.blocks;
  const idxs = a.map((b, i) => (b.type === NG.IDB ? i : -1)).filter((i) => i >= 0);
  if (idxs.length === 0) return null;
  const i = pick(rnd, idxs);
  const b = a[i];
  const opts = idbOptions(b.body, b.le).filter((o) => o.code !== 9 && o.code !== 14);
  const what = [];
  if (rnd() < 0.6) {
    const v = pick(rnd, TSRESOL);
    opts.push({ code: 9, value: Uint8Array.of(v) });
    what.push(`tsresol=${v}`);
  }
  if (rnd() < 0.4) {
    const v = pick(rnd, TSOFFSET);
    opts.push({ code: 14, value: u64Value(v, b.le) });
    what.push(`tsoffset=${v}`);
  }
  if (rnd() < 0.1) opts.push({ code: 2, value: Uint8Array.from('eth0\x1b]0;x\x07', (c) => c.charCodeAt(0)), lenField: pick(rnd, [10, 0xffff]) });
  const link = rnd() < 0.15 ? pick(rnd, LINKS) : rd16(b.body, 0, b.le);
  const snap = rnd() < 0.15 ? pick(rnd, [0, 1, 20, 54, 65_535, 0xffffffff]) : rd32(b.body, 4, b.le);
  const next = idbBlock(b.le, link, snap, opts);
  if (rnd() < 0.3) a.splice(i + 1, 0, next);
  else a[i] = next;
  return `idb ${i} link=${link} snap=${snap} ${what.join(' ')}`;
}

/** The section header's version, byte-order magic or length damaged; or a new section started. */
export function shbMutation(doc, rnd) {
  const a = doc.blocks;
  const kind = pick(rnd, ['major', 'bom', 'section-length', 'new-section', 'bare-section', 'other-order']);
  const at = 1 + int(rnd, a.length);
  const le = a[0]?.le ?? true;
  switch (kind) {
    case 'major': a[0] = shbBlock(le, { major: pick(rnd, [0, 2, 0xffff]), minor: pick(rnd, [0, 1, 0xffff]) }); break;
    case 'bom': a[0] = { ...a[0], body: a[0].body.slice() }; a[0].body[int(rnd, 4)] ^= 0xff; break;
    case 'section-length': a[0] = shbBlock(le, { sectionLen: pick(rnd, [0n, 12n, 2n ** 63n, 2n ** 64n - 2n]) }); break;
    case 'new-section': a.splice(at, 0, shbBlock(le), ...a.filter((b) => b.type === NG.IDB).map(clone)); break;
    case 'bare-section': a.splice(at, 0, shbBlock(le)); break;
    default: a.splice(at, 0, shbBlock(!le), idbBlock(!le, 1, 262_144)); break;
  }
  return `shb ${kind} at ${at}`;
}

/** A block of a rare, unknown or random type with a random body. */
export function oddBlock(doc, rnd) {
  const a = doc.blocks;
  const le = a[0]?.le ?? true;
  const type = pick(rnd, [NG.NRB, NG.DSB, NG.CUSTOM, NG.CUSTOM_NOCOPY, NG.JOURNAL, NG.PB, NG.SPB, 7, 8, 0x80000001, 0xdeadbeef, int(rnd, 2 ** 32)]);
  const body = new Uint8Array(int(rnd, 72));
  for (let i = 0; i < body.length; i++) body[i] = rnd() < 0.5 ? 0 : int(rnd, 256);
  const at = 1 + int(rnd, a.length);
  a.splice(at, 0, { type: type >>> 0, le, body });
  return `odd-block 0x${(type >>> 0).toString(16)} ${body.length}B at ${at}`;
}

/** An EPB naming an interface that is not declared. */
export function epbIface(doc, rnd) {
  const b = pick(rnd, doc.blocks.filter((x) => x.type === NG.EPB));
  if (b === undefined) return null;
  const v = pick(rnd, [1, 2, 3, 0xffff, 0x10000, 0xffffffff]);
  wr32(writable(b).body, 0, v, b.le);
  return `epb-iface ${v}`;
}

/** EPB options (flags, drop count, packet id, queue, comment, hash, verdict), some with lying lengths. */
export function epbOptions(doc, rnd) {
  const a = doc.blocks;
  const idxs = a.map((b, i) => (b.type === NG.EPB && b.body.length >= 20 ? i : -1)).filter((i) => i >= 0);
  if (idxs.length === 0) return null;
  const i = pick(rnd, idxs);
  const b = a[i];
  const cap = Math.min(rd32(b.body, 12, b.le), b.body.length - 20);
  const opts = [];
  for (const code of [2, 4, 5, 6, 1, 3, 7]) {
    if (rnd() < 0.4) {
      const value = code === 1 ? Uint8Array.from('\x1b[31mred\r\n\0', (c) => c.charCodeAt(0)) : code === 2 || code === 6 ? u64Value(pick(rnd, DROPS), b.le).subarray(0, 4) : u64Value(pick(rnd, DROPS), b.le);
      opts.push(rnd() < 0.15 ? { code, value, lenField: pick(rnd, [0, 3, 9, 0xffff]) } : { code, value });
    }
  }
  const head = b.body.slice(0, 20 + pad4(Math.max(0, cap)));
  const tail = encodeOptions(opts, b.le, rnd() < 0.8);
  const body = new Uint8Array(head.length + tail.length);
  body.set(head);
  body.set(tail, head.length);
  a[i] = { type: NG.EPB, le: b.le, body };
  return `epb-options ${opts.map((o) => o.code).join(',')}`;
}
