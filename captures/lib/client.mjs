// One raw RESP connection of the traffic generator. Every request is recorded in the Recorder
// with the reply it got and the latency the client saw (write call -> reply parsed).
import net from 'node:net';
import { encodeCommand, Push, ReplyError, ReplyReader } from './resp.mjs';
import { endpoint } from './truth.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

export class RedisConn {
  /**
   * opts: { host, port, localAddress } for TCP or { path } for a unix socket;
   * tracked: false for control connections that the capture never sees.
   */
  constructor(rec, opts) {
    this.rec = rec;
    this.opts = opts;
    this.tracked = opts.path === undefined && opts.tracked !== false;
    this.queue = [];
    this.reader = new ReplyReader();
    this.waiters = [];
    this.pushLog = [];
    /** 'monitor' makes every unsolicited reply count as a MONITOR line. */
    this.mode = 'normal';
  }

  open() {
    return new Promise((resolve, reject) => {
      const o = this.opts;
      const sock =
        o.path !== undefined
          ? net.connect({ path: o.path })
          : net.connect({ host: o.host, port: o.port, localAddress: o.localAddress });
      this.sock = sock;
      sock.setNoDelay(true);
      sock.once('error', reject);
      sock.once('connect', () => {
        sock.off('error', reject);
        sock.on('error', (err) => this.fail(err));
        if (this.tracked) {
          this.ip = sock.localAddress;
          this.clientEndpoint = endpoint(sock.localAddress, sock.localPort);
          this.server = endpoint(sock.remoteAddress, sock.remotePort);
          this.rec.addConn(this);
        }
        resolve(this);
      });
      sock.on('data', (chunk) => this.onData(chunk));
      this.closed = new Promise((r) => sock.once('close', r));
    });
  }

  fail(err) {
    for (const p of this.queue) p.reject(err);
    this.queue = [];
  }

  onData(chunk) {
    for (const v of this.reader.feed(chunk)) {
      if (v instanceof Push || this.queue.length === 0) {
        this.pushLog.push(v);
        if (this.tracked) this.rec.push(this, this.mode === 'monitor' ? 'monitor' : 'push');
        this.waiters = this.waiters.filter((w) => !w(v));
        continue;
      }
      const p = this.queue.shift();
      p.entry.observedUs = nowUs() - p.t0;
      p.entry.reply = v;
      if (v instanceof ReplyError) p.entry.error = v.message;
      p.resolve(v);
    }
  }

  record(args, meta) {
    const strArgs = args.map((a) => (Buffer.isBuffer(a) ? a.toString('latin1') : String(a)));
    if (!this.tracked) return { name: strArgs[0].toUpperCase() };
    return this.rec.command(this, strArgs, meta);
  }

  expect(entry, t0) {
    return new Promise((resolve, reject) => this.queue.push({ entry, t0, resolve, reject }));
  }

  /** Sends one request in its own write; resolves with its reply (or undefined if none expected). */
  async send(args, meta = {}) {
    const [r] = await this.pipeline([{ args, meta }]);
    return r;
  }

  /** Writes all requests at once (one write call); resolves with the replies in order. */
  pipeline(list) {
    const items = list.map((x) => (Array.isArray(x) ? { args: x, meta: {} } : x));
    const t0 = nowUs();
    const waits = items.map(({ args, meta }) => {
      const entry = this.record(args, meta);
      return meta.expectReply === false ? Promise.resolve(undefined) : this.expect(entry, t0);
    });
    this.sock.write(Buffer.concat(items.map(({ args, meta }) => meta.raw ?? encodeCommand(args))));
    return Promise.all(waits);
  }

  /** An inline command: the words sent as plain text ending in CRLF. */
  inline(line, meta = {}) {
    return this.send(line.split(' '), { ...meta, raw: Buffer.from(`${line}\r\n`, 'latin1') });
  }

  /** One request written in slices of `size` bytes with a pause between, so it spans segments. */
  async sendSliced(args, size, pauseMs, meta = {}) {
    const wire = encodeCommand(args);
    const entry = this.record(args, meta);
    const done = this.expect(entry, nowUs());
    for (let off = 0; off < wire.length; off += size) {
      this.sock.write(wire.subarray(off, off + size));
      await sleep(pauseMs);
    }
    return done;
  }

  /** Resolves with the first unsolicited reply for which pred is true (already seen ones too). */
  waitPush(pred, timeoutMs = 3000) {
    const seen = this.pushLog.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a push')), timeoutMs);
      this.waiters.push((v) => {
        if (!pred(v)) return false;
        clearTimeout(timer);
        resolve(v);
        return true;
      });
    });
  }

  async close() {
    this.sock.end();
    await this.closed;
  }
}

/** Opens n connections from one local address; with `auth`, each sends AUTH first. */
export async function openConns(rec, n, localAddress, target, auth) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const c = await new RedisConn(rec, { ...target, localAddress }).open();
    if (auth !== undefined) await c.send(['AUTH', auth]);
    out.push(c);
  }
  return out;
}

/** Deterministic PRNG (mulberry32) so every remake sends the same traffic. */
export function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle(list, rnd) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

/** Sends ops (arrays of args) in pipelined batches of 1..maxBatch. */
export async function runBatches(conn, ops, rnd, maxBatch) {
  for (let i = 0; i < ops.length; ) {
    const n = 1 + Math.floor(rnd() * maxBatch);
    await conn.pipeline(ops.slice(i, i + n));
    i += n;
  }
}
