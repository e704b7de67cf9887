/**
 * The shards' worker threads, started as early as the command line allows. A worker takes
 * 0.13-0.2 s to start (its own isolate, Node's bootstrap, the analysis modules loaded again),
 * and it cannot begin before it is started: started when the pipeline is built, it began
 * reading a file that long after the main thread's own shard, and finished that long after it
 * too (README, Threads). bin/redis-tap.js calls startEarly() before it loads the rest of the
 * program, so the workers load their modules while this thread loads its own. Imports nothing
 * but Node's own modules, to stay cheap.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * A shard's young generation. V8's default (48 MB) costs each thread ~30 MB more resident; less
 * than 12 MB costs CPU where pipelines keep thousands of requests pending (they outlive
 * scavenges and fill the old space): 10 M distinct keys in batches of 1000 took 20.3-22.4 s of
 * CPU at 12 MB, 34.5-34.8 s at 6 MB; at 12 MB the pipelined bench capture peaks at 170 MB, at 6
 * MB 155 MB.
 */
const YOUNG_GENERATION_MB = 12;

/**
 * The most threads `--threads` takes: more shards than this cost more in copies and merging than
 * they give on any machine we know.
 */
export const MAX_THREADS = 64;

/** Started early and not yet taken, each with what marks it gone (failed or exited meanwhile). */
const early: Array<{ worker: Worker; gone: () => void }> = [];
const gone = new WeakSet<Worker>();

function shardThread(): Worker {
  return new Worker(new URL('./shard-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
}

/**
 * The workers `argv` will want: N-1 for `analyze` or `monitor` with `--threads N` (files'
 * shard 0 runs in the main thread; stdin takes one more when it asks), at most one per core
 * but one: more would only compete with this thread's own start (the rest start when taken).
 * Only that explicit form is read; anything else (`auto`, a mistake that the real parser
 * rejects, `--tui`, which replays on one thread) starts none. Unreferenced until taken, so a
 * run that never takes them exits as it would without them.
 */
export function startEarly(argv: readonly string[]): void {
  const sub = argv[2];
  if ((sub !== 'analyze' && sub !== 'monitor') || argv.includes('--tui')) return;
  const asked = threadsAsked(argv);
  if (asked > MAX_THREADS) return;
  const n = Math.min(asked, availableParallelism());
  // Each worker's stdout and stderr are piped into ours, an 'error' listener each: not a leak.
  for (const s of [process.stdout, process.stderr]) s.setMaxListeners(s.getMaxListeners() + n - 1);
  for (let k = 1; k < n; k++) {
    const worker = shardThread();
    worker.unref();
    // Until taken; then the taker listens for its own errors (one that failed before is not taken).
    const onGone = (): void => void gone.add(worker);
    worker.on('error', onGone).on('exit', onGone);
    early.push({ worker, gone: onGone });
  }
}

/** The `N` of the last `--threads N` or `--threads=N` in argv, or 1. */
function threadsAsked(argv: readonly string[]): number {
  let text: string | undefined;
  for (let i = 3; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '--threads') text = argv[++i];
    else if (a.startsWith('--threads=')) text = a.slice('--threads='.length);
  }
  const n = Number(text);
  return Number.isInteger(n) && n > 1 ? n : 1;
}

/** A shard worker: one started early if any is left, else a new one. It waits for its ShardSpec. */
export function takeShardThread(): Worker {
  for (let e = early.shift(); e !== undefined; e = early.shift()) {
    const w = e.worker;
    if (gone.has(w)) continue;
    w.off('error', e.gone).off('exit', e.gone);
    w.ref();
    return w;
  }
  return shardThread();
}
