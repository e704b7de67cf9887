import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { commandInfo, NOT_PLAIN, redactSecrets, requestKeys } from '../src/analysis/command-info.js';
import { keyPositions } from '../src/analysis/command-spec.js';
import { COMMAND_TABLE } from '../src/analysis/command-table.generated.js';
import { bulkArray, haveRedis, rawCommand, startRedis, type RedisServer } from './helpers/redis-server.js';
import { c, HS, pairs, s } from './helpers/tcp-conversation.js';
import { cmd } from './helpers/analyzer-run.js';

/** Requests whose keys we extract; the truth is the server's own `COMMAND GETKEYS`. */
const CASES: string[][] = [
  ['GET', 'k1'],
  ['SET', 'k1', 'v', 'EX', '10'],
  ['MSET', 'a', '1', 'b', '2', 'c', '3'],
  ['MGET', 'a', 'b', 'c', 'd'],
  ['DEL', 'x', 'y', 'z'],
  ['ZUNIONSTORE', 'dest', '2', 'z1', 'z2', 'WEIGHTS', '1', '2'],
  ['ZINTER', '3', 'z1', 'z2', 'z3', 'WITHSCORES'],
  ['XREAD', 'COUNT', '2', 'BLOCK', '10', 'STREAMS', 's1', 's2', '0', '0'],
  ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 's1', '>'],
  ['EVAL', 'return 1', '2', 'k1', 'k2', 'arg1'],
  ['EVALSHA', 'abc', '1', 'k1', 'x'],
  ['BLPOP', 'l1', 'l2', '0'],
  ['BLMPOP', '1', '2', 'l1', 'l2', 'LEFT'],
  ['LMOVE', 'src', 'dst', 'LEFT', 'RIGHT'],
  ['RENAME', 'old', 'new'],
  ['SINTERCARD', '2', 's1', 's2', 'LIMIT', '5'],
  ['MIGRATE', '127.0.0.1', '6380', '', '0', '100', 'KEYS', 'k1', 'k2'],
  ['OBJECT', 'ENCODING', 'k1'],
  ['MEMORY', 'USAGE', 'k1'],
  ['HSET', 'h', 'f', 'v', 'f2', 'v2'],
  ['BITOP', 'AND', 'dest', 's1', 's2'],
  ['SORT', 'k', 'STORE', 'dst'],
  ['GEORADIUS', 'g', '0', '0', '10', 'km', 'STORE', 'dst'],
  // Shard channels: their key specs are flagged not_key, so GETKEYS says there are no keys.
  ['SPUBLISH', 'shard:chan', 'm'],
  ['SSUBSCRIBE', 'c1', 'c2'],
  ['SUNSUBSCRIBE', 'c1'],
];

describe.skipIf(!haveRedis)('key positions match the server (COMMAND GETKEYS)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  test.each(CASES.map((c) => [c.join(' '), c] as const))('%s', async (_label, args) => {
    const truth = bulkArray(await rawCommand(redis.port, ['COMMAND', 'GETKEYS', ...args])) ?? [];
    const pos: number[] = [99, 99, 99]; // scratch: stale entries past the count must not matter
    const n = requestKeys(commandInfo(args), args, args.length, pos);
    expect(pos.slice(0, n).map((p) => args[p])).toEqual(truth);
  });
});
if (!haveRedis) console.warn('command-keys: redis-server not installed, server comparison skipped');

describe('command meaning', () => {
  test('every command name the session, connection state or redaction compares is not plain', () => {
    const src = (f: string) => readFileSync(new URL(`../src/analysis/${f}`, import.meta.url), 'utf8');
    const named = [
      ...[src('session.ts'), src('conn-state.ts')].flatMap((t) => [...t.matchAll(/'([A-Z]+)'/g)].map((m) => m[1]!)),
      ...[...src('command-info.ts').matchAll(/case '([A-Z]+)':/g)].map((m) => m[1]!),
    ].filter((w) => COMMAND_TABLE[w.toLowerCase()] !== undefined);
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter((w) => !NOT_PLAIN.has(w))).toEqual([]);
    expect([commandInfo(['get', 'k']).plain, commandInfo(['select', '1']).plain, commandInfo(['client', 'reply', 'off']).plain]).toEqual([true, false, false]);
  });

  test.each([
    [['get', 'k'], 'GET', null, false],
    [['config', 'get', 'maxmemory'], 'CONFIG', 'GET', false],
    [['DEBUG', 'SLEEP', '0'], 'DEBUG', 'SLEEP', false],
    [['BLPOP', 'l', '0'], 'BLPOP', null, true],
    [['XREAD', 'STREAMS', 's', '0'], 'XREAD', null, false],
    [['XREAD', 'BLOCK', '0', 'STREAMS', 's', '0'], 'XREAD', null, true],
    [['xread', 'count', '1', 'block', '5', 'streams', 's', '0'], 'XREAD', null, true],
    // BLOCK is an option before STREAMS: after it, "block" is a stream's name or an ID.
    [['XREAD', 'COUNT', '1', 'STREAMS', 'block', '0'], 'XREAD', null, false],
    [['XREADGROUP', 'GROUP', 'g', 'block', 'STREAMS', 'block', '>'], 'XREADGROUP', null, false],
    [['XREADGROUP', 'GROUP', 'block', 'c', 'NOACK', 'STREAMS', 's', '>'], 'XREADGROUP', null, false],
    [['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>'], 'XREADGROUP', null, true],
    // The option's value is skipped: COUNT block is no BLOCK option (Redis refuses it).
    [['XREAD', 'COUNT', 'block', 'STREAMS', 's', '0'], 'XREAD', null, false],
    [['WAIT', '1', '100'], 'WAIT', null, true],
    [['nosuchcmd', 'x'], 'NOSUCHCMD', null, false],
  ] as const)('%j -> %s %s blocking=%s', (args, name, sub, blocking) => {
    const info = commandInfo(args as unknown as string[]);
    expect([info.name, info.sub, info.blocking]).toEqual([name, sub, blocking]);
  });

  test('a single key at a fixed position (keyAt) gives what the key specs give', () => {
    let fixed = 0;
    for (const [lower, spec] of Object.entries(COMMAND_TABLE)) {
      if (lower.includes('|')) continue;
      for (let argc = 1; argc <= 6; argc++) {
        const args = [lower.toUpperCase(), 'a', '1', 'b', '2', 'c'].slice(0, argc);
        const info = commandInfo(args);
        if (info.keyAt < 0) continue;
        fixed++;
        const [got, want]: number[][] = [[], []];
        got.length = requestKeys(info, args, argc, got);
        want.length = keyPositions(spec, args, argc, want);
        expect([lower, argc, got]).toEqual([lower, argc, want]);
      }
    }
    expect(fixed).toBeGreaterThan(500);
  });

  test.each([
    [['AUTH', 'secret'], ['AUTH', '(redacted)']],
    [['AUTH', 'user', 'secret'], ['AUTH', '(redacted)', '(redacted)']],
    [['HELLO', '3', 'AUTH', 'user', 'secret', 'SETNAME', 'x'], ['HELLO', '3', 'AUTH', '(redacted)', '(redacted)', 'SETNAME', 'x']],
    // Without protover Redis 7 refuses it ("Protocol version is not an integer"), but the password was sent.
    [['HELLO', 'AUTH', 'default', 'pw'], ['HELLO', 'AUTH', '(redacted)', '(redacted)']],
    [['hello', 'auth', 'default', 'pw', 'SETNAME', 'x'], ['hello', 'auth', '(redacted)', '(redacted)', 'SETNAME', 'x']],
    [['HELLO', 'SETNAME', 'x', 'AUTH', 'u', 'pw'], ['HELLO', 'SETNAME', 'x', 'AUTH', '(redacted)', '(redacted)']],
    [['MIGRATE', 'h', '1', '', '0', '5', 'AUTH', 'pw', 'KEYS', 'k'], ['MIGRATE', 'h', '1', '', '0', '5', 'AUTH', '(redacted)', 'KEYS', 'k']],
    [['MIGRATE', 'h', '1', '', '0', '5', 'AUTH2', 'u', 'pw', 'KEYS', 'k'], ['MIGRATE', 'h', '1', '', '0', '5', 'AUTH2', '(redacted)', '(redacted)', 'KEYS', 'k']],
    [['CONFIG', 'SET', 'requirepass', 'pw'], ['CONFIG', 'SET', 'requirepass', '(redacted)']],
    // Private-key passphrases: Redis 7.0's SLOWLOG shows them (the configs lack SENSITIVE there).
    [['CONFIG', 'SET', 'tls-key-file-pass', 'pw'], ['CONFIG', 'SET', 'tls-key-file-pass', '(redacted)']],
    [['config', 'set', 'maxmemory', '1', 'TLS-CLIENT-KEY-FILE-PASS', 'pw'], ['config', 'set', 'maxmemory', '1', 'TLS-CLIENT-KEY-FILE-PASS', '(redacted)']],
    [['ACL', 'SETUSER', 'bob', 'on', '>pw'], ['ACL', 'SETUSER', 'bob', '(redacted)', '(redacted)']],
    // A password typed without its '>' is refused, and the error quotes it: every rule goes.
    [['ACL', 'SETUSER', 'carol', 'on', 'S3cretNoRule', '~*'], ['ACL', 'SETUSER', 'carol', '(redacted)', '(redacted)', '(redacted)']],
    [['ACL', 'SETUSER', 'dave'], ['ACL', 'SETUSER', 'dave']],
    [['SENTINEL', 'SET', 'm', 'quorum', '2', 'auth-pass', 'pw'], ['SENTINEL', 'SET', 'm', 'quorum', '2', 'auth-pass', '(redacted)']],
    [['SENTINEL', 'set', 'auth-pass', 'AUTH-PASS', 'pw'], ['SENTINEL', 'set', 'auth-pass', 'AUTH-PASS', '(redacted)']],
    [['SENTINEL', 'CONFIG', 'SET', 'sentinel-pass', 'pw'], ['SENTINEL', 'CONFIG', 'SET', 'sentinel-pass', '(redacted)']],
    [['SENTINEL', 'CONFIG', 'SET', 'resolve-hostnames', 'yes'], ['SENTINEL', 'CONFIG', 'SET', 'resolve-hostnames', 'yes']],
    [['GET', 'AUTH'], ['GET', 'AUTH']],
    // Option words inside values do not fool it: options are walked as Redis parses them.
    [['HELLO', '3', 'SETNAME', 'auth', 'AUTH', 'u', 'pw'], ['HELLO', '3', 'SETNAME', 'auth', 'AUTH', '(redacted)', '(redacted)']],
    [['MIGRATE', 'h', '1', 'auth', '0', '5', 'AUTH', 'pw'], ['MIGRATE', 'h', '1', 'auth', '0', '5', 'AUTH', '(redacted)']],
    [['MIGRATE', 'h', '1', '', '0', '5', 'KEYS', 'AUTH', 'x'], ['MIGRATE', 'h', '1', '', '0', '5', 'KEYS', 'AUTH', 'x']],
  ])('redacts %j', (args, want) => {
    const a = [...args];
    const lens = a.map((x) => x.length);
    redactSecrets(commandInfo(a).name, a, lens);
    expect(a).toEqual(want);
    expect(lens).toEqual(want.map((x) => x.length)); // not even a secret's length remains
  });
});

describe('command names from the wire', () => {
  // Redis folds names as strcasecmp does, ASCII letters only, and knows no command by an
  // Object.prototype property's name.
  test.each([
    ['constructor', 'CONSTRUCTOR'], ['__proto__', '__PROTO__'], ['toString', 'TOSTRING'], ['hasOwnProperty', 'HASOWNPROPERTY'],
    ['\xdfcan', '\xdfCAN'], ['get\xb5', 'GET\xb5'], ['x\xff', 'X\xff'], ['\xe9val', '\xe9VAL'],
  ])('%j is no command: named %j, no spec, no keys', (raw, name) => {
    const info = commandInfo([raw, 'k']);
    expect(info).toMatchObject({ name, spec: null, keyAt: -1, plain: true });
    expect(requestKeys(info, [raw, 'k'], 2, [])).toBe(0);
  });

  test('a known name in any ASCII case is the command', () => {
    expect(commandInfo(['sScAn', 'k', '0']).spec).toBe(COMMAND_TABLE.sscan);
    expect(commandInfo(['config', 'gEt', 'x'])).toMatchObject({ name: 'CONFIG', sub: 'GET' });
  });

  test('through the whole pipeline, "constructor" is counted as the unknown command it is', () => {
    expect(pairs([...HS, c(10, 1000, cmd('constructor', 'x')), s(20, 5000, "-ERR unknown command 'constructor'\r\n")])).toEqual(['constructor x -> error']);
  });
});
