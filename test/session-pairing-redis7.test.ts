/**
 * Pairing as Redis 7 answers: each row is a sequence seen on a real redis-server 7.0 in the
 * audit (/work/audit6 r-* captures), run whole and split byte by byte.
 */
import { describe, expect, test } from 'vitest';
import type { ReplyFrame } from '../src/resp/types.js';
import { Session, type UnpairedKind } from '../src/analysis/session.js';
import type { TrackedRequest } from '../src/analysis/tracked-request.js';
import type { TcpConn } from '../src/flow/types.js';

const conn = (): TcpConn => ({
  id: 1, clientIp: '10.0.0.5', clientPort: 5000, serverIp: '10.0.0.1', serverPort: 6379,
  client: '10.0.0.5:5000', server: '10.0.0.1:6379', midstream: false, firstTsUs: 0, handlerState: null,
});

const cmd = (...args: string[]) => `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
const arr = (...items: Array<string | number | null>) => `*${items.length}\r\n` + items.map((i) =>
  i === null ? '$-1\r\n' : typeof i === 'number' ? `:${i}\r\n` : `$${i.length}\r\n${i}\r\n`).join('');
const push = (...items: Array<string | number | null>) => '>' + arr(...items).slice(1);

/** One step: bytes from the client (C) or the server (S). */
type Step = ['C' | 'S', string];

export interface Run {
  /** Requests done, in order: `NAME[ SUB]:outcome` and, for an error, `(code)`. */
  done: string[];
  unpaired: UnpairedKind[];
  raw: TrackedRequest[];
  names: string[];
}

/** Steps 100 µs apart; split: each byte of a step in its own chunk, all at the step's time. */
export function run(steps: Step[], split: boolean): Run {
  const done: string[] = [];
  const raw: TrackedRequest[] = [];
  const unpaired: UnpairedKind[] = [];
  const names: string[] = [];
  const s = new Session(conn(), {
    request: () => undefined,
    complete: (r: TrackedRequest) => {
      const err = r.outcome === 'error' ? `(${r.reply!.error!.split(' ')[0]})` : '';
      done.push(r.info.name + (r.info.sub ? ' ' + r.info.sub : '') + ':' + r.outcome + err);
      raw.push({ ...r });
    },
    unpaired: (_c: TcpConn, _r: ReplyFrame, kind: UnpairedKind) => unpaired.push(kind),
    violation: () => undefined,
    linkRequest: () => undefined,
    linkStart: () => undefined,
    rdb: () => undefined,
    propagated: () => undefined,
    clientInfo: (_c: TcpConn, field: string, value: string) => names.push(`${field}=${value}`),
    overflow: () => undefined,
  }, {}, 10_000);
  let ts = 1_000_000;
  for (const [dir, text] of steps) {
    ts += 100;
    const b = Buffer.from(text, 'latin1');
    if (!split) s.data(dir === 'C', b, 0, b.length, ts);
    else for (let i = 0; i < b.length; i++) s.data(dir === 'C', b, i, 1, ts);
  }
  s.close();
  return { done, unpaired, raw, names };
}

type Row = [string, Step[], string[], UnpairedKind[]];

function pairs(rows: Row[]): void {
  test.each(rows.flatMap(([name, steps, done, kinds]) => [[name + ' (whole)', steps, done, kinds, false], [name + ' (byte by byte)', steps, done, kinds, true]] as const))(
    '%s', (_name, steps, done, kinds, split) => {
      const r = run(steps as Step[], split);
      expect(r.done).toEqual(done);
      expect(r.unpaired).toEqual(kinds);
    });
}

const GETS = cmd('GET', 'b:1') + cmd('GET', 'b:2') + cmd('GET', 'b:3');
const NILS = '$-1\r\n$-1\r\n$-1\r\n';

describe('(un)subscribe: one reply per channel only when the server runs it', () => {
  pairs([
    ['r-pubsub-under-reply-off: confirmations are pushed under CLIENT REPLY OFF, and pairing goes on',
      [['C', cmd('CLIENT', 'REPLY', 'OFF') + cmd('SUBSCRIBE', 'a1', 'b1') + cmd('UNSUBSCRIBE') + cmd('CLIENT', 'REPLY', 'ON') + cmd('GET', 'k1') + cmd('PING')],
        ['S', arr('subscribe', 'a1', 1) + arr('subscribe', 'b1', 2) + arr('unsubscribe', 'a1', 1) + arr('unsubscribe', 'b1', 0) + '+OK\r\n$-1\r\n+PONG\r\n']],
      ['CLIENT REPLY:noreply', 'SUBSCRIBE:ok', 'UNSUBSCRIBE:ok', 'CLIENT REPLY:ok', 'GET:ok', 'PING:ok'], []],
    ['r-pubsub-under-reply-off: a SUBSCRIBE after CLIENT REPLY SKIP is confirmed, and uses the skip up',
      [['C', cmd('CLIENT', 'REPLY', 'SKIP') + cmd('SUBSCRIBE', 'a2') + cmd('PING', 'x')], ['S', arr('subscribe', 'a2', 1) + arr('pong', 'x')]],
      ['CLIENT REPLY:noreply', 'SUBSCRIBE:ok', 'PING:ok'], []],
    ['r-subscribe-error: SUBSCRIBE of 3 channels refused with one NOPERM',
      [['C', cmd('SUBSCRIBE', 'no1', 'no2', 'no3') + GETS], ['S', '-NOPERM this user has no permissions\r\n' + NILS], ['C', cmd('SET', 'b:4', 'x')], ['S', '+OK\r\n']],
      ['SUBSCRIBE:error(NOPERM)', 'GET:ok', 'GET:ok', 'GET:ok', 'SET:ok'], []],
    ['sub/: SUBSCRIBE of 2 channels refused with NOAUTH, AUTH after it',
      [['C', cmd('SUBSCRIBE', 'n1', 'n2') + cmd('GET', 'c:1') + cmd('AUTH', 'pw') + cmd('GET', 'c:2')],
        ['S', '-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n+OK\r\n$-1\r\n']],
      ['SUBSCRIBE:error(NOAUTH)', 'GET:error(NOAUTH)', 'AUTH:ok', 'GET:ok'], []],
    ['PSUBSCRIBE and SSUBSCRIBE refused, and UNSUBSCRIBE of 2 channels under NOAUTH',
      [['C', cmd('PSUBSCRIBE', 'a*', 'b*') + cmd('SSUBSCRIBE', 's1', 's2') + cmd('UNSUBSCRIBE', 'x', 'y') + cmd('PING')],
        ['S', '-NOAUTH Authentication required.\r\n'.repeat(4)]],
      ['PSUBSCRIBE:error(NOAUTH)', 'SSUBSCRIBE:error(NOAUTH)', 'UNSUBSCRIBE:error(NOAUTH)', 'PING:error(NOAUTH)'], []],
    ['r-discarded-subscribe: SUBSCRIBE a b c queued (+QUEUED), DISCARD, then UNSUBSCRIBE with none subscribed',
      [['C', cmd('MULTI')], ['S', '+OK\r\n'], ['C', cmd('SUBSCRIBE', 'a', 'b', 'c')], ['S', '+QUEUED\r\n'], ['C', cmd('DISCARD')], ['S', '+OK\r\n'],
        ['C', cmd('UNSUBSCRIBE') + GETS], ['S', arr('unsubscribe', null, 0) + NILS], ['C', cmd('SET', 'k4', 'v')], ['S', '+OK\r\n']],
      ['MULTI:ok', 'SUBSCRIBE:ok', 'DISCARD:ok', 'UNSUBSCRIBE:ok', 'GET:ok', 'GET:ok', 'GET:ok', 'SET:ok'], []],
    ['r-unsub-pipelined: UNSUBSCRIBE a, then UNSUBSCRIBE of the 2 left, pipelined',
      [['C', cmd('SUBSCRIBE', 'a', 'b', 'c')], ['S', arr('subscribe', 'a', 1) + arr('subscribe', 'b', 2) + arr('subscribe', 'c', 3)],
        ['C', cmd('UNSUBSCRIBE', 'a') + cmd('UNSUBSCRIBE') + cmd('GET', 'k1') + cmd('GET', 'k2')],
        ['S', arr('unsubscribe', 'a', 2) + arr('unsubscribe', 'c', 1) + arr('unsubscribe', 'b', 0) + '$-1\r\n$-1\r\n'], ['C', cmd('SET', 'k3', 'v')], ['S', '+OK\r\n']],
      ['SUBSCRIBE:ok', 'UNSUBSCRIBE:ok', 'UNSUBSCRIBE:ok', 'GET:ok', 'GET:ok', 'SET:ok'], []],
    ['UNSUBSCRIBE of all channels while a pattern stays: the last confirmation counts the pattern',
      [['C', cmd('SUBSCRIBE', 'a', 'b') + cmd('PSUBSCRIBE', 'p*')], ['S', arr('subscribe', 'a', 1) + arr('subscribe', 'b', 2) + arr('psubscribe', 'p*', 3)],
        ['C', cmd('UNSUBSCRIBE') + cmd('PUNSUBSCRIBE') + cmd('PING')],
        ['S', arr('unsubscribe', 'a', 2) + arr('unsubscribe', 'b', 1) + arr('punsubscribe', 'p*', 0) + '+PONG\r\n']],
      ['SUBSCRIBE:ok', 'PSUBSCRIBE:ok', 'UNSUBSCRIBE:ok', 'PUNSUBSCRIBE:ok', 'PING:ok'], []],
    ['RESP3: SUNSUBSCRIBE of all shard channels, answered by pushes',
      [['C', cmd('HELLO', '3')], ['S', '%1\r\n+proto\r\n:3\r\n'], ['C', cmd('SSUBSCRIBE', 's1') + cmd('SSUBSCRIBE', 's2')],
        ['S', push('ssubscribe', 's1', 1) + push('ssubscribe', 's2', 2)], ['C', cmd('SUNSUBSCRIBE') + cmd('GET', 'k')],
        ['S', push('sunsubscribe', 's1', 1) + push('sunsubscribe', 's2', 0) + '_\r\n']],
      ['HELLO:ok', 'SSUBSCRIBE:ok', 'SSUBSCRIBE:ok', 'SUNSUBSCRIBE:ok', 'GET:ok'], []],
    ['sub/: SUBSCRIBE of 2 channels inside EXEC: the second confirmation comes after the EXEC array',
      [['C', cmd('MULTI') + cmd('SUBSCRIBE', 'ma', 'mb') + cmd('EXEC')], ['S', '+OK\r\n+QUEUED\r\n*1\r\n' + arr('subscribe', 'ma', 1) + arr('subscribe', 'mb', 2)],
        ['C', cmd('PING')], ['S', arr('pong', '')], ['C', cmd('UNSUBSCRIBE')], ['S', arr('unsubscribe', 'ma', 1) + arr('unsubscribe', 'mb', 0)],
        ['C', cmd('GET', 'a')], ['S', '$-1\r\n']],
      ['MULTI:ok', 'SUBSCRIBE:ok', 'EXEC:ok', 'PING:ok', 'UNSUBSCRIBE:ok', 'GET:ok'], []],
    ['r-subscribe-in-multi: SUBSCRIBE of one channel run by EXEC: the connection is a subscriber after it',
      [['C', cmd('MULTI') + cmd('SUBSCRIBE', 'ch') + cmd('EXEC')], ['S', '+OK\r\n+QUEUED\r\n*1\r\n' + arr('subscribe', 'ch', 1)], ['S', arr('message', 'ch', 'm')],
        ['C', cmd('PING')], ['S', arr('pong', '')]],
      ['MULTI:ok', 'SUBSCRIBE:ok', 'EXEC:ok', 'PING:ok'], ['message']],
    ['a SUBSCRIBE queued in a transaction that aborts: EXEC has one reply',
      [['C', cmd('MULTI') + cmd('SUBSCRIBE', 'a', 'b') + cmd('NOSUCH') + cmd('EXEC') + cmd('GET', 'k')],
        ['S', '+OK\r\n+QUEUED\r\n-ERR unknown command\r\n-EXECABORT Transaction discarded\r\n$-1\r\n']],
      ['MULTI:ok', 'SUBSCRIBE:ok', 'NOSUCH:error(ERR)', 'EXEC:error(EXECABORT)', 'GET:ok'], []],
    ['counts not known (a pattern from before the capture): a reply that is no confirmation ends the UNSUBSCRIBE',
      [['C', cmd('SUBSCRIBE', 'a')], ['S', arr('subscribe', 'a', 2)], ['C', cmd('UNSUBSCRIBE') + cmd('GET', 'k')], ['S', arr('unsubscribe', 'a', 1) + '$-1\r\n']],
      ['SUBSCRIBE:ok', 'UNSUBSCRIBE:ok', 'GET:ok'], []],
  ]);

  test.each([false, true])('the confirmations after an EXEC array are its bytes, not the next request\'s (split %s)', (split) => {
    const r = run([['C', cmd('MULTI') + cmd('SUBSCRIBE', 'ma', 'mb') + cmd('EXEC')], ['S', '+OK\r\n+QUEUED\r\n*1\r\n' + arr('subscribe', 'ma', 1) + arr('subscribe', 'mb', 2)],
      ['C', cmd('PING')], ['S', arr('pong', '')]], split);
    expect(r.raw.map((x) => x.replyBytes)).toEqual([5, 9, 35 + 31, 20]);
  });
});

describe('commands queued in MULTI change the connection only when EXEC runs them', () => {
  pairs([
    ['r-reply-in-multi: CLIENT REPLY OFF queued, then DISCARD: it never runs, all is answered',
      [['C', cmd('MULTI')], ['S', '+OK\r\n'], ['C', cmd('CLIENT', 'REPLY', 'OFF')], ['S', '+QUEUED\r\n'], ['C', cmd('DISCARD')], ['S', '+OK\r\n'],
        ['C', cmd('GET', 'k0')], ['S', '$-1\r\n'], ['C', cmd('GET', 'k1')], ['S', '$-1\r\n']],
      ['MULTI:ok', 'CLIENT REPLY:ok', 'DISCARD:ok', 'GET:ok', 'GET:ok'], []],
    ['r-reply-in-multi: CLIENT REPLY SKIP queued: the next queued command is answered QUEUED',
      [['C', cmd('MULTI') + cmd('CLIENT', 'REPLY', 'SKIP') + cmd('SET', 'a', '1') + cmd('DISCARD') + cmd('GET', 'a')],
        ['S', '+OK\r\n+QUEUED\r\n+QUEUED\r\n+OK\r\n$-1\r\n']],
      ['MULTI:ok', 'CLIENT REPLY:ok', 'SET:ok', 'DISCARD:ok', 'GET:ok'], []],
    ['MONITOR queued and DISCARDed: the connection is no MONITOR',
      [['C', cmd('MULTI') + cmd('MONITOR') + cmd('DISCARD') + cmd('PING')], ['S', '+OK\r\n+QUEUED\r\n+OK\r\n+PONG\r\n']],
      ['MULTI:ok', 'MONITOR:ok', 'DISCARD:ok', 'PING:ok'], []],
  ]);
});

const REPLY = (mode: string) => cmd('CLIENT', 'REPLY', mode);

describe('CLIENT REPLY SKIP skips the next command, whatever it is (networking.c resetClient)', () => {
  pairs([
    ['r-reply-skip-on: SKIP; ON; GET: ON is the skipped one, and answers +OK since it clears the skip first',
      [['C', REPLY('SKIP') + REPLY('ON') + cmd('GET', 'k1')], ['S', '+OK\r\n$-1\r\n']],
      ['CLIENT REPLY:noreply', 'CLIENT REPLY:ok', 'GET:ok'], []],
    ['r-reply-skip-on: OFF; SKIP; ON; GET: SKIP is ignored under OFF',
      [['C', REPLY('OFF') + REPLY('SKIP') + REPLY('ON') + cmd('GET', 'k2')], ['S', '+OK\r\n$-1\r\n']],
      ['CLIENT REPLY:noreply', 'CLIENT REPLY:noreply', 'CLIENT REPLY:ok', 'GET:ok'], []],
    ['r-skip-reset: SKIP; RESET; GET; PING: RESET is skipped',
      [['C', REPLY('SKIP') + cmd('RESET') + cmd('GET', 'k1') + cmd('PING')], ['S', '$-1\r\n+PONG\r\n']],
      ['CLIENT REPLY:noreply', 'RESET:noreply', 'GET:ok', 'PING:ok'], []],
    ['OFF; SKIP; RESET; PING: RESET ends OFF and is answered',
      [['C', REPLY('OFF') + REPLY('SKIP') + cmd('RESET') + cmd('PING')], ['S', '+RESET\r\n+PONG\r\n']],
      ['CLIENT REPLY:noreply', 'CLIENT REPLY:noreply', 'RESET:ok', 'PING:ok'], []],
    ['SKIP; SKIP; GET; PING: the second SKIP is skipped and skips GET',
      [['C', REPLY('SKIP') + REPLY('SKIP') + cmd('GET', 'k') + cmd('PING')], ['S', '+PONG\r\n']],
      ['CLIENT REPLY:noreply', 'CLIENT REPLY:noreply', 'GET:noreply', 'PING:ok'], []],
    ['a bad CLIENT REPLY mode under SKIP or OFF: its error is not sent',
      [['C', REPLY('SKIP') + REPLY('FOO') + cmd('PING')], ['S', '+PONG\r\n'], ['C', REPLY('OFF') + REPLY('BAR') + REPLY('ON')], ['S', '+OK\r\n']],
      ['CLIENT REPLY:noreply', 'CLIENT REPLY:noreply', 'PING:ok', 'CLIENT REPLY:noreply', 'CLIENT REPLY:noreply', 'CLIENT REPLY:ok'], []],
  ]);
});

const MSG = (ch: string, body: string) => arr('message', ch, body);
const LINE = (cmdText: string) => `+1796324695.855427 [0 127.0.0.1:50384] ${cmdText}\r\n`;

describe('RESET ends subscriber and MONITOR modes at its +RESET, not as it is sent', () => {
  pairs([
    ['r-reset-subscriber: messages sent before RESET ran are messages',
      [['C', cmd('SUBSCRIBE', 'ch')], ['S', arr('subscribe', 'ch', 1)], ['C', cmd('RESET') + cmd('GET', 'k') + cmd('PING')],
        ['S', MSG('ch', 'late1') + MSG('ch', 'late2') + '+RESET\r\n$-1\r\n+PONG\r\n']],
      ['SUBSCRIBE:ok', 'RESET:ok', 'GET:ok', 'PING:ok'], ['message', 'message']],
    ['after +RESET an array that looks like a message is a reply',
      [['C', cmd('SUBSCRIBE', 'ch')], ['S', arr('subscribe', 'ch', 1)], ['C', cmd('RESET') + cmd('LRANGE', 'l', '0', '-1')],
        ['S', '+RESET\r\n' + MSG('ch', 'x')]],
      ['SUBSCRIBE:ok', 'RESET:ok', 'LRANGE:ok'], []],
    ['RESP3 RESET: in-flight pushes stay pushes; a RESP2 message array after +RESET with no subscription is a reply',
      [['C', cmd('HELLO', '3')], ['S', '%1\r\n+proto\r\n:3\r\n'], ['C', cmd('SUBSCRIBE', 'ch')], ['S', push('subscribe', 'ch', 1)],
        ['C', cmd('RESET') + cmd('LRANGE', 'l', '0', '-1')], ['S', push('message', 'ch', 'm') + '+RESET\r\n' + MSG('ch', 'x')]],
      ['HELLO:ok', 'SUBSCRIBE:ok', 'RESET:ok', 'LRANGE:ok'], ['push']],
    ['RESET pipelined after CLIENT REPLY OFF and MULTI: the requests after it are answered and not queued',
      [['C', cmd('MULTI') + cmd('SET', 'a', '1') + REPLY('OFF') + cmd('RESET') + cmd('GET', 'a') + cmd('EXEC')],
        ['S', '+OK\r\n+QUEUED\r\n+QUEUED\r\n+RESET\r\n$-1\r\n-ERR EXEC without MULTI\r\n']],
      ['MULTI:ok', 'SET:ok', 'CLIENT REPLY:ok', 'RESET:ok', 'GET:ok', 'EXEC:error(ERR)'], []],
  ]);
});

describe('on a MONITOR connection, a reply that is no MONITOR line answers the oldest request', () => {
  pairs([
    ['r-reset-monitor: a MONITOR line sent before RESET ran is a MONITOR line',
      [['C', cmd('MONITOR')], ['S', '+OK\r\n'], ['C', cmd('RESET') + cmd('GET', 'k')], ['S', LINE('"SET" "k" "v"') + '+RESET\r\n$1\r\nv\r\n']],
      ['MONITOR:ok', 'RESET:ok', 'GET:ok'], ['monitor']],
    ['r-monitor-conn-commands: PING, GET and QUIT are answered; the lines around them are MONITOR lines',
      [['C', cmd('MONITOR')], ['S', '+OK\r\n'], ['S', LINE('"SET" "a" "1"')], ['C', cmd('PING')], ['C', cmd('GET', 'a')],
        ['S', '+PONG\r\n' + LINE('"PING"') + "-ERR Replica can't interact with the keyspace\r\n"], ['C', cmd('QUIT')], ['S', '+OK\r\n']],
      ['MONITOR:ok', 'PING:ok', 'GET:error(ERR)', 'QUIT:ok'], ['monitor', 'monitor']],
    ['a second MONITOR on a MONITOR connection has no answer',
      [['C', cmd('MONITOR')], ['S', '+OK\r\n'], ['C', cmd('MONITOR') + cmd('PING')], ['S', LINE('"GET" "x"') + '+PONG\r\n']],
      ['MONITOR:ok', 'MONITOR:noreply', 'PING:ok'], ['monitor']],
  ]);

  test.each([12, 16, 64])('a MONITOR line previewed in %i bytes is still one', (preview) => {
    const done: string[] = [];
    const kinds: UnpairedKind[] = [];
    const s = new Session(conn(), {
      request: () => undefined, complete: (r) => done.push(`${r.info.name}:${r.outcome}`), unpaired: (_c, _r, k) => kinds.push(k), violation: () => undefined,
      linkRequest: () => undefined, linkStart: () => undefined, rdb: () => undefined, propagated: () => undefined, clientInfo: () => undefined, overflow: () => undefined,
    }, { argPreviewBytes: preview }, 100);
    const feed = (c: boolean, t: string) => { const b = Buffer.from(t, 'latin1'); s.data(c, b, 0, b.length, 1); };
    feed(true, cmd('MONITOR'));
    feed(false, '+OK\r\n');
    feed(true, cmd('PING'));
    feed(false, LINE('"GET" "x"') + '+PONG\r\n');
    s.close();
    expect(done).toEqual(['MONITOR:ok', 'PING:ok']);
    expect(kinds).toEqual(['monitor']);
  });
});

describe('HELLO and CLIENT SETNAME queued in MULTI take effect only when EXEC runs them', () => {
  pairs([
    ['r-hello-in-multi: HELLO 3 queued then DISCARDed: still RESP2, message arrays are messages',
      [['C', cmd('MULTI') + cmd('HELLO', '3') + cmd('DISCARD')], ['S', '+OK\r\n+QUEUED\r\n+OK\r\n'], ['C', cmd('SUBSCRIBE', 'ch')],
        ['S', arr('subscribe', 'ch', 1) + MSG('ch', 'm0') + MSG('ch', 'm1')], ['C', cmd('PING')], ['S', MSG('ch', 'm2') + arr('pong', '')]],
      ['MULTI:ok', 'HELLO:ok', 'DISCARD:ok', 'SUBSCRIBE:ok', 'PING:ok'], ['message', 'message', 'message']],
    ['HELLO 3 run by EXEC: RESP3 from then on',
      [['C', cmd('MULTI') + cmd('HELLO', '3') + cmd('EXEC')], ['S', '+OK\r\n+QUEUED\r\n*1\r\n%1\r\n+proto\r\n:3\r\n'], ['C', cmd('SUBSCRIBE', 'ch')],
        ['S', push('subscribe', 'ch', 1)], ['C', cmd('LRANGE', 'l', '0', '-1')], ['S', MSG('x', 'y')]],
      ['MULTI:ok', 'HELLO:ok', 'EXEC:ok', 'SUBSCRIBE:ok', 'LRANGE:ok'], []],
  ]);

  test.each<[string, Step[], string[]]>([
    ['r-setname-in-multi: CLIENT SETNAME queued then DISCARDed names nothing',
      [['C', cmd('MULTI') + cmd('CLIENT', 'SETNAME', 'discarded-name') + cmd('DISCARD')], ['S', '+OK\r\n+QUEUED\r\n+OK\r\n']], []],
    ['CLIENT SETNAME run by EXEC names the connection',
      [['C', cmd('MULTI') + cmd('SET', 'a', '1') + cmd('CLIENT', 'SETNAME', 'ran') + cmd('EXEC')], ['S', '+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n+OK\r\n']], ['name=ran']],
    ['CLIENT SETNAME refused inside EXEC names nothing',
      [['C', cmd('MULTI') + cmd('CLIENT', 'SETNAME', 'a b') + cmd('EXEC')], ['S', '+OK\r\n+QUEUED\r\n*1\r\n-ERR Client names cannot contain spaces\r\n']], []],
    ['HELLO 3 SETNAME queued in a transaction that aborts names nothing',
      [['C', cmd('MULTI') + cmd('HELLO', '3', 'SETNAME', 'h') + cmd('NOSUCH') + cmd('EXEC')], ['S', '+OK\r\n+QUEUED\r\n-ERR unknown command\r\n-EXECABORT Transaction discarded\r\n']], []],
  ])('%s', (_name, steps, names) => {
    expect(run(steps, false).names).toEqual(names);
  });
});

describe('a request pipelined behind a blocking one is timed from the end of its reply', () => {
  /** Each step at its own time (µs); returns each request's latency in completion order. */
  function latencies(steps: Array<[number, 'C' | 'S', string]>): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    const s = new Session(conn(), {
      request: () => undefined, complete: (r) => out.push([r.info.name, r.latencyUs]), unpaired: () => undefined, violation: () => undefined,
      linkRequest: () => undefined, linkStart: () => undefined, rdb: () => undefined, propagated: () => undefined, clientInfo: () => undefined, overflow: () => undefined,
    }, {}, 100);
    for (const [ts, dir, text] of steps) {
      const b = Buffer.from(text, 'latin1');
      s.data(dir === 'C', b, 0, b.length, ts);
    }
    s.close();
    return out;
  }

  test.each<[string, Array<[number, 'C' | 'S', string]>, Array<[string, number]>]>([
    ['r-blocking-pipelined: BLPOP served after 150 ms, GET in the same packet: GET is not slow',
      [[1_000, 'C', cmd('BLPOP', 'q', '5') + cmd('GET', 'k')], [151_000, 'S', arr('q', 'x')], [151_040, 'S', '$-1\r\n']],
      [['BLPOP', 150_000], ['GET', 40]]],
    ['two requests behind it: both timed from its reply',
      [[1_000, 'C', cmd('BLPOP', 'q', '5') + cmd('GET', 'a') + cmd('GET', 'b')], [151_000, 'S', arr('q', 'x') + '$-1\r\n'], [151_050, 'S', '$-1\r\n']],
      [['BLPOP', 150_000], ['GET', 0], ['GET', 50]]],
    ['a request sent after the blocking reply keeps its own clock',
      [[1_000, 'C', cmd('BLPOP', 'q', '5')], [151_000, 'S', arr('q', 'x')], [200_000, 'C', cmd('GET', 'k')], [200_030, 'S', '$-1\r\n']],
      [['BLPOP', 150_000], ['GET', 30]]],
    ['behind a slow command that is not blocking (DEBUG SLEEP) the wait is what the client saw',
      [[1_000, 'C', cmd('DEBUG', 'SLEEP', '0.1') + cmd('GET', 'k')], [101_000, 'S', '+OK\r\n'], [101_040, 'S', '$-1\r\n']],
      [['DEBUG', 100_000], ['GET', 100_040]]],
  ])('%s', (_name, steps, want) => {
    expect(latencies(steps)).toEqual(want);
  });
});
