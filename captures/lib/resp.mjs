// Minimal RESP2/RESP3 client-side codec for the capture generator: encodes requests, decodes
// replies. Deliberately independent of src/ (it is the analyzer's truth, not a copy of it).
// Spec: https://github.com/redis/redis-specifications/blob/master/protocol/RESP3.md

const CRLF = Buffer.from('\r\n');

/** Encodes one request as a RESP array of bulk strings; args are strings, numbers or Buffers. */
export function encodeCommand(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a), 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  }
  return Buffer.concat(parts);
}

/** A decoded error reply (`-` or `!`). */
export class ReplyError {
  constructor(message) {
    this.message = message;
  }
}

/** A RESP3 push (`>`): the server sent it on its own, it answers no request. */
export class Push {
  constructor(items) {
    this.items = items;
  }
}

/** Decodes a stream of replies; feed() returns every value completed by the new bytes. */
export class ReplyReader {
  constructor() {
    this.buf = Buffer.alloc(0);
  }

  feed(chunk) {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out = [];
    let off = 0;
    for (;;) {
      const r = parseValue(this.buf, off);
      if (r === null) break;
      out.push(r.value);
      off = r.end;
    }
    this.buf = this.buf.subarray(off);
    return out;
  }
}

function readLine(buf, off) {
  const i = buf.indexOf(CRLF, off);
  if (i < 0) return null;
  return { line: buf.toString('latin1', off + 1, i), end: i + 2 };
}

function parseAggregate(buf, end, n) {
  const items = [];
  let off = end;
  for (let k = 0; k < n; k++) {
    const r = parseValue(buf, off);
    if (r === null) return null;
    items.push(r.value);
    off = r.end;
  }
  return { value: items, end: off };
}

/** Parses one value at off; null when the buffer does not yet hold all of it. */
export function parseValue(buf, off) {
  if (off >= buf.length) return null;
  const type = String.fromCharCode(buf[off]);
  const l = readLine(buf, off);
  if (l === null) return null;
  const { line, end } = l;
  switch (type) {
    case '+':
      return { value: line, end };
    case '-':
      return { value: new ReplyError(line), end };
    case ':':
    case '(':
      return { value: BigInt(line), end };
    case ',':
      return { value: Number(line), end };
    case '#':
      return { value: line === 't', end };
    case '_':
      return { value: null, end };
    case '$':
    case '=':
    case '!': {
      const n = Number(line);
      if (n < 0) return { value: null, end };
      if (buf.length < end + n + 2) return null;
      const data = Buffer.from(buf.subarray(end, end + n));
      return { value: type === '!' ? new ReplyError(data.toString('latin1')) : data, end: end + n + 2 };
    }
    case '*':
    case '~':
    case '>': {
      const n = Number(line);
      if (n < 0) return { value: null, end };
      const r = parseAggregate(buf, end, n);
      if (r === null) return null;
      return type === '>' ? { value: new Push(r.value), end: r.end } : r;
    }
    case '%':
      return parseAggregate(buf, end, Number(line) * 2);
    case '|': {
      // An attribute map precedes the real value; skip it.
      const a = parseAggregate(buf, end, Number(line) * 2);
      if (a === null) return null;
      return parseValue(buf, a.end);
    }
    default:
      throw new Error(`unexpected RESP type byte 0x${buf[off].toString(16)} at ${off}`);
  }
}
