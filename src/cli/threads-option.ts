import { availableParallelism } from 'node:os';
import { statSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { UserError } from '../errors.js';
import { MAX_THREADS } from '../engine/threads/shard-threads.js';

/** Default analysis threads: one per core, at most this many. */
const DEFAULT_MAX_THREADS = 8;
/**
 * Files smaller than this are analysed on one thread by default: starting a thread costs about
 * 40 ms, more than it saves on them.
 */
const SMALL_INPUT_BYTES = 32 * 1024 * 1024;

export function threadsArg(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) throw new InvalidArgumentError(`'${value}' is not a thread count (1-${MAX_THREADS}, or 'auto').`);
  return n;
}

export function addThreadsOption(cmd: Command, auto = `one per core but one (at most ${DEFAULT_MAX_THREADS}); one for stdin and files under 32 MiB`): Command {
  return cmd.option('--threads <n>', `analysis threads, each owning a share of the connections; 'auto': ${auto}`, threadsArg, 'auto');
}

/**
 * MONITOR lines: one thread by default, so they come in capture order as redis-cli monitor's
 * do; with more, each shard's lines come as it makes them (in order per connection).
 */
export const MONITOR_THREADS_AUTO = 'one, so lines come in capture order (with more, in order per connection)';

export function monitorThreads(choice: number | 'auto'): number {
  return choice === 'auto' ? 1 : choice;
}

/**
 * Default threads: one per core but one, at most DEFAULT_MAX_THREADS. Each thread's isolate
 * compiles the hot code again and collects its own garbage on V8's helper threads (0.3 s of
 * CPU each on the bench captures), and every shard reads every packet: on 2 idle cores 2
 * threads took 3.1 s of CPU where 1 took 2.2 s, and ran no faster (1.9-2.1 s wall either
 * way; bench/threads.sh, README).
 */
export function coreThreads(): number {
  return Math.max(1, Math.min(DEFAULT_MAX_THREADS, availableParallelism() - 1));
}

/**
 * Threads for a live capture. The live view, --http, --interval and --count read the analysis
 * as it goes, which lives in one thread: they run on one.
 */
export function threadsForLive(choice: number | 'auto', readsAsItGoes: string | null): number {
  if (readsAsItGoes === null) return choice === 'auto' ? coreThreads() : choice;
  if (choice !== 'auto' && choice > 1) throw new UserError(`--threads ${choice}: ${readsAsItGoes} reads the analysis as it goes, on one thread; give --threads 1 or leave it out`);
  return 1;
}

/** Threads for reading these inputs: 'auto' gives small files one. */
export function threadsForInputs(choice: number | 'auto', inputs: readonly string[]): number {
  if (choice !== 'auto') return choice;
  let bytes = 0;
  for (const name of inputs) {
    // A pipe is read here and routed to the shards: that reading is one more busy thread.
    if (name === '-') return 1;
    try {
      bytes += statSync(name).size;
    } catch {
      return 1; // the reader names the file it cannot open
    }
  }
  return bytes >= SMALL_INPUT_BYTES ? coreThreads() : 1;
}
