import { Option, type Command } from 'commander';
import { LIVE_DEFAULTS } from '../capture/live.js';
import type { LiveJob } from '../engine/live.js';
import { CPU_PRIORITIES, type CpuPriority } from '../engine/cpu-priority.js';
import { DEFAULTS } from '../engine/options.js';
import { nonNegativeNumber, portArg, positiveInt } from './args.js';

/** Options shared by `live` and `monitor`: where and how long to capture. */
export interface CaptureOpts {
  interface?: string;
  port?: number[];
  filter?: string;
  bufferMb: number;
  cpuPriority: CpuPriority;
  duration?: number;
  count?: number;
  write?: string;
}

export function addCaptureOptions(cmd: Command): Command {
  return cmd
    .option('-i, --interface <iface>', "interface to capture on, 'any' for all (default: libpcap's default device)")
    .option('-p, --port <port>', `Redis server port, repeatable (default: ${DEFAULTS.port})`, portArg)
    .option('--filter <bpf>', "extra BPF expression, and-ed with the port filter (e.g. 'host 10.0.0.5')")
    .option('--buffer-mb <n>', 'kernel capture buffer in MiB', positiveInt, LIVE_DEFAULTS.bufferMb)
    .addOption(
      new Option('--cpu-priority <p>', "'idle': analyse only on CPU that Redis leaves idle, the kernel buffer holding packets meanwhile; 'normal': compete for it")
        .choices(CPU_PRIORITIES)
        .default('idle'),
    )
    .option('--duration <s>', 'stop after this many seconds', nonNegativeNumber)
    .option('--count <n>', 'stop after this many commands', positiveInt)
    .option('-w, --write <file>', 'also save the raw packets as pcap (read it back with analyze)');
}

/** The part of a live run that the shared capture options decide. */
export function captureJob(opts: CaptureOpts): Pick<LiveJob, 'ports' | 'bufferMb' | 'cpuPriority' | 'iface' | 'filter' | 'durationSec' | 'count' | 'writePath'> {
  return {
    ports: opts.port ?? [DEFAULTS.port],
    bufferMb: opts.bufferMb,
    cpuPriority: opts.cpuPriority,
    ...(opts.interface === undefined ? {} : { iface: opts.interface }),
    ...(opts.filter === undefined ? {} : { filter: opts.filter }),
    ...(opts.duration === undefined ? {} : { durationSec: opts.duration }),
    ...(opts.count === undefined ? {} : { count: opts.count }),
    ...(opts.write === undefined ? {} : { writePath: opts.write }),
  };
}

/**
 * Starts a run with Ctrl-C and SIGTERM already taken: a signal that came while the capture
 * opened (before `start` resolved) found no handler, and killed the process with no report.
 * Such a signal stops the run as soon as there is one. `unhook` removes the handlers (the live
 * view takes the signals itself).
 */
export async function startStoppable<R extends { stop(): void }>(start: () => Promise<R>): Promise<{ run: R; unhook: () => void }> {
  let run: R | null = null;
  let asked = false;
  const unhook = onSignals(() => {
    if (run === null) asked = true;
    else run.stop();
  });
  try {
    run = await start();
  } catch (e) {
    unhook();
    throw e;
  }
  if (asked) run.stop();
  return { run, unhook };
}

/** After Ctrl-C, how long a pipe may take to deliver its last bytes and close. */
const PIPE_GRACE_MS = 2000;

/**
 * Ctrl-C (or SIGTERM) while inputs are read: the reading stops (`signal`), and the run reports
 * what was read; a second one ends the process. A pipe gets a moment first: `tcpdump -w - |
 * redis-tap analyze -` takes the same Ctrl-C, and tcpdump writes out what it holds before its
 * end of the pipe closes.
 */
export function stopOnSignals(inputs: readonly string[]): { signal: AbortSignal; stopped: Promise<void>; unhook: () => void } {
  const stop = new AbortController();
  const stopped = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  const grace = inputs.includes('-') ? PIPE_GRACE_MS : 0;
  const unhook = onSignals(() => setTimeout(() => stop.abort('interrupted (Ctrl-C or SIGTERM)'), grace).unref());
  return { signal: stop.signal, stopped, unhook };
}

/** Runs `onStop` once on Ctrl-C or SIGTERM; returns a function that removes the handlers. */
function onSignals(onStop: () => void): () => void {
  const handler = () => onStop();
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
