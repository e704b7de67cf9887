/**
 * Connection kinds (src/flow/sniff.ts): TLS and the Cluster bus are told from a connection's
 * first payload bytes, counted and never decoded; everything else reaches the analysis as it
 * always did, opened when its kind is known.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { analyzeFile } from '../src/engine/analyze-file.js';
import { analyzerOptions } from '../src/engine/options.js';
import { emptyFlowStats, FlowTable } from '../src/flow/flow-table.js';
import { KindSniffer, NEED_MORE, sniffKind } from '../src/flow/sniff.js';
import { CONN_KIND, type FlowHandler, type TcpConn } from '../src/flow/types.js';
import { Recorder, toPacket } from './helpers/flow-recorder.js';
import { F, type Frame } from './helpers/frame-build.js';
import { buildPcap } from './helpers/pcap-build.js';
import { c, HS, s } from './helpers/tcp-conversation.js';

/** One TLS record: type, version 0x03 minor, 16-bit length, body. */
function record(type: number, minor: number, body: Uint8Array): Buffer {
  const head = Buffer.from([type, 0x03, minor, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([head, body]);
}

/** A handshake message: type, 24-bit length, body (filler bytes). */
function handshake(type: number, bodyLen: number): Buffer {
  const b = Buffer.alloc(4 + bodyLen, 0x42);
  b[0] = type;
  b.writeUIntBE(bodyLen, 1, 3);
  return b;
}

const CLIENT_HELLO = record(0x16, 0x01, handshake(0x01, 508));
const SERVER_HELLO = Buffer.concat([record(0x16, 0x03, handshake(0x02, 118)), record(0x14, 0x03, Buffer.from([1])), record(0x17, 0x03, Buffer.alloc(900, 7))]);
const APP_DATA = Buffer.concat([record(0x17, 0x03, Buffer.alloc(53, 9)), record(0x17, 0x03, Buffer.alloc(19, 3))]);

/** A Cluster bus PING: "RCmb", total length, version 1, port, type 0 (PING), count, then the rest. */
function busMessage(totlen = 2256): Buffer {
  const b = Buffer.alloc(totlen, 0);
  b.write('RCmb', 0, 'latin1');
  b.writeUInt32BE(totlen, 4);
  b.writeUInt16BE(1, 8);
  b.writeUInt16BE(6379, 10);
  return b;
}

const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const PING = '*1\r\n$4\r\nPING\r\n';

/** The frames through FlowTable -> KindSniffer -> Recorder; every connection the table made. */
function run(frames: readonly Frame[], ports: readonly number[] = [6379]) {
  const rec = new Recorder();
  const stats = emptyFlowStats();
  const sniffer = new KindSniffer(rec, stats);
  const conns: TcpConn[] = [];
  // Sees what the table hands the sniffer, to check the kind set on each connection.
  const spy: FlowHandler = {
    onOpen: (conn, ts) => (conns.push(conn), sniffer.onOpen(conn, ts)),
    onData: (...a) => sniffer.onData(...a),
    onGap: (...a) => sniffer.onGap(...a),
    onClose: (...a) => sniffer.onClose(...a),
  };
  const table = new FlowTable({ serverPorts: new Set(ports), stats }, spy);
  for (const f of frames) table.packet(toPacket(f));
  table.finish(999);
  return { rec, stats, conns };
}

/** A conversation after the handshake: client bytes then server bytes, then FINs both ways. */
function talk(client: Uint8Array | string, server: Uint8Array | string = ''): Frame[] {
  const cb = typeof client === 'string' ? Buffer.from(client, 'latin1') : client;
  const sb = typeof server === 'string' ? Buffer.from(server, 'latin1') : server;
  const out: Frame[] = [...HS];
  if (cb.length > 0) out.push(c(10, 1000, cb, F.ACK | F.PSH, 5000));
  if (sb.length > 0) out.push(s(11, 5000, sb, F.ACK | F.PSH, 1000 + cb.length));
  out.push(c(12, 1000 + cb.length, '', F.FIN | F.ACK, 5000 + sb.length), s(13, 5000 + sb.length, '', F.FIN | F.ACK, 1001 + cb.length));
  return out;
}

describe('what a connection carries, from its first bytes', () => {
  test.each([
    { name: 'a ClientHello handshake record', frames: talk(CLIENT_HELLO, SERVER_HELLO), kind: CONN_KIND.TLS },
    {
      name: 'joined mid-stream: application_data records 0x17 0x03 0x03',
      frames: [c(10, 1000, APP_DATA), s(11, 5000, record(0x17, 0x03, Buffer.alloc(40, 1)), F.ACK | F.PSH, 1000 + APP_DATA.length)],
      kind: CONN_KIND.TLS,
    },
    { name: 'the server speaks first: a ServerHello flight', frames: talk('', SERVER_HELLO), kind: CONN_KIND.TLS },
    {
      name: 'joined mid-stream at a client handshake record that is no ClientHello (ClientKeyExchange)',
      frames: [c(10, 1000, record(0x16, 0x03, handshake(0x10, 66)))],
      kind: CONN_KIND.TLS,
    },
    { name: 'an alert record alone', frames: talk(record(0x15, 0x03, Buffer.from([2, 40]))), kind: CONN_KIND.TLS },
    { name: 'a Cluster bus message (RCmb)', frames: talk(busMessage(), busMessage()), kind: CONN_KIND.CLUSTER_BUS },
    { name: 'RESP PING', frames: talk(PING, '+PONG\r\n'), kind: CONN_KIND.RESP },
    { name: 'inline PING', frames: talk('PING\r\n', '+PONG\r\n'), kind: CONN_KIND.RESP },
    { name: 'an inline command starting with R', frames: talk('RPUSH l a\r\n', ':1\r\n'), kind: CONN_KIND.RESP },
    { name: 'almost TLS: version 0x03 0x09', frames: talk(Buffer.from([0x16, 0x03, 0x09, 0x00, 0x05, 1, 0, 0, 1, 3])), kind: CONN_KIND.RESP },
    { name: 'almost TLS: a record length of 0', frames: talk(Buffer.from([0x17, 0x03, 0x03, 0x00, 0x00, 0x17])), kind: CONN_KIND.RESP },
    { name: 'almost TLS: a record length past 2^14 + 2048', frames: talk(Buffer.from([0x17, 0x03, 0x03, 0x48, 0x01, 1, 2, 3])), kind: CONN_KIND.RESP },
    {
      name: 'almost TLS: a valid header, but the next one inside the chunk is not',
      frames: talk(Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x02, 0x61, 0x62]), Buffer.from(PING)])),
      kind: CONN_KIND.RESP,
    },
    {
      name: 'almost TLS: the client opens with a handshake record that is no ClientHello',
      frames: talk(record(0x16, 0x01, handshake(0x02, 40))),
      kind: CONN_KIND.RESP,
    },
    { name: 'almost the bus: RCmx', frames: talk('RCmx\r\n'), kind: CONN_KIND.RESP },
  ])('$name', ({ frames, kind }) => {
    const { rec, stats, conns } = run(frames);
    expect(conns.map((x) => x.kind)).toEqual([kind]);
    const payload = frames.reduce((n, f) => n + tcpPayloadLen(f), 0);
    if (kind === CONN_KIND.RESP) {
      // Forwarded exactly: one open, every byte, one close; nothing counted as TLS or bus.
      expect(rec.conns).toHaveLength(1);
      const st = rec.streams.get(1)!;
      expect(st.c.length + st.s.length).toBe(payload);
      expect(stats).toMatchObject({ tlsConnections: 0, tlsBytes: 0, clusterBusConnections: 0, clusterBusBytes: 0 });
    } else {
      // Never reaches the analysis: no open, no data, no close.
      expect(rec.events).toEqual([]);
      const tls = kind === CONN_KIND.TLS;
      expect(stats).toMatchObject({
        tlsConnections: tls ? 1 : 0, tlsBytes: tls ? payload : 0,
        clusterBusConnections: tls ? 0 : 1, clusterBusBytes: tls ? 0 : payload,
      });
    }
  });

  test('RESP is forwarded exactly: opened at the first packet, data and close in order', () => {
    const { rec } = run(talk(PING, '+PONG\r\n'));
    expect(rec.events).toEqual([
      'open 1 10.0.0.1:40000 > 10.0.0.2:6379 @1', `data 1 c ${PING}`, 'data 1 s +PONG\r\n', 'close 1 fin @13',
    ]);
  });

  test('a connection without payload is opened as RESP when it closes, at its first packet', () => {
    const { rec, conns } = run(talk(''));
    expect(rec.events).toEqual(['open 1 10.0.0.1:40000 > 10.0.0.2:6379 @1', 'close 1 fin @13']);
    expect(conns[0]!.kind).toBe(CONN_KIND.RESP);
  });

  test('a connection whose first event is a gap is RESP, and the gap is forwarded', () => {
    // The first 10 client bytes were never captured.
    const { rec, conns } = run([...HS, c(10, 1010, PING), s(11, 5000, '+PONG\r\n', F.ACK | F.PSH, 1010 + PING.length)]);
    expect(conns[0]!.kind).toBe(CONN_KIND.RESP);
    expect(rec.plain()).toEqual(['open 1 10.0.0.1:40000 > 10.0.0.2:6379', 'gap 1 c 10', `data 1 c ${PING}`, 'data 1 s +PONG\r\n', 'close 1 end']);
  });

  test('the kind is decided once: RESP bytes after TLS ones stay TLS, TLS bytes after RESP ones stay RESP', () => {
    const tlsThenResp = run([...HS, c(10, 1000, CLIENT_HELLO), c(11, 1000 + CLIENT_HELLO.length, PING)]);
    expect(tlsThenResp.stats.tlsBytes).toBe(CLIENT_HELLO.length + PING.length);
    expect(tlsThenResp.rec.events).toEqual([]);
    const respThenTls = run([...HS, c(10, 1000, PING), c(11, 1000 + PING.length, APP_DATA)]);
    expect(respThenTls.stats.tlsConnections).toBe(0);
    expect(respThenTls.rec.streams.get(1)!.c).toBe(PING + latin1(APP_DATA));
  });

  test('only the connections that carry RESP reach the analysis, on the same port', () => {
    const other = (f: Frame[]) => f.map((x) => ({ ...x, data: retarget(x.data) }));
    const { rec, stats } = run([...talk(CLIENT_HELLO, SERVER_HELLO), ...other(talk(PING, '+PONG\r\n'))]);
    expect(rec.conns.map((x) => x.id)).toEqual([2]);
    expect(stats.connections).toBe(2);
    expect(stats.tlsConnections).toBe(1);
  });
});

describe('first bytes split across segments', () => {
  /** Client segments cut at `cuts`, after a handshake, and the server's answer. */
  function split(payload: Buffer, cuts: number[], server = ''): Frame[] {
    const out: Frame[] = [...HS];
    let prev = 0;
    let t = 10;
    for (const cut of [...cuts, payload.length]) {
      if (cut > prev) out.push(c(t++, 1000 + prev, payload.subarray(prev, cut)));
      prev = cut;
    }
    if (server !== '') out.push(s(t++, 5000, server, F.ACK | F.PSH, 1000 + payload.length));
    return out;
  }

  const every = (n: number) => Array.from({ length: n - 1 }, (_, i) => i + 1);

  test.each([
    { name: 'a ClientHello', payload: CLIENT_HELLO, kind: CONN_KIND.TLS },
    { name: 'application_data records', payload: APP_DATA, kind: CONN_KIND.TLS },
    { name: 'a Cluster bus message', payload: busMessage(100), kind: CONN_KIND.CLUSTER_BUS },
    { name: 'RESP PING', payload: Buffer.from(PING), kind: CONN_KIND.RESP },
    { name: 'inline RPUSH (R, as the bus signature starts)', payload: Buffer.from('RPUSH l a\r\n'), kind: CONN_KIND.RESP },
    { name: 'almost TLS (0x16 0x03 0x09)', payload: Buffer.from([0x16, 0x03, 0x09, 0x00, 0x02, 0x61, 0x62]), kind: CONN_KIND.RESP },
  ])('$name: byte by byte, and cut at every offset', ({ payload, kind }) => {
    const cutsList = [every(payload.length), ...every(Math.min(payload.length, 12)).map((k) => [k])];
    for (const cuts of cutsList) {
      const { rec, stats, conns } = run(split(payload, cuts));
      const at = `cuts ${cuts.slice(0, 3).join(',')}`;
      expect(conns[0]!.kind, at).toBe(kind);
      if (kind === CONN_KIND.RESP) {
        expect(rec.streams.get(1)!.c, at).toBe(latin1(payload));
        // Each piece keeps its own time.
        expect(rec.dataTs, at).toEqual(Array.from({ length: cuts.length + 1 }, (_, i) => 10 + i));
      } else {
        expect(rec.events, at).toEqual([]);
        expect(stats.tlsBytes + stats.clusterBusBytes, at).toBe(payload.length);
      }
    }
  });

  test('the server answers before the client has said enough: RESP, and the held bytes go first', () => {
    const { rec, conns } = run([...HS, c(10, 1000, Buffer.from([0x16, 0x03])), s(11, 5000, '-ERR\r\n', F.ACK | F.PSH, 1002)]);
    expect(conns[0]!.kind).toBe(CONN_KIND.RESP);
    expect(rec.plain().slice(1)).toEqual(['data 1 c \x16\x03', 'data 1 s -ERR\r\n', 'close 1 end']);
  });

  test('too few bytes when the connection closes: RESP, the held bytes delivered before the close', () => {
    const { rec, conns } = run([...HS, c(10, 1000, 'RC'), c(11, 1002, '', F.FIN | F.ACK)]);
    expect(conns[0]!.kind).toBe(CONN_KIND.RESP);
    expect(rec.plain().slice(1)).toEqual(['data 1 c RC', 'close 1 end']);
  });
});

describe('sniffKind', () => {
  const b = (...x: number[]) => Uint8Array.from(x);
  test.each([
    { name: 'empty', bytes: b(), clientHello: false, want: NEED_MORE },
    { name: 'one TLS type byte', bytes: b(0x17), clientHello: false, want: NEED_MORE },
    { name: 'a whole header', bytes: b(0x17, 0x03, 0x03, 0x00, 0x10), clientHello: false, want: CONN_KIND.TLS },
    { name: 'SSL 3.0 version', bytes: b(0x15, 0x03, 0x00, 0x00, 0x02), clientHello: false, want: CONN_KIND.TLS },
    { name: 'TLS type, major version 2', bytes: b(0x16, 0x02), clientHello: false, want: CONN_KIND.RESP },
    { name: 'a handshake header from the client at its start wants its 6th byte', bytes: b(0x16, 0x03, 0x01, 0x00, 0x10), clientHello: true, want: NEED_MORE },
    { name: 'ClientHello', bytes: b(0x16, 0x03, 0x01, 0x00, 0x10, 0x01), clientHello: true, want: CONN_KIND.TLS },
    { name: 'next header partly inside: its present bytes must agree', bytes: b(0x17, 0x03, 0x03, 0x00, 0x01, 0xaa, 0x17, 0x04), clientHello: false, want: CONN_KIND.RESP },
    { name: 'next header partly inside and valid so far', bytes: b(0x17, 0x03, 0x03, 0x00, 0x01, 0xaa, 0x17, 0x03), clientHello: false, want: CONN_KIND.TLS },
    { name: 'R', bytes: b(0x52), clientHello: false, want: NEED_MORE },
    { name: 'RCm', bytes: b(0x52, 0x43, 0x6d), clientHello: false, want: NEED_MORE },
    { name: 'RCmb', bytes: b(0x52, 0x43, 0x6d, 0x62), clientHello: false, want: CONN_KIND.CLUSTER_BUS },
    { name: 'RE', bytes: b(0x52, 0x45), clientHello: false, want: CONN_KIND.RESP },
    { name: '*', bytes: b(0x2a), clientHello: false, want: CONN_KIND.RESP },
  ])('$name', ({ bytes, clientHello, want }) => {
    // At an offset inside a bigger buffer, so offset mistakes show.
    const big = new Uint8Array(bytes.length + 6).fill(0x17);
    big.set(bytes, 3);
    expect(sniffKind(big, 3, bytes.length, clientHello)).toBe(want);
  });
});

describe('end to end: a TLS conversation and a RESP one on the same port', () => {
  test('the report holds the RESP commands only, and says why the TLS one is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flow-sniff-'));
    const path = join(dir, 'tls-and-resp.pcap');
    const tlsClient = Buffer.concat([CLIENT_HELLO, APP_DATA]);
    const tlsFrames = talk(tlsClient, SERVER_HELLO);
    const resp = 'SET k v\r\n' + PING;
    const respFrames = talk(resp, '+OK\r\n+PONG\r\n').map((f) => ({ ...f, data: retarget(f.data), tsUs: f.tsUs + 20 }));
    const frames = [...tlsFrames, ...respFrames].sort((a, b) => a.tsUs - b.tsUs);
    writeFileSync(path, buildPcap({}, frames.map((f) => ({ sec: 1_700_000_000, frac: f.tsUs, data: f.data }))));
    const r = analyzeFile({ path, ports: [6379], top: 10, analyzer: analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 }) });
    expect(r.commands.map((x) => [x.name, x.count]).sort()).toEqual([['PING', 1], ['SET', 1]]);
    expect(r.totals).toMatchObject({
      connections: 1, commands: 2, tlsConnections: 1, tlsBytes: tlsClient.length + SERVER_HELLO.length,
      clusterBusConnections: 0, clusterBusBytes: 0, violations: 0, unparsedBytes: 0,
    });
    expect(r.violations).toEqual([]);
    expect(r.warnings).toContain(
      `1 TLS connections on watched ports (${tlsClient.length + SERVER_HELLO.length} bytes): their contents are encrypted and cannot be decoded; their commands are not in this report`,
    );
  });

  test('a Cluster bus connection is named in a warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flow-sniff-'));
    const path = join(dir, 'bus.pcap');
    const frames = talk(busMessage(), busMessage()).map((f) => ({ ...f, data: toPort(f.data, 16379) }));
    writeFileSync(path, buildPcap({}, frames.map((f) => ({ sec: 1_700_000_000, frac: f.tsUs, data: f.data }))));
    const r = analyzeFile({ path, ports: [6379, 16379], top: 10, analyzer: analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 }) });
    expect(r.totals).toMatchObject({ connections: 0, commands: 0, clusterBusConnections: 1, clusterBusBytes: 2 * 2256, violations: 0 });
    expect(r.warnings).toContain('1 Redis Cluster bus connections (4512 bytes) recognised and skipped');
  });
});

/** TCP payload length of an Ethernet/IPv4 frame from tcpFrame(). */
function tcpPayloadLen(f: Frame): number {
  const ip = 14;
  const total = (f.data[ip + 2]! << 8) | f.data[ip + 3]!;
  const ihl = (f.data[ip]! & 0x0f) * 4;
  const doff = (f.data[ip + ihl + 12]! >> 4) * 4;
  return total - ihl - doff;
}

/** The same frame from client port 40001 instead of 40000 (a second connection). */
function retarget(data: Uint8Array): Uint8Array {
  const d = Uint8Array.from(data);
  const tcpAt = 14 + (d[14]! & 0x0f) * 4;
  for (const at of [tcpAt, tcpAt + 2]) if (((d[at]! << 8) | d[at + 1]!) === 40000) d[at + 1] = d[at + 1]! + 1;
  return d;
}

/** The same frame with the server port 6379 replaced (TCP checksums are not checked). */
function toPort(data: Uint8Array, port: number): Uint8Array {
  const d = Uint8Array.from(data);
  const tcpAt = 14 + (d[14]! & 0x0f) * 4;
  for (const at of [tcpAt, tcpAt + 2]) if (((d[at]! << 8) | d[at + 1]!) === 6379) {
    d[at] = port >> 8;
    d[at + 1] = port & 0xff;
  }
  return d;
}
