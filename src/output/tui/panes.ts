/** The commands, hot keys and clients panes as tagged text lines, from one report and its rates. */

import { COMMAND_TABLE } from '../../analysis/command-table.generated.js';
import type { Report } from '../report.js';
import { bar, bytes, dur, num, pct, rate } from '../text-format.js';
import { dataRows, esc, fitTable, fitTo, narrow, titled, type FitColumn } from './fit.js';
import type { Rates } from './rates.js';
import type { ViewState } from './state.js';

/** What a pane is drawn from; `width` and `height` are inside the border. */
export interface PaneContext {
  report: Report;
  rates: Rates;
  state: ViewState;
  width: number;
  height: number;
}

export interface PaneText {
  /** Border label parts, most important first (plain text): see labelText. */
  label: string[];
  /** At most `height` lines of at most `width` characters (tagged). */
  lines: string[];
}

export type FilterKind = 'none' | 'command' | 'key';

/** A filter naming a Redis command (known, or seen in this report) filters by command; anything else is a key prefix. */
export function filterKind(filter: string, r: Report): FilterKind {
  if (filter === '') return 'none';
  const upper = filter.toUpperCase();
  if (Object.hasOwn(COMMAND_TABLE, filter.toLowerCase()) || r.commands.some((c) => c.name.toUpperCase() === upper)) return 'command';
  return 'key';
}

/** A peer carries more than its fair share when it has over twice the mean (as in the text report). */
const SKEW_MARK = 2;

type CommandRow = Report['commands'][number];

/** The commands pane's rows, sorted and filtered as shown. */
export function commandRows(r: Report, state: ViewState): CommandRow[] {
  let rows = r.commands;
  if (filterKind(state.filter, r) === 'command') rows = rows.filter((c) => c.name.toUpperCase() === state.filter.toUpperCase());
  const by = state.commandSort;
  const key = (c: CommandRow) => (by === 'p99' ? c.latencyUs.p99 : by === 'errors' ? c.errors : c.count);
  return [...rows].sort((a, b) => key(b) - key(a) || b.count - a.count || (a.name < b.name ? -1 : 1));
}

/** Rows `first..first+visible` of `total`, scrolled so that row `keep` (or the top) is in view. */
function scrollWindow(total: number, visible: number, keep: number): [number, number] {
  const first = keep < visible ? 0 : keep - visible + 1;
  return [first, Math.min(total, first + Math.max(0, visible))];
}

function emptyLine(text: string, width: number): string[] {
  return ['{gray-fg}' + esc(fitTo(text, width).trimEnd()) + '{/gray-fg}'];
}

/** First line bold (column titles), the rest escaped; `mark(i)` wraps data row i in a tag. */
function tagTable(lines: readonly string[], mark: (i: number) => string | null = () => null): string[] {
  return lines.map((l, i) => {
    if (i === 0) return `{bold}${esc(l)}{/bold}`;
    const tag = mark(i - 1);
    return tag === null ? esc(l) : `{${tag}}${esc(l)}{/${tag}}`;
  });
}

export function commandsPane(ctx: PaneContext): PaneText {
  const { report: r, rates, state, width, height } = ctx;
  const rows = commandRows(r, state);
  const filter = filterKind(state.filter, r) === 'command' ? state.filter.toUpperCase() : '';
  const label = ['Commands', `by ${state.commandSort}`, filter, `${num(r.commands.length)} kinds`];
  if (rows.length === 0) return { label, lines: emptyLine(filter ? `no ${state.filter.toUpperCase()} commands` : 'no commands yet', width) };
  const sel = state.selected === null ? -1 : rows.findIndex((c) => c.name === state.selected);
  const [first, end] = scrollWindow(rows.length, dataRows(height), sel);
  const shown = rows.slice(first, end);
  const cols: FitColumn[] = [
    { title: 'command', flex: true }, { title: 'count', right: true }, { title: 'share', right: true, drop: 2 },
    { title: 'cmd/s', right: true }, { title: 'p50', right: true, drop: 3 }, { title: 'p99', right: true },
    { title: 'max', right: true, drop: 4 }, { title: 'errors', right: true, drop: 1 },
    { title: 'unanswered', right: true, drop: 5 }, { title: 'req bytes', right: true, drop: 6 }, { title: 'reply bytes', right: true, drop: 6 },
  ];
  const cells = shown.map((c) => [
    narrow(c.name), num(c.count), pct(c.share), rate(rates.perCommand.get(c.name) ?? 0), dur(c.latencyUs.p50), dur(c.latencyUs.p99),
    dur(c.latencyUs.max), num(c.errors), num(c.unanswered), bytes(c.requestBytes), bytes(c.replyBytes),
  ]);
  const lines = tagTable(fitTable(cols, cells, width), (i) => (first + i === sel ? 'inverse' : shown[i]!.errors > 0 ? 'red-fg' : null));
  return { label, lines: titled(lines, height) };
}

type KeyRow = Report['hotKeys'][number];

function hotKeyTable(r: Report, state: ViewState, width: number, height: number): string[] {
  const byBytes = state.keySort === 'bytes';
  let keys: KeyRow[] = byBytes ? r.hotKeysByBytes : r.hotKeys;
  if (filterKind(state.filter, r) === 'key') keys = keys.filter((k) => k.key.startsWith(state.filter));
  if (keys.length === 0) return emptyLine(state.filter && filterKind(state.filter, r) === 'key' ? `no keys under ${state.filter}` : 'no keys yet', width);
  const shown = keys.slice(0, dataRows(height));
  const count: FitColumn = { title: 'count', right: true, drop: byBytes ? 1 : 0 };
  const size: FitColumn = { title: 'bytes', right: true, drop: byBytes ? 0 : 1 };
  const cols: FitColumn[] = [{ title: 'key', flex: true, min: 12 }, ...(byBytes ? [size, count] : [count, size])];
  const cells = shown.map((k) => [narrow(k.key), ...(byBytes ? [bytes(k.bytes), num(k.count)] : [num(k.count), bytes(k.bytes)])]);
  return titled(tagTable(fitTable(cols, cells, width)), height);
}

function prefixTable(r: Report, state: ViewState, width: number, height: number): string[] {
  let prefixes = r.prefixes;
  const f = state.filter;
  if (filterKind(f, r) === 'key') prefixes = prefixes.filter((p) => p.prefix.startsWith(f) || f.startsWith(p.prefix));
  if (state.keySort === 'bytes') prefixes = [...prefixes].sort((a, b) => b.bytes - a.bytes);
  if (prefixes.length === 0) return emptyLine('no prefixes', width);
  const metric = state.keySort === 'bytes' ? (p: { bytes: number }) => bytes(p.bytes) : (p: { count: number }) => num(p.count);
  const cells = prefixes.slice(0, dataRows(height)).map((p) => [narrow(p.prefix), metric(p)]);
  return titled(tagTable(fitTable([{ title: 'prefix', flex: true, min: 6 }, { title: state.keySort, right: true }], cells, width)), height);
}

/** Hot keys, with the key prefixes beside them when the pane is wide enough. */
export function keysPane(ctx: PaneContext): PaneText {
  const { report: r, state, width, height } = ctx;
  const filter = filterKind(state.filter, r) === 'key' ? `${state.filter}*` : '';
  const label = ['Hot keys', `by ${state.keySort}`, filter, r.hotKeysExact ? '' : `estimates, ±${num(r.hotKeysErrorBound)}`];
  const sep = ' │ ';
  if (width < 36) return { label, lines: hotKeyTable(r, state, width, height) };
  // The hot keys get up to 58% of the width; the prefixes get whatever that table leaves.
  const a = hotKeyTable(r, state, Math.floor(width * 0.58), height);
  const left = Math.max(0, ...a.map(visibleLength));
  const b = prefixTable(r, state, width - left - sep.length, height);
  const lines: string[] = [];
  for (let i = 0; i < Math.min(height, Math.max(a.length, b.length)); i++) {
    lines.push(padTagged(a[i] ?? '', left) + `{gray-fg}${sep}{/gray-fg}` + (b[i] ?? ''));
  }
  return { label, lines };
}

/** Characters a tagged line shows: tags take none, {open} and {close} one each. */
function visibleLength(line: string): number {
  return line.replace(/\{\/?[a-z-]+\}/g, (t) => (t === '{open}' || t === '{close}' ? 'x' : '')).length;
}

/** Pads a tagged line to `width` visible characters. */
function padTagged(line: string, width: number): string {
  return line + ' '.repeat(Math.max(0, width - visibleLength(line)));
}

interface PeerLine {
  id: string;
  connections: number;
  commands: number;
  share: number;
  errors: number;
  meanLatencyUs: number;
  perSec: number;
}

function sortPeers(list: PeerLine[], by: ViewState['clientSort']): PeerLine[] {
  return list.sort((a, b) =>
    by === 'connections'
      ? b.connections - a.connections || b.commands - a.commands
      : b.perSec - a.perSec || b.commands - a.commands || b.connections - a.connections);
}

/** Client IPs (and server endpoints when there are several), with a share bar so skew shows. */
export function clientsPane(ctx: PaneContext): PaneText {
  const { report: r, rates, state, width, height } = ctx;
  // By application (`a`): an application's rate is that of its IPs (exact unless IPs are shared).
  const byApp = state.clientView === 'app';
  const peers = byApp
    ? r.apps.map((a) => ({ ...a, id: a.name, perSec: a.ips.reduce((n, ip) => n + (rates.perClient.get(ip) ?? 0), 0) }))
    : r.clients.map((c) => ({ ...c, id: c.ip, perSec: rates.perClient.get(c.ip) ?? 0 }));
  const clients = sortPeers(peers, state.clientSort);
  const servers = r.servers.length > 1
    ? sortPeers(r.servers.map((s) => ({ ...s, id: s.endpoint, perSec: rates.perServer.get(s.endpoint) ?? 0 })), state.clientSort)
    : [];
  const skew = byApp ? r.skew.apps : r.skew.clients;
  const busiest = skew !== null && skew.peers > 1 ? `busiest ${skew.maxOverMean.toFixed(1)}x mean` : '';
  const count = byApp ? `${num(r.apps.length)} applications` : `${num(r.clients.length)} IPs`;
  const label = [byApp ? 'Applications' : 'Clients', `by ${state.clientSort}`, count, busiest, servers.length > 0 ? `${num(servers.length)} servers` : ''];
  if (clients.length === 0) return { label, lines: emptyLine('no clients yet', width) };
  const rowsLeft = dataRows(height);
  const serverRows = servers.length > 0 && rowsLeft >= 5 ? Math.min(servers.length, Math.floor(rowsLeft / 3)) : 0;
  const shownClients = clients.slice(0, rowsLeft - (serverRows > 0 ? serverRows + 1 : 0));
  const shownServers = servers.slice(0, serverRows);
  const all = [...shownClients, ...shownServers];
  const cols: FitColumn[] = [
    // Whole addresses before the optional columns: ip:port of IPv4 is at most 21 characters.
    { title: byApp ? 'application' : 'client', flex: true, min: 21 }, { title: 'conns', right: true, drop: 1 }, { title: 'cmd/s', right: true },
    { title: 'share', right: true }, { title: 'errors', right: true, drop: 3 }, { title: 'mean lat', right: true, drop: 2 },
  ];
  const cells = all.map((p) => [narrow(p.id), num(p.connections), rate(p.perSec), pct(p.share), num(p.errors), dur(p.meanLatencyUs)]);
  // Leave room for a bar of at least 6 cells after the numbers.
  const table = fitTable(cols, cells, Math.max(1, width - 7));
  const tableWidth = Math.max(...table.map((l) => l.length));
  const barWidth = width - tableWidth - 1;
  const maxShare = (list: PeerLine[]) => Math.max(0, ...list.map((p) => p.share));
  const lines = [`{bold}${esc(table[0]!)}{/bold}`];
  const fair = (n: number) => (n > 1 ? SKEW_MARK / n : Infinity);
  const row = (p: PeerLine, i: number, n: number, max: number) => {
    const text = esc(table[i + 1]!.padEnd(tableWidth)) + (barWidth > 0 ? ' ' + bar(p.share, max, barWidth) : '');
    return p.share > fair(n) ? `{yellow-fg}${text}{/yellow-fg}` : text;
  };
  shownClients.forEach((p, i) => lines.push(row(p, i, peers.length, maxShare(shownClients))));
  if (shownServers.length > 0) {
    lines.push(`{bold}${esc(fitTo('server', width).trimEnd())}{/bold}`);
    shownServers.forEach((p, i) => lines.push(row(p, shownClients.length + i, r.servers.length, maxShare(shownServers))));
  }
  return { label, lines: titled(lines, height).slice(0, height) };
}
