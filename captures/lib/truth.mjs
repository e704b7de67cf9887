// Ground-truth bookkeeping: every request the generator sends and every reply it gets, reduced
// to the figures the analyzer must report. Shape documented in captures/README.md.

/** Commands whose only key is the first argument. */
const FIRST_KEY = new Set([
  'GET', 'SET', 'SETEX', 'GETSET', 'APPEND', 'STRLEN', 'INCR', 'INCRBY', 'DECR', 'DECRBY',
  'HSET', 'HGET', 'HGETALL', 'HDEL', 'HINCRBY', 'LPUSH', 'RPUSH', 'LPOP', 'RPOP', 'LRANGE',
  'LLEN', 'ZADD', 'ZRANGE', 'ZSCORE', 'ZINCRBY', 'SADD', 'SMEMBERS', 'SCARD', 'SISMEMBER',
  'EXPIRE', 'PEXPIRE', 'TTL', 'TYPE',
]);
/** Commands whose every argument is a key. */
const ALL_KEYS = new Set(['MGET', 'DEL', 'UNLINK', 'EXISTS']);

/** Keys of one request as the truth counts them; args[0] is the command name. */
export function keysFor(name, args) {
  if (FIRST_KEY.has(name)) return args.length > 1 ? [args[1]] : [];
  if (ALL_KEYS.has(name)) return args.slice(1);
  if (name === 'MSET') return args.slice(1).filter((_, i) => i % 2 === 0);
  // BLPOP key [key ...] timeout
  if (name === 'BLPOP' || name === 'BRPOP') return args.slice(1, -1);
  return [];
}

export function endpoint(ip, port) {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function bump(map, key, by = 1) {
  map[key] = (map[key] ?? 0) + by;
}

function sortKeys(obj) {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export class Recorder {
  constructor({ slowThresholdMs = 10 } = {}) {
    this.slowThresholdMs = slowThresholdMs;
    /** False while traffic happens that the capture will not see (midstream's first phase). */
    this.active = true;
    this.conns = [];
    this.entries = [];
    this.pushes = 0;
    this.monitorLines = 0;
    this.bigKeys = [];
    /** Strings that must not show up as keys (sent elsewhere, or only inside replies). */
    this.notKeys = [];
    this.notes = [];
    this.startedAt = null;
    this.endedAt = null;
  }

  addConn(conn) {
    conn.id = this.conns.length;
    conn.seenActive = this.active;
    conn.openedActive = this.active;
    this.conns.push(conn);
  }

  /** Records one request; meta: { expectReply, inline, slowUs, blockingMs, noKeys }. */
  command(conn, args, meta = {}) {
    if (this.active) conn.seenActive = true;
    const name = args[0].toUpperCase();
    const entry = {
      conn,
      name,
      preview: args.map((a) => (a.length > 40 ? `<${a.length} bytes>` : a)).join(' '),
      keys: meta.noKeys ? [] : keysFor(name, args),
      expectReply: meta.expectReply !== false,
      inline: meta.raw !== undefined,
      slowUs: meta.slowUs ?? null,
      blockingMs: meta.blockingMs ?? null,
      active: this.active,
      error: null,
      observedUs: null,
      reply: undefined,
    };
    this.entries.push(entry);
    return entry;
  }

  push(conn, kind) {
    if (!this.active) return;
    if (kind === 'monitor') this.monitorLines++;
    else this.pushes++;
  }

  bigKey(key, bytes) {
    this.bigKeys.push({ key, bytes });
  }

  toTruth() {
    const t = {
      commands: {},
      commandErrors: {},
      inlineCommands: {},
      errors: 0,
      keys: {},
      clients: {},
      servers: {},
      connections: 0,
      midstreamConnections: 0,
      slowThresholdMs: this.slowThresholdMs,
      slow: [],
      blocking: [],
      incidentalSlow: [],
      replies: { toCommands: 0, suppressed: 0, pushes: this.pushes, monitorLines: this.monitorLines },
    };
    for (const c of this.conns) {
      if (!c.tracked || !c.seenActive) continue;
      t.connections++;
      if (!c.openedActive) t.midstreamConnections++;
      const cl = (t.clients[c.ip] ??= { connections: 0, commands: 0 });
      cl.connections++;
      const sv = (t.servers[c.server] ??= { connections: 0, commands: 0 });
      sv.connections++;
    }
    for (const e of this.entries) {
      if (!e.active || !e.conn.tracked) continue;
      bump(t.commands, e.name);
      t.clients[e.conn.ip].commands++;
      t.servers[e.conn.server].commands++;
      for (const k of e.keys) bump(t.keys, k);
      if (e.inline) bump(t.inlineCommands, e.name);
      if (e.expectReply) t.replies.toCommands++;
      else t.replies.suppressed++;
      if (e.error !== null) {
        t.errors++;
        bump(t.commandErrors, e.name);
      }
      const where = { command: e.name, args: e.preview, client: e.conn.clientEndpoint, observedUs: e.observedUs };
      if (e.slowUs !== null) t.slow.push({ ...where, minLatencyUs: e.slowUs });
      else if (e.blockingMs !== null) t.blocking.push({ ...where, timeoutMs: e.blockingMs });
      else if (e.observedUs !== null && e.observedUs >= this.slowThresholdMs * 1000) {
        t.incidentalSlow.push(where);
      }
    }
    t.commands = sortKeys(t.commands);
    t.commandErrors = sortKeys(t.commandErrors);
    t.keys = sortKeys(t.keys);
    t.bigKeys = this.bigKeys;
    t.notKeys = this.notKeys;
    t.startedAt = this.startedAt;
    t.endedAt = this.endedAt;
    return t;
  }
}

/** Parses `INFO` text into { section: { field: value } } (lower-case section names). */
export function parseInfo(text) {
  const out = {};
  let section = 'none';
  for (const raw of text.split('\r\n')) {
    if (raw.startsWith('# ')) {
      section = raw.slice(2).trim().toLowerCase();
      out[section] = {};
    } else if (raw.includes(':')) {
      const i = raw.indexOf(':');
      (out[section] ??= {})[raw.slice(0, i)] = raw.slice(i + 1);
    }
  }
  return out;
}

/** `cmdstat_client|reply:calls=3,...,rejected_calls=0,...` -> { CLIENT: 3, ... } by first word. */
export function commandstatsByName(section) {
  const out = {};
  for (const [field, value] of Object.entries(section ?? {})) {
    const name = field.replace(/^cmdstat_/, '').split('|')[0].toUpperCase();
    const kv = Object.fromEntries(value.split(',').map((p) => p.split('=')));
    bump(out, name, Number(kv.calls) + Number(kv.rejected_calls ?? 0));
  }
  return sortKeys(out);
}

/**
 * One MONITOR line: `1700000000.123456 [0 127.0.0.1:5000] "get" "k"`. Arguments are quoted
 * with C-like escapes (sdscatrepr). Returns null for lines of another shape.
 */
export function parseMonitorLine(line) {
  const m = /^\d+\.\d+ \[(\d+) ([^\]]+)\] (.*)$/s.exec(line);
  if (m === null) return null;
  const args = [];
  const s = m[3];
  let i = 0;
  while (i < s.length) {
    if (s[i] !== '"') {
      i++;
      continue;
    }
    let arg = '';
    i++;
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\') {
        const n = s[i + 1];
        const esc = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', '"': '"', '\\': '\\' };
        if (n === 'x') {
          arg += String.fromCharCode(parseInt(s.slice(i + 2, i + 4), 16));
          i += 4;
        } else {
          arg += esc[n] ?? n;
          i += 2;
        }
      } else {
        arg += s[i++];
      }
    }
    args.push(arg);
    i++;
  }
  return { db: Number(m[1]), client: m[2], args };
}
