import type { Report } from '../output/report.js';

export interface ViewedRun {
  title: string;
  snapshot(): Report;
  clear(): void;
  openConnections(): number;
  stop(): void;
  done: Promise<Report>;
}

/** Signals that end the view as `q` does; the view owns them while it is open. */
const END_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Shows a run in the full-screen view until the user quits (q, Ctrl-C, or SIGTERM or SIGINT
 * from another process) or the run ends (with holdAtEnd, until the user quits after that), then
 * restores the terminal and resolves with the final report for the normal screen. The caller
 * must not handle those signals meanwhile: each one is one run.stop() (a second stops the run
 * at once), and two handlers would make one signal a second.
 */
export async function viewRun(run: ViewedRun, holdAtEnd = false): Promise<Report> {
  let quit: () => void = () => undefined;
  const quitted = new Promise<void>((resolve) => (quit = resolve));
  const end = () => {
    run.stop();
    quit();
  };
  // Taken before anything is awaited, so no signal finds the process without a handler; and
  // blessed exits the process on these when it holds the only handler: end as q does instead.
  for (const sig of END_SIGNALS) process.on(sig, end);
  let tui: { render(): void; close(): void } | null = null;
  try {
    // Loaded here: blessed costs every other run 20-30 ms of start-up.
    const { openTui } = await import('../output/tui/index.js');
    tui = openTui(
      { title: run.title, snapshot: () => run.snapshot(), clear: () => run.clear(), openConnections: () => run.openConnections() },
      { onQuit: end },
    );
    const report = await run.done;
    if (holdAtEnd) {
      tui.render(); // the end state stays on screen until q
      await quitted;
    }
    return report;
  } finally {
    for (const sig of END_SIGNALS) process.off(sig, end);
    tui?.close();
  }
}

/** The view opens by default when stdout is a terminal and no machine output was asked for. */
export function wantsTui(opts: { tui?: boolean; json?: boolean }): boolean {
  if (opts.tui === false || opts.json === true) return false;
  return opts.tui === true || process.stdout.isTTY === true;
}
