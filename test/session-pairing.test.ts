import { describe, expect, test } from 'vitest';
import type { ReplyFrame } from '../src/resp/types.js';
import { Session, type UnpairedKind } from '../src/analysis/session.js';
import type { TrackedRequest } from '../src/analysis/tracked-request.js';
import type { TcpConn } from '../src/flow/types.js';

const conn = (midstream = false): TcpConn => ({
  id: 1, clientIp: '10.0.0.5', clientPort: 5000, serverIp: '10.0.0.1', serverPort: 6379,
  client: '10.0.0.5:5000', server: '10.0.0.1:6379', midstream, firstTsUs: 0,  handlerState: null,
});

const cmd = (...args: string[]) => `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');

/** One step: bytes from the client (C), from the server (S), or a gap in one direction. */
type Step = ['C' | 'S', string] | ['gapC' | 'gapS'];

function run(steps: Step[], midstream = false) {
  const done: Array<{ name: string; outcome: string; latencyUs: number; db: number | null }> = [];
  const unpaired: UnpairedKind[] = [];
  const s = new Session(conn(midstream), {
    request: () => undefined,
    complete: (r: TrackedRequest) => done.push({ name: r.info.name + (r.info.sub ? ' ' + r.info.sub : ''), outcome: r.outcome, latencyUs: r.latencyUs, db: r.db }),
    unpaired: (_c: TcpConn, _r: ReplyFrame, kind: UnpairedKind) => unpaired.push(kind),
    violation: () => undefined,
  }, {}, 10_000);
  let ts = 1_000_000;
  for (const st of steps) {
    ts += 100;
    if (st[0] === 'gapC' || st[0] === 'gapS') s.gap(st[0] === 'gapC', 1 << 30);
    else {
      const b = Buffer.from(st[1], 'latin1');
      s.data(st[0] === 'C', b, 0, b.length, ts);
    }
  }
  s.close();
  return { done: done.map((d) => `${d.name}:${d.outcome}`), unpaired, raw: done };
}

describe('request/reply pairing', () => {
  test.each<[string, Step[], string[], UnpairedKind[]]>([
    ['FIFO with pipelining', [['C', cmd('SET', 'a', '1') + cmd('GET', 'a')], ['S', '+OK\r\n$1\r\n1\r\n']], ['SET:ok', 'GET:ok'], []],
    ['error reply', [['C', cmd('INCR', 's')], ['S', '-WRONGTYPE x\r\n']], ['INCR:error'], []],
    ['MULTI/EXEC with QUEUED', [['C', cmd('MULTI') + cmd('INCR', 'n') + cmd('EXEC')], ['S', '+OK\r\n+QUEUED\r\n*1\r\n:1\r\n']], ['MULTI:ok', 'INCR:ok', 'EXEC:ok'], []],
    ['CLIENT REPLY OFF then ON', [['C', cmd('CLIENT', 'REPLY', 'OFF') + cmd('SET', 'a', '1') + cmd('CLIENT', 'REPLY', 'ON')], ['S', '+OK\r\n']],
      ['CLIENT REPLY:noreply', 'SET:noreply', 'CLIENT REPLY:ok'], []],
    ['CLIENT REPLY SKIP skips one', [['C', cmd('CLIENT', 'REPLY', 'SKIP') + cmd('SET', 'a', '1') + cmd('GET', 'a')], ['S', '$1\r\n1\r\n']],
      ['CLIENT REPLY:noreply', 'SET:noreply', 'GET:ok'], []],
    ['a bad CLIENT REPLY mode is answered with an error', [['C', cmd('CLIENT', 'REPLY', 'FOO') + cmd('PING')], ['S', '-ERR syntax error\r\n+PONG\r\n']],
      ['CLIENT REPLY:error', 'PING:ok'], []],
    ['RESET is answered even under CLIENT REPLY OFF', [['C', cmd('CLIENT', 'REPLY', 'OFF') + cmd('RESET') + cmd('PING')], ['S', '+RESET\r\n+PONG\r\n']],
      ['CLIENT REPLY:noreply', 'RESET:ok', 'PING:ok'], []],
    ['RESP2 SUBSCRIBE of two channels, then a message', [['C', cmd('SUBSCRIBE', 'c1', 'c2')],
      ['S', '*3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$2\r\nc2\r\n:2\r\n*3\r\n$7\r\nmessage\r\n$2\r\nc1\r\n$2\r\nhi\r\n'],
      ['C', cmd('UNSUBSCRIBE')], ['S', '*3\r\n$11\r\nunsubscribe\r\n$2\r\nc1\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$2\r\nc2\r\n:0\r\n']],
      ['SUBSCRIBE:ok', 'UNSUBSCRIBE:ok'], ['message']],
    ['UNSUBSCRIBE with no argument takes one confirmation per channel, not per pattern',
      [['C', cmd('SUBSCRIBE', 'c1') + cmd('PSUBSCRIBE', 'p*')],
        ['S', '*3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:2\r\n'],
        ['C', cmd('UNSUBSCRIBE') + cmd('PING')], ['S', '*3\r\n$11\r\nunsubscribe\r\n$2\r\nc1\r\n:1\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n']],
      ['SUBSCRIBE:ok', 'PSUBSCRIBE:ok', 'UNSUBSCRIBE:ok', 'PING:ok'], []],
    ['RESP3 push is never paired', [['C', cmd('GET', 'k')], ['S', '>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n$1\r\nv\r\n']], ['GET:ok'], ['push']],
    ['RESP3 while subscribed: an array reply that starts with "message" is a reply, not a message',
      [['C', cmd('HELLO', '3')], ['S', '%1\r\n+proto\r\n:3\r\n'], ['C', cmd('SUBSCRIBE', 'ch')], ['S', '>3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n'],
        ['C', cmd('LRANGE', 'lst', '0', '-1') + cmd('GET', 'foo') + cmd('PING')],
        ['S', '*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n$1\r\ny\r\n_\r\n+PONG\r\n']],
      ['HELLO:ok', 'SUBSCRIBE:ok', 'LRANGE:ok', 'GET:ok', 'PING:ok'], []],
    ['HELLO 2 goes back to RESP2: a subscribed array "message" is a message again',
      [['C', cmd('HELLO', '3')], ['S', '%1\r\n+proto\r\n:3\r\n'], ['C', cmd('HELLO', '2')], ['S', '*2\r\n$5\r\nproto\r\n:2\r\n'],
        ['C', cmd('SUBSCRIBE', 'ch')], ['S', '*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n']],
      ['HELLO:ok', 'HELLO:ok', 'SUBSCRIBE:ok'], ['message']],
    ['pipelined SUBSCRIBE a b c and UNSUBSCRIBE: three confirmations each, before any is counted',
      [['C', cmd('SUBSCRIBE', 'a', 'b', 'c') + cmd('UNSUBSCRIBE') + cmd('PING')],
        ['S', ['a', 'b', 'c'].map((c, i) => `*3\r\n$9\r\nsubscribe\r\n$1\r\n${c}\r\n:${i + 1}\r\n`).join('') +
          ['a', 'b', 'c'].map((c, i) => `*3\r\n$11\r\nunsubscribe\r\n$1\r\n${c}\r\n:${2 - i}\r\n`).join('') + '+PONG\r\n']],
      ['SUBSCRIBE:ok', 'UNSUBSCRIBE:ok', 'PING:ok'], []],
    ['a channel subscribed twice is one subscription to unsubscribe',
      [['C', cmd('SUBSCRIBE', 'a', 'a') + cmd('UNSUBSCRIBE') + cmd('PING')],
        ['S', '*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n' +
          '*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n+PONG\r\n']],
      ['SUBSCRIBE:ok', 'UNSUBSCRIBE:ok', 'PING:ok'], []],
    ['RESP3 SUBSCRIBE confirmed by a push', [['C', cmd('SUBSCRIBE', 'c1')], ['S', '>3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n']], ['SUBSCRIBE:ok'], []],
    ['MONITOR: +OK answers it, the rest is MONITOR output', [['C', cmd('MONITOR')], ['S', '+OK\r\n+1.0 [0 1.2.3.4:5] "GET" "x"\r\n'], ['C', cmd('QUIT')], ['S', '+OK\r\n']],
      ['MONITOR:ok', 'QUIT:ok'], ['monitor']],
    ['a reply nobody asked for', [['S', '+OK\r\n']], [], ['unexpected']],
    ['pending at close is unanswered', [['C', cmd('GET', 'a') + cmd('GET', 'b')], ['S', '$-1\r\n']], ['GET:ok', 'GET:unanswered'], []],
    ['a gap in the replies: pending unanswered, the next request pairs again',
      [['C', cmd('GET', 'a')], ['gapS'], ['S', 'tail of a lost reply\r\n'], ['C', cmd('GET', 'b')], ['S', '$1\r\nb\r\n']], ['GET:unanswered', 'GET:ok'], []],
    ['a gap in the requests: the request before it is still answered; requests resume at the next *N\\r\\n$ boundary',
      [['C', cmd('SET', 'a', '1')], ['gapC'], ['S', '+OK\r\n'], ['C', 'partial\r\n$1\r\nx\r\n' + cmd('PING')], ['S', '+PONG\r\n']], ['SET:ok', 'PING:ok'], []],
    // Replies are FIFO: those to requests lost in the gap come after the answers to the requests
    // before it, and before the answer to any request after it, which can't be told apart.
    ['pipelined across a request gap: the requests before it are paired, the one after it is not guessed',
      [['C', cmd('SET', 'a', '1') + cmd('GET', 'a')], ['gapC'], ['C', cmd('PING')], ['S', '+OK\r\n$1\r\n1\r\n+LOST\r\n+PONG\r\n']],
      ['SET:ok', 'GET:ok', 'PING:unanswered'], []],
    ['a second request gap before the first one is answered: only the requests before the first are paired',
      [['C', cmd('GET', 'a')], ['gapC'], ['C', cmd('GET', 'b')], ['gapC'], ['C', cmd('GET', 'c')], ['S', '$1\r\na\r\n$4\r\nlost\r\n$1\r\nb\r\n'],
        ['S', '$1\r\nc\r\n'], ['C', cmd('PING')], ['S', '+PONG\r\n']],
      ['GET:ok', 'GET:unanswered', 'GET:unanswered', 'PING:ok'], []],
    ['a gap in the requests, then one in the replies before they answered: nothing pending is paired',
      [['C', cmd('GET', 'a') + cmd('GET', 'b')], ['gapC'], ['gapS'], ['S', '1\r\n$1\r\nb\r\n'], ['C', cmd('PING')], ['S', '+PONG\r\n']],
      ['GET:unanswered', 'GET:unanswered', 'PING:ok'], []],
    ['a request gap with nothing pending: the replies after it are not guessed',
      [['C', cmd('GET', 'a')], ['S', '$1\r\na\r\n'], ['gapC'], ['S', '+LOST\r\n'], ['C', cmd('PING')], ['S', '+PONG\r\n']],
      ['GET:ok', 'PING:ok'], []],
  ])('%s', (_name, steps, done, unpaired) => {
    const r = run(steps);
    expect(r.done).toEqual(done);
    expect(r.unpaired).toEqual(unpaired);
  });

  /** A session keeping at most 3 pending requests; what completes, and the replies paired with none. */
  function overLimit(requests: string, replies: string): { done: string[]; unpaired: UnpairedKind[]; overflows: number } {
    const done: string[] = [];
    const unpaired: UnpairedKind[] = [];
    let overflows = 0;
    const s = new Session(conn(), {
      request: () => undefined,
      complete: (r) => done.push(`${r.info.name}:${r.outcome}`),
      unpaired: (_c, _r, kind) => unpaired.push(kind),
      violation: () => undefined,
      overflow: (_c, n) => (overflows += n),
    } as never, {}, 3);
    const b = Buffer.from(requests);
    s.data(true, b, 0, b.length, 1);
    const r = Buffer.from(replies);
    s.data(false, r, 0, r.length, 2);
    const next = Buffer.from(cmd('PING'));
    s.data(true, next, 0, next.length, 3);
    const pong = Buffer.from('+PONG\r\n');
    s.data(false, pong, 0, pong.length, 4);
    s.close();
    return { done, unpaired, overflows };
  }

  test('past maxPending the oldest is given up and its reply skipped: the rest pair each with its own', () => {
    const r = overLimit(cmd('GET', 'a') + cmd('GET', 'b') + cmd('GET', 'c') + cmd('INCR', 'd'), '$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n-ERR not an integer\r\n');
    expect(r.done).toEqual(['GET:unanswered', 'GET:ok', 'GET:ok', 'INCR:error', 'PING:ok']);
    expect(r.unpaired).toEqual(['overflow']);
    expect(r.overflows).toBe(1);
  });

  test('past maxPending with an oldest request of several replies: everything pending is unanswered and pairing resyncs (no shifted replies)', () => {
    const r = overLimit(cmd('SUBSCRIBE', 'x', 'y') + cmd('GET', 'b') + cmd('GET', 'c') + cmd('INCR', 'd'), '*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n');
    expect(r.done).toEqual(['SUBSCRIBE:unanswered', 'GET:unanswered', 'GET:unanswered', 'INCR:unanswered', 'PING:ok']);
    expect(r.overflows).toBe(4);
  });

  test('latency is first reply packet minus last request packet', () => {
    const r = run([['C', '*2\r\n$3\r\nGET'], ['C', '\r\n$1\r\na\r\n'], ['S', '$1\r'], ['S', '\nv\r\n']]);
    expect(r.raw[0]!.latencyUs).toBe(100); // request completed at +200, reply began at +300
  });

  test('a connection joined mid-stream: earlier replies ignored, db unknown until SELECT', () => {
    const r = run([['S', '$3\r\nold\r\n'], ['C', 'lue\r\n' + cmd('GET', 'k')], ['S', '$1\r\nv\r\n'], ['C', cmd('SELECT', '4') + cmd('GET', 'k')], ['S', '+OK\r\n$1\r\nv\r\n']], true);
    expect(r.done).toEqual(['GET:ok', 'SELECT:ok', 'GET:ok']);
    expect(r.raw.map((d) => d.db)).toEqual([null, 4, 4]);
  });

  test.each<[string, Step[], Array<number | null>]>([
    ['pipelined: a refused SELECT then a good one ends on the good one',
      [['C', cmd('SELECT', '99') + cmd('SELECT', '3') + cmd('GET', 'k')], ['S', '-ERR DB index is out of range\r\n+OK\r\n$-1\r\n'], ['C', cmd('GET', 'k')], ['S', '$-1\r\n']],
      [99, 3, 3, 3]],
    ['pipelined: two refused SELECTs go back to the db before both',
      [['C', cmd('SELECT', '2')], ['S', '+OK\r\n'], ['C', cmd('SELECT', '98') + cmd('SELECT', '99')], ['S', '-ERR DB index is out of range\r\n-ERR DB index is out of range\r\n'], ['C', cmd('GET', 'k')], ['S', '$-1\r\n']],
      [2, 98, 99, 2]],
    ['arguments Redis does not parse as an integer change nothing',
      [['C', ['05', '+4', '1e0', ' 2', '3 ', '0x1', '9.0', '-1'].map((a) => cmd('SELECT', a)).join('') + cmd('GET', 'k')],
        ['S', '-ERR value is not an integer or out of range\r\n'.repeat(7) + '-ERR DB index is out of range\r\n$-1\r\n']],
      [0, 0, 0, 0, 0, 0, 0, 0, 0]],
    // A queued command shows the db it runs in at EXEC (where MONITOR prints it), so a queued
    // SELECT shows its own db; MONITOR never prints those of a transaction that ran nothing.
    ['SELECT inside a discarded transaction changes nothing after it',
      [['C', cmd('MULTI') + cmd('SELECT', '4') + cmd('DISCARD') + cmd('GET', 'k')], ['S', '+OK\r\n+QUEUED\r\n+OK\r\n$-1\r\n']],
      [0, 4, 0, 0]],
    ['SELECT inside a transaction: it and the commands queued after it in its db',
      [['C', cmd('MULTI') + cmd('SET', 'a', '1') + cmd('SELECT', '4') + cmd('GET', 'a') + cmd('EXEC') + cmd('GET', 'k')], ['S', '+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n+OK\r\n$-1\r\n$-1\r\n']],
      [0, 0, 4, 4, 4, 4]],
    ['an aborted transaction changes nothing',
      [['C', cmd('MULTI') + cmd('SELECT', '4') + cmd('EXEC')], ['S', '+OK\r\n+QUEUED\r\n-EXECABORT Transaction discarded\r\n'], ['C', cmd('GET', 'k')], ['S', '$-1\r\n']],
      [0, 4, 4, 0]],
    ['an EXEC answered nil (WATCH) ran nothing: the db stays',
      [['C', cmd('WATCH', 'w') + cmd('MULTI') + cmd('SELECT', '6') + cmd('EXEC')], ['S', '+OK\r\n+OK\r\n+QUEUED\r\n*-1\r\n'], ['C', cmd('GET', 'k')], ['S', '$-1\r\n']],
      [0, 0, 6, 6, 0]],
    ['a MULTI inside MULTI is refused: DISCARD still undoes the SELECT queued before it',
      [['C', cmd('MULTI') + cmd('SELECT', '4') + cmd('MULTI') + cmd('DISCARD') + cmd('GET', 'k')], ['S', '+OK\r\n+QUEUED\r\n-ERR MULTI calls can not be nested\r\n+OK\r\n$-1\r\n']],
      [0, 4, 4, 0, 0]],
  ])('db as MONITOR shows it: %s', (_name, steps, dbs) => {
    expect(run(steps).raw.map((d) => d.db)).toEqual(dbs);
  });

  test('a refused SELECT keeps the old db', () => {
    const r = run([['C', cmd('SELECT', '2')], ['S', '+OK\r\n'], ['C', cmd('SELECT', '99')], ['S', '-ERR DB index is out of range\r\n'], ['C', cmd('GET', 'k')], ['S', '$-1\r\n']]);
    expect(r.raw.map((d) => d.db)).toEqual([2, 99, 2]);
  });
});

describe('joined subscribers and protocol errors', () => {
  const msg = (ch: string, body: string) => `*3\r\n$7\r\nmessage\r\n$${ch.length}\r\n${ch}\r\n$${body.length}\r\n${body}\r\n`;

  test.each<[string, Step[], UnpairedKind[]]>([
    ['RESP2 messages on a subscriber joined mid-stream are counted',
      [['S', 'llo\r\n'], ['S', msg('__sentinel__:hello', 'a')], ['S', msg('__sentinel__:hello', 'b') + msg('c', 'd')]],
      ['message', 'message', 'message']],
    ['a pattern message opens it too', [['S', `*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nc1\r\n$1\r\nx\r\n`], ['S', msg('c1', 'y')]], ['message', 'message']],
    ['a joined connection that is no subscriber stays unsynced until a request', [['S', '$3\r\nabc\r\n+OK\r\n']], []],
    ['MONITOR lines on a connection joined mid-stream are counted, from the first whole line', [
      ['S', '1:6379] "GET" "k"\r\n'],
      ['S', '+1796315345.174263 [0 127.0.0.1:39382] "SET" "a" "1"\r\n'],
      ['S', '+1796315345.174300 [0 127.0.0.1:39382] "GET" "a"\r\n+1796315345.174400 [3 unix:/tmp/r.sock] "PING"\r\n'],
    ], ['monitor', 'monitor', 'monitor']],
    ['a status line that only looks like a timestamp is no MONITOR line', [['S', '+1796315345.17 [x]\r\n']], []],
  ])('%s', (_name, steps, kinds) => {
    const r = run(steps, true);
    expect(r.unpaired).toEqual(kinds);
    expect(r.done).toEqual([]);
  });

  test('after an inline line Redis rejects, nothing the client sent is a command', () => {
    const r = run([['C', 'GET a\r\nSET "b 1\r\nPING\r\n' + cmd('SET', 'c', '1')], ['S', '$-1\r\n-ERR Protocol error: unbalanced quotes in request\r\n']]);
    expect(r.done).toEqual(['GET:ok']);
    expect(r.unpaired).toEqual(['rejected']);
  });
});
