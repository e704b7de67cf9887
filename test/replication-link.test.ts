/**
 * Replication links: a replica's handshake, PSYNC's answer, the RDB transfer (disk-based
 * `$<len>` without a trailing CRLF, or diskless `$EOF:<mark>`), keepalives and the propagated
 * command stream are counted apart from client traffic; REPLCONF ACK is never paired or timed.
 * Every case runs with the server's bytes whole and one byte at a time.
 */
import { describe, expect, test } from 'vitest';
import { analyze, cmd, type Step } from './helpers/analyzer-run.js';

const MARK = 'm'.repeat(20) + '0123456789abcdefghij';
const RDB = 'REDIS0010' + 'x'.repeat(50) + '\r\n' + MARK.slice(0, 39) + 'y';
const STREAM = cmd('SELECT', '0') + cmd('SET', 'k1', 'v') + cmd('SET', 'k2', 'v') + cmd('INCR', 'k1');
const GETACK = cmd('REPLCONF', 'GETACK', '*');

const handshake = (psync: string): Step[] => [
  ['C', cmd('PING')], ['S', '+PONG\r\n'],
  ['C', cmd('REPLCONF', 'listening-port', '6380')], ['S', '+OK\r\n'],
  ['C', cmd('REPLCONF', 'capa', 'eof', 'capa', 'psync2')], ['S', '+OK\r\n'],
  ['C', psync],
];

const cases: Array<{ name: string; steps: Step[]; rdbBytes: number; midstream?: boolean }> = [
  {
    name: 'disk-based full sync',
    steps: [...handshake(cmd('PSYNC', '?', '-1')), ['S', `+FULLRESYNC 8de0 0\r\n\n\n$${RDB.length}\r\n${RDB}${STREAM}`],
      ['C', cmd('REPLCONF', 'ACK', '120')], ['S', GETACK], ['C', cmd('REPLCONF', 'ACK', '157')]],
    rdbBytes: RDB.length,
  },
  {
    name: 'diskless full sync, the mark after bytes that begin like it',
    steps: [...handshake(cmd('PSYNC', '?', '-1')), ['S', `+FULLRESYNC 8de0 0\r\n$EOF:${MARK}\r\n${RDB}${MARK}${STREAM}`],
      ['C', cmd('REPLCONF', 'ACK', '120')], ['S', GETACK], ['C', cmd('REPLCONF', 'ACK', '157')]],
    rdbBytes: RDB.length,
  },
  {
    name: 'handshake replies, answer, RDB and stream in one chunk (pipelined handshake)',
    steps: [['C', cmd('PING') + cmd('REPLCONF', 'listening-port', '6380') + cmd('REPLCONF', 'capa', 'eof', 'capa', 'psync2') + cmd('PSYNC', '?', '-1')],
      ['S', `+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC 8de0 0\r\n$${RDB.length}\r\n${RDB}${STREAM}`],
      ['C', cmd('REPLCONF', 'ACK', '120')], ['S', GETACK], ['C', cmd('REPLCONF', 'ACK', '157')]],
    rdbBytes: RDB.length,
  },
  {
    name: 'SYNC (no answer line, the RDB at once)',
    steps: [['C', cmd('PING')], ['S', '+PONG\r\n'], ['C', cmd('REPLCONF', 'listening-port', '6380')], ['S', '+OK\r\n'],
      ['C', cmd('REPLCONF', 'capa', 'eof')], ['S', '+OK\r\n'], ['C', cmd('SYNC')],
      ['S', `\n$${RDB.length}\r\n${RDB}${STREAM}`], ['C', cmd('REPLCONF', 'ACK', '120')], ['S', GETACK], ['C', cmd('REPLCONF', 'ACK', '157')]],
    rdbBytes: RDB.length,
  },
];

/** Splits every server step into single bytes. */
const byteByByte = (steps: Step[]): Step[] =>
  steps.flatMap((s): Step[] => (s[0] === 'S' ? [...s[1]].map((ch): Step => ['S', ch]) : [s]));

describe('replication link', () => {
  test.each(cases.flatMap((c) => [{ ...c, bbb: false }, { ...c, bbb: true }]))('$name (byte by byte: $bbb)', (c) => {
    const a = analyze([c.bbb ? byteByByte(c.steps) : c.steps]);
    const st = a.stats;
    const rep = st.replication.snapshot(10, (k) => k);
    // The replica's PING is a client command; nothing else of the link is.
    expect([...st.commands.byName.keys()]).toEqual(['PING']);
    expect(st.counters).toMatchObject({ commands: 1, replies: 1, unexpectedReplies: 0, violations: 0, slowRequests: 0, unanswered: 0 });
    expect(a.unparsedBytes).toBe(0);
    expect(rep).toMatchObject({ links: 1, rdbTransfers: 1, rdbBytes: c.rdbBytes, acks: 2, missingRdbBytes: 0 });
    expect(rep.handshake).toEqual({ REPLCONF: 2, [c.name.startsWith('SYNC') ? 'SYNC' : 'PSYNC']: 1 });
    expect(Object.fromEntries(rep.commands.map((x) => [x.name, x.count]))).toEqual({ SELECT: 1, SET: 2, INCR: 1, REPLCONF: 1 });
    expect(rep.streamBytes).toBe(STREAM.length + GETACK.length);
    expect(rep.hotKeys).toEqual([{ key: 'k1', count: 2 }, { key: 'k2', count: 1 }]);
  });

  test('joined mid-stream: recognised by REPLCONF ACK, the stream resyncs at a command', () => {
    const a = analyze([[
      ['S', 'alue\r\n' + STREAM], ['C', cmd('REPLCONF', 'ACK', '9000')], ['S', cmd('SET', 'k3', 'v') + GETACK], ['C', cmd('REPLCONF', 'ACK', '9100')],
    ]], { midstream: true });
    const rep = a.stats.replication.snapshot(10, (k) => k);
    expect(a.stats.counters.commands).toBe(0);
    expect(rep).toMatchObject({ links: 1, rdbTransfers: 0, acks: 2 });
    // Bytes before the first command boundary are unparsed; the commands sent before the ACK
    // that showed the link count (they were kept until it came).
    expect(Object.fromEntries(rep.commands.map((x) => [x.name, x.count]))).toEqual({ SELECT: 1, SET: 3, INCR: 1, REPLCONF: 1 });
    expect(a.unparsedBytes).toBe('alue\r\n'.length);
    expect(a.stats.counters.violations).toBe(0);
  });

  test('+CONTINUE: the stream follows the answer at once', () => {
    const a = analyze([[...handshake(cmd('PSYNC', '8de0', '1000')), ['S', `+CONTINUE 8de0\r\n${STREAM}`], ['C', cmd('REPLCONF', 'ACK', '1100')]]]);
    const rep = a.stats.replication.snapshot(10, (k) => k);
    expect(rep).toMatchObject({ links: 1, rdbTransfers: 0, acks: 1 });
    expect(rep.commands.reduce((n, x) => n + x.count, 0)).toBe(4);
  });

  test('a gap inside the RDB costs only RDB bytes; the stream after it is exact', () => {
    const head = `+FULLRESYNC 8de0 0\r\n$${RDB.length}\r\n`;
    const a = analyze([[...handshake(cmd('PSYNC', '?', '-1')), ['S', head + RDB.slice(0, 10)], ['gapS', 30], ['S', RDB.slice(40) + STREAM]]]);
    const rep = a.stats.replication.snapshot(10, (k) => k);
    expect(rep).toMatchObject({ rdbTransfers: 1, rdbBytes: RDB.length, missingRdbBytes: 30 });
    expect(rep.commands.reduce((n, x) => n + x.count, 0)).toBe(4);
    expect(a.valueGaps).toBe(1);
  });
});

describe('an error answering a replica', () => {
  test.each([false, true])('PSYNC answered -NOMASTERLINK is an error of the server, as INFO errorstats counts it (byte by byte: %s)', (bbb) => {
    const steps: Step[] = [...handshake(cmd('PSYNC', '?', '-1')), ['S', "-NOMASTERLINK Can't SYNC while not connected with my master\r\n"]];
    const a = analyze([bbb ? byteByByte(steps) : steps]);
    expect({ errors: a.stats.counters.errors, codes: a.stats.errorCodes.snapshot(), handshake: a.stats.replication.snapshot(10, (k) => k).handshake })
      .toEqual({ errors: 1, codes: { NOMASTERLINK: 1 }, handshake: { REPLCONF: 2, PSYNC: 1 } });
    // Not a client command's error: the PING is the only client command.
    expect(a.stats.commands.sorted().map((e) => [e.name, e.count, e.errors])).toEqual([['PING', 1, 0]]);
  });
});
