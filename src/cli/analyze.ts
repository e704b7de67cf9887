import type { Command } from 'commander';
import { analyzeFile } from '../engine/analyze-file.js';
import { analyzerOptions, DEFAULTS } from '../engine/options.js';
import { renderJson } from '../output/json.js';
import { ProgressLine } from '../output/progress.js';
import { renderText } from '../output/text.js';
import { nonNegativeNumber, portArg, positiveInt } from './args.js';
import { writeOut } from './io.js';

interface AnalyzeOpts {
  port?: number[];
  json?: boolean;
  top: number;
  slow: number;
  maxKeys: number;
  color: boolean;
}

export function commandAnalyze(program: Command): void {
  program
    .command('analyze')
    .description('analyse a pcap or pcapng capture file and print a report')
    .argument('<file>', 'capture file (pcap or pcapng, as written by tcpdump, dumpcap, tshark)')
    .option('-p, --port <port>', `Redis server port, repeatable (default: ${DEFAULTS.port})`, portArg)
    .option('--json', 'print the report as JSON')
    .option('--top <n>', 'rows per section', positiveInt, DEFAULTS.top)
    .option('--slow <ms>', 'slow-request threshold in milliseconds', nonNegativeNumber, DEFAULTS.slowMs)
    .option('--max-keys <n>', 'distinct keys counted exactly (then Space-Saving top-K)', positiveInt, DEFAULTS.maxKeys)
    .option('--no-color', 'no colour even on a terminal')
    .action(async (file: string, opts: AnalyzeOpts) => {
      const progress = process.stderr.isTTY ? new ProgressLine(process.stderr) : null;
      const report = analyzeFile({
        path: file,
        ports: opts.port ?? [DEFAULTS.port],
        top: opts.top,
        analyzer: analyzerOptions({ slowMs: opts.slow, maxKeys: opts.maxKeys, top: opts.top }),
        ...(progress ? { onProgress: (read: number, total: number, packets: number) => progress.update(read, total, packets) } : {}),
      });
      progress?.done();
      const color = opts.color && process.stdout.isTTY === true;
      await writeOut(opts.json ? renderJson(report) : renderText(report, { color, top: opts.top }));
    });
}
