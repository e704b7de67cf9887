// Clients talk to nutcracker (twemproxy), which shards the keys over two redis backends. The
// generator knows the client hop; each backend's hop is what that redis saw from nutcracker
// (INFO commandstats and a MONITOR over its unix socket, see deployments/cluster-tls-traffic.mjs).
// MGETs name keys of both backends, so nutcracker has to split them.
import { openConns, prng, runBatches, shuffle } from '../lib/client.mjs';

export async function twemproxy2(rec, { target }) {
  const rnd = prng(6510);
  const a = await openConns(rec, 3, '127.0.0.2', target);
  const b = await openConns(rec, 2, '127.0.0.3', target);
  const items = Array.from({ length: 150 }, (_, i) => `item:${i}`);
  const hot = ['user:1', 'user:2', 'session:abc', 'cart:9'];
  const seed = [...hot, ...items].map((k, i) => ['SET', k, `v${i}`]);
  await runBatches(a[0], seed, rnd, 10);

  const ops = [];
  const pick = () => (rnd() < 0.4 ? hot[Math.floor(rnd() * rnd() * hot.length)] : items[Math.floor(rnd() * items.length)]);
  for (let i = 0; i < 2600; i++) {
    const r = rnd();
    if (r < 0.6) ops.push(['GET', pick()]);
    else if (r < 0.85) ops.push(['SET', pick(), `w${i}`]);
    else {
      const n = 2 + Math.floor(rnd() * 4);
      ops.push(['MGET', ...Array.from({ length: n }, pick)]);
    }
  }
  ops.push(['GET', 'nosuch:key'], ['MGET', 'user:1', 'user:2', 'nosuch:key']);
  shuffle(ops, rnd);
  const conns = [...a, ...b];
  const share = Math.ceil(ops.length / conns.length);
  await Promise.all(conns.map((c, i) => runBatches(c, ops.slice(i * share, (i + 1) * share), rnd, 8)));
  rec.notes.push(
    'client hop: 127.0.0.2 (3 connections) and 127.0.0.3 (2) -> nutcracker; backend hop: nutcracker (127.0.0.1) -> each redis over one connection',
    'backend figures come from each redis INFO commandstats and a MONITOR over its unix socket, not from the generator',
  );
  for (const c of conns) await c.close();
}
