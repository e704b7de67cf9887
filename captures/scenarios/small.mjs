// A small scenario for the link-type and format captures, and the base of the derived ones
// (with `big`: a value sent in slices so the request spans several segments, then read back
// as the last request of its connection).
import { openConns, prng, runBatches, shuffle, sleep } from '../lib/client.mjs';

export const BASE_BIG_BYTES = 100_000;

export async function small(rec, { target, ips, big = false }) {
  const rnd = prng(22);
  const main = await openConns(rec, 3, ips[0], target);
  const [other] = await openConns(rec, 1, ips[1], target);
  const [third] = await openConns(rec, 1, ips[2], target);

  const seed = [
    ['MSET', 'user:1', 'alice', 'user:2', 'bob'],
    ['SET', 'session:abc', 's1'],
    ['LPUSH', 'queue:jobs', 'j1', 'j2'],
  ];
  for (let n = 0; n < 20; n++) seed.push(['SET', `cache:item:${n}`, `v${n}`]);
  await runBatches(main[0], seed, rnd, 10);

  const reads = [];
  for (let i = 0; i < 40; i++) reads.push(['GET', 'user:1']);
  for (let i = 0; i < 25; i++) reads.push(['GET', 'session:abc']);
  for (let i = 0; i < 5; i++) reads.push(['MGET', 'user:1', 'user:2', 'cache:item:3']);
  for (let n = 0; n < 20; n++) reads.push(['GET', `cache:item:${n}`]);
  shuffle(reads, rnd);
  const a = Math.round(reads.length * 0.5);
  const b = Math.round(reads.length * 0.8);
  await Promise.all([
    runBatches(main[0], reads.slice(0, a), rnd, 6),
    runBatches(main[1], reads.slice(a, b), rnd, 6),
    runBatches(main[2], reads.slice(b), rnd, 6),
  ]);
  await other.pipeline([['INCR', 'counter'], ['INCR', 'counter'], ['HSET', 'h:1', 'f', 'v'], ['HGET', 'h:1', 'f']]);
  const bin = Buffer.concat([Buffer.from('x\r\n'), Buffer.from([0xc3, 0x28, 0xff, 0x00]), Buffer.from('\r\n$5\r\n')]);
  await other.pipeline([['SET', 'bin:1', bin], ['GET', 'bin:1']]);
  await other.send(['GET', 'queue:jobs']);
  await other.send(['NOSUCHCMD']);
  await third.inline('PING');
  await third.send(['DEL', 'cache:item:0', 'cache:item:1']);

  if (big) {
    const value = Buffer.alloc(BASE_BIG_BYTES, 'abcdefghij0123456789');
    await main[2].sendSliced(['SET', 'big:k', value], 16 * 1024, 3);
    rec.bigKey('big:k', BASE_BIG_BYTES);
  }

  await sleep(20);
  await third.send(['DEBUG', 'SLEEP', '0.02'], { slowUs: 20_000 });
  await third.send(['BLPOP', 'nolist', '0.05'], { blockingMs: 50 });
  await sleep(20);

  if (big) {
    // The reply spans several segments; dropped.pcap removes one of them.
    await main[2].send(['GET', 'big:k']);
    rec.notes.push('GET big:k is the last request on its connection; its reply spans several TCP segments');
  }
  for (const c of [...main, other, third]) await c.close();
}
