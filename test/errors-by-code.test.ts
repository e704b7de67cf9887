/**
 * Error replies counted by code (the first word, as INFO errorstats does), per command and per
 * server; an error inside an EXEC reply counts for the queued command it answers, and an
 * error inside any other reply (a script's) for its command.
 */
import { describe, expect, test } from 'vitest';
import { errorCode } from '../src/analysis/error-codes.js';
import { analyze, cmd, type Step } from './helpers/analyzer-run.js';

describe('errorCode', () => {
  test.each([
    ['MOVED 3999 127.0.0.1:6381', 'MOVED'],
    ['ASK 3999 127.0.0.1:6381', 'ASK'],
    ['WRONGTYPE Operation against a key holding the wrong kind of value', 'WRONGTYPE'],
    ['ERR unknown command', 'ERR'],
    ['NOAUTH Authentication required.', 'NOAUTH'],
    ['CLUSTERDOWN', 'CLUSTERDOWN'],
    ['BUSY-GROUP x', 'BUSY-GROUP'],
    ['not a code', '(none)'],
    ['\x1b[31mRED x', '(none)'],
    ['', '(none)'],
    ['A'.repeat(40) + ' x', '(none)'],
  ])('%j -> %s', (text, code) => expect(errorCode(text)).toBe(code));
});

describe('errors by code', () => {
  const codesOf = (steps: Step[][]) => {
    const st = analyze(steps).stats;
    const byCommand = Object.fromEntries([...st.commands.byName.values()].map((e) => [e.name, { errors: e.errors, codes: e.errorCodes.snapshot() }]));
    const server = [...st.peers.servers.byId.values()][0]!;
    return { totals: st.errorCodes.snapshot(), errors: st.counters.errors, byCommand, server: { errors: server.errors, codes: server.errorCodes?.snapshot() } };
  };

  test('top-level errors by code, per command and per server', () => {
    const r = codesOf([[
      ['C', cmd('GET', 'a') + cmd('GET', 'b') + cmd('SET', 'c', '1') + cmd('GET', 'd')],
      ['S', '-MOVED 15495 127.0.0.1:7002\r\n-ASK 3300 127.0.0.1:7001\r\n-OOM command not allowed\r\n$1\r\nx\r\n'],
    ]]);
    expect(r.totals).toEqual({ ASK: 1, MOVED: 1, OOM: 1 });
    expect(r.errors).toBe(3);
    expect(r.byCommand['GET']).toEqual({ errors: 2, codes: { ASK: 1, MOVED: 1 } });
    expect(r.byCommand['SET']).toEqual({ errors: 1, codes: { OOM: 1 } });
    expect(r.server).toEqual({ errors: 3, codes: { ASK: 1, MOVED: 1, OOM: 1 } });
  });

  test('an error inside EXEC counts for the queued command it answers', () => {
    const r = codesOf([[
      ['C', cmd('MULTI') + cmd('SET', 's', 'x') + cmd('INCR', 's') + cmd('GET', 's') + cmd('EXEC')],
      ['S', '+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n-ERR value is not an integer or out of range\r\n$1\r\nx\r\n'],
      ['C', cmd('MULTI') + cmd('LPUSH', 's', 'v') + cmd('EXEC')],
      ['S', '+OK\r\n+QUEUED\r\n*1\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'],
    ]]);
    expect(r.totals).toEqual({ ERR: 1, WRONGTYPE: 1 });
    expect(r.errors).toBe(2);
    expect(r.byCommand['INCR']).toEqual({ errors: 1, codes: { ERR: 1 } });
    expect(r.byCommand['LPUSH']).toEqual({ errors: 1, codes: { WRONGTYPE: 1 } });
    expect(r.byCommand['EXEC']).toEqual({ errors: 0, codes: {} });
    expect(r.server.errors).toBe(2);
  });

  // Redis counts every error it replies, at any place in the reply (audit r-nested-errors:
  // errorstats NESTED 1, WRONGTYPE 2, INNER 1, ERR 1; eval failed_calls 3).
  test('an error inside a script\'s reply counts for the script, as errorstats counts it', () => {
    const wrongtype = '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n';
    const r = codesOf([[
      ['C', cmd('MULTI') + cmd('SET', 'ns:a', '1') + cmd('LPUSH', 'ns:s', 'x') + cmd('INCR', 'ns:s') + cmd('EXEC')],
      ['S', '+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n' + wrongtype + '-ERR value is not an integer or out of range\r\n'],
      ['C', cmd('EVAL', "return {1, {err='NESTED one'}, redis.pcall('LPUSH', KEYS[1], 'x')}", '1', 'ns:s')],
      ['S', '*3\r\n:1\r\n-NESTED one\r\n' + wrongtype],
      ['C', cmd('FCALL', 'f', '0')],
      ['S', '*2\r\n!9\r\nBLOB errx\r\n$1\r\nv\r\n'],
    ], [
      ['C', cmd('MULTI') + cmd('EVAL', "return {err='INNER x'}", '0') + cmd('GET', 'ns:s') + cmd('EXEC')],
      ['S', '+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n-INNER x\r\n$1\r\nv\r\n'],
    ]]);
    expect(r.totals).toEqual({ BLOB: 1, ERR: 1, INNER: 1, NESTED: 1, WRONGTYPE: 2 });
    expect(r.errors).toBe(6);
    expect(r.byCommand['EVAL']).toEqual({ errors: 3, codes: { INNER: 1, NESTED: 1, WRONGTYPE: 1 } });
    expect(r.byCommand['FCALL']).toEqual({ errors: 1, codes: { BLOB: 1 } });
    expect(r.byCommand['LPUSH']).toEqual({ errors: 1, codes: { WRONGTYPE: 1 } });
    expect(r.server.errors).toBe(6);
  });

  test('a command refused at queue time is not one EXEC answers', () => {
    // WATCH inside MULTI is refused (not queued): the EXEC elements answer SET and INCR.
    const r = codesOf([[
      ['C', cmd('MULTI') + cmd('WATCH', 'k') + cmd('SET', 'k', 'x') + cmd('INCR', 'k') + cmd('EXEC')],
      ['S', '+OK\r\n-ERR WATCH inside MULTI is not allowed\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n-ERR value is not an integer or out of range\r\n'],
    ]]);
    expect(r.byCommand['WATCH']).toEqual({ errors: 1, codes: { ERR: 1 } });
    expect(r.byCommand['INCR']).toEqual({ errors: 1, codes: { ERR: 1 } });
    expect(r.byCommand['SET']!.errors).toBe(0);
    expect(r.totals).toEqual({ ERR: 2 });
  });

  test('EXECABORT and a transaction joined mid-way are credited to EXEC itself', () => {
    const r = codesOf([[
      ['C', cmd('MULTI') + cmd('NOSUCH') + cmd('EXEC')],
      ['S', '+OK\r\n-ERR unknown command \'NOSUCH\'\r\n-EXECABORT Transaction discarded because of previous errors.\r\n'],
    ]]);
    expect(r.byCommand['EXEC']).toEqual({ errors: 1, codes: { EXECABORT: 1 } });
    expect(r.totals).toEqual({ ERR: 1, EXECABORT: 1 });
  });

  test('unexpected error replies count by code too', () => {
    const r = codesOf([[['S', '-LOADING Redis is loading the dataset in memory\r\n']]]);
    expect(r.totals).toEqual({ LOADING: 1 });
  });
});
