/**
 * `--threads N` reports what one thread reports, to the byte, also where the order in which one
 * thread and the shards meet things differs: equal latencies at the slow list's cut, a proxy's
 * IP seen after a connection from it opened, protocol violations delivered out of time order.
 * Each capture is built here, packet by packet, and analysed on one thread and on more.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { F, tcpFrame, type Frame } from './helpers/frame-build.js';
import { buildPcap } from './helpers/pcap-build.js';
import { cmd, testConn } from './helpers/analyzer-run.js';
import { analyzerOptions } from '../src/engine/options.js';
import { Analyzer, keepViolation, violationOrder, type ViolationNote } from '../src/analysis/analyzer.js';
import { LargestN } from '../src/analysis/bounded.js';
import { slower } from '../src/analysis/slow-requests.js';
import type { SlowRequest } from '../src/analysis/stats.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = `${ROOT}bin/redis-tap.js`;
const dir = mkdtempSync(join(tmpdir(), 'redis-tap-determinism-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One TCP connection's packets: a handshake (or none: joined mid-stream), then payloads, each at its time. */
class Conn {
  private cseq = 1000;
  private sseq = 5000;
  readonly frames: Frame[] = [];

  constructor(
    private readonly client: [string, number],
    private readonly server: [string, number],
  ) {}

  handshake(tsUs: number): this {
    this.push(tsUs, true, '', F.SYN, 0);
    this.push(tsUs + 1, false, '', F.SYN | F.ACK);
    this.push(tsUs + 2, true, '', F.ACK);
    return this;
  }

  /** Client bytes at tsUs (with `skip`, sent that many bytes ahead of the stream, as a reordered segment is). */
  c(tsUs: number, payload: string, skip = 0): this {
    return this.push(tsUs, true, payload, F.ACK | F.PSH, undefined, skip);
  }

  s(tsUs: number, payload: string): this {
    return this.push(tsUs, false, payload, F.ACK | F.PSH);
  }

  /** The server's bare ACK. */
  ack(tsUs: number): this {
    return this.push(tsUs, false, '', F.ACK);
  }

  private push(tsUs: number, fromClient: boolean, payload: string, flags: number, ack?: number, skip = 0): this {
    const [src, dst] = fromClient ? [this.client, this.server] : [this.server, this.client];
    const seq = fromClient ? this.cseq : this.sseq;
    const len = payload.length + ((flags & F.SYN) !== 0 ? 1 : 0);
    this.frames.push(tcpFrame({ src: src[0], sport: src[1], dst: dst[0], dport: dst[1], seq: seq + skip, ack: ack ?? (fromClient ? this.sseq : this.cseq), flags, payload }, tsUs));
    if (skip === 0) {
      if (fromClient) this.cseq += len;
      else this.sseq += len;
    }
    return this;
  }

  /** The bytes a reordered segment skipped, sent now. */
  fill(tsUs: number, payload: string): this {
    return this.c(tsUs, payload);
  }

  /** After fill(): the stream moves past the segment that was sent ahead. */
  advance(n: number): this {
    this.cseq += n;
    return this;
  }
}

/** A pcap of the connections' packets in time order. */
function capture(name: string, conns: readonly Conn[]): string {
  const frames = conns.flatMap((c) => c.frames).sort((a, b) => a.tsUs - b.tsUs);
  const path = join(dir, name);
  writeFileSync(path, buildPcap({}, frames.map((f) => ({ sec: 1_800_000_000 + Math.floor(f.tsUs / 1e6), frac: f.tsUs % 1e6, data: f.data }))));
  return path;
}

function tap(args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

/** The report on 1, 2 and 3 threads: [text, json] each. */
function onThreads(args: string[]): Array<{ text: string; json: Record<string, unknown> }> {
  return [1, 2, 3].map((n) => ({
    text: tap(['analyze', ...args, '--threads', String(n)]),
    json: JSON.parse(tap(['analyze', ...args, '--json', '--threads', String(n)])) as Record<string, unknown>,
  }));
}

function expectAllSame(runs: ReturnType<typeof onThreads>): void {
  for (const r of runs.slice(1)) {
    expect(r.text).toBe(runs[0]!.text);
    expect(r.json).toEqual(runs[0]!.json);
  }
}

const SERVER: [string, number] = ['10.0.0.9', 6379];

describe('slow requests of equal latency (D4)', () => {
  // A is seen first (shard 0 of 2), B second (shard 1); B's request comes first, and both wait
  // 50 ms: one thread meets B's first, the shards' merge A's first.
  const a = new Conn(['10.0.0.1', 40001], SERVER).handshake(0).c(2_000, cmd('GET', 'a')).s(52_000, '$-1\r\n');
  const b = new Conn(['10.0.0.2', 40002], SERVER).handshake(10).c(1_000, cmd('GET', 'b')).s(51_000, '$-1\r\n');
  const file = capture('slow-ties.pcap', [a, b]);

  test.each([['1'], ['10']])('--top %s: the same rows in the same order on any thread count', (top) => {
    const runs = onThreads([file, '-p', '6379', '--top', top]);
    expectAllSame(runs);
    const slow = runs[0]!.json['slow'] as Array<{ client: string; latencyUs: number }>;
    // Ties go by time: B's request was sent first.
    expect(slow.map((s) => [s.client, s.latencyUs])).toEqual([['10.0.0.2:40002', 50_000], ['10.0.0.1:40001', 50_000]].slice(0, Number(top)));
    const merge = runs[0]!.json['merge'] as { slow: Array<{ client: string }> };
    expect(merge.slow.map((s) => s.client)).toEqual(['10.0.0.2:40002', '10.0.0.1:40001']);
  });

  test('the list keeps the same rows at its cut whatever order they come in', () => {
    const row = (latencyUs: number, tsUs: number, client: string, key: string): SlowRequest => ({ tsUs, client, server: '10.0.0.9:6379', db: 0, args: ['GET', key], argc: 2, latencyUs, blocking: false });
    const rows = [row(900, 5, 'c:1', 'x'), row(500, 3, 'c:2', 'b'), row(500, 3, 'c:2', 'a'), row(500, 2, 'c:3', 'z'), row(500, 3, 'c:1', 'q'), row(100, 1, 'c:1', 'y')];
    const kept = (order: readonly SlowRequest[]) => {
      const l = new LargestN(3, (s: SlowRequest) => s.latencyUs, slower);
      for (const r of order) if (l.wants(r.latencyUs)) l.add(r);
      return l.sorted().map((s) => `${s.latencyUs} ${s.tsUs} ${s.client} ${s.args[1]}`);
    };
    const want = ['900 5 c:1 x', '500 2 c:3 z', '500 3 c:1 q'];
    expect(kept(rows)).toEqual(want);
    expect(kept([...rows].reverse())).toEqual(want);
    expect(kept([rows[2]!, rows[4]!, rows[1]!, rows[5]!, rows[3]!, rows[0]!])).toEqual(want);
  });
});

describe('protocol violations (D6)', () => {
  // A's bad request is sent at 0.1 s ahead of 4 bytes that come at 0.3 s: it is met then, with
  // its own time. 22 other connections each send a bad request between: one thread met them
  // first, and kept the first 20 it met.
  const a = new Conn(['10.0.0.1', 40001], SERVER).handshake(0).c(100_000, '$zz\r\n', 4).fill(300_000, '*1\r\n').advance(5);
  const others = Array.from({ length: 22 }, (_, i) => new Conn(['10.0.0.2', 41000 + i], SERVER).handshake(10 + i * 10).c(150_000 + i * 1000, '*1\r\n$zz\r\n'));
  const file = capture('violations.pcap', [a, ...others]);

  test('the earliest 20 by time, in time order, on any thread count', () => {
    const runs = onThreads([file, '-p', '6379']);
    expectAllSame(runs);
    const json = runs[0]!.json as { violations: Array<{ ts: number; connection: string; offset: number }>; totals: { violations: number } };
    expect(json.totals.violations).toBe(23);
    expect(json.violations.map((v) => v.connection.split(' ')[0])).toEqual(['10.0.0.1:40001', ...others.slice(0, 19).map((_, i) => `10.0.0.2:${41000 + i}`)]);
    // The same bad bytes at the same place of both streams.
    expect(json.violations[0]!.offset).toBe(json.violations[1]!.offset);
    const ts = json.violations.map((v) => v.ts);
    expect(ts).toEqual([...ts].sort((x, y) => x - y));
  });

  test('kept violations are one set in one order whatever order they are met in', () => {
    const note = (tsUs: number, connection: string, direction: 'request' | 'reply', offset: number): ViolationNote => ({ tsUs, connection, direction, offset, reason: 'bad' });
    const notes = Array.from({ length: 30 }, (_, i) => note(1000 + (i % 7), `c${i % 3}`, i % 2 === 0 ? 'request' : 'reply', i));
    const kept = (order: readonly ViolationNote[]) => {
      const list: ViolationNote[] = [];
      for (const v of order) keepViolation(list, v, 20);
      return list;
    };
    const want = [...notes].sort(violationOrder).slice(0, 20);
    expect(kept(notes)).toEqual(want);
    expect(kept([...notes].reverse())).toEqual(want);
    // Two shards' lists merged as one.
    const merged = kept([...kept(notes.filter((_, i) => i % 2 === 0)), ...kept(notes.filter((_, i) => i % 2 === 1))]);
    expect(merged).toEqual(want);
  });
});

describe('a connection from the proxy\'s IP that opened before the proxy was seen (D5)', () => {
  const PROXY = '10.0.0.7';
  const ACK = cmd('REPLCONF', 'ACK', '12345');
  /** `handshake`: the idle replication link 10.0.0.7 -> :7603 was seen from its start, else joined mid-stream. */
  function twemproxy(name: string, handshake: boolean): string {
    const link = new Conn([PROXY, 42302], ['10.0.0.9', 7603]);
    if (handshake) link.handshake(0);
    link.c(100, ACK).ack(120);
    // 0.8 s later a client comes to the proxy, which forwards its GET to the backend on 7602.
    const client = new Conn(['10.0.0.1', 35184], [PROXY, 7610]).handshake(800_000).c(801_000, cmd('GET', 'k')).s(802_000, '$-1\r\n');
    const backend = new Conn([PROXY, 49824], ['10.0.0.9', 7602]).c(801_300, cmd('GET', 'k')).s(801_700, '$-1\r\n');
    return capture(name, [link, client, backend]);
  }

  test.each([
    ['joined mid-stream (one thread opened it before the proxy\'s first packet, shards after)', 'proxy-midstream.pcap', false],
    ['seen from its start', 'proxy-handshake.pcap', true],
  ])('%s: a backend hop, as the README says, on any thread count', (_name, file, handshake) => {
    const runs = onThreads([twemproxy(file, handshake), '-p', '7602', '-p', '7603', '--proxy-port', '7610']);
    expectAllSame(runs);
    const json = runs[0]!.json as { hops: Array<{ hop: string; connections: number; commandCount: number }>; connections: Array<{ connection: string }>; totals: { connections: number } };
    expect(json.hops.map((h) => [h.hop, h.connections, h.commandCount])).toEqual([['client', 1, 1], ['backend', 2, 1]]);
    // The client hop's tables hold no row of the link.
    expect(json.connections.map((c) => c.connection)).toEqual(['10.0.0.1:35184 -> 10.0.0.7:7610']);
  });
});

describe('reclassing a connection when the proxy\'s IP is first seen', () => {
  test('one whose commands were counted before stays where they were counted', () => {
    const a = new Analyzer({ ...analyzerOptions({ slowMs: 10, maxKeys: 100, top: 10 }), proxyPorts: [7610] });
    const early = { ...testConn(1, false, '10.0.0.7', 7602) };
    const idle = { ...testConn(2, false, '10.0.0.7', 7603) };
    a.onOpen(early, 0);
    a.onOpen(idle, 0);
    const get = cmd('GET', 'k');
    a.onData(early, true, Buffer.from(get, 'latin1'), 0, get.length, 1);
    a.onData(early, false, Buffer.from('$-1\r\n', 'latin1'), 0, 5, 2);
    a.serverSeen('10.0.0.7', 7610);
    a.flushAggregates();
    expect({ connections: a.stats.counters.connections, commands: a.stats.counters.commands }).toEqual({ connections: 1, commands: 1 });
    expect([...a.stats.peers.servers.byId.keys()]).toEqual(['10.0.0.1:7602']);
    expect(a.backendStats!.counters.connections).toBe(1);
    expect([...a.backendStats!.peers.connections.byId.keys()]).toEqual(['10.0.0.7:5002 -> 10.0.0.1:7603']);
  });
});

describe('facts shards meet in another order than one thread (audit 2)', () => {
  /** The report on 1, 2 and 3 threads, JSON as text: the merge section's key order too. */
  function sameText(args: string[]): string {
    const [one, ...more] = [1, 2, 3].map((n) => {
      const json = JSON.parse(tap(['analyze', ...args, '--json', '--threads', String(n)])) as Record<string, unknown>;
      delete json.source; // names the thread count
      return { text: tap(['analyze', ...args, '--threads', String(n)]), json: JSON.stringify(json) };
    });
    for (const r of more) {
      expect(r.text).toBe(one!.text);
      expect(r.json).toBe(one!.json);
    }
    return one!.json;
  }

  test('--cluster: per-node hot keys and subcommands in one order on any thread count', () => {
    // Met in the order 7002, 7001, 7003: on 2 threads shard 0 holds 7002 and 7003, shard 1 7001.
    const conns = [7002, 7001, 7003].map((port, i) =>
      new Conn([`10.0.0.${i + 1}`, 40000 + i], ['10.0.0.9', port]).handshake(i * 10)
        .c(1_000 + i, cmd('CLUSTER', i === 0 ? 'NODES' : 'KEYSLOT', 'k')).s(1_100 + i, '+x\r\n')
        .c(2_000 + i, cmd('GET', `k${i}`)).s(2_100 + i, '$-1\r\n'));
    const json = JSON.parse(sameText([capture('cluster-nodes.pcap', conns), '-p', '7001', '-p', '7002', '-p', '7003', '--cluster'])) as { hotKeysByNode: Array<{ server: string }> };
    expect(json.hotKeysByNode.map((n) => n.server)).toEqual(['10.0.0.9:7001', '10.0.0.9:7002', '10.0.0.9:7003']);
  });

  test('subcommands met once each in another order on each shard: one order, by count then name', () => {
    // A is seen first (shard 0 of 2), B second (shard 1); B's CLIENT KILL comes first: one thread
    // meets KILL first, the merge SETNAME (shard 0's) first.
    const a = new Conn(['10.0.0.1', 40001], SERVER).handshake(0).c(2_000, cmd('CLIENT', 'SETNAME', 'app')).s(2_100, '+OK\r\n');
    const b = new Conn(['10.0.0.2', 40002], SERVER).handshake(10).c(1_000, cmd('CLIENT', 'KILL', '10.0.0.7:1')).s(1_100, '-ERR No such client\r\n');
    const json = JSON.parse(sameText([capture('subcommand-ties.pcap', [a, b]), '-p', '6379'])) as { commands: Array<{ name: string; subcommands: Record<string, number> }> };
    expect(Object.keys(json.commands.find((c) => c.name === 'CLIENT')!.subcommands)).toEqual(['KILL', 'SETNAME']);
  });

  test('a TLS port tells which ports an IP serves, as a RESP one does', () => {
    // 10.0.0.9 serves TLS on 6380, met first; then a connection from 10.0.0.9 to another server's
    // 6379: one thread used to learn nothing of the TLS connection (the flow layer keeps it),
    // a shard learned of it as another shard's connection, and only the shards warned.
    const hello = '\x16\x03\x01\x00\x2a' + '\x01\x00\x00\x26' + '\x03\x03' + 'r'.repeat(36);
    const tls = new Conn(['10.0.0.1', 41000], ['10.0.0.9', 6380]).handshake(0).c(100, hello);
    const hop = new Conn(['10.0.0.9', 42000], ['10.0.0.5', 6379]).handshake(10).c(1_000, cmd('GET', 'k')).s(1_100, '$-1\r\n');
    sameText([capture('tls-serves.pcap', [tls, hop]), '-p', '6379', '-p', '6380']);
    const text = tap(['analyze', join(dir, 'tls-serves.pcap'), '-p', '6379', '-p', '6380', '--threads', '1']);
    expect(text).toContain('1 from 10.0.0.9 (serving port 6380) -> port 6379');
  });
});
