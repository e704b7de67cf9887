// Stats.complete per request, its hot-key table small enough to stay in cache: SET/GET requests over 50
// connections, each already paired, as the Session hands them over. Prints ns per request,
// best of ROUNDS (default 7). Compares this build's dist with another's: node bench/stats-bench.mjs [otherDist]
const dists = [new URL('../dist/', import.meta.url).href, ...process.argv.slice(2).map((d) => 'file://' + d.replace(/\/?$/, '/'))];
const N = 1_000_000;
async function load(dist) {
  const { Stats } = await import(dist + 'analysis/stats.js');
  const { commandInfo } = await import(dist + 'analysis/command-info.js');
  return { Stats, commandInfo };
}
function requests({ commandInfo }) {
  const conns = [];
  for (let c = 0; c < 50; c++) {
    const client = `10.0.0.1:${40000 + c}`;
    conns.push({ client, clientIp: '10.0.0.1', clientPort: 40000 + c, server: `10.0.0.2:${7460}`, serverIp: '10.0.0.2', serverPort: 7460 });
  }
  const set = commandInfo(['SET', 'k', 'v']);
  const get = commandInfo(['GET', 'k']);
  const out = [];
  for (let i = 0; i < 4096; i++) {
    const isSet = i % 2 === 0;
    // Flat one-byte strings, as the decoder makes them (a concatenation would be a cons string).
    const key = String.fromCharCode(...Buffer.from('key:' + String((i * 7919) % 100000).padStart(12, '0'), 'latin1'));
    const args = isSet ? ['SET', key, 'xxx'] : ['GET', key];
    out.push({
      conn: conns[i % 50], info: isSet ? set : get, redacted: false, db: 0, expect: 0, outcome: 'ok', queued: null,
      frame: { argc: args.length, args, argLens: args.map((a) => a.length), wireBytes: 40, inline: false, missingBytes: 0, startTsUs: 1e15 + i, endTsUs: 1e15 + i },
      reply: { type: 43, wireBytes: 5, error: null, count: 0, missingBytes: 0, innerErrors: null, head: [] },
      replyBytes: 5, latencyUs: 20 + (i % 90),
    });
  }
  return out;
}
const sides = [];
for (const d of dists) {
  const m = await load(d);
  sides.push({ d, m, reqs: requests(m), best: Infinity });
}
for (let r = 0; r < Number(process.env.ROUNDS ?? 7); r++) {
  for (const s of sides) {
    const st = new s.m.Stats({ slowUs: 1e9, maxKeys: Number(process.env.MAX_KEYS ?? 200000), keepSlow: 10, keepBig: 10 });
    const peers = st.open(s.reqs[0].conn);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) st.complete(s.reqs[i & 4095], peers);
    s.best = Math.min(s.best, Number(process.hrtime.bigint() - t0) / N);
  }
}
for (const s of sides) console.log(`${s.d}: ${s.best.toFixed(1)} ns per request (4096 keys, in cache)`);
