/**
 * What an audit against fresh deployments found, each as a case: a replication link joined
 * mid-stream keeps what its master sent before the replica's first ACK; Redis's answer to a
 * line it rejects is an error of that server, not an unexpected reply; the proxy warning is not
 * raised by a replica's link or a sentinel's pings; a refused connection attempt is no connection.
 */
import { describe, expect, test } from 'vitest';
import { emptyFlowStats, FlowTable } from '../src/flow/flow-table.js';
import { KindSniffer } from '../src/flow/sniff.js';
import { Analyzer } from '../src/analysis/analyzer.js';
import { Stats } from '../src/analysis/stats.js';
import { analyzerOptions } from '../src/engine/options.js';
import { analyze, cmd, testConn } from './helpers/analyzer-run.js';
import { Recorder, toPacket } from './helpers/flow-recorder.js';
import { F } from './helpers/frame-build.js';
import { buildReport } from '../src/output/report.js';
import { renderText } from '../src/output/text.js';
import { c, s } from './helpers/tcp-conversation.js';

const STREAM = cmd('SELECT', '0') + cmd('SET', 'k1', 'v') + cmd('SET', 'k2', 'v') + cmd('INCR', 'k1');

describe('a replication link joined mid-stream', () => {
  test.each([
    ['what the master sent before the first ACK is stream, not unparsed', [['S', 'alue\r\n' + STREAM], ['C', cmd('REPLCONF', 'ACK', '9000')], ['S', cmd('SET', 'k3', 'v')]], 6, { SELECT: 1, SET: 3, INCR: 1 }],
    ['a second of writes in many chunks before the ACK', [...Array.from({ length: 50 }, () => ['S', STREAM] as ['S', string]), ['C', cmd('REPLCONF', 'ACK', '1')]], 0, { SELECT: 50, SET: 100, INCR: 50 }],
  ] as const)('%s', (_name, steps, unparsed, commands) => {
    const a = analyze([steps as never], { midstream: true });
    const rep = a.stats.replication.snapshot(10, (k) => k);
    expect(Object.fromEntries(rep.commands.map((x) => [x.name, x.count]))).toEqual(commands);
    expect(a.unparsedBytes).toBe(unparsed);
    expect(a.stats.counters.commands).toBe(0);
  });

  test('on a connection that is no link, the early bytes are discarded as before', () => {
    const a = analyze([[['S', '$5\r\nhello\r\n'], ['C', cmd('GET', 'x')], ['S', '$-1\r\n']]], { midstream: true });
    expect(a.unparsedBytes).toBe(11);
    expect(a.stats.counters).toMatchObject({ commands: 1, replies: 1, unexpectedReplies: 0 });
  });
});

describe('protocol errors', () => {
  test("Redis's answer to a rejected inline line is an error of its server and connection, not an unexpected reply", () => {
    const a = analyze([[['C', 'PING\r\nSET "a 1\r\nGET a\r\n'], ['S', '+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n']]]);
    const st = a.stats;
    expect(st.counters).toMatchObject({ commands: 1, errors: 1, unexpectedReplies: 0 });
    expect(st.errorCodes.snapshot()).toEqual({ ERR: 1 });
    const server = [...st.peers.servers.byId.values()][0]!;
    expect({ errors: server.errors, codes: server.errorCodes?.snapshot() }).toEqual({ errors: 1, codes: { ERR: 1 } });
  });

  // Audit 9: Redis 7.0 answered each of these `-ERR Protocol error: ...` and closed the
  // connection; the PING sent after it was never run (INFO commandstats).
  test.each([
    ['invalid bulk length', cmd('PING') + '*2\r\n$3\r\nGET\r\n$-5\r\n' + cmd('PING')],
    ['invalid multibulk length', cmd('PING') + '*abc\r\n' + cmd('PING')],
    ["expected '$', got 'x'", '*1\r\nxPING\r\n' + cmd('PING')],
    // Audit 10: past proto-max-bulk-len (512 MB by default, the decoder's limit too) ...
    ['invalid bulk length', cmd('PING') + '*2\r\n$3\r\nGET\r\n$536870913\r\n' + cmd('PING')],
    // ... and a count Redis takes (past the decoder's 64 M), then no '$' where the next begins.
    ["expected '$', got '*'", cmd('PING') + '*100000000\r\n' + cmd('PING')],
  ])('after a request Redis rejects (%s), what the client sent next is no command', (reason, requests) => {
    const first = requests.startsWith(cmd('PING'));
    const a = analyze([[['C', requests], ['S', (first ? '+PONG\r\n' : '') + `-ERR Protocol error: ${reason}\r\n`]]]);
    expect(a.stats.counters).toMatchObject({ commands: first ? 1 : 0, replies: first ? 1 : 0, errors: 1, unanswered: 0, unexpectedReplies: 0 });
    expect(a.stats.errorCodes.snapshot()).toEqual({ ERR: 1 });
  });
});

describe('a connection refused at maxclients', () => {
  // Audit 9 (M2): Redis writes the error as it accepts the connection, before reading the GET.
  test('its error is the server\'s, and the request sent on it was never run', () => {
    const a = analyze([[['C', cmd('GET', 'm')], ['S', '-ERR max number of clients reached\r\n']]]);
    expect(a.stats.counters).toMatchObject({ commands: 1, replies: 0, unanswered: 1, errors: 1, unexpectedReplies: 0 });
    expect(a.stats.commands.sorted().find((e) => e.name === 'GET')).toMatchObject({ errors: 0, unanswered: 1 });
  });
});

describe('QUIT', () => {
  // Audit 9: INCRs pipelined after QUIT were counted (and their keys hot); Redis never ran them.
  test.each([false, true])('what was pipelined after it is no command (answered: %s)', (answered) => {
    const a = analyze([[['C', cmd('SET', 'k', '1') + cmd('QUIT') + cmd('INCR', 'after') + cmd('INCR', 'after2')], ['S', answered ? '+OK\r\n+OK\r\n' : '+OK\r\n']]]);
    expect(a.stats.counters).toMatchObject({ commands: 2, unanswered: answered ? 0 : 1 });
    expect(a.stats.keys.top(10).map((k) => k.key)).toEqual(['k']);
    expect(a.unparsedBytes).toBe((cmd('INCR', 'after') + cmd('INCR', 'after2')).length);
    // Audit 10 (D5): and the report says why, not 'damage'.
    expect(a.haltedBytes).toBe(a.unparsedBytes);
  });
});

describe('a command never answered', () => {
  // Audit 9 (C1): KEYS refused by twemproxy (connection closed) showed p50/p99/max 0us.
  test('has no latency in the text report, not 0 us', () => {
    const a = analyze([[['C', cmd('GET', 'k') + cmd('KEYS', '*')], ['S', '$1\r\nv\r\n']]]);
    const report = buildReport({
      analyzer: a, capture: { packets: 0, bytes: 0, snappedPackets: 0, truncatedRecords: 0, skippedBytes: 0, kernelDrops: null, interfaceDrops: null, shedFrames: 0, filteredPackets: 0, format: 'pcap', interfaces: 1, warnings: [] } as never,
      flow: emptyFlowStats(), source: { kind: 'file', name: 'x', format: 'pcap', ports: [6379], filter: null, files: ['x'] }, top: 10,
      firstTsUs: 0, lastTsUs: 1, backwardsPackets: 0, maxBackwardsUs: 0,
    });
    const keys = renderText(report, { color: false, top: 10 }).split('\n').find((l) => /^\s+KEYS\s/.test(l))!;
    expect(keys.trim().split(/\s+/).slice(5, 8)).toEqual(['-', '-', '-']);
    const get = renderText(report, { color: false, top: 10 }).split('\n').find((l) => /^\s+GET\s/.test(l))!;
    expect(get.trim().split(/\s+/)[5]).toMatch(/us$/);
  });
});

describe('the proxy warning', () => {
  /** conversations: [client ip, server port, client steps]. */
  function suspects(convs: Array<[string, number, string, string]>): string[] {
    const a = new Analyzer(analyzerOptions({ slowMs: 10, maxKeys: 100, top: 10 }));
    convs.forEach(([ip, port, req, rep], i) => {
      const conn = { ...testConn(i + 1, false, ip, port), serverIp: '10.0.0.1' };
      a.onOpen(conn, 0);
      a.onData(conn, true, Buffer.from(req, 'latin1'), 0, req.length, 1);
      a.onData(conn, false, Buffer.from(rep, 'latin1'), 0, rep.length, 2);
      a.onClose(conn, 3, 'fin');
    });
    return [...a.suspectedProxies.keys()];
  }
  const client: [string, number, string, string] = ['10.0.0.9', 22121, cmd('GET', 'a'), '$-1\r\n'];

  test('a proxy forwarding keyed commands from its IP to a backend port is named', () => {
    expect(suspects([client, ['10.0.0.1', 6379, cmd('GET', 'a'), '$-1\r\n']])).toEqual(['10.0.0.1 (serving port 22121) -> port 6379']);
  });
  test("a sentinel's pings and a replica's link are no proxy", () => {
    expect(suspects([client, ['10.0.0.1', 6379, cmd('PING') + cmd('INFO'), '+PONG\r\n$2\r\nok\r\n']])).toEqual([]);
    expect(suspects([client, ['10.0.0.1', 6379, cmd('REPLCONF', 'listening-port', '6380'), '+OK\r\n']])).toEqual([]);
  });
});

describe('connection attempts', () => {
  test('a SYN answered by a reset is no connection; an accepted one that resets is', () => {
    const rec = new Recorder();
    const stats = emptyFlowStats();
    const table = new FlowTable({ serverPorts: new Set([6379]), stats }, new KindSniffer(rec, stats));
    const refused = [c(1, 999, '', F.SYN, 0), s(2, 0, '', F.RST | F.ACK, 1000)];
    for (const f of refused) table.packet(toPacket(f));
    table.finish(10);
    expect(stats.refusedConnections).toBe(1);
    expect(rec.conns).toHaveLength(0);
    const rec2 = new Recorder();
    const stats2 = emptyFlowStats();
    const table2 = new FlowTable({ serverPorts: new Set([6379]), stats: stats2 }, new KindSniffer(rec2, stats2));
    for (const f of [c(1, 999, '', F.SYN, 0), s(2, 4999, '', F.SYN | F.ACK, 1000), c(3, 1000, '', F.RST)]) table2.packet(toPacket(f));
    table2.finish(10);
    expect(stats2.refusedConnections).toBe(0);
    expect(rec2.conns).toHaveLength(1);
  });
});

describe('interval tables forget closed connections', () => {
  test('a closed connection is in the interval it closed in, and gone after the next cut', () => {
    const a = new Analyzer(analyzerOptions({ slowMs: 10, maxKeys: 100, top: 10 }));
    a.intervalStats = new Stats(analyzerOptions({ slowMs: 10, maxKeys: 100, top: 10 }));
    const open = testConn(1);
    const closing = testConn(2);
    for (const conn of [open, closing]) {
      a.onOpen(conn, 0);
      const req = cmd('GET', 'k');
      a.onData(conn, true, Buffer.from(req), 0, req.length, 1);
      a.onData(conn, false, Buffer.from('$-1\r\n'), 0, 5, 2);
    }
    a.onClose(closing, 3, 'fin');
    expect(a.intervalStats.peers.connections.byId.size).toBe(2);
    a.intervalStats.clear();
    expect([...a.intervalStats.peers.connections.byId.keys()]).toEqual([`${open.client} -> ${open.server}`]);
    expect(a.stats.peers.connections.byId.size).toBe(2); // the whole run keeps both
  });
});
