import type { Command } from 'commander';
import { analyzeCapture } from '../engine/analyze-file.js';
import { runLive } from '../engine/live.js';
import { analyzerOptions, DEFAULTS } from '../engine/options.js';
import { LineWriter } from '../output/line-writer.js';
import { monitorListener } from '../output/monitor.js';
import { positiveInt } from './args.js';
import { UserError } from '../errors.js';
import type { Report } from '../output/report.js';
import { addCaptureOptions, captureJob, startStoppable, stopOnSignals, type CaptureOpts } from './capture-options.js';
import { addThreadsOption, MONITOR_THREADS_AUTO, monitorThreads, threadsForLive } from './threads-option.js';
import { runLiveSharded } from '../engine/threads/live-sharded.js';

interface MonitorOpts extends CaptureOpts {
  withReplies?: boolean;
  maxArgBytes: number;
  read?: string;
  threads: number | 'auto';
}

/** Arguments are shown whole up to this size, like MONITOR; longer ones are cut and marked. */
const MONITOR_ARG_BYTES = 64 * 1024;

export function commandMonitor(program: Command): void {
  const cmd = program
    .command('monitor')
    .description('print every command in `redis-cli monitor` format, from the wire (as root or with CAP_NET_RAW)');
  addThreadsOption(addCaptureOptions(cmd), MONITOR_THREADS_AUTO)
    .option('--with-replies', 'append reply type, size and latency to each line')
    .option('--max-arg-bytes <n>', 'longest argument shown whole', positiveInt, MONITOR_ARG_BYTES)
    .option('-r, --read <file>', 'read a capture file instead of an interface (as tcpdump -r): the same lines live monitor prints')
    .action(async (opts: MonitorOpts) => {
      let haltRun = () => undefined as void;
      // A file's lines wait for a slow stdout (the reader waits with them): none is dropped.
      const out = new LineWriter(process.stdout, () => haltRun(), opts.read !== undefined);
      // Lines and the closing counts only: no hot keys, big values or slow list to keep.
      const analyzer = { ...analyzerOptions({ slowMs: DEFAULTS.slowMs, maxKeys: 0, top: DEFAULTS.top, argPreviewBytes: opts.maxArgBytes }), keepSlow: 0, keepBig: 0 };
      const withReplies = opts.withReplies === true;
      const listeners = [monitorListener(out, withReplies)];
      // With threads, each shard makes its connections' lines: in order per connection.
      const monitor = { withReplies, onLines: (text: string) => out.write(text) };
      let report: Report;
      /** A file's reading stopped by Ctrl-C: the count is said before the lines still queued drain. */
      let interrupted = false;
      if (opts.read !== undefined) {
        if (opts.interface !== undefined) throw new UserError('monitor: give either -i (an interface) or -r (a capture file), not both');
        // libpcap compiles --filter for a live handle; a file is read here without libpcap, so a
        // filter would be ignored: say so rather than print lines it should have dropped.
        if (opts.filter !== undefined) {
          throw new UserError(`monitor: --filter applies to live capture only; to filter a capture file, pipe it through tcpdump: tcpdump -r FILE -w - '${opts.filter}' | redis-tap monitor -r -`);
        }
        // Like analyze: '-' is stdin, gzip and zstd are read as they come.
        const threads = monitorThreads(opts.threads);
        const ports = opts.port ?? [DEFAULTS.port];
        // Ctrl-C, even while the reading waits for a slow stdout: the lines so far, and the count.
        const stop = stopOnSignals([opts.read]);
        const pace = (): Promise<void> => Promise.race([out.room(), stop.stopped]);
        const job = { inputs: [opts.read], ports, top: DEFAULTS.top, analyzer, signal: stop.signal, pace };
        report = await analyzeCapture(threads > 1 ? { ...job, threads, monitor } : { ...job, listeners });
        stop.unhook();
        interrupted = stop.signal.aborted;
      } else if (threadsForLive(monitorThreads(opts.threads), opts.count === undefined ? null : '--count') > 1) {
        const { run, unhook } = await startStoppable(() => runLiveSharded({ ...captureJob(opts), top: DEFAULTS.top, analyzer, threads: monitorThreads(opts.threads), monitor }));
        haltRun = run.halt;
        report = await run.done;
        unhook();
      } else {
        const { run, unhook } = await startStoppable(() => runLive({ ...captureJob(opts), top: DEFAULTS.top, analyzer, listeners }));
        haltRun = run.halt;
        report = await run.done;
        unhook();
      }
      const t = report.totals;
      const lost = `${t['kernelDrops'] ?? 0} kernel drops, ${t['shedFrames']} shed, ${t['gaps']} gaps, ${t['unparsedBytes']} unparsed bytes`;
      const count = (dropped: string) => process.stderr.write(`redis-tap: ${t['commands']} commands from ${t['packets']} packets; ${lost}${dropped}\n`);
      // Stopped reading a file: nothing is dropped, and a slow reader may take a while yet.
      if (interrupted) count('; interrupted, the lines read so far still being written');
      await out.end();
      if (!interrupted) count(out.droppedLines > 0 ? `, ${out.droppedLines} lines dropped (stdout too slow)` : '');
    });
}
