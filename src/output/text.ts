import type { Skew } from '../analysis/peer-stats.js';
import { errorsByCodeOf, type Report } from './report.js';
import { ANSI, PLAIN, bar, bytes, cut, cutCommand, dur, num, pct, rate, sparkline, table, type Style } from './text-format.js';

export interface TextOptions {
  color: boolean;
  top: number;
}

/** A peer is marked when it carries more than twice its fair share of commands. */
const SKEW_MARK = 2;

/** The human report, in the spirit of redis-faina: one section per question an operator asks. */
export function renderText(r: Report, o: TextOptions): string {
  const s = o.color ? ANSI : PLAIN;
  const out: string[] = [];
  header(r, s, out);
  overall(r, s, out);
  latencyHistogram(r, s, out);
  commands(r, s, out, o.top);
  errorCodes(r, s, out, o.top);
  keys(r, s, out);
  bigValues(r, s, out);
  slow(r, s, out);
  replication(r, s, out);
  cluster(r, s, out);
  hops(r, s, out);
  peers(r, s, out);
  problems(r, s, out);
  return out.join('\n') + '\n';
}

function section(title: string, s: Style, out: string[]): void {
  out.push('', s.bold(title));
}

function isoTime(ts: number | null): string {
  return ts === null ? '-' : new Date(ts * 1000).toISOString().replace('T', ' ').replace('Z', '');
}

function header(r: Report, s: Style, out: string[]): void {
  const src = r.source;
  const cpu = src.cpuPriority === undefined ? '' : `, ${src.cpuPriority} CPU priority`;
  out.push(s.bold(`redis-tap report: ${src.name}`) + s.dim(` (${src.format}, port${src.ports.length > 1 ? 's' : ''} ${src.ports.join(', ')}${cpu})`));
  out.push(`  span     ${isoTime(r.span.startTs)} UTC, ${r.span.seconds.toFixed(3)} s`);
}

function overall(r: Report, s: Style, out: string[]): void {
  const t = r.totals;
  const n = (k: string) => num(t[k] ?? 0);
  section('Overall', s, out);
  out.push(`  packets  ${n('packets')} (${bytes(t['bytes'] ?? 0)})   connections ${n('connections')}   commands ${n('commands')} (${rate(t['commandsPerSec'] ?? 0)}/s)`);
  out.push(`  replies  ${n('replies')}   errors ${n('errors')}   unanswered ${n('unanswered')}   no-reply ${n('noreply')}   slow ${n('slowRequests')}`);
  out.push(`  unpaired pushes ${n('pushes')}   pub/sub messages ${n('pubsubMessages')}   MONITOR lines ${n('monitorLines')}   unexpected ${n('unexpectedReplies')}`);
  const lost = `  losses   gaps ${n('gaps')} (${bytes(t['gapBytes'] ?? 0)})   kernel drops ${t['kernelDrops'] == null ? 'n/a' : n('kernelDrops')}   shed ${n('shedFrames')}   violations ${n('violations')}   unparsed ${bytes(t['unparsedBytes'] ?? 0)}   truncated records ${n('truncatedRecords')}`;
  const anyLoss = ['gaps', 'violations', 'unparsedBytes', 'truncatedRecords', 'kernelDrops', 'shedFrames'].some((k) => (t[k] ?? 0) > 0);
  out.push(anyLoss ? s.warn(lost) : lost);
  const tl = r.timeline;
  if (tl.counts.length > 1) {
    const w = tl.bucketSeconds;
    // Past an hour the buckets are wider than a second: the peak is the busiest bucket's mean.
    const max = tl.counts.reduce((m, n) => Math.max(m, n), 0) / w;
    out.push(`  cmds/s   ${sparkline(tl.counts, 60)}  peak ${w > 1 ? rate(max) : num(max)}/s over ${num(tl.counts.length * w)} s${w > 1 ? ` (${w} s buckets)` : ''}`);
  }
}

function latencyHistogram(r: Report, s: Style, out: string[]): void {
  const l = r.latencyUs;
  section('Latency (answered requests: first reply packet - last request packet)', s, out);
  out.push(`  p50 ${dur(l.p50)}   p90 ${dur(l.p90)}   p99 ${dur(l.p99)}   p99.9 ${dur(l.p999)}   max ${dur(l.max)}   mean ${dur(l.mean)}`);
  const rows = l.histogram.filter((b) => b.count > 0);
  const max = Math.max(0, ...rows.map((b) => b.count));
  let low = 0;
  for (const b of l.histogram) {
    const label = b.leUs === Infinity || b.leUs === null ? `>= ${dur(low)}` : `< ${dur(b.leUs)}`;
    if (b.count > 0) out.push(`  ${label.padStart(10)} ${num(b.count).padStart(10)} ${bar(b.count, max, 40)}`);
    low = b.leUs;
  }
}

function commands(r: Report, s: Style, out: string[], top: number): void {
  section('Commands', s, out);
  // A command none of whose requests was answered has no latency (not 0 us).
  const time = (c: Report['commands'][number], us: number) => (c.count > c.unanswered ? dur(us) : '-');
  const rows = r.commands.slice(0, top).map((c) => [
    c.name, num(c.count), pct(c.share), rate(c.perSec), num(c.errors), time(c, c.latencyUs.p50), time(c, c.latencyUs.p99), time(c, c.latencyUs.max),
    bytes(c.requestBytes), bytes(c.replyBytes), c.blocking > 0 ? 'blocking' : Object.keys(c.subcommands).slice(0, 3).join(','),
  ]);
  const cols = ['command', 'count', 'share', '/s', 'errors', 'p50', 'p99', 'max', 'req bytes', 'reply bytes', 'detail'];
  out.push(...table(cols.map((t, i) => ({ title: t, right: i > 0 && i < 10 })), rows, s));
  if (r.commands.length > top) out.push(s.dim(`  ... ${r.commands.length - top} more commands`));
}

/** Commands named in a row of errors by code. */
const ERROR_COMMANDS = 4;

function errorCodes(r: Report, s: Style, out: string[], top: number): void {
  const codes = Object.entries(errorsByCodeOf(r));
  if (codes.length === 0) return;
  section('Errors by code (inside EXEC and script replies included)', s, out);
  const rows = codes.slice(0, top).map(([code, n]) => {
    const by = r.commands.filter((c) => (c.errorsByCode[code] ?? 0) > 0).sort((a, b) => b.errorsByCode[code]! - a.errorsByCode[code]!);
    const shown = by.slice(0, ERROR_COMMANDS).map((c) => `${c.name} ${num(c.errorsByCode[code]!)}`);
    // The commands left out, and their errors: the row still adds up to the code's count.
    const rest = by.slice(ERROR_COMMANDS);
    if (rest.length > 0) shown.push(`... ${rest.length} more commands: ${num(rest.reduce((m, c) => m + c.errorsByCode[code]!, 0))}`);
    return [code, num(n), shown.join(', ')];
  });
  out.push(...table([{ title: 'code' }, { title: 'count', right: true }, { title: 'commands' }], rows, s));
  if (codes.length > top) out.push(s.dim(`  ... ${codes.length - top} more codes`));
}

function keys(r: Report, s: Style, out: string[]): void {
  const note = r.hotKeysExact ? 'exact' : `Space-Saving estimate, each count at most ${num(r.hotKeysErrorBound)} high`;
  section(`Hot keys by count (${note})`, s, out);
  out.push(...table([{ title: 'key' }, { title: 'count', right: true }, { title: 'bytes', right: true }],
    r.hotKeys.map((k) => [cut(k.key, 60), num(k.count), bytes(k.bytes)]), s));
  section('Hot keys by bytes', s, out);
  out.push(...table([{ title: 'key' }, { title: 'bytes', right: true }, { title: 'count', right: true }],
    r.hotKeysByBytes.map((k) => [cut(k.key, 60), bytes(k.bytes), num(k.count)]), s));
  section('Key prefixes (up to the first ":")', s, out);
  out.push(...table([{ title: 'prefix' }, { title: 'count', right: true }, { title: 'bytes', right: true }],
    r.prefixes.map((p) => [cut(p.prefix, 60), num(p.count), bytes(p.bytes)]), s));
}

function bigValues(r: Report, s: Style, out: string[]): void {
  section('Big values (largest sent and returned, per key)', s, out);
  out.push(...table([{ title: 'key' }, { title: 'bytes', right: true }, { title: 'command' }, { title: 'direction' }, { title: 'client' }],
    r.bigKeys.map((b) => [cut(b.key, 50), bytes(b.bytes), b.command, b.direction, b.client]), s));
}

function slow(r: Report, s: Style, out: string[]): void {
  section(`Slow requests (${num(r.totals['slowRequests'] ?? 0)} at or above the threshold; blocking commands marked)`, s, out);
  out.push(...table(
    [{ title: 'time (UTC)' }, { title: 'client' }, { title: 'latency', right: true }, { title: 'kind' }, { title: 'command' }],
    r.slow.map((x) => [isoTime(x.ts).slice(11), x.client, dur(x.latencyUs), x.blocking ? 'blocking' : 'slow', cutCommand(x.command, 70)]),
    s,
  ));
}

function replication(r: Report, s: Style, out: string[]): void {
  const l = r.replication;
  if (l.links === 0) return;
  section('Replication (links to replicas: counted apart from client commands)', s, out);
  const missing = l.missingRdbBytes > 0 ? ` (${bytes(l.missingRdbBytes)} of it not captured)` : '';
  out.push(`  links ${num(l.links)}   RDB transfers ${num(l.rdbTransfers)} (${bytes(l.rdbBytes)}${missing})   propagated commands ${num(l.commands.reduce((n, c) => n + c.count, 0))} (${bytes(l.streamBytes)})   acks ${num(l.acks)}`);
  if (l.commands.length > 0) out.push('  propagated  ' + l.commands.slice(0, 8).map((c) => `${c.name} ${num(c.count)}`).join(', '));
  if (l.hotKeys.length > 0) out.push('  keys written  ' + l.hotKeys.slice(0, 5).map((k) => `${cut(k.key, 40)} ${num(k.count)}`).join(', '));
}

function cluster(r: Report, s: Style, out: string[]): void {
  if (!r.cluster || r.hotSlots.length === 0) return;
  section('Cluster: hot hash slots (CRC16 of the key or its {hashtag}, mod 16384)', s, out);
  out.push('  ' + r.hotSlots.slice(0, 10).map((x) => `${x.slot} ${num(x.count)}`).join(', '));
  for (const n of r.hotKeysByNode.slice(0, 16)) {
    out.push(`  ${n.server}  ` + n.hotKeys.slice(0, 5).map((k) => `${cut(k.key, 30)} ${num(k.count)}`).join(', '));
  }
}

function hops(r: Report, s: Style, out: string[]): void {
  if (r.hops.length === 0) return;
  section('Proxy hops (each command counted once per hop; the totals above are the client hop)', s, out);
  out.push(...table(
    [{ title: 'hop' }, { title: 'ports' }, { title: 'conns', right: true }, { title: 'commands', right: true }, { title: 'errors', right: true }, { title: 'hot keys' }],
    r.hops.map((h) => [h.hop, h.ports.join(','), num(h.connections), num(h.commandCount), num(h.errors), h.hotKeys.slice(0, 3).map((k) => `${cut(k.key, 24)} ${num(k.count)}`).join(', ')]),
    s,
  ));
}

function skewLine(name: string, k: Skew | null, s: Style): string {
  if (k === null) return `  ${name}: none`;
  const text = `  ${name}: ${num(k.peers)}, busiest ${k.busiest} carries ${pct(k.share)} of commands, ${k.maxOverMean.toFixed(1)}x the mean`;
  return k.peers > 1 && k.maxOverMean >= SKEW_MARK ? s.warn(text + '  <- skew') : text;
}

interface PeerLike { commands: number; share: number; connections: number; errors: number; meanLatencyUs: number }

/**
 * One table of peers: a name column, `extra` columns (before the share bar, which stays last),
 * and a skew mark on rows carrying more than twice their fair share among `of` peers.
 */
function peerTable<T extends PeerLike>(title: string, rows: T[], of: number, name: (x: T) => string, s: Style, extra: Array<[string, (x: T) => string]> = []): string[] {
  const m = rows.reduce((mx, x) => Math.max(mx, x.share), 0);
  const fair = of > 1 ? SKEW_MARK / of : Infinity;
  const cols = [{ title }, ...['commands', 'share', 'conns', 'errors', 'mean lat'].map((t) => ({ title: t, right: true })), ...extra.map(([t]) => ({ title: t })), { title: '' }];
  const cells = rows.map((x) => [name(x), num(x.commands), pct(x.share), num(x.connections), num(x.errors), dur(x.meanLatencyUs), ...extra.map(([, f]) => f(x)), bar(x.share, m, 20)]);
  return table(cols, cells, s, rows.map((x) => x.share > fair));
}

function peers(r: Report, s: Style, out: string[]): void {
  section('Clients (by IP)', s, out);
  out.push(...peerTable('client ip', r.clients.slice(0, 20), r.clients.length, (c) => c.ip, s));
  // By application only when something names them: otherwise it repeats the IPs.
  if (r.apps.some((a) => a.source !== 'ip')) {
    section('Clients by application (the name a connection gives itself, else --clients, reverse DNS with --resolve, else its IP)', s, out);
    out.push(...peerTable('application', r.apps.slice(0, 20), r.apps.length, (a) => cut(a.name, 40), s,
      [['ips', (a) => cut(a.ips.join(','), 40)], ['library', (a) => cut(a.libs.join(','), 30)]]));
  }
  section('Servers', s, out);
  out.push(...peerTable('endpoint', r.servers, r.servers.length, (x) => x.endpoint, s));
  section('Busiest connections', s, out);
  const conns = r.connections.slice(0, 10);
  const named = conns.some((c) => c.name !== null);
  out.push(...peerTable('connection', conns, r.totals['connections'] ?? 0, (c) => c.connection, s, named ? [['name', (c) => cut(c.name ?? '', 30)]] : []));
  section('Skew', s, out);
  out.push(skewLine('client IPs', r.skew.clients, s));
  if (r.apps.some((a) => a.source !== 'ip')) out.push(skewLine('applications', r.skew.apps, s));
  out.push(skewLine('connections', r.skew.connections, s), skewLine('servers', r.skew.servers, s));
}

function problems(r: Report, s: Style, out: string[]): void {
  if (r.warnings.length === 0 && r.violations.length === 0) return;
  section('Warnings', s, out);
  for (const w of r.warnings) out.push(s.warn(`  ${w}`));
  for (const v of r.violations) out.push(s.warn(`  protocol violation in ${v.direction}s of ${v.connection} at byte ${v.offset}: ${v.reason}`));
}
