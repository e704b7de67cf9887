// Plain client commands for sentinel.pcap, spread over the capture window while the sentinel's
// two connections (commands, and the __sentinel__:hello subscription) carry on by themselves.
import { openConns, sleep } from '../lib/client.mjs';

export async function sentinelClient(rec, { target, seconds }) {
  const [conn] = await openConns(rec, 1, '127.0.0.2', target);
  const rounds = 8;
  const pauseMs = Math.round((seconds * 1000) / rounds);
  for (let i = 0; i < rounds; i++) {
    await conn.pipeline([['SET', 'app:state', `s${i}`], ['GET', 'app:state'], ['INCR', 'app:ticks']]);
    await sleep(pauseMs);
  }
  await conn.send(['LPUSH', 'app:log', 'a', 'b']);
  await conn.send(['LRANGE', 'app:log', '0', '-1']);
  await conn.close();
}
