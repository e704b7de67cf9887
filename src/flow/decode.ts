/**
 * IPv4 (RFC 791), IPv6 (RFC 8200) and TCP (RFC 9293) headers, decoded into one reused
 * TcpSegment so the hot path allocates nothing.
 */
import * as byteOrderMod from '../capture/byte-order.js';
import type { Packet } from '../capture/packet.js';
import * as linkMod from './link.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { viewOf } = byteOrderMod;
const { findIp, LINK } = linkMod;

const FLAG = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
} as const;
export const TCP_FLAG = FLAG; // an alias: code here reads the module const (README, "Design notes")

/** IP protocol / IPv6 next-header numbers. */
const PROTO = {
  HOP_BY_HOP: 0,
  TCP: 6,
  ROUTING: 43,
  FRAGMENT: 44,
  AH: 51,
  DEST_OPTS: 60,
} as const;
export const IP_PROTO = PROTO; // an alias: code here reads the module const (README, "Design notes")

/** decodeTcp() results. */
const RESULT = {
  TCP: 0,
  NOT_TCP: 1,
  MALFORMED: 2,
  FRAGMENT: 3,
  UNKNOWN_LINK: 4,
} as const;
export const DECODE = RESULT; // an alias: code here reads the module const (README, "Design notes")

const IPV4_MIN_HEADER = 20;
const IPV6_HEADER = 40;
const TCP_MIN_HEADER = 20;
/** IPv4 flags/fragment-offset field: MF flag and the 13-bit offset. */
const IPV4_MF_OR_OFFSET = 0x3fff;
/** IPv6 fragment header: offset (high 13 bits) and M flag (bit 0). */
const IPV6_OFFSET_MASK = 0xfff8;
const IPV6_MORE_FRAGMENTS = 0x0001;
/** Extension headers walked before giving up on a packet. */
const MAX_EXTENSION_HEADERS = 8;

/** One decoded TCP segment; fields are overwritten by every decodeTcp() call. */
export class TcpSegment {
  ipVersion = 4;
  /** Addresses as 32-bit words, network order; IPv4 uses only s3 / d3 (others 0). */
  s0 = 0;
  s1 = 0;
  s2 = 0;
  s3 = 0;
  d0 = 0;
  d1 = 0;
  d2 = 0;
  d3 = 0;
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  /** Payload bytes at data[payloadOff, payloadOff + payloadLen), as captured. */
  data: Uint8Array = new Uint8Array(0);
  payloadOff = 0;
  payloadLen = 0;
  /** Payload length per the IP header; more than payloadLen when a snap length cut the frame. */
  wireLen = 0;
}

/** Decodes p into seg; returns a DECODE value (seg is meaningful only for DECODE.TCP). */
export function decodeTcp(p: Packet, seg: TcpSegment): number {
  const b = p.data;
  // Within the array whatever the packet claims: the header reads below would throw past it.
  const end = Math.min(p.offset + p.capLen, b.length);
  const ip = findIp(b, p.offset, end, p.linkType);
  if (ip < 0) return ip === LINK.UNKNOWN ? RESULT.UNKNOWN_LINK : ip === LINK.SHORT ? RESULT.MALFORMED : RESULT.NOT_TCP;
  if (ip >= end) return RESULT.MALFORMED;
  seg.data = b;
  const version = b[ip]! >> 4;
  if (version === 4) return ipv4(b, viewOf(b), ip, end, seg);
  if (version === 6) return ipv6(b, viewOf(b), ip, end, seg);
  return RESULT.NOT_TCP;
}

function ipv4(b: Uint8Array, v: DataView<ArrayBufferLike>, ip: number, end: number, seg: TcpSegment): number {
  if (end - ip < IPV4_MIN_HEADER) return RESULT.MALFORMED;
  const ihl = (b[ip]! & 0x0f) * 4;
  const total = v.getUint16(ip + 2);
  if (ihl < IPV4_MIN_HEADER || end - ip < ihl || (total !== 0 && total < ihl)) return RESULT.MALFORMED;
  const isTcp = b[ip + 9] === PROTO.TCP;
  if ((v.getUint16(ip + 6) & IPV4_MF_OR_OFFSET) !== 0) return isTcp ? RESULT.FRAGMENT : RESULT.NOT_TCP;
  if (!isTcp) return RESULT.NOT_TCP;
  if (seg.ipVersion !== 4) {
    // Zero from an IPv6 packet before; an IPv4 one leaves them so.
    seg.ipVersion = 4;
    seg.s0 = seg.s1 = seg.s2 = 0;
    seg.d0 = seg.d1 = seg.d2 = 0;
  }
  seg.s3 = v.getUint32(ip + 12);
  seg.d3 = v.getUint32(ip + 16);
  // A total length of 0 is what TCP segmentation offload leaves: the frame's length is the truth.
  return tcp(b, v, ip + ihl, total === 0 ? end : ip + total, end, seg);
}

function ipv6(b: Uint8Array, v: DataView<ArrayBufferLike>, ip: number, end: number, seg: TcpSegment): number {
  if (end - ip < IPV6_HEADER) return RESULT.MALFORMED;
  const payloadLen = v.getUint16(ip + 4);
  let next = b[ip + 6]!;
  let at = ip + IPV6_HEADER;
  for (let n = 0; next !== PROTO.TCP; n++) {
    if (n === MAX_EXTENSION_HEADERS) return RESULT.MALFORMED;
    if (next === PROTO.HOP_BY_HOP || next === PROTO.ROUTING || next === PROTO.DEST_OPTS) {
      if (end - at < 8) return RESULT.MALFORMED;
      next = b[at]!;
      at += (b[at + 1]! + 1) * 8;
    } else if (next === PROTO.AH) {
      if (end - at < 8) return RESULT.MALFORMED;
      next = b[at]!;
      at += (b[at + 1]! + 2) * 4;
    } else if (next === PROTO.FRAGMENT) {
      if (end - at < 8) return RESULT.MALFORMED;
      const field = v.getUint16(at + 2);
      if ((field & IPV6_OFFSET_MASK) !== 0 || (field & IPV6_MORE_FRAGMENTS) !== 0) return RESULT.FRAGMENT;
      next = b[at]!;
      at += 8;
    } else return RESULT.NOT_TCP;
  }
  seg.ipVersion = 6;
  seg.s0 = v.getUint32(ip + 8);
  seg.s1 = v.getUint32(ip + 12);
  seg.s2 = v.getUint32(ip + 16);
  seg.s3 = v.getUint32(ip + 20);
  seg.d0 = v.getUint32(ip + 24);
  seg.d1 = v.getUint32(ip + 28);
  seg.d2 = v.getUint32(ip + 32);
  seg.d3 = v.getUint32(ip + 36);
  // Payload length 0 means a jumbogram (or offload): use what was captured.
  const wireEnd = payloadLen === 0 ? end : ip + IPV6_HEADER + payloadLen;
  if (wireEnd < at) return RESULT.MALFORMED;
  return tcp(b, v, at, wireEnd, end, seg);
}

/** TCP header at `at`; the IP payload ends at wireEnd on the wire and at `end` in the capture. */
function tcp(b: Uint8Array, v: DataView<ArrayBufferLike>, at: number, wireEnd: number, end: number, seg: TcpSegment): number {
  if (end - at < TCP_MIN_HEADER) return RESULT.MALFORMED;
  const hdr = (b[at + 12]! >> 4) * 4;
  if (hdr < TCP_MIN_HEADER || end - at < hdr || wireEnd - at < hdr) return RESULT.MALFORMED;
  seg.srcPort = v.getUint16(at);
  seg.dstPort = v.getUint16(at + 2);
  seg.seq = v.getUint32(at + 4);
  seg.ack = v.getUint32(at + 8);
  seg.flags = b[at + 13]!;
  const payloadOff = at + hdr;
  const wireLen = wireEnd - payloadOff;
  seg.payloadOff = payloadOff;
  seg.wireLen = wireLen;
  // Ethernet pads short frames: bytes past the IP length are not payload.
  seg.payloadLen = wireEnd <= end ? wireLen : end - payloadOff;
  return RESULT.TCP;
}
