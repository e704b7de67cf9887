import type { Command } from 'commander';
import { runLive } from '../engine/live.js';
import { analyzerOptions, DEFAULTS } from '../engine/options.js';
import { renderJson } from '../output/json.js';
import { LineWriter } from '../output/line-writer.js';
import type { Report } from '../output/report.js';
import { displayText } from '../output/strings.js';
import { renderText } from '../output/text.js';
import { nonNegativeNumber, portArg, positiveInt } from './args.js';
import { addCaptureOptions, captureJob, startStoppable, type CaptureOpts } from './capture-options.js';
import { writeOut } from './io.js';
import { addAttributionOptions, appNamer, type AttributionOpts } from './attribution-options.js';
import { parseListen } from '../output/http-server.js';
import { startWebServer } from '../output/web/index.js';
import { viewRun, wantsTui } from './tui-run.js';
import { addThreadsOption, threadsForLive } from './threads-option.js';
import { runLiveSharded } from '../engine/threads/live-sharded.js';
import type { LiveCapture } from '../capture/live.js';

interface LiveOpts extends CaptureOpts, AttributionOpts {
  http?: string;
  json?: boolean;
  interval?: number;
  top: number;
  slow: number;
  maxKeys: number;
  color: boolean;
  tui?: boolean;
  cluster?: boolean;
  proxyPort?: number[];
  threads: number | 'auto';
}

/** One line per interval: what an operator tails or a script parses. */
function intervalText(r: Report): string {
  const t = r.totals;
  const top = r.commands.slice(0, 3).map((c) => `${c.name} ${c.count}`).join(', ');
  return `${new Date().toISOString()} ${Math.round(t['commandsPerSec'] ?? 0)} cmd/s, ${t['commands']} commands (${top}), ` +
    `${t['errors']} errors, ${t['slowRequests']} slow, p99 ${r.latencyUs.p99}us, drops ${t['kernelDrops'] ?? 0}, shed ${t['shedFrames']}\n`;
}

export function commandLive(program: Command): void {
  const cmd = program
    .command('live')
    .description('capture from a live interface and report (as root or with CAP_NET_RAW)');
  addCaptureOptions(cmd)
    .option('--json', 'JSON output: one object per --interval on its own line, then the final report')
    .option('--interval <s>', 'also report every this many seconds (counters of that interval)', nonNegativeNumber)
    .option('--top <n>', 'rows per section', positiveInt, DEFAULTS.top)
    .option('--slow <ms>', 'slow-request threshold in milliseconds', nonNegativeNumber, DEFAULTS.slowMs)
    .option('--max-keys <n>', 'distinct keys counted exactly', positiveInt, DEFAULTS.maxKeys)
    .option('--cluster', 'Redis Cluster: hot hash slots and hot keys per node')
    .option('--proxy-port <port>', 'a proxy (Twemproxy) port, repeatable (also watched): its clients and its backend connections are two hops', portArg)
    .option('--no-color', 'no colour even on a terminal')
    .option('--tui', 'full-screen live view (default when stdout is a terminal)')
    .option('--no-tui', 'no live view: print the report at the end')
    .option('--http <addr>', 'also serve the web view (and its JSON) at host:port, e.g. 127.0.0.1:9769');
  addThreadsOption(addAttributionOptions(cmd), 'one per core but one (at most 8); the live view, --http, --interval and --count run on one')
    .action(async (opts: LiveOpts) => {
      const apps = appNamer(opts);
      const listen = opts.http === undefined ? null : parseListen(opts.http);
      const tui = wantsTui(opts);
      let haltRun = () => undefined as void;
      const out = new LineWriter(process.stdout, () => haltRun());
      const intervals = opts.interval !== undefined && opts.interval > 0;
      const job = captureJob(opts);
      const proxyPorts = opts.proxyPort ?? [];
      const asItGoes = tui ? 'the live view' : listen !== null ? '--http' : intervals ? '--interval' : opts.count !== undefined ? '--count' : null;
      const threads = threadsForLive(opts.threads, asItGoes);
      const common = {
        ...job,
        ports: [...new Set([...(opts.port === undefined && proxyPorts.length > 0 ? [] : job.ports), ...proxyPorts])],
        top: opts.top,
        analyzer: { ...analyzerOptions({ slowMs: opts.slow, maxKeys: opts.maxKeys, top: opts.top, cluster: opts.cluster === true, proxyPorts }), apps },
        onOpen: (c: LiveCapture) => {
          if (process.stderr.isTTY && !tui) process.stderr.write(`redis-tap: capturing on ${displayText(c.iface)} (${displayText(c.filter)}); Ctrl-C for the report\n`);
        },
      };
      if (threads > 1) {
        const { run, unhook } = await startStoppable(() => runLiveSharded({ ...common, threads }));
        const report = await run.done;
        unhook();
        const color = opts.color && process.stdout.isTTY === true;
        await writeOut(opts.json ? renderJson(report) : renderText(report, { color, top: opts.top }));
        return;
      }
      const started = await startStoppable(() => runLive({
        ...common,
        ...(intervals ? { intervalSec: opts.interval!, onInterval: (r: Report) => out.write(opts.json ? renderJson(r, false) : intervalText(r)) } : {}),
      }));
      const run = started.run;
      haltRun = run.halt;
      // The web view: RedisLive's dashboard over this run (src/output/web), until it ends.
      const web = listen === null ? null : await startWebServer(run, listen.host, listen.port).catch((e: unknown) => {
        started.unhook();
        run.halt();
        throw e;
      });
      if (web !== null && !tui) process.stderr.write(`redis-tap: web view at ${web.url}\n`);
      // The view takes SIGINT and SIGTERM itself while it is open (it does before it awaits).
      if (tui) started.unhook();
      const report = tui ? await viewRun(run) : await run.done;
      started.unhook();
      // The rest since the last line, with what the stop closed (requests left unanswered), so
      // that the lines add up to the final report.
      if (intervals) run.cutInterval();
      await web?.close();
      await out.end();
      const color = opts.color && process.stdout.isTTY === true;
      await writeOut(opts.json ? renderJson(report, !intervals) : renderText(report, { color, top: opts.top }));
    });
}
