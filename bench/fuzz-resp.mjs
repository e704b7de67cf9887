// RESP for the fuzz campaign: requests and replies, well-formed or not, to put into TCP
// payloads; and in-place damage of RESP already there (digits of length lines, type bytes,
// CRLFs). Spec: https://redis.io/docs/latest/develop/reference/protocol-spec/

const enc = (s) => new Uint8Array(Buffer.from(s, 'latin1'));

/** Type bytes of RESP2 and RESP3, and a few that are none. */
const TYPE_BYTES = [...'*$+-:_,#!=(%~>|', 'A', '\0', '\xff', ' '];

/** Lengths and numbers at the edges of what a parser keeps in a double, an int32 or a uint32. */
const EDGE_NUMBERS = [
  '0', '1', '-1', '-2', '2147483647', '2147483648', '4294967295', '4294967296', '9007199254740993',
  '9223372036854775807', '9223372036854775808', '99999999999999999999', '-0', '+5', '1e3', '', ' 3', '3 ', '0x10', '00003',
];

/** Names that take paths of their own through pairing, replication and the key table. */
const COMMANDS = [
  'GET', 'SET', 'MGET', 'DEL', 'HGET', 'EVAL', 'MULTI', 'EXEC', 'DISCARD', 'SUBSCRIBE', 'PSUBSCRIBE', 'UNSUBSCRIBE', 'SSUBSCRIBE',
  'MONITOR', 'CLIENT', 'HELLO', 'AUTH', 'SELECT', 'PING', 'QUIT', 'RESET', 'BLPOP', 'XREAD', 'WAIT', 'SYNC', 'PSYNC', 'REPLCONF',
  'CONFIG', 'ACL', 'MIGRATE', 'SORT', 'OBJECT', 'ASKING', 'CLUSTER', 'SENTINEL', 'DEBUG', 'SCAN', 'set', 'gEt', 'X'.repeat(300), '',
];
const SUBS = ['REPLY', 'OFF', 'ON', 'SKIP', 'SETNAME', 'SETINFO', 'LIB-NAME', 'KILL', 'GET', 'SET', 'requirepass', 'ACK', 'STORE', 'KEYS', 'AUTH', 'BLOCK', 'STREAMS', '3', '2', '0'];

function str(rnd, max) {
  const n = Math.floor(rnd() * max);
  let s = '';
  const kind = Math.floor(rnd() * 4);
  for (let i = 0; i < n; i++) {
    if (kind === 0) s += String.fromCharCode(0x61 + Math.floor(rnd() * 26));
    else if (kind === 1) s += String.fromCharCode(Math.floor(rnd() * 256));
    else if (kind === 2) s += ['\r', '\n', '\x1b', '\0', '\x7f', '\xe2', '\x80', '\xae', ':', '{', '}', '"', '\\'][Math.floor(rnd() * 13)];
    else s += 'key:' + Math.floor(rnd() * 10);
  }
  return s;
}

const pick = (rnd, a) => a[Math.floor(rnd() * a.length)];
const bulk = (s) => `$${s.length}\r\n${s}\r\n`;

/** A request: usually a well-formed multibulk command, sometimes inline, sometimes broken. */
function request(rnd) {
  const r = rnd();
  if (r < 0.12) return `${pick(rnd, COMMANDS)} ${str(rnd, 12)}${rnd() < 0.8 ? '\r\n' : ''}`;
  const args = [pick(rnd, COMMANDS)];
  const n = Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) args.push(rnd() < 0.4 ? pick(rnd, SUBS) : str(rnd, rnd() < 0.05 ? 3000 : 20));
  if (r < 0.85) return `*${args.length}\r\n` + args.map(bulk).join('');
  // A count or a length that is not the truth.
  return `*${pick(rnd, EDGE_NUMBERS)}\r\n` + args.map((a) => (rnd() < 0.5 ? `$${pick(rnd, EDGE_NUMBERS)}\r\n${a}\r\n` : bulk(a))).join('');
}

/** A reply value, nested up to `depth` aggregates. */
function value(rnd, depth) {
  const t = Math.floor(rnd() * (depth > 0 ? 16 : 11));
  switch (t) {
    case 0: return `+${str(rnd, 20).replace(/[\r\n]/g, '')}\r\n`;
    case 1: return `-${pick(rnd, ['ERR', 'WRONGTYPE', 'MOVED 3999 127.0.0.1:7101', 'ASK 1 1.2.3.4:7000', 'NOAUTH', 'CLUSTERDOWN', '', 'x'.repeat(200), '\x1b[31m'])} ${str(rnd, 10).replace(/[\r\n]/g, '')}\r\n`;
    case 2: return `:${pick(rnd, EDGE_NUMBERS)}\r\n`;
    case 3: return bulk(str(rnd, rnd() < 0.05 ? 5000 : 30));
    case 4: return '$-1\r\n';
    case 5: return '_\r\n';
    case 6: return `,${pick(rnd, ['1.5', 'inf', '-inf', 'nan', '1e400', 'x'])}\r\n`;
    case 7: return `#${pick(rnd, ['t', 'f', 'x'])}\r\n`;
    case 8: return `(${pick(rnd, EDGE_NUMBERS)}\r\n`;
    case 9: { const s = 'txt:' + str(rnd, 20); return `=${s.length}\r\n${s}\r\n`; }
    case 10: { const s = str(rnd, 20); return `!${s.length}\r\n${s}\r\n`; }
    default: {
      const type = pick(rnd, ['*', '*', '%', '~', '>', '|']);
      const n = Math.floor(rnd() * 4);
      const items = type === '%' || type === '|' ? 2 * n : n;
      let s = `${type}${n}\r\n`;
      for (let i = 0; i < items; i++) s += value(rnd, depth - 1);
      if (type === '|') s += value(rnd, 0);
      return s;
    }
  }
}

/** An aggregate nested `depth` deep: at and around the decoder's nesting limit. */
function deep(depth, type) {
  return `${type}1\r\n`.repeat(depth) + ':1\r\n';
}

/** A RESP snippet for a TCP payload: a request, a reply, a push, or something in between. */
export function respPayload(rnd) {
  const r = rnd();
  let s;
  if (r < 0.35) {
    s = request(rnd);
    while (rnd() < 0.3) s += request(rnd);
  } else if (r < 0.75) {
    s = value(rnd, 4);
    while (rnd() < 0.3) s += value(rnd, 3);
  } else if (r < 0.85) s = deep(pick(rnd, [8, 20, 31, 32, 33, 40, 64, 200, 2000]), pick(rnd, ['*', '>', '~', '*']));
  else if (r < 0.9) s = `>3\r\n$7\r\nmessage\r\n${bulk(str(rnd, 10))}${bulk(str(rnd, 30))}`;
  else if (r < 0.93) s = `+FULLRESYNC ${'a'.repeat(40)} ${pick(rnd, EDGE_NUMBERS)}\r\n$${pick(rnd, EDGE_NUMBERS)}\r\nREDIS0011`;
  else if (r < 0.96) s = `*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n${bulk(str(rnd, 30))}`;
  else s = str(rnd, 200);
  return enc(s);
}

/**
 * Damages the RESP in payload bytes in place, keeping the length: a digit, a type byte or a CRLF
 * changed, or a line overwritten by a header of an edge length. Returns a short description.
 */
export function damageResp(rnd, d, from, to) {
  if (to - from < 1) return null;
  const kind = Math.floor(rnd() * 5);
  const at = (pred) => {
    const start = from + Math.floor(rnd() * (to - from));
    for (let i = 0; i < to - from; i++) {
      const o = from + ((start - from + i) % (to - from));
      if (pred(o)) return o;
    }
    return -1;
  };
  if (kind === 0) {
    const o = at((i) => d[i] >= 0x30 && d[i] <= 0x39);
    if (o < 0) return null;
    d[o] = pick(rnd, [0x30, 0x39, 0x2d, 0x2b, 0x41, 0x20, 0x30 + Math.floor(rnd() * 10)]);
    return 'resp-digit';
  }
  if (kind === 1) {
    const o = at((i) => i === from || (d[i - 1] === 0x0a && i > from));
    if (o < 0) return null;
    d[o] = pick(rnd, TYPE_BYTES).charCodeAt(0);
    return 'resp-type';
  }
  if (kind === 2) {
    const o = at((i) => d[i] === 0x0d || d[i] === 0x0a);
    if (o < 0) return null;
    d[o] = pick(rnd, [0x0a, 0x0d, 0x20, 0x00, 0x78]);
    return 'resp-crlf';
  }
  if (kind === 3) {
    const o = at((i) => i === from || (d[i - 1] === 0x0a && i > from));
    if (o < 0) return null;
    const line = enc(`${pick(rnd, TYPE_BYTES.slice(0, 14))}${pick(rnd, EDGE_NUMBERS)}\r\n`);
    d.set(line.subarray(0, Math.min(line.length, to - o)), o);
    return 'resp-length-line';
  }
  const snippet = respPayload(rnd);
  const o = from + Math.floor(rnd() * (to - from));
  d.set(snippet.subarray(0, Math.min(snippet.length, to - o)), o);
  return 'resp-overwrite';
}
