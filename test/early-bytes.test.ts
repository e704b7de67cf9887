/**
 * A connection joined mid-stream, before its client said anything: what the server sends is
 * kept until it shows what the connection is: the replica's next REPLCONF ACK, a client's
 * request, or PSYNC's answer in the master's first bytes. Past the bound the newest bytes are
 * kept: a busy master sends more than the bound between two ACKs.
 */
import { describe, expect, test } from 'vitest';
import { EARLY, EarlyBytes, MAX_EARLY_BYTES } from '../src/analysis/early-bytes.js';
import { analyze, cmd } from './helpers/analyzer-run.js';

const VALUE = 'x'.repeat(4000);
/** n propagated SETs of 4 KB values, ~4 KB a command. */
const sets = (n: number, from = 0): string => Array.from({ length: n }, (_, i) => cmd('SET', `key:${from + i}`, VALUE)).join('');
/** What a client's silent wait might bring: array replies whose elements are no commands. */
const lrange = (n: number): string => Array.from({ length: n }, () => cmd('a'.repeat(2000), 'b'.repeat(2000))).join('');
/** Split s into chunks of at most n chars (as TCP segments come). */
const chunks = (s: string, n = 20_000): string[] => Array.from({ length: Math.ceil(s.length / n) }, (_, i) => s.slice(i * n, (i + 1) * n));

describe('EarlyBytes: what the bytes so far are', () => {
  function verdicts(parts: string[]): number[] {
    const e = new EarlyBytes();
    const out = parts.map((p) => e.keep(Buffer.from(p, 'latin1'), 0, p.length, 0));
    e.drain(() => undefined);
    return out;
  }
  test.each<[string, string[], number]>([
    ['keepalives, then PSYNC answered FULLRESYNC', ['\n', '\n', '+FULLRESYNC 0123 5\r\n$EOF:'], EARLY.PSYNC],
    ['PSYNC answered CONTINUE in the first chunk', ['\n+CONTINUE\r\n'], EARLY.PSYNC],
    ['PSYNC answered FULLRESYNC, one byte at a time', [...'\n+FULLRESYNC 0123 5\r\n'], EARLY.PSYNC],
    ['a reply that is no PSYNC answer', ['\n', '+OK\r\n'], EARLY.KEPT],
    ['+CONTINUE with a replid, one byte at a time', [...'+CONTINUE 8de0\r\n'], EARLY.PSYNC],
    ['+CONT then something else', [...'+CONTEXT\r\n'], EARLY.KEPT],
    ['a FULLRESYNC after other bytes is no link start', ['$1\r\nx\r\n', '+FULLRESYNC 0123 5\r\n'], EARLY.KEPT],
    // A client's value can hold command text: commands alone make no link.
    ['a megabyte of propagated writes', chunks(sets(300)), EARLY.KEPT],
    ['a megabyte of array replies', chunks(lrange(300)), EARLY.KEPT],
    ['a megabyte of binary (an RDB)', chunks('\x00R\x01*'.repeat(300_000)), EARLY.KEPT],
  ])('%s', (_name, parts, decided) => {
    // The first verdict that is not KEPT (the session acts on it at once), else KEPT.
    expect(verdicts(parts).find((v) => v !== EARLY.KEPT) ?? EARLY.KEPT).toBe(decided);
  });

  test('past the bound the oldest bytes give way, counted', () => {
    const e = new EarlyBytes();
    const part = 'z'.repeat(1 << 20);
    for (let i = 0; i < 6; i++) expect(e.keep(Buffer.from(part), 0, part.length, i)).toBe(EARLY.KEPT);
    let held = 0;
    const stamps: number[] = [];
    e.drain((_d, _o, l, t) => {
      held += l;
      stamps.push(t);
    });
    expect({ held, evicted: e.evicted }).toEqual({ held: MAX_EARLY_BYTES, evicted: 6 * (1 << 20) - MAX_EARLY_BYTES });
    expect(stamps).toEqual([2, 3, 4, 5]);
  });
});

describe('a replication link joined mid-stream, from the master bytes alone', () => {
  const summary = (a: ReturnType<typeof analyze>) => {
    const rep = a.stats.replication.snapshot(10, (k) => k);
    return { links: rep.links, rdb: [rep.rdbTransfers, rep.rdbBytes], commands: Object.fromEntries(rep.commands.map((x) => [x.name, x.count])), unparsed: a.unparsedBytes, clientCommands: a.stats.counters.commands };
  };

  test('a busy master: more than the bound of writes before the first ACK: the newest reach the link, the oldest are unparsed', () => {
    const parts = chunks(sets(1500));
    // What the bound keeps: the newest chunks within MAX_EARLY_BYTES (one more would pass it).
    let kept = 0;
    let first = parts.length;
    while (first > 0 && kept + parts[first - 1]!.length <= MAX_EARLY_BYTES) kept += parts[--first]!.length;
    const held = parts.slice(first).join('');
    // The link resyncs at the first whole command of what was kept.
    const whole = held.slice(held.indexOf('*3\r\n$3\r\nSET'));
    const a = analyze([[...parts.map((p) => ['S', p] as ['S', string]), ['C', cmd('REPLCONF', 'ACK', '1')], ['S', sets(2, 1500)]]], { midstream: true });
    const total = parts.join('').length;
    expect(summary(a)).toEqual({ links: 1, rdb: [0, 0], commands: { SET: whole.split('*3\r\n$3\r\nSET').length - 1 + 2 }, unparsed: total - whole.length, clientCommands: 0 });
  });

  test('a client whose value holds command text is no link: its requests are counted', () => {
    const value = sets(400); // 1.6 MB of RESP SET commands, as a GET reply's tail
    const a = analyze([[...chunks(value).map((p) => ['S', p] as ['S', string]), ['C', cmd('GET', 'x') + cmd('INCR', 'n')], ['S', '$-1\r\n:1\r\n']]], { midstream: true });
    expect(summary(a)).toEqual({ links: 0, rdb: [0, 0], commands: {}, unparsed: value.length, clientCommands: 2 });
  });

  test.each([false, true])('joined between PSYNC and its answer: the whole diskless RDB and the stream after it (byte by byte: %s)', (bytes) => {
    const mark = 'm'.repeat(40);
    const rdb = 'REDIS0010' + 'r'.repeat(500);
    const server = ['\n', '\n', `+FULLRESYNC ${'a'.repeat(40)} 0\r\n`, `$EOF:${mark}\r\n${rdb}${mark}`, cmd('SELECT', '0') + sets(3)];
    const steps = (bytes ? [...server.join('')] : server).map((p) => ['S', p] as ['S', string]);
    const a = analyze([[...steps, ['C', cmd('REPLCONF', 'ACK', '9')]]], { midstream: true });
    expect(summary(a)).toEqual({ links: 1, rdb: [1, rdb.length], commands: { SELECT: 1, SET: 3 }, unparsed: 0, clientCommands: 0 });
  });

  test('joined inside an RDB longer than the bound: the writes after it reach the link at the first ACK', () => {
    const rdbTail = '\x00R\x01'.repeat(2_000_000); // 6 MB of RDB bytes, no command among them
    const a = analyze([[...chunks(rdbTail, 65536).map((p) => ['S', p] as ['S', string]), ['S', sets(20)], ['C', cmd('REPLCONF', 'ACK', '9')]]], { midstream: true });
    expect(summary(a)).toEqual({ links: 1, rdb: [0, 0], commands: { SET: 20 }, unparsed: rdbTail.length, clientCommands: 0 });
  });

  test('a client waiting on a big reply is no link: its early bytes are discarded, its next request paired', () => {
    const a = analyze([[...chunks(lrange(600)).map((p) => ['S', p] as ['S', string]), ['C', cmd('GET', 'x')], ['S', '$-1\r\n']]], { midstream: true });
    expect(summary(a)).toEqual({ links: 0, rdb: [0, 0], commands: {}, unparsed: lrange(600).length, clientCommands: 1 });
  });
});
