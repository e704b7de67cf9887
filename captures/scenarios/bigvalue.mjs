// bigvalue: 8 requests on one connection from 127.0.0.2, one of them a SET of a value of
// BIG_BYTES bytes and one a GET of it, each pipelined with a small request so that the small
// one rides in the last segment of the big one. gap-set.pcap and gap-get.pcap each lose one
// segment from the middle of those values (captures/deployments/cut-segment.mjs).
import { openConns, prng, sleep } from '../lib/client.mjs';
import { randomValue } from './replication.mjs';

/** ~0.92 MiB: 15 loopback segments, and the two files stay below 2 MB with one segment cut. */
export const BIG_BYTES = 960_000;
export const BIG_KEY = 'big:v';

export async function bigvalue(rec, { target }) {
  const rnd = prng(7003);
  const [conn] = await openConns(rec, 1, '127.0.0.2', target);
  const value = Buffer.from(randomValue(rnd, BIG_BYTES), 'latin1');
  await conn.send(['SET', 'small:k', 'hello']);
  await conn.pipeline([['SET', BIG_KEY, value], ['STRLEN', BIG_KEY]]);
  await sleep(20);
  await conn.send(['GET', 'small:k']);
  await conn.pipeline([['GET', BIG_KEY], ['INCR', 'counter']]);
  await sleep(20);
  await conn.send(['EXISTS', BIG_KEY]);
  await conn.send(['DEL', 'small:k']);
  rec.bigKey(BIG_KEY, BIG_BYTES);
  await conn.close();
}
