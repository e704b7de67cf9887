/**
 * A client library's pipeline sends every command before it reads a reply (redis-py, Jedis):
 * tens of thousands can await their replies on one connection. Up to the session's limit each
 * is paired with its own reply; past it the oldest are given up one by one, counted (the
 * report says so), and every other request still gets its own reply.
 */
import { describe, expect, test } from 'vitest';
import { DEFAULT_MAX_PENDING, MAX_PENDING_BYTES } from '../src/analysis/pending-limits.js';
import { Session } from '../src/analysis/session.js';
import type { TrackedRequest } from '../src/analysis/tracked-request.js';
import type { TcpConn } from '../src/flow/types.js';
import { Analyzer } from '../src/analysis/analyzer.js';
import { analyzerOptions } from '../src/engine/options.js';
import { buildReport } from '../src/output/report.js';
import { emptyFlowStats } from '../src/flow/flow-table.js';

const conn = (): TcpConn => ({
  id: 1, clientIp: '10.0.0.5', clientPort: 5000, serverIp: '10.0.0.1', serverPort: 6379,
  client: '10.0.0.5:5000', server: '10.0.0.1:6379', midstream: false, firstTsUs: 0, handlerState: null,
});

const get = (i: number) => `*2\r\n$3\r\nGET\r\n$${String(i).length + 2}\r\nk:${i}\r\n`;
/** Each key's reply has its own length, so a reply paired with another request shows. */
const value = (i: number) => `$${String(i).length + 2}\r\nv:${i}\r\n`;

function pipeline(n: number, maxPending: number, split: boolean): { paired: string[]; unanswered: string[]; outcomes: Map<string, number>; overflows: number; skipped: number } {
  const paired: string[] = [];
  const unanswered: string[] = [];
  const outcomes = new Map<string, number>();
  let overflows = 0;
  let skipped = 0;
  const none = () => undefined;
  const s = new Session(conn(), {
    request: none,
    complete: (r: TrackedRequest) => {
      outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1);
      if (r.outcome === 'ok') paired.push(`${r.frame.args[1]}=${r.replyBytes}`);
      if (r.outcome === 'unanswered') unanswered.push(r.frame.args[1]!);
    },
    unpaired: (_c, _reply, kind) => {
      if (kind === 'overflow') skipped++;
    },
    violation: none, linkRequest: none, linkStart: none, rdb: none, propagated: none, clientInfo: none,
    overflow: (_c, requests) => (overflows += requests),
  }, {}, maxPending);
  const feed = (fromClient: boolean, text: string, ts: number) => {
    const b = Buffer.from(text, 'latin1');
    if (!split) s.data(fromClient, b, 0, b.length, ts);
    else for (let i = 0; i < b.length; i += 7) s.data(fromClient, b, i, Math.min(7, b.length - i), ts);
  };
  let requests = '';
  let replies = '';
  for (let i = 0; i < n; i++) {
    requests += get(i);
    replies += value(i);
  }
  feed(true, requests, 1_000_000);
  feed(false, replies, 1_050_000);
  s.close();
  return { paired, unanswered, outcomes, overflows, skipped };
}

describe('a long pipeline on one connection', () => {
  test.each([false, true])('20,000 GETs sent before any reply are each paired with their own (split: %s)', (split) => {
    expect(DEFAULT_MAX_PENDING).toBeGreaterThanOrEqual(20_000);
    const r = pipeline(20_000, DEFAULT_MAX_PENDING, split);
    expect(r.overflows).toBe(0);
    expect(r.outcomes).toEqual(new Map([['ok', 20_000]]));
    expect(r.paired[0]).toBe(`k:0=${value(0).length}`);
    expect(r.paired[19_999]).toBe(`k:19999=${value(19_999).length}`);
    for (let i = 0; i < 20_000; i += 997) expect(r.paired[i]).toBe(`k:${i}=${value(i).length}`);
  });

  test.each([false, true])('past the limit the oldest are given up one by one, the rest paired each with its own (split: %s)', (split) => {
    const r = pipeline(150, 100, split);
    expect(r.overflows).toBe(50);
    expect(r.skipped).toBe(50);
    expect(r.unanswered).toEqual(Array.from({ length: 50 }, (_, i) => `k:${i}`));
    expect(r.paired).toEqual(Array.from({ length: 100 }, (_, i) => `k:${i + 50}=${value(i + 50).length}`));
  });

  test('MULTI, queued commands and EXEC at the head of the queue are given up the same way', () => {
    // Audit 10: 150,000 GETs with a MULTI/GET/EXEC every 5,000 lost every reply of the rest.
    const paired: string[] = [];
    let overflows = 0;
    const none = () => undefined;
    const s = new Session(conn(), {
      request: none,
      complete: (r: TrackedRequest) => {
        if (r.outcome !== 'unanswered') paired.push(`${r.info.name} ${r.frame.args[1] ?? ''}=${r.replyBytes}`);
      },
      unpaired: none, violation: none, linkRequest: none, linkStart: none, rdb: none, propagated: none, clientInfo: none,
      overflow: (_c, n) => (overflows += n),
    }, {}, 10);
    let requests = '';
    let replies = '';
    for (let i = 0; i < 40; i++) {
      if (i % 8 === 0) {
        requests += '*1\r\n$5\r\nMULTI\r\n' + get(1000 + i) + '*1\r\n$4\r\nEXEC\r\n';
        replies += '+OK\r\n+QUEUED\r\n*1\r\n' + value(1000 + i);
      }
      requests += get(i);
      replies += value(i);
    }
    s.data(true, Buffer.from(requests), 0, requests.length, 1);
    s.data(false, Buffer.from(replies), 0, replies.length, 2);
    s.close();
    // 55 requests, 10 kept: the last 10 are paired, each with its own reply, and none resynced.
    expect(overflows).toBe(45);
    const gets = Array.from({ length: 8 }, (_, i) => `GET k:${32 + i}=${value(32 + i).length}`);
    expect(paired).toEqual([`GET k:1032=${'+QUEUED\r\n'.length}`, `EXEC =${4 + value(1032).length}`, ...gets]);
  });

  test('past 64 MiB of arguments held, the oldest are given up too, not only past the count', () => {
    // 2,000 requests of 4,096 kept arguments of 16 bytes: ~2 GB held under the count alone.
    const args = Array.from({ length: 4095 }, (_, i) => `key:${String(i).padStart(12, '0')}`);
    const mget = `*4096\r\n$4\r\nMGET\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join('');
    let overflows = 0;
    let unanswered = 0;
    const none = () => undefined;
    const s = new Session(conn(), {
      request: none,
      complete: (r: TrackedRequest) => { if (r.outcome === 'unanswered') unanswered++; },
      unpaired: none, violation: none, linkRequest: none, linkStart: none, rdb: none, propagated: none, clientInfo: none,
      overflow: (_c, n) => (overflows += n),
    }, {}, DEFAULT_MAX_PENDING);
    const b = Buffer.from(mget);
    for (let i = 0; i < 2000; i++) s.data(true, b, 0, b.length, 1 + i);
    // Each holds 4096 x 48 + 4 + 4095 x 16 bytes (~258 KB): 64 MiB keeps about 260 of them.
    const held = 4096 * 48 + 4 + 4095 * 16;
    expect(overflows).toBe(2000 - Math.floor(MAX_PENDING_BYTES / held));
    expect(unanswered).toBe(overflows);
    s.close();
  });

  test('the report counts the requests given up and says why', () => {
    const a = new Analyzer({ ...analyzerOptions({ slowMs: 10, maxKeys: 100, top: 10 }), maxPending: 100 });
    const flows = emptyFlowStats();
    const c = conn();
    a.onOpen(c, 1_000_000);
    let requests = '';
    for (let i = 0; i < 150; i++) requests += get(i);
    a.onData(c, true, Buffer.from(requests, 'latin1'), 0, requests.length, 1_000_000);
    a.onClose(c, 1_100_000, 'end');
    const report = buildReport({
      analyzer: a, capture: { packets: 0, bytes: 0, snappedPackets: 0, truncatedRecords: 0, skippedBytes: 0, kernelDrops: null, interfaceDrops: null, shedFrames: 0, filteredPackets: 0, format: 'pcap', interfaces: 1, warnings: [] } as never,
      flow: flows, source: { kind: 'file', name: 'x', format: 'pcap', ports: [6379], filter: null, files: ['x'] }, top: 10,
      firstTsUs: 1_000_000, lastTsUs: 1_100_000, backwardsPackets: 0, maxBackwardsUs: 0,
    });
    expect(report.totals['pendingOverflows']).toBe(50);
    expect(report.totals['unanswered']).toBe(150);
    expect(report.warnings.some((w) => /^50 requests were given up because their connection had more awaiting replies than it keeps/.test(w))).toBe(true);
  });
});
