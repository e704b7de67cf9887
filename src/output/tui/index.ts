/**
 * Full-screen live view in the style of tcpkit, drawn with blessed: header with rates now,
 * commands/s sparkline, commands, hot keys, slow requests, clients and latency panes.
 * Only this folder imports blessed.
 */

import type { Report } from '../report.js';
import { LiveView } from './live-view.js';

export interface TuiSource {
  /** What is watched: "lo, tcp port 6379" or a file name; shown in the header. */
  title: string;
  /** Whole-run report so far (cumulative counters since start or the last clear()). Called once per refresh. */
  snapshot(): Report;
  /** 'c' key: reset all counters. */
  clear(): void;
  /** Connections open now (header). */
  openConnections(): number;
}

export interface TuiOptions {
  /** Defaults: process.stdout / process.stdin; tests pass fake streams. */
  output?: NodeJS.WritableStream;
  input?: NodeJS.ReadableStream;
  /** Refresh period, default 1000 ms. */
  refreshMs?: number;
  /** Fixed size for tests (cols, rows); otherwise the terminal's. */
  size?: { cols: number; rows: number };
  /** Called when the user quits (q or Ctrl-C); the caller then stops capture, calls close() and prints the final text report. */
  onQuit: () => void;
  /** Milliseconds from a monotonic clock, for rates and the elapsed time; default performance.now (tests inject one). */
  now?: () => number;
}

export interface Tui {
  /** Takes a snapshot (unless paused) and redraws. */
  render(): void;
  /** Restores the terminal; stops the refresh timer. */
  close(): void;
  /** The screen as plain text lines (for tests and `tmux`-free checks). */
  screenText(): string[];
}

export function openTui(source: TuiSource, opts: TuiOptions): Tui {
  const view = new LiveView(source, opts);
  return {
    render: () => (view.paused ? view.draw() : view.refresh()),
    close: () => view.close(),
    screenText: () => view.screenText(),
  };
}
