/** The header (what is watched, totals, rates now, the commands/s sparkline) and the footer. */

import { errorsByCodeOf, type Report } from '../report.js';
import { bytes, cut, num, rate, sparkline } from '../text-format.js';
import { displayText } from '../strings.js';
import { esc, narrow } from './fit.js';
import type { Rates } from './rates.js';
import type { ViewState } from './state.js';

export interface HeaderInput {
  title: string;
  report: Report;
  rates: Rates;
  /** Commands/s per refresh, oldest first. */
  history: readonly number[];
  elapsedMs: number;
  openConnections: number;
  paused: boolean;
  width: number;
}

/** 3725000 ms -> "1:02:05". */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${Math.floor(s / 3600)}:${mm}:${ss}`;
}

/** Two tagged lines of at most `width` characters. */
export function headerLines(h: HeaderInput): string[] {
  const t = h.report.totals;
  const drops = t['kernelDrops'];
  const name = 'redis-tap ';
  const base = [
    `up ${elapsed(h.elapsedMs)}`, `packets ${num(t['packets'] ?? 0)}`, `drops ${drops === null || drops === undefined ? 'n/a' : num(drops)}`,
    `gaps ${num(t['gaps'] ?? 0)}`, `conns ${num(h.openConnections)}`,
  ];
  // Replication and error codes only where they fit beside the facts that always show.
  const wide = [...base, ...deploymentFacts(h.report)].join('  ');
  const facts = name.length + wide.length + (h.paused ? 8 : 0) <= h.width ? wide : base.join('  ');
  const paused = h.paused ? ' PAUSED ' : '';
  // The title gives way first: the facts and PAUSED always show.
  const titleRoom = h.width - name.length - facts.length - paused.length - 2;
  const title = titleRoom >= 4 ? cut(narrow(displayText(h.title)), titleRoom) : '';
  const gap = ' '.repeat(Math.max(1, h.width - name.length - title.length - paused.length - facts.length));
  const lossy = (drops ?? 0) > 0 || (t['gaps'] ?? 0) > 0;
  const line1 = `{bold}${name}{/bold}${esc(title)}${paused ? '{black-fg}{yellow-bg}' + paused + '{/yellow-bg}{/black-fg}' : ''}` +
    gap + (lossy ? `{yellow-fg}${esc(facts)}{/yellow-fg}` : esc(facts));
  return [clip(line1, h.width, name + title + paused + gap + facts), rateLine(h)];
}

/** Replication links and the commonest error codes, when there are any. */
function deploymentFacts(r: Report): string[] {
  const facts: string[] = [];
  const l = r.replication;
  if (l.links > 0) facts.push(`repl ${num(l.links)} (${num(l.commands.reduce((n, c) => n + c.count, 0))} propagated)`);
  const codes = Object.entries(errorsByCodeOf(r)).slice(0, 2);
  if (codes.length > 0) facts.push('err ' + codes.map(([code, n]) => `${code} ${num(n)}`).join(' '));
  return facts;
}

/** Cuts a tagged line whose visible text is `visible` when it is wider than the screen. */
function clip(tagged: string, width: number, visible: string): string {
  return visible.length <= width ? tagged : esc(cut(visible, width));
}

function rateLine(h: HeaderInput): string {
  const head = `cmd/s ${rate(h.rates.commands)}  bytes/s ${bytes(Math.round(h.rates.bytes))}  `;
  const room = h.width - head.length - 14;
  if (room < 4 || h.history.length === 0) return `{bold}${esc(cut(head.trimEnd(), Math.max(0, h.width)))}{/bold}`;
  const recent = h.history.slice(-room);
  const peak = Math.max(...recent);
  return `{bold}${esc(head)}{/bold}{green-fg}${sparkline(recent, room)}{/green-fg} ${esc(`peak ${num(peak)}`)}`;
}

const HINTS = 'q quit  p pause  tab pane  s sort  b bytes  ↑↓ select  / filter  c clear  ? help';

/** The bottom line: the filter prompt while typing, otherwise the active filter and the key hints. */
export function footerLine(state: ViewState, width: number, error: string | null): string {
  if (state.prompt !== null) {
    const text = `filter (command or key prefix, empty clears): ${state.prompt}`;
    return `{yellow-fg}${esc(cut(text, Math.max(1, width - 1)))}{/yellow-fg}{inverse} {/inverse}`;
  }
  if (error !== null) return `{red-fg}${esc(cut(error, width))}{/red-fg}`;
  const filter = state.filter === '' ? '' : `filter ${state.filter}  `;
  return `{yellow-fg}${esc(filter)}{/yellow-fg}{gray-fg}${esc(cut(HINTS, Math.max(0, width - filter.length)))}{/gray-fg}`;
}
