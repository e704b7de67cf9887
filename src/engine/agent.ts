/**
 * The always-on agent: one continuous live analysis (runLive: the same engine, CPU priority
 * and drop accounting), cut into windows in capture time. Each window's report goes to --out
 * and its slow requests and big values to --events; the whole-run aggregates, never cleared,
 * feed the Prometheus counters at /metrics. A request in one window and its reply in the next
 * is paired as always (it counts in the window of its reply).
 */
import { hostname } from 'node:os';
import type { Analyzer, AnalyzerOptions } from '../analysis/analyzer.js';
import { AppNamer } from '../analysis/apps/app-namer.js';
import type { Stats } from '../analysis/stats.js';
import { HttpServer, type ListenAddress } from '../output/http-server.js';
import { webRoutes } from '../output/web/index.js';
import { renderJson } from '../output/json.js';
import { AgentMetrics, type CaptureHealth, type MetricsSource } from '../output/metrics.js';
import type { Report } from '../output/report.js';
import { AgentClients } from './agent-clients.js';
import { EventLog, WindowFiles } from './agent-files.js';
import { runLive, type LiveJob, type LiveRun } from './live.js';

export interface AgentJob {
  capture: Pick<LiveJob, 'iface' | 'ports' | 'filter' | 'bufferMb' | 'cpuPriority'>;
  analyzer: AnalyzerOptions;
  top: number;
  windowSec: number;
  outDir?: string;
  keepMs: number;
  /** NDJSON events file, or '-' for stdout. */
  events?: string;
  /** Values of at least this many bytes are events (the window report lists the largest whatever their size). */
  bigValueBytes: number;
  /** Where /metrics is served; null: not served. */
  listen: ListenAddress | null;
  maxClients: number;
  hotKeys: number;
  /** One line on stderr (or wherever the caller logs). */
  log: (line: string) => void;
}

export interface AgentRun {
  /** Where /metrics is served (the port the system chose for port 0), or null. */
  metricsAddress: ListenAddress | null;
  /** The HTTP server, for more routes (a web view). */
  http: HttpServer | null;
  /** SIGTERM/SIGINT: ends the current window, writes it, ends; a second call stops at once. */
  stop(): void;
  /** SIGHUP: reopens the --events file. */
  reopen(): void;
  /** Resolves when the agent has ended: null, or why the capture stopped (an interface gone). */
  done: Promise<string | null>;
}

/** C1 controls and DEL escaped in JSON, as renderJson does (./output/json.ts), so a log viewer cannot be steered. */
const jsonLine = (v: unknown) => JSON.stringify(v).replace(/[\u007f-\u009f]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) + '\n';

/** One NDJSON line per slow request and per big value (at least `bigBytes`) of a window report. */
export function eventLines(report: Report, windowIso: string, host: string, bigBytes: number): string {
  let out = '';
  for (const s of report.slow) out += jsonLine({ event: 'slow', window: windowIso, host, ...s });
  for (const b of report.bigKeys) if (b.bytes >= bigBytes) out += jsonLine({ event: 'bigValue', window: windowIso, host, ...b });
  return out;
}

/** What /metrics reads: the whole-run aggregates (never cleared), the client series and the last window. */
export function metricsSource(analyzer: Analyzer, clients: AgentClients, health: () => CaptureHealth): MetricsSource {
  return {
    serverCommands: () => analyzer.stats.serverCommands.snapshot(),
    clientCommands: () => clients.commands(analyzer.intervalStats),
    clientConnections: () => clients.clientConnections(),
    hotKeys: () => clients.hotKeys(),
    health,
  };
}

export async function runAgent(job: AgentJob): Promise<AgentRun> {
  const files = job.outDir === undefined ? null : new WindowFiles(job.outDir, job.keepMs, job.log);
  files?.prepare();
  const events = job.events === undefined ? null : new EventLog(job.events, job.log);
  events?.open();
  const clients = new AgentClients({ maxSeries: job.maxClients, hotKeys: job.hotKeys }, job.analyzer.apps ?? new AppNamer(null, null));
  const host = hostname();
  const windowUs = job.windowSec * 1e6;
  const align = (tsUs: number) => Math.floor(tsUs / windowUs) * windowUs;
  let windowStartUs = align(Date.now() * 1000);
  let windows = 0;
  let lastPacketTsUs = 0;
  let flowing = false;
  let run: LiveRun | null = null;

  const onWindow = (report: Report, stats: Stats) => {
    const startMs = windowStartUs / 1000;
    // A window without packets starts after the last packet analysed: its span is empty, not negative.
    if (report.span.startTs !== null && report.span.endTs !== null && report.span.endTs < report.span.startTs) report.span.endTs = report.span.startTs;
    files?.write(startMs, renderJson(report, false));
    events?.write(eventLines(report, new Date(startMs).toISOString().replace(/\.\d+Z$/, 'Z'), host, job.bigValueBytes));
    clients.endWindow(stats);
    windows++;
  };
  const onClock = (tsUs: number, quiet: boolean) => {
    if (!quiet) lastPacketTsUs = tsUs;
    flowing = !quiet;
    if (tsUs < windowStartUs + windowUs || run === null) return;
    const next = align(tsUs);
    run.cutInterval(next); // onWindow runs inside, still named by the window that ends
    windowStartUs = next;
  };

  let metrics: AgentMetrics | null = null;
  let webClose = (): void => undefined;
  const http = job.listen === null ? null : new HttpServer((m) => job.log(m));
  const metricsAddress = http === null ? null : await http.listen(job.listen!);
  try {
    run = await runLive({ ...job.capture, top: job.top, analyzer: job.analyzer, onInterval: onWindow, onClock });
  } catch (e) {
    await http?.close();
    throw e;
  }
  const live = run;
  const analyzer = live.pipeline.analyzer;
  const health = (): CaptureHealth => {
    const cap = live.captureStats();
    const flow = live.pipeline.flows.stats;
    const c = analyzer.stats.counters;
    return {
      packets: cap.packets, kernelDrops: cap.kernelDrops ?? 0, interfaceDrops: cap.interfaceDrops ?? 0, shedFrames: cap.shedFrames,
      gaps: flow.gaps, unparsedBytes: analyzer.unparsedBytes, violations: c.violations, unanswered: c.unanswered,
      internalErrors: analyzer.internalErrors, openConnections: analyzer.openConnections,
      lagSeconds: flowing ? Math.max(0, Date.now() * 1000 - lastPacketTsUs) / 1e6 : 0,
      windowWriteFailures: files?.failures ?? 0, eventWriteFailures: events?.failures ?? 0, windows,
    };
  };
  if (http !== null) {
    metrics = new AgentMetrics(metricsSource(analyzer, clients, health));
    const m = metrics;
    http.route('/metrics', async (_req, res) => {
      const text = await m.render();
      res.writeHead(200, { 'content-type': m.contentType }).end(text);
    });
    // The web view (RedisLive's dashboard) at /, over the whole run; /metrics stays the longest prefix.
    const web = webRoutes({ snapshot: () => live.snapshot(), title: live.title });
    http.route('/', (req, res) => {
      if (!web(req, res)) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
    webClose = () => web.close();
  }
  const where = metricsAddress === null ? 'no /metrics' : `metrics on http://${metricsAddress.host.includes(':') ? `[${metricsAddress.host}]` : metricsAddress.host}:${metricsAddress.port}/metrics`;
  job.log(`capturing on ${live.title}; ${where}; windows of ${job.windowSec} s${files === null ? '' : ` to ${files.dir}`}`);

  const done = live.done.then(async (final) => {
    live.cutInterval(); // the window under way, with what the kernel had captured until the stop
    events?.close();
    webClose();
    await http?.close();
    return final.warnings.find((w) => w.startsWith('capture stopped: ')) ?? null;
  });
  return { metricsAddress, http, stop: () => live.stop(), reopen: () => events?.reopen(), done };
}
