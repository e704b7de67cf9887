/**
 * The web view: RedisLive's dashboard (commands/s, top commands, hot keys) plus latency, slow
 * requests, applications, drops and gaps, from whatever gives reports (a live run, a replay).
 * Routes to mount on any node:http server; startWebServer serves them alone.
 */

import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { UserError } from '../../errors.js';
import type { Report } from '../report.js';
import { APP_JS } from './app-script.js';
import { PAGE_CSP, PAGE_HTML } from './page.js';
import { RateRing } from './rate-ring.js';
import { webView, type WebView } from './view.js';

export type { WebView } from './view.js';

/** What the page shows: a whole-run report on demand, and what is watched. */
export interface WebSource {
  snapshot(): Report;
  title: string;
}

/** Handles the web view's paths (true) or leaves the request alone (false). */
export type WebRoutes = ((req: IncomingMessage, res: ServerResponse) => boolean) & {
  /** Stops the sampling and ends every event stream (before the server closes). */
  close(): void;
  /** Event streams open now (pages watching). */
  openStreams(): number;
};

/** Snapshots taken (and streamed) this often. */
const SAMPLE_MS = 1000;

const require = createRequire(import.meta.url);
let uplotFiles: { js: Buffer; css: Buffer } | null = null;

/** uPlot's built files from node_modules, read once. */
function uplot(): { js: Buffer; css: Buffer } {
  uplotFiles ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css')),
  };
  return uplotFiles;
}

function send(req: IncomingMessage, res: ServerResponse, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(200, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

interface Stream {
  res: ServerResponse;
  /** Stamp of the newest rate sample sent: later events carry only newer ones. */
  sentMs: number;
}

/** The web view's routes over `source`; samples its command count every second from now on. */
export function webRoutes(source: WebSource): WebRoutes {
  const ring = new RateRing();
  const streams = new Set<Stream>();
  let latest: Report | null = null;
  let latestMs = 0;
  let failure: string | null = null;

  const take = (): void => {
    try {
      latest = source.snapshot();
      latestMs = Date.now();
      failure = null;
    } catch (e) {
      // An output never takes the analysis down: the page says what went wrong instead.
      failure = `the web view could not take a report: ${e instanceof Error ? e.message : String(e)}`;
    }
  };
  const view = (afterMs: number): WebView | null => {
    if (latest === null) return null;
    const samples = ring.since(afterMs, latestMs);
    const v = webView(latest, source.title, latestMs, { full: afterMs <= 0, samples });
    if (failure !== null) v.warnings = [failure, ...v.warnings];
    return v;
  };
  const push = (s: Stream): void => {
    // A page not keeping up skips events; the next one it takes carries the samples it missed.
    if (s.res.writableNeedDrain) return;
    const v = view(s.sentMs);
    if (v === null) return;
    s.res.write(`data: ${JSON.stringify(v)}\n\n`);
    const last = v.rate.samples[v.rate.samples.length - 1];
    if (last !== undefined) s.sentMs = last[0];
    else if (s.sentMs <= 0) s.sentMs = 1; // the full history (empty) went out: only new samples from now
  };
  const sample = (): void => {
    take();
    if (latest === null) return;
    if (failure === null) {
      // A live run's timeline is on the wall clock: it gives the chart the time before the view started.
      if (ring.empty && latest.source.kind === 'live') ring.seed(latest.timeline, latestMs);
      ring.observe(latest.totals['commands'] ?? 0, latestMs);
    }
    // After a failed snapshot the pages get the last good report, with the failure on top.
    for (const s of streams) push(s);
  };
  sample();
  const timer = setInterval(sample, SAMPLE_MS);
  timer.unref();

  const events = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, {
      'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-content-type-options': 'nosniff',
      'x-accel-buffering': 'no', // a reverse proxy must pass each event on at once
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const s: Stream = { res, sentMs: 0 };
    res.write('retry: 2000\n\n');
    push(s);
    streams.add(s);
    // Gone (tab closed, reload): nothing more is written to it.
    const drop = () => streams.delete(s);
    res.once('close', drop);
    res.once('error', drop);
  };

  const routes = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (!['/', '/app.js', '/uplot.js', '/uplot.css', '/api/report', '/api/events'].includes(path)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('only GET and HEAD\n');
      return true;
    }
    switch (path) {
      case '/':
        send(req, res, 'text/html; charset=utf-8', PAGE_HTML, { 'content-security-policy': PAGE_CSP, 'referrer-policy': 'no-referrer' });
        break;
      case '/app.js':
        send(req, res, 'text/javascript; charset=utf-8', APP_JS);
        break;
      case '/uplot.js':
        send(req, res, 'text/javascript; charset=utf-8', uplot().js);
        break;
      case '/uplot.css':
        send(req, res, 'text/css; charset=utf-8', uplot().css);
        break;
      case '/api/report': {
        // ?since=<Unix ms>: only rate samples after it (what a polling page already has).
        if (latest === null || Date.now() - latestMs >= SAMPLE_MS) take();
        const since = Number(url.searchParams.get('since') ?? 0);
        send(req, res, 'application/json; charset=utf-8', JSON.stringify(view(Number.isFinite(since) ? since : 0)));
        break;
      }
      case '/api/events':
        events(req, res);
        break;
    }
    return true;
  };
  return Object.assign(routes, {
    openStreams: () => streams.size,
    close(): void {
      clearInterval(timer);
      for (const s of streams) s.res.end();
      streams.clear();
    },
  });
}

/** A node:http server with the web view alone on host:port (port 0: any free one); for `live --http` and tests. */
export async function startWebServer(source: WebSource, host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const routes = webRoutes(source);
  const server = createServer((req, res) => {
    if (!routes(req, res)) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
    }
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    routes.close();
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new UserError(`web view: cannot listen on ${host}:${port} (${code})`);
  }
  const bound = (server.address() as AddressInfo).port;
  const name = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${name}:${bound}/`,
    close: () =>
      new Promise<void>((resolve) => {
        routes.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
