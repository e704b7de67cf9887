import { describe, expect, test } from 'vitest';
import { formatIPv6 } from '../src/flow/addr.js';
import {
  ethernet, ipv4, ipv6, nullLink, sll, sll2, tcp, F, type Frame, type Ipv6Ext, parseIPv6,
} from './helpers/frame-build.js';
import { runFrames } from './helpers/flow-recorder.js';

const V4 = { src: '192.168.1.10', dst: '192.168.1.20', sport: 41000, dport: 6379 };
const V6 = { src: '2001:db8::10', dst: '2001:db8::20', sport: 41000, dport: 6379 };
const PAYLOAD = '*1\r\n$4\r\nPING\r\n';
const seg4 = tcp({ ...V4, seq: 1, ack: 1, flags: F.ACK | F.PSH, payload: PAYLOAD });
const seg6 = tcp({ ...V6, seq: 1, ack: 1, flags: F.ACK | F.PSH, payload: PAYLOAD });
const ip4 = ipv4(V4.src, V4.dst, seg4);
const ip6 = ipv6(V6.src, V6.dst, seg6);
const C4 = '192.168.1.10:41000';
const C6 = '[2001:db8::10]:41000';

describe('link types down to TCP', () => {
  test.each([
    { name: 'Ethernet', linkType: 1, data: ethernet(0x0800, ip4), client: C4 },
    { name: 'Ethernet IPv6', linkType: 1, data: ethernet(0x86dd, ip6), client: C6 },
    { name: '802.1Q', linkType: 1, data: ethernet(0x0800, ip4, [0x8100]), client: C4 },
    { name: 'QinQ 802.1ad + 802.1Q', linkType: 1, data: ethernet(0x0800, ip4, [0x88a8, 0x8100]), client: C4 },
    { name: 'QinQ 0x9100 + 802.1Q', linkType: 1, data: ethernet(0x86dd, ip6, [0x9100, 0x8100]), client: C6 },
    { name: 'Linux SLL', linkType: 113, data: sll(0x0800, ip4), client: C4 },
    { name: 'Linux SLL2 (tcpdump -i any)', linkType: 276, data: sll2(0x86dd, ip6), client: C6 },
    { name: 'NULL, little-endian AF_INET', linkType: 0, data: nullLink(2, ip4, true), client: C4 },
    { name: 'NULL, big-endian AF_INET', linkType: 0, data: nullLink(2, ip4, false), client: C4 },
    { name: 'NULL, AF_INET6 = 24', linkType: 0, data: nullLink(24, ip6, true), client: C6 },
    { name: 'NULL, AF_INET6 = 28', linkType: 0, data: nullLink(28, ip6, false), client: C6 },
    { name: 'NULL, AF_INET6 = 30', linkType: 0, data: nullLink(30, ip6, true), client: C6 },
    { name: 'LOOP', linkType: 108, data: nullLink(2, ip4, false), client: C4 },
    { name: 'RAW 101', linkType: 101, data: ip4, client: C4 },
    { name: 'RAW as DLT 12', linkType: 12, data: ip6, client: C6 },
    { name: 'RAW as DLT 14', linkType: 14, data: ip4, client: C4 },
    { name: 'IPV4 228', linkType: 228, data: ip4, client: C4 },
    { name: 'IPV6 229', linkType: 229, data: ip6, client: C6 },
    { name: 'IPv4 with options', linkType: 101, data: ipv4(V4.src, V4.dst, seg4, { optionBytes: 8 }), client: C4 },
    { name: 'TCP with options', linkType: 101, data: ipv4(V4.src, V4.dst, tcp({ ...V4, seq: 1, ack: 1, payload: PAYLOAD, optionBytes: 12 })), client: C4 },
    {
      name: 'IPv6 hop-by-hop, routing, dest-opts, AH, atomic fragment',
      linkType: 229,
      data: ipv6(V6.src, V6.dst, seg6, [{ type: 0 }, { type: 43 }, { type: 60 }, { type: 51 }, { type: 44 }]),
      client: C6,
    },
  ])('$name', ({ linkType, data, client }) => {
    const { rec, table } = runFrames([{ linkType, data, tsUs: 5 }]);
    expect(rec.conns[0]?.client).toBe(client);
    expect(rec.streams.get(1)?.c).toBe(PAYLOAD);
    expect(table.stats.malformedPackets + table.stats.nonTcpPackets).toBe(0);
  });
});

describe('lengths come from IP, not from the frame', () => {
  test('Ethernet padding of a short frame is not payload', () => {
    const seg = tcp({ ...V4, seq: 1, ack: 1, payload: '+' });
    const frame = ethernet(0x0800, ipv4(V4.src, V4.dst, seg));
    expect(frame.length).toBe(60);
    const { rec, table } = runFrames([{ linkType: 1, data: frame, tsUs: 1 }]);
    expect(rec.streams.get(1)?.c).toBe('+');
    expect(table.stats.payloadBytes).toBe(1);
  });

  test('IPv4 total length 0 (TSO): the captured length is used', () => {
    const data = ethernet(0x0800, ipv4(V4.src, V4.dst, seg4, { totalLen: 0 }), [], 0);
    const { rec } = runFrames([{ linkType: 1, data, tsUs: 1 }]);
    expect(rec.streams.get(1)?.c).toBe(PAYLOAD);
  });

  test('IPv6 with trailing bytes after the payload length', () => {
    const data = Buffer.concat([ip6, Buffer.from('JUNK')]);
    const { rec } = runFrames([{ linkType: 229, data, tsUs: 1 }]);
    expect(rec.streams.get(1)?.c).toBe(PAYLOAD);
  });
});

describe('packets that are not followed', () => {
  const udp = ipv4(V4.src, V4.dst, new Uint8Array(12), { proto: 17 });
  const frag = (ext: Ipv6Ext[]): Uint8Array => ipv6(V6.src, V6.dst, seg6, ext);
  test.each([
    { name: 'IPv4 first fragment (MF)', f: { linkType: 101, data: ipv4(V4.src, V4.dst, seg4, { moreFragments: true }) }, stat: 'ipFragments' },
    { name: 'IPv4 later fragment', f: { linkType: 101, data: ipv4(V4.src, V4.dst, seg4, { fragOffset: 185 }) }, stat: 'ipFragments' },
    { name: 'IPv6 fragment (M flag)', f: { linkType: 229, data: frag([{ type: 44, moreFragments: true }]) }, stat: 'ipFragments' },
    { name: 'IPv6 fragment (offset)', f: { linkType: 229, data: frag([{ type: 0 }, { type: 44, fragOffset: 10 }]) }, stat: 'ipFragments' },
    { name: 'UDP', f: { linkType: 101, data: udp }, stat: 'nonTcpPackets' },
    { name: 'ARP', f: { linkType: 1, data: ethernet(0x0806, new Uint8Array(28)) }, stat: 'nonTcpPackets' },
    { name: 'NULL with another family', f: { linkType: 0, data: nullLink(7, ip4, true) }, stat: 'nonTcpPackets' },
    { name: 'cut IPv4 header', f: { linkType: 101, data: ip4.subarray(0, 12) }, stat: 'malformedPackets' },
    { name: 'cut TCP header', f: { linkType: 101, data: ip4.subarray(0, 30) }, stat: 'malformedPackets' },
    { name: 'cut Ethernet header', f: { linkType: 1, data: new Uint8Array(10) }, stat: 'malformedPackets' },
    { name: 'cut VLAN tag', f: { linkType: 1, data: ethernet(0x0800, new Uint8Array(0), [0x8100], 0).subarray(0, 16) }, stat: 'malformedPackets' },
    { name: 'TCP data offset below 5', f: { linkType: 101, data: withByte(ip4, 32, 0x40) }, stat: 'malformedPackets' },
  ])('$name', ({ f, stat }) => {
    const { rec, table } = runFrames([{ ...f, tsUs: 1 }]);
    expect(rec.events).toEqual([]);
    expect((table.stats as unknown as Record<string, number>)[stat]).toBe(1);
    expect(table.stats.packets).toBe(1);
  });

  test('unknown link types are counted by value', () => {
    const frames: Frame[] = [147, 147, 999].map((linkType) => ({ linkType, data: ip4, tsUs: 1 }));
    const { table } = runFrames(frames);
    expect(table.stats.unknownLinkTypes).toEqual({ 147: 2, 999: 1 });
    expect(table.stats.nonTcpPackets).toBe(3);
  });
});

describe('IPv6 text per RFC 5952', () => {
  test.each([
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['0:0:0:0:0:ffff:c000:280', '::ffff:192.0.2.128'],
    ['2001:DB8:AAAA:0:0:0:0:0', '2001:db8:aaaa::'],
  ])('%s -> %s', (input, want) => {
    const b = Buffer.from(parseIPv6(input));
    expect(formatIPv6(b.readUInt32BE(0), b.readUInt32BE(4), b.readUInt32BE(8), b.readUInt32BE(12))).toBe(want);
  });
});

function withByte(b: Uint8Array, at: number, v: number): Uint8Array {
  const c = Uint8Array.from(b);
  c[at] = v;
  return c;
}
