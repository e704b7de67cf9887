import { openTui } from '../output/tui/index.js';
import type { Report } from '../output/report.js';

export interface ViewedRun {
  title: string;
  snapshot(): Report;
  clear(): void;
  openConnections(): number;
  stop(): void;
  done: Promise<Report>;
}

/**
 * Shows a run in the full-screen view until the user quits (q, Ctrl-C) or the run ends (with
 * holdAtEnd, until the user quits after that), then restores the terminal and resolves with
 * the final report for the normal screen.
 */
export async function viewRun(run: ViewedRun, holdAtEnd = false): Promise<Report> {
  let quit: () => void = () => undefined;
  const quitted = new Promise<void>((resolve) => (quit = resolve));
  const tui = openTui(
    { title: run.title, snapshot: () => run.snapshot(), clear: () => run.clear(), openConnections: () => run.openConnections() },
    {
      onQuit: () => {
        run.stop();
        quit();
      },
    },
  );
  // blessed exits the process on SIGTERM when it holds the only handler: stop cleanly instead.
  const onTerm = () => run.stop();
  process.on('SIGTERM', onTerm);
  try {
    const report = await run.done;
    if (holdAtEnd) {
      tui.render(); // the end state stays on screen until q
      await quitted;
    }
    return report;
  } finally {
    process.off('SIGTERM', onTerm);
    tui.close();
  }
}

/** The view opens by default when stdout is a terminal and no machine output was asked for. */
export function wantsTui(opts: { tui?: boolean; json?: boolean }): boolean {
  if (opts.tui === false || opts.json === true) return false;
  return opts.tui === true || process.stdout.isTTY === true;
}
