// The main scenario (demo.pcap): skewed clients, hot keys and a long tail, pipelines, a 2 MB
// value, binary values, slow and blocking requests, errors, MULTI, pub/sub, CLIENT REPLY,
// RESP3 with tracking pushes, AUTH, inline commands, SELECT and a MONITOR session.
import { openConns, prng, RedisConn, runBatches, shuffle, sleep } from '../lib/client.mjs';
import { Push } from '../lib/resp.mjs';

const BIG_BYTES = 2_000_000;

/** Read load for the six workers: hot keys first, then a long tail of cache keys. */
function hotReads() {
  const ops = [];
  const repeat = (n, args) => {
    for (let i = 0; i < n; i++) ops.push(args);
  };
  repeat(200, ['GET', 'user:1']);
  repeat(120, ['GET', 'session:abc']);
  repeat(40, ['GET', 'user:2']);
  repeat(30, ['HGET', 'user:1:profile', 'name']);
  repeat(50, ['INCR', 'counter:views']);
  repeat(10, ['LRANGE', 'queue:jobs', '0', '-1']);
  repeat(10, ['MGET', 'user:1', 'user:2', 'user:3']);
  repeat(5, ['ZADD', 'leaderboard', '1', 'carol']);
  for (let n = 0; n < 60; n++) repeat(1 + (n % 3), ['GET', `cache:item:${n}`]);
  return ops;
}

/** Traffic to another redis on a port the analyzer does not watch by default: not counted. */
async function unwatched(rec, noise) {
  const other = await new RedisConn(rec, { ...noise, localAddress: '127.0.0.7' }).open();
  await other.pipeline([['SET', 'user:1', 'elsewhere'], ['GET', 'user:1'], ['GET', 'noise:key']]);
  await other.close();
  rec.notKeys.push('noise:key');
  rec.notes.push(`127.0.0.7 talks to 127.0.0.1:${noise.port}, a port not watched with the default -p 6379: none of it counts`);
}

async function openAll(rec, target, password) {
  const workers = await openConns(rec, 6, '127.0.0.2', target, password);
  const [misc] = await openConns(rec, 1, '127.0.0.3', target, password);
  const resp3 = await new RedisConn(rec, { ...target, localAddress: '127.0.0.3' }).open();
  await resp3.send(['HELLO', '3', 'AUTH', 'default', password]);
  const [sub] = await openConns(rec, 1, '127.0.0.4', target, password);
  const [mon] = await openConns(rec, 1, '127.0.0.5', target, password);
  const [pub, slow] = await openConns(rec, 2, '127.0.0.6', target, password);
  return { workers, misc, resp3, sub, mon, pub, slow };
}

/** Seed writes, then the skewed read load, while a MONITOR session is open. */
async function loadWithMonitor(c, rnd) {
  await c.mon.send(['MONITOR']);
  c.mon.mode = 'monitor';
  const seed = [
    ['MSET', 'user:1', 'alice', 'user:2', 'bob', 'user:3', 'carol'],
    ['SET', 'session:abc', '{"uid":1,"ttl":3600}'],
    ['EXPIRE', 'session:abc', '3600'],
    ['HSET', 'user:1:profile', 'name', 'alice', 'age', '30'],
    ['LPUSH', 'queue:jobs', 'j1', 'j2', 'j3'],
    ['ZADD', 'leaderboard', '10', 'alice', '20', 'bob'],
    ['SADD', 'tags:redis', 'fast', 'in-memory'],
    ['SET', 'counter:views', '0'],
  ];
  for (let n = 0; n < 60; n++) seed.push(['SET', `cache:item:${n}`, `value-${n}`]);
  await runBatches(c.workers[0], seed, rnd, 20);

  // Uneven split: worker 0 takes about a third, the others the rest, all at once.
  const ops = shuffle(hotReads(), rnd);
  const shares = [0.34, 0.2, 0.16, 0.12, 0.1, 0.08];
  const parts = [];
  let from = 0;
  shares.forEach((s, i) => {
    const to = i === shares.length - 1 ? ops.length : from + Math.round(s * ops.length);
    parts.push(ops.slice(from, to));
    from = to;
  });
  await Promise.all(c.workers.map((w, i) => runBatches(w, parts[i], rnd, 8)));
  await runBatches(c.misc, Array.from({ length: 20 }, () => ['GET', 'user:1']), rnd, 4);
  await sleep(20);
  await c.mon.close();
}

/** Pub/sub message and RESP3 invalidate push: replies that answer no request. */
async function pushes(rec, c) {
  await c.sub.send(['SUBSCRIBE', 'ch1']);
  rec.notKeys.push('ch1', 'subscribe', 'message', 'invalidate');
  await c.pub.send(['PUBLISH', 'ch1', 'hello subscribers']);
  await c.sub.waitPush((v) => Array.isArray(v) && String(v[0]) === 'message');

  await c.resp3.send(['SET', 'trk:1', 'v1']);
  await c.resp3.send(['CLIENT', 'TRACKING', 'ON']);
  await c.resp3.send(['GET', 'trk:1']);
  await c.pub.send(['SET', 'trk:1', 'v2']);
  await c.resp3.waitPush((v) => v instanceof Push && String(v.items[0]) === 'invalidate');
  await c.resp3.send(['PING']);
  await c.resp3.send(['HGETALL', 'user:1:profile']);
}

/** CLIENT REPLY, inline commands, SELECT, MULTI/EXEC and error replies. */
async function protocolCorners(c) {
  // OFF and SKIP silence replies; the requests are still commands.
  await c.misc.send(['CLIENT', 'REPLY', 'OFF'], { expectReply: false });
  await c.misc.send(['SET', 'replyoff:1', 'a'], { expectReply: false });
  await c.misc.send(['CLIENT', 'REPLY', 'ON']);
  await c.misc.send(['GET', 'replyoff:1']);
  await c.misc.send(['CLIENT', 'REPLY', 'SKIP'], { expectReply: false });
  await c.misc.send(['SET', 'replyoff:2', 'b'], { expectReply: false });
  await c.misc.send(['GET', 'replyoff:2']);

  await c.pub.inline('PING');
  await c.pub.inline('SET inl 1');
  await c.pub.inline('GET inl');

  await c.slow.send(['SELECT', '2']);
  await c.slow.pipeline([['SET', 'db2:counter', '1'], ['INCR', 'db2:counter'], ['GET', 'db2:counter']]);
  await c.slow.send(['SELECT', '0']);

  await c.misc.pipeline([['MULTI'], ['SET', 'tx:1', 'a'], ['INCR', 'tx:counter'], ['EXEC']]);

  await c.misc.send(['FOOBAR', 'x']);
  await c.misc.send(['GET', 'queue:jobs']);
  await c.misc.send(['HGET', 'user:1', 'name']);
}

/** Binary values (CRLF, NUL, not UTF-8, RESP-looking text) and a 2 MB value. */
async function values(rec, c) {
  const crlf = Buffer.concat([Buffer.from('a\r\nb\r\n'), Buffer.from([0xff, 0xfe, 0x00, 0x80]), Buffer.from('*1\r\n$3\r\nGET\r\n')]);
  const latin = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 200) & 0xff));
  await c.workers[1].pipeline([['SET', 'bin:crlf', crlf], ['GET', 'bin:crlf'], ['SET', 'bin:latin', latin], ['GET', 'bin:latin']]);

  const big = Buffer.alloc(BIG_BYTES);
  for (let i = 0; i < BIG_BYTES; i++) big[i] = 0x61 + (i % 26);
  await c.workers[2].send(['SET', 'big:blob', big]);
  await c.workers[2].send(['GET', 'big:blob']);
  await c.workers[2].send(['STRLEN', 'big:blob']);
  rec.bigKey('big:blob', BIG_BYTES);
}

/** Slow and blocking requests, alone so nothing else waits behind DEBUG SLEEP. */
async function slowOnes(c) {
  await sleep(20);
  await c.slow.send(['DEBUG', 'SLEEP', '0.05'], { slowUs: 50_000 });
  await c.slow.send(['DEBUG', 'SLEEP', '0.02'], { slowUs: 20_000 });
  await c.slow.send(['BLPOP', 'nolist', '0.1'], { blockingMs: 100 });
  await c.slow.send(['WAIT', '1', '50'], { blockingMs: 50 });
  await c.slow.send(['XREAD', 'BLOCK', '50', 'STREAMS', 'nostream', '$'], { blockingMs: 50 });
  await sleep(20);
}

export async function demo(rec, { target, password, noise }) {
  const rnd = prng(6379);
  if (noise !== null) await unwatched(rec, noise);
  const c = await openAll(rec, target, password);
  await loadWithMonitor(c, rnd);
  await pushes(rec, c);
  await protocolCorners(c);
  await values(rec, c);
  await slowOnes(c);
  await c.workers[0].send(['DEL', 'cache:item:0', 'cache:item:1', 'cache:item:2', 'tmp:none']);
  rec.notes.push(
    'requirepass is set: every connection authenticates (AUTH <pw>, one HELLO 3 AUTH default <pw>); the password is in secrets',
    'MONITOR (127.0.0.5) is open during the seed and hot-read phases; its lines are replies, not commands; its +OK is the reply to MONITOR',
    'CLIENT REPLY OFF/SKIP: 4 requests get no reply by design (replies.suppressed)',
    'the subscriber gets one pub/sub message and the RESP3 connection one invalidate push (replies.pushes)',
    'XREAD keys are not listed in keys (key position depends on STREAMS); BLPOP/WAIT/XREAD BLOCK are blocking',
  );
  for (const x of [...c.workers, c.misc, c.resp3, c.sub, c.pub, c.slow]) await x.close();
}
