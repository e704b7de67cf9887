/** The slow requests pane and the latency pane. */

import type { Report } from '../report.js';
import { bar, dur, num, pct } from '../text-format.js';
import { dataRows, esc, fitTable, fitTo, narrow, titled, type FitColumn } from './fit.js';
import { filterKind, type PaneContext, type PaneText } from './panes.js';

type SlowRow = Report['slow'][number];

/** Below this inner width the slow pane drops the time and the port, and marks blocking with `*`. */
const SLOW_WIDE = 60;

function utcTime(ts: number): string {
  const d = new Date(ts * 1000);
  return Number.isFinite(d.getTime()) ? d.toISOString().slice(11, 23) : '?'; // a damaged capture's timestamp
}

/** Whether a request line matches the filter: its command name, or an argument under the key prefix. */
function slowMatches(s: SlowRow, filter: string, kind: ReturnType<typeof filterKind>): boolean {
  if (kind === 'none') return true;
  const words = s.command.split(' ');
  if (kind === 'command') return words[0]!.toUpperCase() === filter.toUpperCase();
  // Arguments with blanks or quotes are shown JSON-quoted; compare from after the quote.
  return words.slice(1).some((w) => (w.startsWith('"') ? w.slice(1) : w).startsWith(filter));
}

export function slowPane(ctx: PaneContext): PaneText {
  const { report: r, state, width, height } = ctx;
  const kind = filterKind(state.filter, r);
  const rows = r.slow.filter((s) => slowMatches(s, state.filter, kind));
  rows.sort(state.slowSort === 'latency' ? (a, b) => b.latencyUs - a.latencyUs || b.ts - a.ts : (a, b) => b.ts - a.ts);
  const wide = width >= SLOW_WIDE;
  const filter = kind === 'none' ? '' : kind === 'command' ? state.filter.toUpperCase() : state.filter + '*';
  const label = ['Slow requests', `${state.slowSort === 'latency' ? 'slowest' : 'newest'} first`, filter, wide ? '' : '* blocking', `${num(r.totals['slowRequests'] ?? 0)} in all`];
  if (rows.length === 0) return { label, lines: ['{gray-fg}' + esc(fitTo('none yet', width).trimEnd()) + '{/gray-fg}'] };
  const shown = rows.slice(0, dataRows(height));
  const cols: FitColumn[] = wide
    ? [{ title: 'time (UTC)', drop: 1 }, { title: 'client', drop: 2 }, { title: 'latency', right: true }, { title: 'kind', drop: 3 }, { title: 'command', flex: true, min: 24 }]
    : [{ title: 'latency', right: true }, { title: 'client', drop: 1 }, { title: 'command', flex: true, min: 16 }];
  const cells = shown.map((s) =>
    wide
      ? [utcTime(s.ts), s.client, dur(s.latencyUs), s.blocking ? 'blocking' : 'slow', narrow(s.command)]
      : [dur(s.latencyUs) + (s.blocking ? '*' : ' '), s.client.replace(/:\d+$/, ''), narrow(s.command)]);
  const table = fitTable(cols, cells, width);
  const lines = table.map((l, i) => (i === 0 ? `{bold}${esc(l)}{/bold}` : shown[i - 1]!.blocking ? `{cyan-fg}${esc(l)}{/cyan-fg}` : esc(l)));
  return { label, lines: titled(lines, height) };
}

/** The command the latency pane is about: the selection, else a command filter, else none (all). */
function latencyCommand(ctx: PaneContext): Report['commands'][number] | undefined {
  const { report: r, state } = ctx;
  const name = state.selected ?? (filterKind(state.filter, r) === 'command' ? state.filter.toUpperCase() : null);
  return name === null ? undefined : r.commands.find((c) => c.name.toUpperCase() === name.toUpperCase());
}

/** `label  value  bar` lines; the bar takes what is left of the width. */
function barRows(rows: ReadonlyArray<[string, string, number]>, width: number): string[] {
  const lw = Math.max(0, ...rows.map(([l]) => l.length));
  const vw = Math.max(0, ...rows.map(([, v]) => v.length));
  const max = Math.max(0, ...rows.map(([, , n]) => n));
  const barWidth = width - lw - vw - 2;
  return rows.map(([l, v, n]) => esc(fitTo(`${l.padStart(lw)} ${v.padStart(vw)}${barWidth > 0 ? ' ' + bar(n, max, barWidth) : ''}`, width).trimEnd()));
}

/** Histogram rows from the first to the last non-empty bucket; a tail that does not fit is summed into one `>=` row. */
function histogramRows(h: Report['latencyUs']['histogram'], room: number): Array<[string, string, number]> {
  const firstUsed = h.findIndex((b) => b.count > 0);
  if (firstUsed < 0 || room <= 0) return [];
  let lastUsed = h.length - 1;
  while (h[lastUsed]!.count === 0) lastUsed--;
  const lows = h.map((_, i) => (i === 0 ? 0 : h[i - 1]!.leUs));
  const rows: Array<[string, string, number]> = [];
  for (let i = firstUsed; i <= lastUsed; i++) {
    const b = h[i]!;
    if (rows.length === room - 1 && i < lastUsed) {
      let rest = 0;
      for (let j = i; j <= lastUsed; j++) rest += h[j]!.count;
      rows.push([`>= ${dur(lows[i]!)}`, num(rest), rest]);
      break;
    }
    rows.push([b.leUs === Infinity || b.leUs === null ? `>= ${dur(lows[i]!)}` : `< ${dur(b.leUs)}`, num(b.count), b.count]);
  }
  return rows;
}

export function latencyPane(ctx: PaneContext): PaneText {
  const { report: r, width, height } = ctx;
  const cmd = latencyCommand(ctx);
  if (cmd !== undefined) {
    const l = cmd.latencyUs;
    const label = ['Latency', narrow(cmd.name)];
    const head = `${num(cmd.count)} requests · ${pct(cmd.share)} · mean ${dur(l.mean)}`;
    const rows: Array<[string, string, number]> = [['p50', dur(l.p50), l.p50], ['p90', dur(l.p90), l.p90], ['p99', dur(l.p99), l.p99], ['p99.9', dur(l.p999), l.p999], ['max', dur(l.max), l.max]];
    return { label, lines: [esc(fitTo(head, width).trimEnd()), ...barRows(rows, width)].slice(0, height) };
  }
  const l = r.latencyUs;
  const label = ['Latency', 'all commands'];
  const full = `p50 ${dur(l.p50)}  p90 ${dur(l.p90)}  p99 ${dur(l.p99)}  p99.9 ${dur(l.p999)}  max ${dur(l.max)}`;
  const head = full.length <= width ? full : `p50 ${dur(l.p50)}  p99 ${dur(l.p99)}  max ${dur(l.max)}`;
  const rows = histogramRows(l.histogram, height - 1);
  if (rows.length === 0) return { label, lines: ['{gray-fg}' + esc(fitTo('no answered requests yet', width).trimEnd()) + '{/gray-fg}'] };
  return { label, lines: [`{bold}${esc(fitTo(head, width).trimEnd())}{/bold}`, ...barRows(rows, width)].slice(0, height) };
}
