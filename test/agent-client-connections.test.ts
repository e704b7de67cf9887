/**
 * redis_tap_client_connections counts connections, not client ports: a port reused within a
 * window (a client opening and closing connections fast) counts each connection it carried.
 */
import { describe, expect, test } from 'vitest';
import { Analyzer } from '../src/analysis/analyzer.js';
import { Stats } from '../src/analysis/stats.js';
import { AgentClients } from '../src/engine/agent-clients.js';
import { analyzerOptions } from '../src/engine/options.js';
import { cmd, testConn } from './helpers/analyzer-run.js';

function ping(a: Analyzer, id: number, ts: number, close = true): number {
  const conn = testConn(id, false, '10.0.0.9');
  a.onOpen(conn, ts);
  const req = Buffer.from(cmd('PING'), 'latin1');
  const rep = Buffer.from('+PONG\r\n', 'latin1');
  a.onData(conn, true, req, 0, req.length, (ts += 10));
  a.onData(conn, false, rep, 0, rep.length, (ts += 10));
  if (close) a.onClose(conn, (ts += 10));
  return ts;
}

describe('client connections gauge', () => {
  test('counts every connection of a reused client port, and a carried-over one once', () => {
    const opts = analyzerOptions({ slowMs: 10, maxKeys: 100, top: 10 });
    const a = new Analyzer(opts);
    a.intervalStats = new Stats(opts);
    const clients = new AgentClients({ maxSeries: 100, hotKeys: 5 }, a.apps);
    let ts = 1_000_000;
    // Window 1: a connection on port 5001 stays open across the window's end.
    const carried = testConn(1, false, '10.0.0.9');
    a.onOpen(carried, ts);
    a.flushAggregates();
    clients.endWindow(a.intervalStats);
    a.intervalStats.clear();
    // Window 2: the carried connection sends a request; 7 connections on port 5002, 3 on 5003, 1 on 5004.
    const req = Buffer.from(cmd('PING'), 'latin1');
    a.onData(carried, true, req, 0, req.length, (ts += 10));
    a.onData(carried, false, Buffer.from('+PONG\r\n'), 0, 7, (ts += 10));
    let opened = 0;
    for (const [id, n] of [[2, 7], [3, 3], [4, 1]] as const) {
      for (let i = 0; i < n; i++, opened++) ts = ping(a, id, ts);
    }
    a.flushAggregates();
    expect(a.intervalStats.counters.connections).toBe(opened);
    clients.endWindow(a.intervalStats);
    const rows = clients.clientConnections();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.client).toBe('10.0.0.9');
    expect(rows[0]!.value).toBe(opened + 1);
  });
});
