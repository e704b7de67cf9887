import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { asReport, mergeReports } from '../engine/merge-reports.js';
import { DEFAULTS } from '../engine/options.js';
import { UserError } from '../errors.js';
import { renderJson } from '../output/json.js';
import { renderText } from '../output/text.js';
import { positiveInt } from './args.js';
import { writeOut } from './io.js';

interface MergeOpts {
  json?: boolean;
  top: number;
  color: boolean;
}

function readReport(file: string): ReturnType<typeof asReport> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: cannot read it (${code === 'ENOENT' ? 'no such file' : code ?? String(e)})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new UserError(`${file}: not a redis-tap report (not JSON)`);
  }
  return asReport(doc, file);
}

export function commandMerge(program: Command): void {
  program
    .command('merge')
    .description('merge JSON reports (hosts, windows) into one: counts add, histograms and hot-key summaries merge')
    .argument('<files...>', 'reports written by analyze --json, live --json or the agent')
    .option('--json', 'print the merged report as JSON')
    .option('--top <n>', 'rows per section', positiveInt, DEFAULTS.top)
    .option('--no-color', 'no colour even on a terminal')
    .action(async (files: string[], opts: MergeOpts) => {
      const report = mergeReports(files.map((file) => ({ file, report: readReport(file) })), opts.top);
      const color = opts.color && process.stdout.isTTY === true;
      await writeOut(opts.json ? renderJson(report) : renderText(report, { color, top: opts.top }));
    });
}
