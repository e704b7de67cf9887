/**
 * Link-layer headers down to the IP header. Link types: https://www.tcpdump.org/linktypes.html
 * Ethertypes: IEEE 802 numbers; VLAN tags per IEEE 802.1Q / 802.1ad.
 */
import * as byteOrderMod from '../capture/byte-order.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { u16be } = byteOrderMod;

const LT = {
  /** BSD loopback: 4-byte address family in the capturing host's byte order. */
  NULL: 0,
  ETHERNET: 1,
  /** DLT_RAW as some systems number it in files (no link header). */
  RAW_DLT12: 12,
  RAW_DLT14: 14,
  /** Raw IP, version in the first nibble. */
  RAW: 101,
  /** OpenBSD loopback: 4-byte address family in network byte order. */
  LOOP: 108,
  /** Linux cooked capture v1 (16-byte header, protocol at 14). */
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  /** Linux cooked capture v2 (20-byte header, protocol at 0): `tcpdump -i any`. */
  LINUX_SLL2: 276,
} as const;
export const LINKTYPE = LT; // an alias: code here reads the module const (README, "Design notes")

const ET = {
  IPV4: 0x0800,
  IPV6: 0x86dd,
  /** 802.1Q customer tag. */
  VLAN: 0x8100,
  /** 802.1ad service tag (QinQ). */
  QINQ: 0x88a8,
  /** Pre-standard QinQ tag. */
  QINQ_OLD: 0x9100,
} as const;
export const ETHERTYPE = ET; // an alias: code here reads the module const (README, "Design notes")

/** Address families a NULL/LOOP header may carry. */
const AF = {
  INET: 2,
  /** AF_INET6 on NetBSD/OpenBSD, FreeBSD, and Darwin. */
  INET6_BSD: 24,
  INET6_FREEBSD: 28,
  INET6_DARWIN: 30,
} as const;

const ETHERNET_HEADER_BYTES = 14;
const VLAN_TAG_BYTES = 4;
const SLL_HEADER_BYTES = 16;
const SLL_PROTOCOL_OFFSET = 14;
const SLL2_HEADER_BYTES = 20;
const NULL_HEADER_BYTES = 4;

/** findIp() results below zero. */
const LINK_CODE = {
  /** A frame of a known link type that carries no IP (ARP, LLC, ...). */
  NOT_IP: -1,
  /** The link header is cut short. */
  SHORT: -2,
  /** The link type is not decoded. */
  UNKNOWN: -3,
} as const;
export const LINK = LINK_CODE; // an alias: code here reads the module const (README, "Design notes")

/** Offset of the IP header in b (frame spans b[off, end)), or a negative LINK_CODE code. */
export function findIp(b: Uint8Array, off: number, end: number, linkType: number): number {
  switch (linkType) {
    case LT.ETHERNET:
      if (end - off < ETHERNET_HEADER_BYTES) return LINK_CODE.SHORT;
      return ipAfter(b, u16be(b, off + 12), off + ETHERNET_HEADER_BYTES, end);
    case LT.LINUX_SLL2:
      if (end - off < SLL2_HEADER_BYTES) return LINK_CODE.SHORT;
      return ipAfter(b, u16be(b, off), off + SLL2_HEADER_BYTES, end);
    case LT.LINUX_SLL:
      if (end - off < SLL_HEADER_BYTES) return LINK_CODE.SHORT;
      return ipAfter(b, u16be(b, off + SLL_PROTOCOL_OFFSET), off + SLL_HEADER_BYTES, end);
    case LT.RAW:
    case LT.RAW_DLT12:
    case LT.RAW_DLT14:
    case LT.IPV4:
    case LT.IPV6:
      return off;
    case LT.NULL:
    case LT.LOOP:
      if (end - off < NULL_HEADER_BYTES) return LINK_CODE.SHORT;
      return isIpFamily(b, off) ? off + NULL_HEADER_BYTES : LINK_CODE.NOT_IP;
    default:
      return LINK_CODE.UNKNOWN;
  }
}

/** IP header offset after the ethertype `type` that ends at `at`, skipping stacked VLAN tags. */
function ipAfter(b: Uint8Array, type: number, at: number, end: number): number {
  while (type === ET.VLAN || type === ET.QINQ || type === ET.QINQ_OLD) {
    if (end - at < VLAN_TAG_BYTES) return LINK_CODE.SHORT;
    type = u16be(b, at + 2);
    at += VLAN_TAG_BYTES;
  }
  return type === ET.IPV4 || type === ET.IPV6 ? at : LINK_CODE.NOT_IP;
}

/** NULL's family is in the writer's byte order and LOOP's in network order: accept both. */
function isIpFamily(b: Uint8Array, off: number): boolean {
  const le = (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
  const be = ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
  const af = le < 0x10000 ? le : be;
  return af === AF.INET || af === AF.INET6_BSD || af === AF.INET6_FREEBSD || af === AF.INET6_DARWIN;
}
