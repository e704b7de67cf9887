// One redis-server with a plain port and a TLS port. One TLS connection is opened and used
// before the capture starts (the capture joins it mid-stream: no handshake, only encrypted
// application-data records) and keeps being used while capturing; five more TLS connections
// open while capturing; one plain connection from 127.0.0.2 talks RESP in clear text.
// `rec` records the plain traffic (what an analyzer can read), `tlsRec` what went inside TLS.
import { existsSync, writeFileSync } from 'node:fs';
import { openConns, prng, runBatches, shuffle, sleep } from '../lib/client.mjs';
import { openTlsConns } from '../lib/tls-client.mjs';

async function waitFile(path, ms) {
  const deadline = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`no ${path} within ${ms} ms`);
    await sleep(50);
  }
}

/** Ops for one TLS connection: keys under tls:, so none of them must show up as a key. */
function tlsOps(rnd, n, tag) {
  const ops = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const k = `tls:${tag}:${Math.floor(rnd() * 12)}`;
    if (r < 0.35) ops.push(['SET', k, `secret-${tag}-${i}`]);
    else if (r < 0.7) ops.push(['GET', k]);
    else if (r < 0.8) ops.push(['INCR', `tls:${tag}:counter`]);
    else if (r < 0.9) ops.push(['HSET', `tls:${tag}:h`, `f${i % 5}`, `v${i}`]);
    else ops.push(['MGET', k, `tls:${tag}:0`, `tls:${tag}:1`]);
  }
  return ops;
}

export async function tlsScenario(rec, tlsRec, { plain, tls, readyFile, goFile, onActive }) {
  const rnd = prng(6501);
  tlsRec.active = false;
  const [early] = await openTlsConns(tlsRec, 1, '127.0.0.3', tls);
  await early.pipeline([['SET', 'tls:early:0', 'before'], ['GET', 'tls:early:0'], ['PING']]);
  const before = tlsRec.entries.length;
  writeFileSync(readyFile, 'ready\n');
  await waitFile(goFile, 30_000);
  tlsRec.active = true;
  await onActive();

  // The mid-stream connection's first captured bytes are a request of its own.
  await early.send(['GET', 'tls:early:0']);
  const late = [
    ...(await openTlsConns(tlsRec, 2, '127.0.0.3', tls)),
    ...(await openTlsConns(tlsRec, 3, '127.0.0.4', tls)),
  ];
  const [clear] = await openConns(rec, 1, '127.0.0.2', plain);

  const plainOps = [['SET', 'plain:user:1', 'alice'], ['SET', 'plain:user:2', 'bob']];
  for (let i = 0; i < 30; i++) plainOps.push(['GET', `plain:user:${1 + (i % 3 === 0 ? 1 : 0)}`]);
  for (let i = 0; i < 10; i++) plainOps.push(['INCR', 'plain:counter']);
  for (let i = 0; i < 5; i++) plainOps.push(['MGET', 'plain:user:1', 'plain:user:2']);
  plainOps.push(['GET', 'plain:missing'], ['PING'], ['DEL', 'plain:counter']);
  const head = plainOps.slice(0, 2);
  const rest = shuffle(plainOps.slice(2), rnd);

  await clear.pipeline(head);
  await Promise.all([
    runBatches(early, tlsOps(rnd, 120, 'early'), rnd, 6),
    ...late.map((c, i) => runBatches(c, tlsOps(rnd, 60 + 10 * i, `c${i}`), rnd, 6)),
    runBatches(clear, rest, rnd, 4),
  ]);
  // A TLS request that fails: its error reply is encrypted too.
  await late[0].send(['INCR', 'tls:c0:h']);
  rec.notes.push(
    `one TLS connection from 127.0.0.3 was opened and used (${before} requests) before the capture: no handshake in the file, its first captured bytes are TLS application-data records`,
    '5 TLS connections (127.0.0.3 x2, 127.0.0.4 x3) open while capturing: ClientHello/ServerHello in the file, then application data',
    'commands, keys, clients, servers, errors: the plain connection only (127.0.0.2 -> 6500); what went inside TLS is in commandsInsideTls and tlsKeys, and none of those keys is visible on the wire',
  );
  for (const c of [early, ...late, clear]) await c.close();
}
