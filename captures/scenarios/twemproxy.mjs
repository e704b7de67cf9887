// Clients talk to nutcracker (twemproxy) on 22121, which forwards to redis on 6379. The
// generator knows the client leg; the proxy leg is what redis saw from nutcracker, taken from
// INFO commandstats and a MONITOR over the unix socket (see traffic.mjs).
import { openConns, prng, runBatches, shuffle } from '../lib/client.mjs';

export async function twemproxy(rec, { target }) {
  const rnd = prng(22121);
  const main = await openConns(rec, 3, '127.0.0.2', target);
  const [other] = await openConns(rec, 1, '127.0.0.3', target);
  const seed = [
    ['MSET', 'user:1', 'alice', 'user:2', 'bob'],
    ['SET', 'session:abc', 's1'],
    ['HSET', 'user:1:profile', 'name', 'alice'],
    ['LPUSH', 'queue:jobs', 'j1', 'j2'],
  ];
  for (let n = 0; n < 10; n++) seed.push(['SET', `cache:item:${n}`, `v${n}`]);
  await main[0].pipeline(seed);
  const reads = [];
  for (let i = 0; i < 30; i++) reads.push(['GET', 'user:1']);
  for (let i = 0; i < 15; i++) reads.push(['GET', 'session:abc']);
  for (let i = 0; i < 4; i++) reads.push(['MGET', 'user:1', 'user:2', 'cache:item:1']);
  for (let i = 0; i < 5; i++) reads.push(['HGET', 'user:1:profile', 'name']);
  for (let n = 0; n < 10; n++) reads.push(['GET', `cache:item:${n}`]);
  shuffle(reads, rnd);
  const a = Math.round(reads.length * 0.6);
  await Promise.all([runBatches(main[1], reads.slice(0, a), rnd, 5), runBatches(main[2], reads.slice(a), rnd, 5)]);
  await other.pipeline([['INCR', 'counter'], ['INCR', 'counter'], ['LRANGE', 'queue:jobs', '0', '-1']]);
  await other.send(['GET', 'queue:jobs']);
  await other.send(['DEL', 'cache:item:0', 'cache:item:1', 'cache:item:2']);
  rec.notes.push(
    'client leg: clients -> 127.0.0.1:22121 (nutcracker); proxy leg: 127.0.0.1 -> 127.0.0.1:6379',
    'proxy-leg figures come from redis INFO commandstats and a MONITOR over the unix socket, not from the generator',
    'with one server, nutcracker forwards every request as one request (multi-key ones are not split): each command and key counts once per leg',
    'the WRONGTYPE error reply is sent by redis and passed on by nutcracker: it counts on both legs',
  );
  for (const c of [...main, other]) await c.close();
}
