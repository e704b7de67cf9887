/** Fitting text into panes: tables that drop columns when narrow, padding, blessed tag escaping. */

import { cut } from '../text-format.js';

export interface FitColumn {
  title: string;
  /** Right-align (numbers). */
  right?: boolean;
  /** Takes the width left over (names, keys, command lines), cut with an ellipsis. */
  flex?: boolean;
  /** Narrowest a flexible column is cut to before other columns are dropped (default 8). */
  min?: number;
  /** Dropped when the table does not fit: the highest first; 0 or absent = never dropped; from 4 on, dropped before the gap narrows. */
  drop?: number;
}

const FLEX_MIN = 8;

function naturalWidths(cols: readonly FitColumn[], rows: readonly string[][]): number[] {
  return cols.map((c, i) => {
    let w = c.title.length;
    for (const r of rows) w = Math.max(w, (r[i] ?? '').length);
    return w;
  });
}

function need(active: readonly number[], cols: readonly FitColumn[], natural: readonly number[], gap: number): number {
  let sum = gap * Math.max(0, active.length - 1);
  for (const i of active) sum += cols[i]!.flex ? Math.min(natural[i]!, cols[i]!.min ?? FLEX_MIN) : natural[i]!;
  return sum;
}

/** Columns with a drop priority from here on are extras: dropped before the gap narrows to one blank. */
const EXTRA = 4;

/** Picks which columns to show, and the gap, so the table fits `width`. */
function chooseColumns(cols: readonly FitColumn[], natural: readonly number[], width: number): { active: number[]; gap: number } {
  const active = cols.map((_, i) => i);
  const dropOne = (min: number) => {
    let worst = -1;
    for (const i of active) {
      const d = cols[i]!.drop ?? 0;
      if (d >= min && (worst < 0 || d > (cols[worst]!.drop ?? 0))) worst = i;
    }
    if (worst >= 0) active.splice(active.indexOf(worst), 1);
    return worst >= 0;
  };
  for (;;) {
    if (need(active, cols, natural, 2) <= width) return { active, gap: 2 };
    if (dropOne(EXTRA)) continue;
    if (need(active, cols, natural, 1) <= width) return { active, gap: 1 };
    if (!dropOne(1)) return { active, gap: 1 };
  }
}

/**
 * Plain-text table lines (the first is the title line), at most `width` characters each:
 * low-priority columns are dropped and the flexible column is cut until it fits.
 */
export function fitTable(cols: readonly FitColumn[], rows: readonly string[][], width: number): string[] {
  if (width <= 0) return rows.map(() => '').concat('');
  const natural = naturalWidths(cols, rows);
  const { active, gap } = chooseColumns(cols, natural, width);
  const widths = natural.slice();
  const flex = active.find((i) => cols[i]!.flex);
  if (flex !== undefined) {
    let others = gap * (active.length - 1);
    for (const i of active) if (i !== flex) others += natural[i]!;
    widths[flex] = Math.max(1, Math.min(natural[flex]!, width - others));
  }
  const line = (cells: readonly string[]) => {
    const parts = active.map((i, n) => {
      const s = cut(cells[i] ?? '', widths[i]!);
      // The last column is not padded on the right, so lines carry no trailing blanks.
      if (cols[i]!.right) return s.padStart(widths[i]!);
      return n === active.length - 1 ? s : s.padEnd(widths[i]!);
    });
    return cut(parts.join(' '.repeat(gap)), width);
  };
  return [line(cols.map((c) => c.title)), ...rows.map(line)];
}

/** Data rows a table gets in `height` lines: all but the title line, or all when a pane has one line. */
export function dataRows(height: number): number {
  return height >= 2 ? height - 1 : Math.max(0, height);
}

/** Table lines for `height` lines: a one-line pane shows its data row, not the column titles. */
export function titled(lines: string[], height: number): string[] {
  return height >= 2 ? lines : lines.slice(1);
}

/** `s` cut or padded to exactly `width` characters. */
export function fitTo(s: string, width: number): string {
  if (width <= 0) return '';
  return s.length > width ? cut(s, width) : s.padEnd(width);
}

/** Escapes blessed's `{tag}` syntax so keys and commands print literally. */
export function esc(s: string): string {
  return s.replace(/[{}]/g, (ch) => (ch === '{' ? '{open}' : '{close}'));
}

/** Combining marks, zero-width and East Asian wide ranges, and astral characters (surrogate pairs). */
const NOT_ONE_CELL = /[\ud800-\udbff][\udc00-\udfff]|[\u0300-\u036f\u1100-\u115f\u200b-\u200f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\ud800-\udfff]/g;

/**
 * Replaces characters a terminal draws two cells wide (or none) with `?`, so widths counted in
 * characters hold on screen: keys are user data and may hold any text.
 */
export function narrow(s: string): string {
  return s.replace(NOT_ONE_CELL, '?');
}

/**
 * A border label from its parts, joined with ' · ': the first always (cut if need be), each
 * later one only if it still fits `room`, so a narrow pane keeps the parts that matter most.
 */
export function labelText(parts: readonly string[], room: number): string {
  if (room <= 0 || parts.length === 0) return '';
  let out = cut(parts[0]!, room);
  for (const p of parts.slice(1)) if (p !== '' && out.length + 3 + p.length <= room) out += ' · ' + p;
  return out;
}
