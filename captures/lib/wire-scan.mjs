// Reads what the deployment captures carry, from the TCP streams of tcp-streams.mjs: client
// requests, pub/sub messages, and a replication link (handshake, RDB transfer, propagated
// stream, REPLCONF ACKs). The deployment truth is taken from the servers; this is the
// independent second account it is checked against. Independent of src/ on purpose.
// Replication wire: https://redis.io/docs/latest/operate/oss_and_stack/management/replication/
import { parseValue } from './resp.mjs';
import { keysFor } from './truth.mjs';

const LF = 0x0a;
/** Diskless transfers end with this many random bytes, announced as `$EOF:<mark>\r\n`. */
const EOF_MARK_LEN = 40;

const text = (v) => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v));
const bump = (map, key, by = 1) => {
  map[key] = (map[key] ?? 0) + by;
};
const sortKeys = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * Every RESP value of buf from `from` on: [{ value, offset, end }]. Stops at the first byte
 * that starts no value, or at an incomplete tail; `rest` is the offset it stopped at.
 */
export function values(buf, from = 0) {
  const out = [];
  let off = from;
  while (off < buf.length) {
    let r;
    try {
      r = parseValue(buf, off);
    } catch {
      r = null;
    }
    if (r === null) break;
    out.push({ value: r.value, offset: off, end: r.end });
    off = r.end;
  }
  return { list: out, rest: off };
}

/** A request as [NAME, ...args] strings, or null if the value is not an array of bulk strings. */
function asRequest(v) {
  if (!Array.isArray(v) || v.length === 0 || !v.every(Buffer.isBuffer)) return null;
  return [text(v[0]).toUpperCase(), ...v.slice(1).map(text)];
}

/** Requests per name, keys per key, and bytes left unread, of a client -> server stream. */
export function requestsOf(stream) {
  const { list, rest } = values(stream.bytes);
  const commands = {};
  const keys = {};
  for (const { value } of list) {
    const req = asRequest(value);
    if (req === null) continue;
    bump(commands, req[0]);
    for (const k of keysFor(req[0], req)) bump(keys, k);
  }
  return { commands: sortKeys(commands), keys, requests: list.length, unread: stream.bytes.length - rest };
}

/** Pub/sub `message` arrays on channel `channel` in a server -> client stream. */
export function messagesOf(stream, channel) {
  const { list, rest } = values(stream.bytes);
  let messages = 0;
  for (const { value } of list) {
    if (Array.isArray(value) && value.length === 3 && text(value[0]) === 'message' && text(value[1]) === channel) messages++;
  }
  return { messages, values: list.length, unread: stream.bytes.length - rest };
}

/** Skips bare LF keepalives at off; returns { off, count }. */
function skipNewlines(buf, off) {
  let count = 0;
  while (off < buf.length && buf[off] === LF) {
    off++;
    count++;
  }
  return { off, count };
}

/**
 * The replica -> master side: handshake requests up to PSYNC/SYNC, then REPLCONF ACKs.
 * Mid-stream (no SYN in the file) every request is after the handshake.
 */
function replicaSide(stream, fromStart) {
  const buf = stream.bytes;
  const handshake = {};
  const after = {};
  const ackOffsets = [];
  let newlines = 0;
  let inHandshake = fromStart;
  let off = 0;
  for (;;) {
    const nl = skipNewlines(buf, off);
    newlines += nl.count;
    off = nl.off;
    const r = off < buf.length ? parseValue(buf, off) : null;
    if (r === null) break;
    const req = asRequest(r.value);
    if (req === null) throw new Error(`replica sent a non-request at ${off}`);
    off = r.end;
    if (inHandshake) {
      bump(handshake, req[0]);
      if (req[0] === 'PSYNC' || req[0] === 'SYNC') inHandshake = false;
      continue;
    }
    bump(after, req[0]);
    if (req[0] === 'REPLCONF' && req[1]?.toUpperCase() === 'ACK') ackOffsets.push(Number(req[2]));
  }
  return { handshake, after, ackOffsets, newlines, unread: buf.length - off };
}

/** The RDB payload at off (after any keepalives): `$<len>\r\n<len bytes>` or `$EOF:<mark>\r\n...<mark>`. */
function rdbAt(buf, off) {
  const crlf = buf.indexOf('\r\n', off);
  if (buf[off] !== 0x24 || crlf < 0) throw new Error(`no RDB header at ${off}`);
  const header = buf.toString('latin1', off + 1, crlf);
  const start = crlf + 2;
  if (header.startsWith('EOF:')) {
    const mark = buf.subarray(off + 5, crlf);
    if (mark.length !== EOF_MARK_LEN) throw new Error(`EOF mark of ${mark.length} bytes`);
    const at = buf.indexOf(mark, start);
    if (at < 0) throw new Error('the EOF mark never comes back');
    return { kind: 'diskless ($EOF:<mark>)', headerBytes: start - off, bytes: at - start, trailerBytes: EOF_MARK_LEN, end: at + EOF_MARK_LEN, magic: buf.toString('latin1', start, start + 9) };
  }
  const len = Number(header);
  return { kind: 'disk ($<len>, no CRLF after)', headerBytes: start - off, bytes: len, trailerBytes: 0, end: start + len, magic: buf.toString('latin1', start, start + 9) };
}

/** The master -> replica side: handshake replies, +FULLRESYNC, keepalives, RDB, then the stream. */
function masterSide(stream, fromStart, handshakeRequests) {
  const buf = stream.bytes;
  let off = 0;
  const replies = [];
  let fullresync = null;
  let keepalives = 0;
  let rdb = null;
  if (fromStart) {
    for (let i = 0; i < handshakeRequests; i++) {
      const r = parseValue(buf, off);
      if (r === null) throw new Error('the handshake replies are cut short');
      replies.push(text(r.value));
      off = r.end;
    }
    const last = replies[replies.length - 1] ?? '';
    const m = /^FULLRESYNC (\S+) (\d+)$/.exec(last);
    if (m !== null) {
      fullresync = { replid: m[1], offset: Number(m[2]) };
      const nl = skipNewlines(buf, off);
      keepalives = nl.count;
      rdb = rdbAt(buf, nl.off);
      off = rdb.end;
    }
  }
  const streamStart = off;
  const commands = {};
  const keys = {};
  const getacks = [];
  for (;;) {
    const r = off < buf.length ? parseValue(buf, off) : null;
    if (r === null) break;
    const req = asRequest(r.value);
    if (req === null) throw new Error(`master sent a non-request at ${off} of the stream`);
    bump(commands, req[0]);
    for (const k of keysFor(req[0], req)) bump(keys, k);
    if (req[0] === 'REPLCONF') getacks.push(req.slice(1).join(' '));
    off = r.end;
  }
  return { replies, fullresync, keepalives, rdb, streamStart, streamBytes: off - streamStart, commands, keys, getacks, unread: buf.length - off };
}

/** Is this connection a replication link? A replica sends PSYNC/SYNC or REPLCONF ACK. */
export function isReplicationLink(conn) {
  const s = conn.toServer.bytes;
  return s.includes('$5\r\nPSYNC\r\n') || s.includes('$4\r\nSYNC\r\n') || /\$8\r\nREPLCONF\r\n\$3\r\nACK\r\n/i.test(s.toString('latin1'));
}

/** Everything on one replication link; fromStart when its SYN is in the file. */
export function scanReplicationLink(conn) {
  const fromStart = conn.syn;
  const replica = replicaSide(conn.toServer, fromStart);
  const handshakeRequests = Object.values(replica.handshake).reduce((a, b) => a + b, 0);
  const master = masterSide(conn.toClient, fromStart, handshakeRequests);
  const { rdb } = master;
  return {
    link: `${conn.client} -> ${conn.server}`,
    fromStart,
    handshake: replica.handshake,
    handshakeReplies: master.replies,
    fullresync: master.fullresync,
    keepalives: master.keepalives,
    rdb: rdb === null ? null : { kind: rdb.kind, headerBytes: rdb.headerBytes, bytes: rdb.bytes, trailerBytes: rdb.trailerBytes, magic: rdb.magic },
    streamBytes: master.streamBytes,
    commands: sortKeys(master.commands),
    keys: master.keys,
    getacks: master.getacks,
    replicaRequests: replica.after,
    acks: replica.ackOffsets.length,
    ackOffsets: replica.ackOffsets,
    replicaNewlines: replica.newlines,
    unread: { toMaster: replica.unread, toReplica: master.unread },
  };
}
