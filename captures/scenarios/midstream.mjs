// Connections opened and used before the capture starts, then used again while it runs.
import { existsSync, writeFileSync } from 'node:fs';
import { openConns, sleep } from '../lib/client.mjs';

export async function midstream(rec, { target, readyFile, goFile, onActive }) {
  rec.active = false;
  const early = await openConns(rec, 2, '127.0.0.2', target);
  const [other] = await openConns(rec, 1, '127.0.0.3', target);
  await early[0].pipeline([['SET', 'user:1', 'alice'], ['SET', 'session:abc', 's1'], ['GET', 'user:1']]);
  for (let i = 0; i < 10; i++) await early[1].send(['GET', 'user:1']);
  await other.send(['INCR', 'counter']);

  const before = rec.entries.length;
  writeFileSync(readyFile, 'ready\n');
  const deadline = Date.now() + 30_000;
  while (!existsSync(goFile)) {
    if (Date.now() > deadline) throw new Error(`no ${goFile} within 30 s`);
    await sleep(50);
  }
  rec.active = true;
  await onActive();

  for (let i = 0; i < 25; i++) await early[0].send(['GET', 'user:1']);
  await early[1].pipeline(Array.from({ length: 12 }, () => ['GET', 'session:abc']));
  await other.pipeline([['INCR', 'counter'], ['GET', 'counter']]);
  const [late] = await openConns(rec, 1, '127.0.0.4', target);
  await late.send(['MGET', 'user:1', 'session:abc']);
  await late.send(['GET', 'queue:none']);
  await sleep(20);
  await late.send(['DEBUG', 'SLEEP', '0.02'], { slowUs: 20_000 });
  rec.notes.push(
    `127.0.0.2 (2 connections) and 127.0.0.3 connected and sent ${before} requests before the capture started: no SYN in the file (midstream); those requests are not counted`,
    '127.0.0.4 connects while capturing',
  );
  for (const c of [...early, other, late]) await c.close();
}
