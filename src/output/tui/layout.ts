/** Where each pane goes for a terminal size: a grid of pane rows that shrinks, never overlaps. */

import type { PaneId } from './state.js';

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface Layout {
  /** Two lines: title and totals, then rates and the sparkline. */
  header: Rect | null;
  /** One line: key hints, or the filter prompt. */
  footer: Rect | null;
  /** Null: no room for the pane at this size (hidden). */
  panes: Record<PaneId, Rect | null>;
}

export const HEADER_LINES = 2;
/** A bordered pane needs its two border lines and one line of content. */
const MIN_PANE_HEIGHT = 3;
const MIN_PANE_WIDTH = 8;
/** From this width on, the commands pane shares its row with the latency pane. */
export const WIDE_COLS = 120;

/** One pane row: panes side by side with their share of the width, and a share of the height. */
interface Band {
  weight: number;
  panes: Array<[PaneId, number]>;
}

const NARROW: Band[] = [
  { weight: 0.34, panes: [['commands', 1]] },
  { weight: 0.3, panes: [['keys', 0.5], ['clients', 0.5]] },
  { weight: 0.36, panes: [['slow', 0.5], ['latency', 0.5]] },
];

const WIDE: Band[] = [
  { weight: 0.36, panes: [['commands', 0.6], ['latency', 0.4]] },
  { weight: 0.32, panes: [['keys', 0.5], ['clients', 0.5]] },
  { weight: 0.32, panes: [['slow', 1]] },
];

function split(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const out = weights.map((w) => Math.floor((total * w) / sum));
  out[out.length - 1]! += total - out.reduce((a, b) => a + b, 0);
  return out;
}

export function layout(cols: number, rows: number): Layout {
  const panes: Record<PaneId, Rect | null> = { commands: null, keys: null, slow: null, clients: null, latency: null };
  const w = Math.max(0, cols);
  const header = rows >= 1 && w > 0 ? { left: 0, top: 0, width: w, height: Math.min(HEADER_LINES, rows) } : null;
  const footer = rows > HEADER_LINES && w > 0 ? { left: 0, top: rows - 1, width: w, height: 1 } : null;
  const bodyTop = HEADER_LINES;
  const bodyHeight = rows - HEADER_LINES - 1;
  const all = cols >= WIDE_COLS ? WIDE : NARROW;
  // Lower bands go first when there is no room: the commands pane is the last to go.
  const bands = all.slice(0, Math.max(0, Math.min(all.length, Math.floor(bodyHeight / MIN_PANE_HEIGHT))));
  if (bands.length === 0 || w < MIN_PANE_WIDTH) return { header, footer, panes };
  const heights = split(bodyHeight, bands.map((b) => b.weight));
  let top = bodyTop;
  bands.forEach((band, i) => {
    const widths = split(w, band.panes.map(([, share]) => share));
    let left = 0;
    band.panes.forEach(([id], j) => {
      const width = widths[j]!;
      if (width >= MIN_PANE_WIDTH) panes[id] = { left, top, width, height: heights[i]! };
      left += width;
    });
    top += heights[i]!;
  });
  return { header, footer, panes };
}
