/** Builders of link/IP/TCP frames for flow tests (header layouts from RFC 791, 8200, 9293). */

export const F = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export interface TcpSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags?: number;
  payload?: Uint8Array | string;
  /** Extra TCP option bytes (multiple of 4). */
  optionBytes?: number;
}

export function bytes(p: Uint8Array | string | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  return typeof p === 'string' ? Buffer.from(p, 'latin1') : p;
}

export function tcp(s: TcpSpec): Uint8Array {
  const payload = bytes(s.payload);
  const hdr = 20 + (s.optionBytes ?? 0);
  const b = Buffer.alloc(hdr + payload.length);
  b.writeUInt16BE(s.sport, 0);
  b.writeUInt16BE(s.dport, 2);
  b.writeUInt32BE(s.seq >>> 0, 4);
  b.writeUInt32BE((s.ack ?? 0) >>> 0, 8);
  b[12] = (hdr / 4) << 4;
  b[13] = s.flags ?? (s.ack !== undefined ? F.ACK : 0);
  b.writeUInt16BE(65535, 14);
  b.fill(1, 20, hdr); // NOP options
  b.set(payload, hdr);
  return b;
}

export function parseIPv4(a: string): number[] {
  return a.split('.').map(Number);
}

export function parseIPv6(a: string): number[] {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out: number[] = [];
  for (const g of groups) {
    const v = parseInt(g, 16);
    out.push(v >> 8, v & 0xff);
  }
  return out;
}

export interface Ipv4Opts {
  proto?: number;
  /** Override of the total length field (0 = TSO). */
  totalLen?: number;
  /** Fragment offset in 8-byte units and the MF flag. */
  fragOffset?: number;
  moreFragments?: boolean;
  /** IP option bytes (multiple of 4). */
  optionBytes?: number;
}

export function ipv4(src: string, dst: string, payload: Uint8Array, o: Ipv4Opts = {}): Uint8Array {
  const hdr = 20 + (o.optionBytes ?? 0);
  const b = Buffer.alloc(hdr + payload.length);
  b[0] = 0x40 | (hdr / 4);
  b.writeUInt16BE(o.totalLen ?? hdr + payload.length, 2);
  b.writeUInt16BE(((o.moreFragments ? 1 : 0) << 13) | (o.fragOffset ?? 0), 6);
  b[8] = 64;
  b[9] = o.proto ?? 6;
  b.set(parseIPv4(src), 12);
  b.set(parseIPv4(dst), 16);
  b.set(payload, hdr);
  return b;
}

export interface Ipv6Ext {
  /** Next-header value naming this extension header: 0, 43, 60 (8n bytes), 51 (AH), 44 (fragment). */
  type: number;
  /** For 44: fragment offset (8-byte units) and M flag. */
  fragOffset?: number;
  moreFragments?: boolean;
}

export function ipv6(src: string, dst: string, payload: Uint8Array, ext: readonly Ipv6Ext[] = [], proto = 6): Uint8Array {
  const exts: Buffer[] = [];
  for (let i = 0; i < ext.length; i++) {
    const e = ext[i]!;
    const next = i + 1 < ext.length ? ext[i + 1]!.type : proto;
    let h: Buffer;
    if (e.type === 44) {
      h = Buffer.alloc(8);
      h.writeUInt16BE(((e.fragOffset ?? 0) << 3) | (e.moreFragments ? 1 : 0), 2);
    } else if (e.type === 51) {
      h = Buffer.alloc(16); // AH: length field 2 -> (2 + 2) * 4 bytes
      h[1] = 2;
    } else {
      h = Buffer.alloc(16); // 16 bytes: length field 1 -> (1 + 1) * 8
      h[1] = 1;
      h[2] = 1; // PadN option over the rest
      h[3] = 12;
    }
    h[0] = next;
    exts.push(h);
  }
  const body = Buffer.concat([...exts, payload]);
  const b = Buffer.alloc(40 + body.length);
  b[0] = 0x60;
  b.writeUInt16BE(body.length, 4);
  b[6] = ext.length > 0 ? ext[0]!.type : proto;
  b[7] = 64;
  b.set(parseIPv6(src), 8);
  b.set(parseIPv6(dst), 24);
  b.set(body, 40);
  return b;
}

/** Ethernet II with optional stacked tags ([0x88a8, 0x8100] = QinQ), padded to minFrame bytes. */
export function ethernet(etherType: number, payload: Uint8Array, tags: readonly number[] = [], minFrame = 60): Uint8Array {
  const head = Buffer.alloc(12 + tags.length * 4 + 2);
  head.fill(0xaa, 0, 12);
  tags.forEach((t, i) => {
    head.writeUInt16BE(t, 12 + i * 4);
    head.writeUInt16BE(100 + i, 14 + i * 4);
  });
  head.writeUInt16BE(etherType, 12 + tags.length * 4);
  const frame = Buffer.concat([head, payload]);
  return frame.length >= minFrame ? frame : Buffer.concat([frame, Buffer.alloc(minFrame - frame.length, 0xee)]);
}

export function sll(proto: number, payload: Uint8Array): Uint8Array {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(0, 0); // packet type: to us
  h.writeUInt16BE(772, 2); // ARPHRD_LOOPBACK
  h.writeUInt16BE(6, 4);
  h.writeUInt16BE(proto, 14);
  return Buffer.concat([h, payload]);
}

export function sll2(proto: number, payload: Uint8Array): Uint8Array {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(proto, 0);
  h.writeUInt32BE(1, 4); // interface index
  h.writeUInt16BE(1, 8); // ARPHRD_ETHER
  h[10] = 4; // outgoing
  h[11] = 6;
  return Buffer.concat([h, payload]);
}

/** BSD NULL / LOOP header: the address family as 4 bytes in the given byte order. */
export function nullLink(family: number, payload: Uint8Array, le: boolean): Uint8Array {
  const h = Buffer.alloc(4);
  if (le) h.writeUInt32LE(family, 0);
  else h.writeUInt32BE(family, 0);
  return Buffer.concat([h, payload]);
}

export interface Frame {
  linkType: number;
  data: Uint8Array;
  tsUs: number;
  /** Defaults to data.length; set lower to imitate a snap length. */
  capLen?: number;
  origLen?: number;
}

/** An Ethernet/IPv4 (or IPv6 when src has ':') TCP frame. */
export function tcpFrame(s: TcpSpec, tsUs = 0): Frame {
  const seg = tcp(s);
  const v6 = s.src.includes(':');
  const ip = v6 ? ipv6(s.src, s.dst, seg) : ipv4(s.src, s.dst, seg);
  return { linkType: 1, data: ethernet(v6 ? 0x86dd : 0x0800, ip), tsUs };
}
