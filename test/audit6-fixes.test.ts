/**
 * What the audit against redis-server 7.0 traffic (audit6) found misleading, each as a case:
 * cluster mode needs real evidence of a cluster; shard channels are no hot keys; a big value
 * of a multi-key command names the key it belongs to, or says it is of several keys.
 */
import { describe, expect, test } from 'vitest';
import { Analyzer } from '../src/analysis/analyzer.js';
import { hashSlot } from '../src/analysis/hash-slots.js';
import { emptyCaptureStats } from '../src/capture/packet.js';
import { analyzerOptions } from '../src/engine/options.js';
import { emptyFlowStats } from '../src/flow/flow-table.js';
import { buildReport, type Report } from '../src/output/report.js';
import { analyze, cmd, type Step } from './helpers/analyzer-run.js';

function reportOf(a: Analyzer): Report {
  return buildReport({
    analyzer: a, capture: emptyCaptureStats('pcap'), flow: emptyFlowStats(),
    source: { kind: 'file', name: 'x.pcap', format: 'pcap', ports: [6379], filter: null },
    top: 10, firstTsUs: null, lastTsUs: null, backwardsPackets: 0, maxBackwardsUs: 0,
  });
}

const DISABLED = '-ERR This instance has cluster support disabled\r\n';

describe('cluster mode is seen only from evidence of a cluster', () => {
  test.each([
    ['CLUSTER INFO refused by a standalone server', false, [['C', cmd('CLUSTER', 'INFO')], ['S', DISABLED], ['C', cmd('GET', 'k')], ['S', '$1\r\nv\r\n']]],
    ['READONLY and ASKING refused by a standalone server', false, [['C', cmd('READONLY') + cmd('ASKING')], ['S', DISABLED + DISABLED]]],
    ['CLUSTER INFO queued in MULTI, refused in EXEC', false, [['C', cmd('MULTI') + cmd('CLUSTER', 'INFO') + cmd('EXEC')], ['S', '+OK\r\n+QUEUED\r\n*1\r\n' + DISABLED]]],
    ['CLUSTER INFO answered', true, [['C', cmd('CLUSTER', 'INFO')], ['S', '$23\r\ncluster_state:ok\r\n12345\r\n']]],
    ['READONLY answered', true, [['C', cmd('READONLY')], ['S', '+OK\r\n']]],
    ['a MOVED redirection', true, [['C', cmd('GET', 'k')], ['S', '-MOVED 3999 127.0.0.1:6381\r\n']]],
  ] as [string, boolean, Step[]][])('%s -> cluster %s', (_name, cluster, steps) => {
    const r = reportOf(analyze([steps]));
    expect(r.cluster).toBe(cluster);
    expect(r.hotSlots.length > 0).toBe(cluster && r.hotKeys.length > 0);
  });
});

describe('shard channels are no keys', () => {
  const steps: Step[] = [
    ['C', cmd('SPUBLISH', 'shard:chan', 'm').repeat(5) + cmd('GET', 'real:key')],
    ['S', ':0\r\n'.repeat(5) + '$-1\r\n'],
    ['C', cmd('SSUBSCRIBE', 'shard:a', 'shard:b')],
    ['S', '*3\r\n$10\r\nssubscribe\r\n$7\r\nshard:a\r\n:1\r\n*3\r\n$10\r\nssubscribe\r\n$7\r\nshard:b\r\n:2\r\n'],
  ];

  test.each([false, true])('hot keys hold the real key only (--cluster %s)', (cluster) => {
    const a = analyze([steps], { analyzer: new Analyzer(analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 100, cluster })) });
    expect(a.stats.keys.top(10).map((k) => [k.key, k.count])).toEqual([['real:key', 1]]);
  });

  test('with --cluster, a shard channel still counts for its hash slot', () => {
    const a = analyze([steps], { analyzer: new Analyzer(analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 100, cluster: true })) });
    const slots = Object.fromEntries(a.stats.slots.top(10).map((r) => [r.slot, r.count]));
    expect(slots).toEqual({ [hashSlot('shard:chan')]: 5, [hashSlot('real:key')]: 1, [hashSlot('shard:a')]: 1, [hashSlot('shard:b')]: 1 });
  });
});

describe('big values of multi-key commands', () => {
  const BIG = 'c'.repeat(5000);
  const bulk = (v: string) => `$${v.length}\r\n${v}\r\n`;
  /** Big values of 1000 bytes and more: [key as reported, bytes, command, direction]. */
  const bigRows = (r: Report) => r.bigKeys.filter((b) => b.bytes >= 1000).map((b) => [b.key, b.bytes, b.command, b.direction]);
  const byBytes = (r: Report) => Object.fromEntries(r.hotKeysByBytes.map((k) => [k.key, k.bytes]));

  test.each([
    ['MSET: the key before the big value', [['C', cmd('MSET', 'small:1', 'x', 'big:1', BIG)], ['S', '+OK\r\n']],
      [['big:1', 5000, 'MSET', 'request']]],
    ['MSETNX, big value first', [['C', cmd('MSETNX', 'big:1', BIG, 'small:1', 'x')], ['S', ':1\r\n']],
      [['big:1', 5000, 'MSETNX', 'request']]],
    ['HSET: its one key', [['C', cmd('HSET', 'h', 'f', BIG, 'f2', 'v')], ['S', ':2\r\n']],
      [['h', 5000, 'HSET', 'request']]],
    ['MGET of two keys: a reply of 2 keys, not the first key', [['C', cmd('MGET', 'small:1', 'big:1')], ['S', '*2\r\n' + bulk('x') + bulk(BIG)]],
      [['(2 keys)', 5020, 'MGET', 'reply']]],
    ['MGET of one key: that key', [['C', cmd('MGET', 'big:1')], ['S', '*1\r\n' + bulk(BIG)]],
      [['big:1', 5013, 'MGET', 'reply']]],
    ['EVAL with a big script over two keys: no one key\'s value', [['C', cmd('EVAL', BIG, '2', 'k1', 'k2')], ['S', ':1\r\n']],
      [['(2 keys)', 5000, 'EVAL', 'request']]],
    ['GET: its key', [['C', cmd('GET', 'big:1')], ['S', bulk(BIG)]],
      [['big:1', 5000, 'GET', 'reply']]],
  ] as [string, Step[], unknown[][]][])('%s', (_name, steps, rows) => {
    expect(bigRows(reportOf(analyze([steps])))).toEqual(rows);
  });

  test('hot keys by bytes: MSET credits each key its own value; a multi-key reply is split evenly', () => {
    const r = reportOf(analyze([[
      ['C', cmd('MSET', 'small:1', 'x', 'big:1', BIG)], ['S', '+OK\r\n'],
    ]]));
    const b = byBytes(r);
    expect(b['big:1']).toBeGreaterThan(5000);
    expect(b['small:1']).toBeLessThan(100);
    // The request's bytes and its reply's, all credited: each key's own arguments, the rest split.
    expect(b['big:1']! + b['small:1']!).toBe(r.totals['requestBytes']! + r.totals['replyBytes']!);
    const m = byBytes(reportOf(analyze([[['C', cmd('MGET', 'small:1', 'big:1')], ['S', '*2\r\n' + bulk('x') + bulk(BIG)]]])));
    expect(m['small:1']).toBe(m['big:1']);
  });
});
