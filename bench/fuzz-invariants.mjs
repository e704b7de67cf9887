// What every report must satisfy, whatever the capture: numbers finite, counts non-negative
// integers, shares in [0, 1], percentiles in order and never above the max, the same count the
// same wherever it is shown (totals, per command, per client, per server, MONITOR lines), parts
// never above their whole. checkReport returns the first broken one as { name, detail }, or null.

/** Totals that are rates or durations, not counts: finite and >= 0 is all they promise. */
const TOTAL_RATES = new Set(['commandsPerSec', 'maxBackwardsUs']);
/** Totals that are null when the capture does not say (pcap files carry no drop counters). */
const TOTAL_NULLABLE = new Set(['kernelDrops', 'interfaceDrops']);
/** Keys that hold counts wherever they appear outside the totals. */
const COUNT_KEYS = new Set([
  'count', 'errors', 'unanswered', 'blocking', 'requestBytes', 'replyBytes', 'bytes', 'connections', 'commands', 'commandCount',
  'links', 'rdbTransfers', 'rdbBytes', 'missingRdbBytes', 'streamBytes', 'acks', 'peers', 'offset', 'slot', 'error', 'hotKeysErrorBound',
]);
/** Objects whose values are all counts. */
const COUNT_MAPS = new Set(['errorsByCode', 'subcommands', 'handshake']);
/** Arrays of counts: the commands timeline (per second, or per bucket). */
const COUNT_ARRAYS = new Set(['perSecond', 'counts']);
/** Fields that may be negative: capture times (a pcapng if_tsoffset may put them before 1970). */
const SIGNED = new Set(['ts', 'tsUs', 'startTs', 'endTs']);
/** Latency summaries may be a fraction of a microsecond off the max through rounding of the mean. */
const MEAN_SLACK = 0.5;

class Broken extends Error {
  constructor(name, detail) {
    super(name);
    this.detail = detail;
  }
}

const isCount = (v) => Number.isSafeInteger(v) && v >= 0;

function count(v, path) {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Broken(`${norm(path)} is not an exact integer`, `${path} = ${v}`);
  if (v < 0) throw new Broken(`${norm(path)} is negative`, `${path} = ${v}`);
}

const norm = (path) => path.replace(/\[\d+\]/g, '[]').replace(/^(totals\.errorsByCode|errorsByCode|subcommands|handshake)\..*$/, '$1.*').replace(/\.(errorsByCode|subcommands|handshake)\..*$/, '.$1.*');

/** Every number finite (the histogram's open last bound aside), counts exact and >= 0, the rest >= 0. */
function walk(v, path, key, parentKey) {
  if (typeof v === 'number') {
    if (Number.isNaN(v)) throw new Broken(`${norm(path)} is NaN`, path);
    if (!Number.isFinite(v)) {
      if (v === Infinity && /^latencyUs\.histogram\[\d+\]\.leUs$/.test(path)) return;
      throw new Broken(`${norm(path)} is not finite`, `${path} = ${v}`);
    }
    if (COUNT_KEYS.has(key) || COUNT_MAPS.has(parentKey) || COUNT_ARRAYS.has(parentKey)) return count(v, path);
    if (v < 0 && !SIGNED.has(key)) throw new Broken(`${norm(path)} is negative`, `${path} = ${v}`);
    if (key === 'share' && v > 1) throw new Broken(`${norm(path)} is above 1`, `${path} = ${v}`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => walk(x, `${path}[${i}]`, key, key));
    return;
  }
  if (v !== null && typeof v === 'object') {
    if ('p50' in v && 'max' in v) latency(v, path);
    for (const k of Object.keys(v)) walk(v[k], path === '' ? k : `${path}.${k}`, k, key);
  }
}

function latency(l, path) {
  const order = ['p50', 'p90', 'p99', 'p999', 'max'];
  for (let i = 1; i < order.length; i++) {
    if (!(l[order[i - 1]] <= l[order[i]])) throw new Broken(`${norm(path)}.${order[i - 1]} above ${order[i]}`, `${path}: ${JSON.stringify(l)}`);
  }
  if (!(l.mean <= l.max + MEAN_SLACK)) throw new Broken(`${norm(path)}.mean above max`, `${path}: ${JSON.stringify(l)}`);
}

function totals(t) {
  for (const [k, v] of Object.entries(t)) {
    const path = `totals.${k}`;
    if (k === 'errorsByCode') continue; // walked as a count map
    if (v === null) {
      if (!TOTAL_NULLABLE.has(k)) throw new Broken(`${path} is null`, path);
      continue;
    }
    if (typeof v !== 'number') throw new Broken(`${path} is not a number`, `${path} = ${JSON.stringify(v)}`);
    if (TOTAL_RATES.has(k)) {
      if (!Number.isFinite(v) || v < 0) throw new Broken(`${path} is not a finite rate >= 0`, `${path} = ${v}`);
    } else count(v, path);
  }
}

function sum(a, f) {
  let s = 0;
  for (const x of a) s += f(x);
  return s;
}

/** The same count two ways: each request ends one way, every list of peers covers all of them. */
function wholes(r, monitor) {
  const t = r.totals;
  const commands = t['commands'];
  const same = (name, a, b) => {
    if (a !== b) throw new Broken(`${name} differ`, `${a} != ${b}`);
  };
  const part = (name, value, whole) => {
    if (value > whole) throw new Broken(`${name} above its whole`, `${value} > ${whole}`);
  };
  same('totals.commands and replies + unanswered + noreply', commands, t['replies'] + t['unanswered'] + t['noreply']);
  // The commands list is cut at max(--top, 1000) rows; clients and servers are never cut.
  if (r.commands.length < 1000) same('totals.commands and the sum of commands[].count', commands, sum(r.commands, (c) => c.count));
  else part('sum of commands[].count', sum(r.commands, (c) => c.count), commands);
  same('totals.commands and the sum of clients[].commands', commands, sum(r.clients, (c) => c.commands));
  same('totals.commands and the sum of servers[].commands', commands, sum(r.servers, (c) => c.commands));
  same('totals.connections and the sum of clients[].connections', t['connections'], sum(r.clients, (c) => c.connections));
  same('totals.connections and the sum of servers[].connections', t['connections'], sum(r.servers, (c) => c.connections));
  same('totals.replies and the latency histogram count', t['replies'], sum(r.latencyUs.histogram, (b) => b.count));
  part('sum of the timeline', sum(r.timeline.perSecond ?? r.timeline.counts ?? [], (n) => n), commands);
  part('totals.slowRequests', t['slowRequests'], commands);
  // "Every error reply is counted by its first word ... in total, per command and per server" (README).
  const errors = t['errors'];
  same('totals.errors and the sum of totals.errorsByCode', errors, sum(Object.values(t['errorsByCode'] ?? {}), (n) => n));
  same('totals.errors and the sum of servers[].errors', errors, sum(r.servers, (x) => x.errors));
  part('sum of commands[].errors', sum(r.commands, (c) => c.errors), errors);
  for (const c of r.commands) {
    part('commands[].unanswered', c.unanswered, c.count);
    part('commands[].blocking', c.blocking, c.count);
  }
  if (monitor !== null) {
    // With --proxy-port the totals count the client hop; MONITOR lines come from both hops.
    const backend = (r.hops ?? []).find((h) => h.hop === 'backend')?.commandCount ?? 0;
    same('MONITOR request lines and the commands counted (both hops)', monitor.requests, commands + backend);
    same('requests completed and requests decoded', monitor.completes, monitor.requests);
  }
  if (r.span.startTs !== null && r.span.endTs !== null && r.span.startTs > r.span.endTs) throw new Broken('span starts after it ends', JSON.stringify(r.span));
}

export function checkReport(r, monitor = null) {
  try {
    totals(r.totals);
    walk(r, '', '', '');
    wholes(r, monitor);
    return null;
  } catch (e) {
    if (e instanceof Broken) return { name: e.message, detail: e.detail };
    throw e;
  }
}

/** The first path where two JSON values differ, or null. */
export function diffPath(a, b, path = '') {
  if (a === b) return null;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return path || '(root)';
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = diffPath(a[k], b[k], Array.isArray(a) ? `${path}[${k}]` : path === '' ? k : `${path}.${k}`);
    if (d !== null) return d;
  }
  return null;
}

export { isCount };
