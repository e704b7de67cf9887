import { describe, expect, test } from 'vitest';
import { F, tcpFrame, type Frame, type TcpSpec } from './helpers/frame-build.js';
import { runFrames } from './helpers/flow-recorder.js';

function frame(tsUs: number, src: string, dst: string, flags: number, payload = '', seq = 100, ack = 0): Frame {
  const [sip, sport] = split(src);
  const [dip, dport] = split(dst);
  const spec: TcpSpec = { src: sip, dst: dip, sport, dport, seq, flags, payload };
  if (flags & F.ACK) spec.ack = ack;
  return tcpFrame(spec, tsUs);
}

function split(ep: string): [string, number] {
  const i = ep.lastIndexOf(':');
  return [ep.slice(0, i).replace(/^\[|\]$/g, ''), Number(ep.slice(i + 1))];
}

describe('who is the server', () => {
  test.each([
    {
      name: 'SYN sender is the client even from the lower watched port',
      ports: [6379, 22121],
      frames: [frame(1, '10.0.0.1:6379', '10.0.0.2:22121', F.SYN)],
      open: 'open 1 10.0.0.1:6379 > 10.0.0.2:22121',
    },
    {
      name: 'SYN-ACK sender is the server; it fixes both starts, so not midstream',
      ports: [6379, 22121],
      frames: [frame(1, '10.0.0.2:22121', '10.0.0.1:6379', F.SYN | F.ACK, '', 5, 101)],
      open: 'open 1 10.0.0.1:6379 > 10.0.0.2:22121',
    },
    {
      name: 'no handshake, both ports watched: the lower port is the server (proxy to Redis)',
      ports: [6379, 22121],
      frames: [frame(1, '10.0.0.1:22121', '10.0.0.2:6379', F.ACK | F.PSH, 'PING\r\n')],
      open: 'open 1 10.0.0.1:22121 > 10.0.0.2:6379 midstream',
    },
    {
      name: 'no handshake, reply seen first: the watched port is the server',
      ports: [6379],
      frames: [frame(1, '10.0.0.2:6379', '10.0.0.1:50000', F.ACK | F.PSH, '+OK\r\n')],
      open: 'open 1 10.0.0.1:50000 > 10.0.0.2:6379 midstream',
    },
    {
      name: 'IPv6 endpoints are bracketed and compressed',
      ports: [6379],
      frames: [frame(1, '[2001:db8:0:0:0:0:0:1]:40000', '[::1]:6379', F.SYN)],
      open: 'open 1 [2001:db8::1]:40000 > [::1]:6379',
    },
  ])('$name', ({ ports, frames, open }) => {
    const { rec } = runFrames(frames, ports);
    expect(rec.plain()[0]).toBe(open);
  });

  test('data direction follows the roles', () => {
    const { rec } = runFrames([
      frame(1, '10.0.0.1:22121', '10.0.0.2:6379', F.ACK | F.PSH, 'GET k\r\n', 100, 900),
      frame(2, '10.0.0.2:6379', '10.0.0.1:22121', F.ACK | F.PSH, '$-1\r\n', 900, 107),
    ], [6379, 22121]);
    expect(rec.streams.get(1)).toEqual({ c: 'GET k\r\n', s: '$-1\r\n' });
  });
});

describe('connection lifecycle', () => {
  const C = '10.0.0.1:40000';
  const S = '10.0.0.2:6379';
  const hs = (t: number, isn: number): Frame[] => [
    frame(t, C, S, F.SYN, '', isn),
    frame(t + 1, S, C, F.SYN | F.ACK, '', 7000, isn + 1),
    frame(t + 2, C, S, F.ACK, '', isn + 1, 7001),
  ];

  test('port reuse: a new SYN after a FIN closes the old connection and opens a new one', () => {
    const { rec, table } = runFrames([
      ...hs(1, 100), frame(4, C, S, F.ACK | F.PSH, 'a', 101, 7001), frame(5, C, S, F.FIN | F.ACK, '', 102, 7001),
      ...hs(10, 5000), frame(13, C, S, F.ACK | F.PSH, 'b', 5001, 7001),
    ]);
    expect(rec.plain()).toEqual([
      `open 1 ${C} > ${S}`, 'data 1 c a', 'close 1 fin', `open 2 ${C} > ${S}`, 'data 2 c b', 'close 2 end',
    ]);
    expect(table.stats.connections).toBe(2);
  });

  test('a retransmitted SYN is the same connection', () => {
    const { rec } = runFrames([frame(1, C, S, F.SYN, '', 100), frame(2, C, S, F.SYN, '', 100), ...hs(3, 100).slice(1)]);
    expect(rec.plain()).toEqual([`open 1 ${C} > ${S}`, 'close 1 end']);
  });

  test('after FIN both ways the connection is gone; the last ACK opens nothing', () => {
    const { rec, table } = runFrames([
      ...hs(1, 100), frame(4, C, S, F.FIN | F.ACK, '', 101, 7001), frame(5, S, C, F.FIN | F.ACK, '', 7001, 102),
      frame(6, C, S, F.ACK, '', 102, 7002),
    ], [6379], {}, null);
    expect(rec.plain()).toEqual([`open 1 ${C} > ${S}`, 'close 1 fin']);
    expect(table.openConnections()).toBe(0);
    expect(table.stats.connections).toBe(1);
  });

  test('RST closes once; a RST on an unknown 4-tuple opens nothing', () => {
    const { rec, table } = runFrames([
      ...hs(1, 100), frame(4, S, C, F.RST | F.ACK, '', 7001, 101), frame(5, S, C, F.RST, '', 7001),
    ], [6379], {}, null);
    expect(rec.plain()).toEqual([`open 1 ${C} > ${S}`, 'close 1 rst']);
    expect(table.openConnections()).toBe(0);
  });

  test('many short connections leave nothing behind; ids follow first packets', () => {
    const frames: Frame[] = [];
    for (let i = 0; i < 300; i++) {
      const cl = `10.0.${i >> 8}.${i & 255}:${30000 + i}`;
      frames.push(frame(i, cl, S, F.SYN, '', 1), frame(i, S, cl, F.SYN | F.ACK, '', 9, 2));
      frames.push(frame(i, cl, S, F.FIN | F.ACK | F.PSH, 'x', 2, 10), frame(i, S, cl, F.FIN | F.ACK, '', 10, 4));
    }
    const { rec, table } = runFrames(frames, [6379], {}, null);
    expect(table.openConnections()).toBe(0);
    expect(table.stats.connections).toBe(300);
    expect(rec.events.filter((e) => e.startsWith('close')).length).toBe(300);
    expect(rec.conns.map((c) => c.id)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  test('finish() closes open connections in id order with the given timestamp', () => {
    const { rec, table } = runFrames([
      frame(1, '10.0.0.9:1', S, F.ACK | F.PSH, 'x', 5, 1), frame(2, '10.0.0.8:1', S, F.ACK | F.PSH, 'y', 5, 1),
    ], [6379], {}, 77);
    expect(rec.events.filter((e) => e.startsWith('close'))).toEqual(['close 1 end @77', 'close 2 end @77']);
    expect(table.openConnections()).toBe(0);
  });

  test('packets on other ports are only counted', () => {
    const { rec, table } = runFrames([frame(1, '10.0.0.1:5000', '10.0.0.2:80', F.ACK | F.PSH, 'GET /', 1, 1)]);
    expect(rec.events).toEqual([]);
    expect(table.stats.otherPortPackets).toBe(1);
    expect(table.stats.payloadBytes).toBe(0);
  });
});

describe('bounded open connections', () => {
  test('past maxOpenConnections the idlest tenth are closed and counted', () => {
    // 25 clients connect one after another; client 0 keeps talking, so it is never the idlest.
    const frames: Frame[] = [];
    for (let i = 0; i < 25; i++) {
      frames.push(frame(10 + i * 10, `10.0.1.${i}:5000`, '10.0.0.1:6379', F.SYN));
      frames.push(frame(11 + i * 10, '10.0.0.1:6379', `10.0.1.${i}:5000`, F.SYN | F.ACK, '', 7, 101));
      frames.push(frame(12 + i * 10, '10.0.1.0:5000', '10.0.0.1:6379', F.ACK | F.PSH, 'P', 101 + i, 8));
    }
    const { rec, table } = runFrames(frames, [6379], { maxOpenConnections: 10 }, null);
    expect(table.openConnections()).toBeLessThanOrEqual(10);
    expect(table.stats.evictedConnections).toBe(25 - table.openConnections());
    const closed = rec.events.filter((e) => e.startsWith('close'));
    expect(closed).toHaveLength(table.stats.evictedConnections);
    expect(closed.every((e) => e.includes('end'))).toBe(true);
    expect(closed.some((e) => e.startsWith('close 1 '))).toBe(false); // connection 1 (10.0.1.0) kept talking: never the idlest
  });
});
