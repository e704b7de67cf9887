/**
 * --since, --until and --client: an offline analysis narrowed the way a BPF expression narrows a
 * live one. Packets outside are not analysed, only counted (and said so in the report). Times
 * follow editcap -A / -B: since <= stamp < until.
 */
import type { Packet } from '../capture/packet.js';
import { TcpSegment } from '../flow/decode.js';
import * as decodeMod from '../flow/decode.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { DECODE, decodeTcp } = decodeMod;

/** A bound in capture time: an absolute stamp, or an offset from the capture's first packet. */
export interface TimeBound {
  kind: 'time' | 'offset';
  us: number;
  /** As the user wrote it. */
  text: string;
}

/** An IPv4 or IPv6 network; IPv4 uses only the last word, as TcpSegment does. */
export interface IpNet {
  v6: boolean;
  /** Address words, network order, already masked. */
  words: [number, number, number, number];
  /** Mask words for `prefix` bits. */
  mask: [number, number, number, number];
  prefix: number;
}

/**
 * Whose traffic to keep. Only addresses today. The hook for application names (`--client
 * checkout`): a `{ kind: 'name' }` selector. A name given by `--clients FILE` stands for
 * addresses, so it can become `address` selectors here before reading starts; a name a
 * connection gives itself (CLIENT SETNAME, HELLO SETNAME) is known only to src/analysis, so
 * that one would be a per-connection filter there, not a per-packet one here. clientArg in
 * src/cli/args.ts is where the option would accept them.
 */
export type ClientSelector =
  | { kind: 'address'; net: IpNet; text: string }
  /** An application name: turned into its addresses from --clients before reading (namedClients). */
  | { kind: 'name'; text: string };

export interface PacketSelection {
  since?: TimeBound;
  until?: TimeBound;
  clients?: ClientSelector[];
  /** The selection as the user gave it, for the report (`--since 30 --client 10.0.0.0/8`). */
  text: string;
}

export class PacketFilter {
  /** Packets seen and packets skipped. */
  seen = 0;
  skipped = 0;
  private sinceUs = -Infinity;
  private untilUs = Infinity;
  private started = false;
  private minUs = Infinity;
  private maxUs = -Infinity;
  private readonly watched = new Uint8Array(65536);
  private readonly nets: IpNet[];
  private readonly seg = new TcpSegment();

  constructor(
    private readonly sel: PacketSelection,
    serverPorts: readonly number[],
    private readonly next: (p: Packet) => void,
  ) {
    for (const port of serverPorts) this.watched[port] = 1;
    this.nets = (sel.clients ?? []).flatMap((c) => (c.kind === 'address' ? [c.net] : []));
  }

  readonly packet = (p: Packet): void => {
    const ts = p.tsUs;
    if (!this.started) this.start(ts);
    this.seen++;
    if (ts < this.minUs) this.minUs = ts;
    if (ts > this.maxUs) this.maxUs = ts;
    if (ts < this.sinceUs || ts >= this.untilUs || (this.nets.length > 0 && !this.clientMatches(p))) {
      this.skipped++;
      return;
    }
    this.next(p);
  };

  /** Offsets count from the first packet read (in the time order of a set of files). */
  private start(firstUs: number): void {
    this.started = true;
    const at = (b: TimeBound | undefined, none: number) => (b === undefined ? none : b.kind === 'time' ? b.us : firstUs + b.us);
    this.sinceUs = at(this.sel.since, -Infinity);
    this.untilUs = at(this.sel.until, Infinity);
  }

  /** The client is the end not on a watched port; traffic between two unwatched ports is no one's. */
  private clientMatches(p: Packet): boolean {
    const s = this.seg;
    if (decodeTcp(p, s) !== DECODE.TCP) return false;
    const toServer = this.watched[s.dstPort] === 1;
    const fromServer = this.watched[s.srcPort] === 1;
    if (toServer && fromServer) return this.matches(s, true) || this.matches(s, false);
    if (toServer) return this.matches(s, true);
    if (fromServer) return this.matches(s, false);
    return false;
  }

  private matches(s: TcpSegment, src: boolean): boolean {
    const v6 = s.ipVersion === 6;
    const w0 = src ? s.s0 : s.d0;
    const w1 = src ? s.s1 : s.d1;
    const w2 = src ? s.s2 : s.d2;
    const w3 = src ? s.s3 : s.d3;
    for (const n of this.nets) {
      if (n.v6 !== v6) continue;
      const m = n.mask;
      const w = n.words;
      if (((w3 & m[3]) >>> 0) === w[3] && ((w2 & m[2]) >>> 0) === w[2] && ((w1 & m[1]) >>> 0) === w[1] && ((w0 & m[0]) >>> 0) === w[0]) return true;
    }
    return false;
  }

  /** The report's word on what was skipped, if anything was. */
  warning(): string | null {
    if (this.skipped === 0) return null;
    if (this.skipped < this.seen) {
      return `${this.skipped} of ${this.seen} packets fell outside ${this.sel.text} and were skipped (they count in packets and bytes, nowhere else)`;
    }
    const span = `${isoUtc(this.minUs)} to ${isoUtc(this.maxUs)}`;
    return `every packet (${this.seen}) fell outside ${this.sel.text}: nothing was analysed (the capture runs from ${span})`;
  }
}

function isoUtc(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString().replace('T', ' ').replace('Z', ' UTC');
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** `10.0.0.5`, `10.0.0.0/8`, `::1`, `fd00::/8`; null if it is none of them. */
export function parseIpNet(text: string): IpNet | null {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const words = parseIPv4(addr) ?? parseIPv6(addr);
  if (words === null) return null;
  const v6 = !IPV4.test(addr);
  const bits = v6 ? 128 : 32;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > bits) return null;
    prefix = Number(p);
  }
  const mask: [number, number, number, number] = [0, 0, 0, 0];
  // IPv4 lives in the last word: its prefix counts from bit 96.
  const from = v6 ? 0 : 96;
  for (let i = 0; i < 4; i++) {
    const bitsHere = Math.max(0, Math.min(32, from + prefix - 32 * i));
    mask[i] = bitsHere === 0 ? 0 : bitsHere === 32 ? 0xffffffff : (~0 << (32 - bitsHere)) >>> 0;
  }
  if (!v6) mask[0] = mask[1] = mask[2] = 0;
  const masked = words.map((w, i) => (w & mask[i]!) >>> 0) as [number, number, number, number];
  return { v6, words: masked, mask, prefix };
}

function parseIPv4(s: string): [number, number, number, number] | null {
  const m = IPV4.exec(s);
  if (m === null) return null;
  const b = m.slice(1).map(Number);
  if (b.some((x) => x > 255)) return null;
  return [0, 0, 0, ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0];
}

/** RFC 4291 section 2.2 text forms, a dotted IPv4 tail included. */
function parseIPv6(s: string): [number, number, number, number] | null {
  let text = s.toLowerCase();
  const dotted = /^(.*:)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(text);
  if (dotted !== null) {
    const v4 = parseIPv4(dotted[2]!);
    if (v4 === null) return null;
    text = `${dotted[1]}${(v4[3] >>> 16).toString(16)}:${(v4[3] & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groupsOf(halves[0]!);
  const rest = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (![...head, ...rest].every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  const zeros = 8 - head.length - rest.length;
  if (halves.length === 1 ? zeros !== 0 : zeros < 1) return null;
  const g = [...head, ...new Array<string>(halves.length === 2 ? zeros : 0).fill('0'), ...rest].map((x) => parseInt(x, 16));
  const w = (i: number) => ((g[2 * i]! << 16) | g[2 * i + 1]!) >>> 0;
  return [w(0), w(1), w(2), w(3)];
}
