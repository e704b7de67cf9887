// A naive Redis Cluster client: one connection per master (from 127.0.0.2), every command sent
// to the first node regardless of slot; a `-MOVED <slot> <ip:port>` reply makes it send the same
// command to that node. Then one slot is put in migration (IMPORTING on the target, MIGRATING on
// the owner, over the captured connections): GET/SET of keys of that slot that the owner does
// not hold get `-ASK <slot> <ip:port>`, followed by ASKING + the command on the target.
// ctx.nodes: [{ port, id, endpoint }], ctx.slotOwner(slot) -> index in nodes.
import { openConns, prng, shuffle } from '../lib/client.mjs';
import { ReplyError } from '../lib/resp.mjs';
import { keyHashSlot } from '../lib/hash-slot.mjs';

/** `MOVED 3999 127.0.0.1:7101` -> { code, slot, endpoint } (null for any other reply). */
export function redirect(reply) {
  if (!(reply instanceof ReplyError)) return null;
  const m = /^(MOVED|ASK) (\d+) (\S+)$/.exec(reply.message);
  return m === null ? null : { code: m[1], slot: Number(m[2]), endpoint: m[3] };
}

/** Sends ops to `first` in pipelined batches, then each MOVED one to the node it names. */
async function sendFollowingMoved(first, byEndpoint, ops, rnd, stats) {
  for (let i = 0; i < ops.length; ) {
    const batch = ops.slice(i, i + 1 + Math.floor(rnd() * 8));
    i += batch.length;
    const replies = await first.pipeline(batch);
    const again = new Map();
    replies.forEach((r, j) => {
      const to = redirect(r);
      if (to === null) return;
      if (to.code !== 'MOVED') throw new Error(`unexpected ${r.message}`);
      stats.moved++;
      const conn = byEndpoint.get(to.endpoint);
      if (conn === undefined) throw new Error(`MOVED to an unknown node ${to.endpoint}`);
      if (!again.has(conn)) again.set(conn, []);
      again.get(conn).push(batch[j]);
    });
    for (const [conn, list] of again) {
      for (const r of await conn.pipeline(list)) if (r instanceof ReplyError) throw new Error(`after MOVED: ${r.message}`);
    }
  }
}

export async function clusterScenario(rec, { nodes, slotOwner }) {
  const rnd = prng(7100);
  const conns = [];
  for (const n of nodes) conns.push(...(await openConns(rec, 1, '127.0.0.2', { host: '127.0.0.1', port: n.port })));
  const byEndpoint = new Map(nodes.map((n, i) => [n.endpoint, conns[i]]));
  const stats = { moved: 0, ask: 0 };

  // 1. A few hundred keys, SET then GET (some hot), plus two keys sharing the {user1} hash tag.
  const keys = Array.from({ length: 240 }, (_, i) => `key:${i}`);
  const writes = keys.map((k, i) => ['SET', k, `v${i}`]);
  writes.push(['SET', '{user1}:a', 'alice'], ['SET', '{user1}:b', 'bob']);
  const reads = keys.map((k) => ['GET', k]);
  for (let i = 0; i < 40; i++) reads.push(['GET', 'key:7']);
  for (let i = 0; i < 25; i++) reads.push(['GET', 'key:42']);
  for (let i = 0; i < 6; i++) reads.push(['GET', '{user1}:a'], ['GET', '{user1}:b']);
  await sendFollowingMoved(conns[0], byEndpoint, writes, rnd, stats);
  await sendFollowingMoved(conns[0], byEndpoint, shuffle(reads, rnd), rnd, stats);

  // 2. Migrate the slot of the {mig} hash tag from its owner X to another node Y.
  const slot = keyHashSlot('{mig}:1');
  const x = slotOwner(slot);
  const y = (x + 1) % nodes.length;
  const [cx, cy] = [conns[x], conns[y]];
  await cx.pipeline([['SET', '{mig}:1', 'stays'], ['SET', '{mig}:2', 'stays']]);
  await cy.send(['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', nodes[x].id]);
  await cx.send(['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', nodes[y].id]);
  const migOps = [['GET', '{mig}:1'], ['GET', '{mig}:2']];
  for (let i = 3; i <= 8; i++) migOps.push(['GET', `{mig}:${i}`]);
  migOps.push(['SET', '{mig}:9', 'new'], ['SET', '{mig}:10', 'new'], ['GET', '{mig}:3']);
  for (const op of migOps) {
    const to = redirect(await cx.send(op));
    if (to === null) continue;
    if (to.code !== 'ASK' || to.slot !== slot || to.endpoint !== nodes[y].endpoint) throw new Error(`expected ASK to Y, got ${to.code} ${to.slot} ${to.endpoint}`);
    stats.ask++;
    const [asking, reply] = await cy.pipeline([['ASKING'], op]);
    if (asking !== 'OK' || reply instanceof ReplyError) throw new Error(`ASKING + ${op.join(' ')} failed on Y`);
  }
  rec.notes.push(
    `naive client: every key command first goes to 127.0.0.1:${nodes[0].port}; ${stats.moved} -MOVED replies, each followed by the same command to the node named in it`,
    `slot ${slot} ({mig}) migrating from ${nodes[x].endpoint} (X) to ${nodes[y].endpoint} (Y): CLUSTER SETSLOT IMPORTING on Y, MIGRATING on X (sent over the captured connections); ${stats.ask} -ASK replies for keys X does not hold, each followed by ASKING + the command on Y`,
    '{user1}:a and {user1}:b share the slot of the hash tag "user1"',
    'the cluster bus connections (ports 17100-17102) were opened before the capture (cluster create), so they are mid-stream; they stay open after it (no FIN)',
  );
  for (const c of conns) await c.close();
  return { ...stats, migration: { slot, from: nodes[x].endpoint, to: nodes[y].endpoint } };
}
