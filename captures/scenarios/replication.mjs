// Client traffic for the replication captures (captures/deployments/make-replication.sh): what
// one client on 127.0.0.2 sends to a master whose replica link is in the same capture. The
// master propagates the writes to the replica; the truth of that stream comes from the servers.
import { openConns, prng, runBatches, shuffle, sleep } from '../lib/client.mjs';

/** A value of `n` printable pseudo-random bytes (base64 of the PRNG), so the RDB barely compresses. */
export function randomValue(rnd, n) {
  const raw = Buffer.alloc(Math.ceil((n * 3) / 4));
  for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(rnd() * 256);
  return raw.toString('base64').slice(0, n);
}

/** Keys of the preloaded dataset (sent over the unix socket, so not in the capture). */
export const preloadKey = (i) => `key:${i}`;

/** Key of the i-th SET: two hot keys and a tail of 850 keys written twice or thrice each. */
function setKey(i) {
  if (i % 10 === 0) return 'hot:a';
  if (i % 20 === 1) return 'hot:b';
  return `item:${i % 850}`;
}

/**
 * 2000 SET + 2000 GET in pipelined batches of 1..40, then WAIT 1 1000 on the same connection
 * (its write offset makes the master ask the replica with REPLCONF GETACK).
 */
export async function replicaTraffic(rec, { target, preloaded }) {
  const rnd = prng(7001);
  const [conn] = await openConns(rec, 1, '127.0.0.2', target);
  const sets = Array.from({ length: 2000 }, (_, i) => ['SET', setKey(i), `v${i}:${randomValue(rnd, 12)}`]);
  const gets = Array.from({ length: 2000 }, (_, i) => {
    if (i % 4 === 0) return ['GET', 'hot:a'];
    if (i % 4 === 1) return ['GET', preloadKey(Math.floor(rnd() * preloaded))];
    return ['GET', `item:${Math.floor(rnd() * 900)}`];
  });
  // Writes first in order (so the hot keys exist), then the rest mixed.
  const ops = [...sets.slice(0, 200), ...shuffle([...sets.slice(200), ...gets], rnd)];
  await runBatches(conn, ops, rnd, 40);
  await conn.send(['WAIT', '1', '1000']);
  rec.notes.push('WAIT 1 1000 on the client connection: the master sends REPLCONF GETACK * on the link and the replica answers with REPLCONF ACK');
  await conn.close();
}

/**
 * Mid-stream: 500 SET plus commands that the master propagates in another form (EXPIRE as
 * PEXPIREAT, SET .. EX as SET .. PXAT, a MULTI/EXEC block), GETs, and a WAIT.
 */
export async function midstreamTraffic(rec, { target }) {
  const rnd = prng(7002);
  const [conn] = await openConns(rec, 1, '127.0.0.2', target);
  const ops = [];
  for (let i = 0; i < 500; i++) ops.push(['SET', i % 5 === 0 ? 'hot:m' : `mid:${i % 120}`, `m${i}`]);
  for (let i = 0; i < 100; i++) ops.push(['GET', i % 2 === 0 ? 'hot:m' : `mid:${i}`]);
  await runBatches(conn, ops, rnd, 25);
  for (let i = 0; i < 20; i++) await conn.send(['INCR', 'counter']);
  for (let i = 0; i < 5; i++) await conn.send(['EXPIRE', `mid:${i}`, '600']);
  for (let i = 0; i < 5; i++) await conn.send(['SET', `ttl:${i}`, 'x', 'EX', '600']);
  await conn.pipeline([['MULTI'], ['SET', 'tx:a', '1'], ['INCR', 'tx:n'], ['EXEC']]);
  await conn.send(['DEL', 'mid:7', 'mid:8']);
  await sleep(10);
  await conn.send(['WAIT', '1', '1000']);
  rec.notes.push(
    'the master propagates EXPIRE as PEXPIREAT and SET .. EX as SET .. PXAT (Redis 7): client command names and propagated ones differ',
    'EXPIRE mid:0 finds no key (mid:0 is never written) and is not propagated: 5 EXPIRE, 4 PEXPIREAT',
  );
  await conn.close();
}
