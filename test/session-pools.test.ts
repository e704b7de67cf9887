import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Session, SessionPools, type SessionEvents } from '../src/analysis/session.js';
import type { TrackedRequest } from '../src/analysis/tracked-request.js';
import { FramePool } from '../src/resp/frame-pool.js';
import type { ReplyFrame } from '../src/resp/types.js';
import type { TcpConn } from '../src/flow/types.js';

// Sessions fill finished requests and frames again (SessionPools). What a consumer sees during
// a call must be what it would see with fresh objects: the same traffic through sessions that
// share pools and through sessions that keep none gives the same record of every request,
// taken as each completes, with many pending at once, transactions, subscriptions and errors.

const conn = (id: number): TcpConn => ({
  id, clientIp: '10.0.0.5', clientPort: 5000 + id, serverIp: '10.0.0.1', serverPort: 6379,
  client: `10.0.0.5:${5000 + id}`, server: '10.0.0.1:6379', midstream: false, firstTsUs: 0, handlerState: null,
});

const cmd = (args: string[]) => `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join('');

/** A request and the replies the server sends it. */
type Exchange = { req: string; replies: string };

const key = fc.constantFrom('a', 'b', 'user:1', 'k'.repeat(40));
const scalarReply = fc.constantFrom('+OK\r\n', '$3\r\nxyz\r\n', ':42\r\n', '-ERR no\r\n', '$-1\r\n', '_\r\n', '*2\r\n$1\r\nx\r\n:1\r\n', '$0\r\n\r\n');
const plain: fc.Arbitrary<Exchange[]> = fc.oneof(
  fc.tuple(key, scalarReply).map(([k, r]) => [{ req: cmd(['GET', k]), replies: r }]),
  fc.tuple(key, fc.string({ maxLength: 20 }), scalarReply).map(([k, v, r]) => [{ req: cmd(['SET', k, v]), replies: r }]),
  fc.tuple(fc.array(key, { minLength: 1, maxLength: 9 }), scalarReply).map(([ks, r]) => [{ req: cmd(['MGET', ...ks]), replies: r }]),
  fc.tuple(key, key, key).map(([a, b, c]) => [{ req: cmd(['DEL', a, b, c]), replies: ':2\r\n' }]),
);
const transaction: fc.Arbitrary<Exchange[]> = fc.array(key, { minLength: 1, maxLength: 4 }).map((ks) => [
  { req: cmd(['MULTI']), replies: '+OK\r\n' },
  ...ks.map((k, i) => ({ req: cmd(['INCR', k]), replies: i === 1 ? '-ERR not an integer\r\n' : '+QUEUED\r\n' })),
  { req: cmd(['EXEC']), replies: `*${ks.length}\r\n` + ks.map((_, i) => (i === 0 ? '-WRONGTYPE x\r\n' : ':1\r\n')).join('') },
]);
const select: fc.Arbitrary<Exchange[]> = fc.constantFrom('1', '99', 'x').map((db) => [{ req: cmd(['SELECT', db]), replies: db === '1' ? '+OK\r\n' : '-ERR DB index is out of range\r\n' }]);
const subscribe: fc.Arbitrary<Exchange[]> = fc.constant([
  { req: cmd(['SUBSCRIBE', 'c1', 'c2']), replies: '*3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$2\r\nc2\r\n:2\r\n' },
  { req: cmd(['UNSUBSCRIBE']), replies: '*3\r\n$11\r\nunsubscribe\r\n$2\r\nc1\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$2\r\nc2\r\n:0\r\n' },
]);
const traffic = fc.array(fc.oneof({ weight: 6, arbitrary: plain }, { weight: 1, arbitrary: transaction }, { weight: 1, arbitrary: select }, { weight: 1, arbitrary: subscribe }), { minLength: 1, maxLength: 40 })
  .map((xs) => xs.flat());

/** Everything a consumer can read of a request, as it completes. */
function record(r: TrackedRequest): string {
  const f = r.frame;
  const reply = (x: ReplyFrame | null) => (x === null ? null : [x.type, x.wireBytes, x.error, x.count, [...x.head], x.innerErrors, x.startTsUs, x.endTsUs]);
  return JSON.stringify([r.conn.id, f.argc, [...f.args], [...f.argLens], f.wireBytes, f.startTsUs, f.endTsUs, r.info.name, r.db, r.outcome,
    reply(r.reply), r.replyBytes, r.latencyUs, r.queued?.map((q) => [q.info.name, reply(q.reply)]) ?? null]);
}

/** Runs each connection's exchanges, pipelined in batches of `batch`, connections taking turns. */
function run(conns: Exchange[][], batch: number, pools: SessionPools): string[] {
  const out: string[] = [];
  const events: SessionEvents = {
    request: (r) => out.push('req ' + record(r)),
    complete: (r) => out.push('done ' + record(r)),
    unpaired: (c, reply, kind) => out.push(`unpaired ${c.id} ${kind} ${reply.type} ${reply.head.join(',')}`),
    violation: (c, fromClient, v) => out.push(`violation ${c.id} ${fromClient} ${v.reason}`),
    linkRequest: () => undefined, linkStart: () => undefined, rdb: () => undefined, propagated: () => undefined, clientInfo: () => undefined, overflow: () => undefined,
  };
  const sessions = conns.map((_, i) => new Session(conn(i + 1), events, {}, 10_000, pools));
  let ts = 1_000_000;
  const longest = Math.max(...conns.map((c) => c.length));
  for (let at = 0; at < longest; at += batch) {
    conns.forEach((xs, i) => {
      const part = xs.slice(at, at + batch);
      if (part.length === 0) return;
      const req = Buffer.from(part.map((x) => x.req).join(''), 'latin1');
      sessions[i]!.data(true, req, 0, req.length, (ts += 10));
    });
    conns.forEach((xs, i) => {
      const rep = Buffer.from(xs.slice(at, at + batch).map((x) => x.replies).join(''), 'latin1');
      // In two pieces: some replies complete in a later push than others.
      const cut = rep.length >> 1;
      if (rep.length > 0) sessions[i]!.data(false, rep, 0, cut, (ts += 10));
      if (rep.length > 0) sessions[i]!.data(false, rep, cut, rep.length - cut, (ts += 10));
    });
  }
  for (const s of sessions) s.close();
  return out;
}

describe('pooled requests and frames', () => {
  test('consumers see the same requests and replies with pools as with fresh objects', () => {
    fc.assert(fc.property(fc.array(traffic, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 20 }), (conns, batch) => {
      const fresh = run(conns, batch, new SessionPools(0));
      expect(run(conns, batch, new SessionPools())).toEqual(fresh);
      // Once more with pools a first run left full.
      const shared = new SessionPools();
      run(conns, batch, shared);
      expect(run(conns, batch, shared)).toEqual(fresh);
    }), { numRuns: 200 });
  });

  test('frames are kept by size and given back only up to the bound', () => {
    const pool = new FramePool<{ n: number }>(2, 1);
    pool.give({ n: 1 }, 1);
    pool.give({ n: 2 }, 1);
    pool.give({ n: 3 }, 3);
    expect(pool.take(2)).toBeUndefined();
    expect(pool.take(3)).toBeUndefined();
    expect(pool.take(1)).toEqual({ n: 1 });
    expect(pool.take(1)).toBeUndefined();
  });
});
