/** Small text-layout helpers for the report: numbers, durations, aligned tables, bars. */

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  warn(s: string): string;
}

export const PLAIN: Style = { bold: (s) => s, dim: (s) => s, warn: (s) => s };
export const ANSI: Style = {
  bold: (s) => `\x1b[1m${s}\x1b[22m`,
  dim: (s) => `\x1b[2m${s}\x1b[22m`,
  warn: (s) => `\x1b[33m${s}\x1b[39m`,
};

export function num(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function rate(n: number): string {
  return n >= 100 ? num(n) : n.toFixed(1);
}

export function pct(share: number): string {
  return (share * 100).toFixed(1) + '%';
}

/** Microseconds as a short duration: 850us, 12.3ms, 1.52s. */
export function dur(us: number): string {
  if (us < 1000) return `${Math.round(us)}us`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)}ms`;
  return `${(us / 1e6).toFixed(2)}s`;
}

export function bytes(n: number | null): string {
  if (n === null) return 'n/a';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Cuts a display string to `max` characters with an ellipsis. */
export function cut(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

/** What commandLine appends to an argument not shown whole: its size on the wire. */
const SIZE_MARK = /\.\.\.\(\d+ bytes\)/g;

/**
 * A command line (see commandLine) cut to `max` characters. When the cut falls on an argument
 * that ends with its size, the argument is cut shorter so its size still shows: the size is
 * what the row is for, the preview's bytes are not.
 */
export function cutCommand(line: string, max: number): string {
  if (line.length <= max) return line;
  SIZE_MARK.lastIndex = 0;
  for (let m = SIZE_MARK.exec(line); m !== null; m = SIZE_MARK.exec(line)) {
    const end = m.index + m[0].length;
    if (end < max) continue;
    const more = end < line.length ? 1 : 0;
    const kept = max - m[0].length - more;
    const argStart = line.lastIndexOf(' ', m.index) + 1;
    return kept > argStart ? line.slice(0, kept) + m[0] + (more ? '…' : '') : cut(line, max);
  }
  return cut(line, max);
}

export interface Column {
  title: string;
  /** Right-align (numbers). */
  right?: boolean;
}

/** Rows aligned under their titles; `marks[i]` flags row i (skew): highlighted and labelled. */
export function table(
  cols: readonly Column[],
  rows: readonly string[][],
  style: Style,
  marks: ReadonlyArray<boolean> = [],
  markLabel = '<- skew',
): string[] {
  const widths = cols.map((c, i) => Math.max(c.title.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    '  ' + cells.map((s, i) => (cols[i]!.right ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [style.dim(line(cols.map((c) => c.title)))];
  rows.forEach((r, i) => out.push(marks[i] ? style.warn(`${line(r)}  ${markLabel}`) : line(r)));
  return out;
}

const BLOCKS = ' ▁▂▃▄▅▆▇█';

/** A sparkline of `values`, resampled to at most `width` characters by summing neighbours. */
export function sparkline(values: readonly number[], width: number): string {
  if (values.length === 0) return '';
  const n = Math.min(width, values.length);
  const per = values.length / n;
  const cells: number[] = [];
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = Math.floor(i * per); j < Math.floor((i + 1) * per); j++) sum += values[j]!;
    cells.push(sum);
  }
  const max = Math.max(...cells);
  return cells.map((v) => (max === 0 ? BLOCKS[0] : BLOCKS[v === 0 ? 0 : Math.max(1, Math.round((v / max) * 8))])).join('');
}

export function bar(value: number, max: number, width: number): string {
  if (max <= 0 || value <= 0) return '';
  return '█'.repeat(Math.max(1, Math.round((value / max) * width)));
}
