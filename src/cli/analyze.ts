import { InvalidArgumentError, type Command } from 'commander';
import { replayFile } from '../engine/replay.js';
import { viewRun } from './tui-run.js';
import { analyzeFile } from '../engine/analyze-file.js';
import { analyzerOptions, DEFAULTS } from '../engine/options.js';
import { renderJson } from '../output/json.js';
import { ProgressLine } from '../output/progress.js';
import { renderText } from '../output/text.js';
import { nonNegativeNumber, portArg, positiveInt } from './args.js';
import { addAttributionOptions, appNamer, type AttributionOpts } from './attribution-options.js';
import { writeOut } from './io.js';

interface AnalyzeOpts extends AttributionOpts {
  port?: number[];
  json?: boolean;
  top: number;
  slow: number;
  maxKeys: number;
  color: boolean;
  tui?: boolean;
  speed: number;
  cluster?: boolean;
  proxyPort?: number[];
}

function speedArg(value: string): number {
  if (value === 'max') return Infinity;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`'${value}' is not a speed factor (> 0, or 'max').`);
  return n;
}

/** -p ports, and the proxy ports (watched too). */
function watchedPorts(opts: AnalyzeOpts): number[] {
  const ports = opts.port ?? (opts.proxyPort === undefined ? [DEFAULTS.port] : []);
  return [...new Set([...ports, ...(opts.proxyPort ?? [])])];
}

/** What the deployment options ask of the analysis: Cluster, proxies, who the clients are. */
function deployment(opts: AnalyzeOpts): { cluster: boolean; proxyPorts: number[] } {
  return { cluster: opts.cluster === true, proxyPorts: opts.proxyPort ?? [] };
}

export function commandAnalyze(program: Command): void {
  const cmd = program
    .command('analyze')
    .description('analyse a pcap or pcapng capture file and print a report')
    .argument('<file>', 'capture file (pcap or pcapng, as written by tcpdump, dumpcap, tshark)')
    .option('-p, --port <port>', `Redis server port, repeatable (default: ${DEFAULTS.port})`, portArg)
    .option('--json', 'print the report as JSON')
    .option('--top <n>', 'rows per section', positiveInt, DEFAULTS.top)
    .option('--slow <ms>', 'slow-request threshold in milliseconds', nonNegativeNumber, DEFAULTS.slowMs)
    .option('--max-keys <n>', 'distinct keys counted exactly (then Space-Saving top-K)', positiveInt, DEFAULTS.maxKeys)
    .option('--cluster', 'Redis Cluster: hot hash slots and hot keys per node (slots are also shown when cluster traffic is seen)')
    .option('--proxy-port <port>', 'a proxy (Twemproxy) port, repeatable: its clients and its backend connections are counted as two hops', portArg)
    .option('--no-color', 'no colour even on a terminal')
    .option('--tui', 'replay the capture into the full-screen live view')
    .option('--speed <x>', "with --tui: replay speed, 1 = capture speed, 'max' = at once", speedArg, 1);
  addAttributionOptions(cmd)
    .action(async (file: string, opts: AnalyzeOpts) => {
      const apps = appNamer(opts);
      const color = opts.color && process.stdout.isTTY === true;
      if (opts.tui === true) {
        const analyzer = { ...analyzerOptions({ slowMs: opts.slow, maxKeys: opts.maxKeys, top: Math.max(opts.top, 50), ...deployment(opts) }), apps };
        const run = replayFile({ path: file, ports: watchedPorts(opts), top: Math.max(opts.top, 50), analyzer, speed: opts.speed });
        const report = await viewRun({ ...run, title: file }, true);
        await writeOut(renderText(report, { color, top: opts.top }));
        return;
      }
      const progress = process.stderr.isTTY ? new ProgressLine(process.stderr) : null;
      const report = analyzeFile({
        path: file,
        ports: watchedPorts(opts),
        top: opts.top,
        analyzer: { ...analyzerOptions({ slowMs: opts.slow, maxKeys: opts.maxKeys, top: opts.top, ...deployment(opts) }), apps },
        ...(progress ? { onProgress: (read: number, total: number, packets: number) => progress.update(read, total, packets) } : {}),
      });
      progress?.done();
      await writeOut(opts.json ? renderJson(report) : renderText(report, { color, top: opts.top }));
    });
}
