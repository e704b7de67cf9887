/** The web view's routes over HTTP (no browser) and its commands/s ring. */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readCaptureFile } from '../src/capture/file-reader.js';
import { analyzerOptions } from '../src/engine/options.js';
import { Pipeline } from '../src/engine/pipeline.js';
import type { Report } from '../src/output/report.js';
import { startWebServer, webRoutes, type WebRoutes, type WebView } from '../src/output/web/index.js';
import { RateRing, RING_SAMPLES, RING_SPAN_MS } from '../src/output/web/rate-ring.js';

const DEMO = new URL('../captures/demo.pcap', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function demoReport(): Report {
  const pipe = new Pipeline(analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 }), [6379]);
  const capture = readCaptureFile(DEMO, pipe.packet);
  pipe.finish();
  return pipe.report(capture, { kind: 'file', name: DEMO, format: capture.format, ports: [6379], filter: null }, 10);
}

describe('RateRing', () => {
  test('each reading gives the growth since the last over the time between; a cleared counter counts from zero', () => {
    const ring = new RateRing();
    ring.observe(100, 10_000);
    expect(ring.latest()).toBeNull();
    ring.observe(1100, 10_500);
    ring.observe(1100, 11_500);
    ring.observe(40, 12_500); // cleared, then 40 new
    ring.observe(50, 12_500); // no time passed: no sample
    expect(ring.since(0, 12_500)).toEqual([[10_500, 2000], [11_500, 0], [12_500, 40]]);
    expect(ring.latest()).toBe(40);
  });

  test('keeps the newest hour of samples: older ones are overwritten and never served', () => {
    const ring = new RateRing();
    for (let i = 0; i <= RING_SAMPLES + 100; i++) ring.observe(i * 10, i * 1000);
    const now = (RING_SAMPLES + 100) * 1000;
    const all = ring.since(0, now);
    expect(all.length).toBe(RING_SAMPLES);
    expect(all[0]).toEqual([101_000, 10]);
    expect(all.at(-1)).toEqual([now, 10]);
    expect(ring.since(all.at(-3)![0], now).length).toBe(2);
    // Read later, only what is within the hour before then.
    expect(ring.since(0, now + 500_000).length).toBe(RING_SAMPLES - 500);
    expect(ring.since(0, now + RING_SPAN_MS)).toEqual([]);
  });

  test('a live timeline seeds the whole buckets of the last hour, only into an empty ring', () => {
    const ring = new RateRing();
    // Buckets of 5 s from Unix second 100: [100,105) 50, [105,110) 10, [110,115) 7 (still filling at 112 s).
    ring.seed({ startTs: 100, bucketSeconds: 5, counts: [50, 10, 7] }, 112_000);
    expect(ring.since(0, 112_000)).toEqual([[105_000, 10], [110_000, 2]]); // 50 and 10 in 5 s each
    ring.seed({ startTs: 100, bucketSeconds: 1, counts: [1, 1, 1] }, 112_000);
    expect(ring.since(0, 112_000).length).toBe(2);
    const late = new RateRing();
    late.seed({ startTs: 0, bucketSeconds: 1, counts: [5, 5, 5] }, RING_SPAN_MS + 2000);
    expect(late.since(0, RING_SPAN_MS + 2000)).toEqual([[3000, 5]]); // the buckets ending at 1 s and 2 s are over an hour old
  });
});

describe('web routes over HTTP', () => {
  const report = demoReport();
  let commands = report.totals['commands']!;
  const source = { title: 'lo, tcp port 6379', snapshot: (): Report => ({ ...report, totals: { ...report.totals, commands } }) };
  let routes: WebRoutes;
  let server: Server;
  let base = '';
  beforeAll(async () => {
    routes = webRoutes(source);
    server = createServer((req, res) => {
      if (!routes(req, res)) {
        res.writeHead(404);
        res.end('other handler');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    routes.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('leaves other paths to the server it is mounted on, and refuses what is not GET or HEAD', async () => {
    expect(await (await fetch(`${base}/metrics`)).text()).toBe('other handler');
    expect(await (await fetch(`${base}/app.js/x`)).text()).toBe('other handler');
    const post = await fetch(`${base}/api/report`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    const head = await fetch(`${base}/`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
  });

  test('the page comes with a CSP that admits scripts from this server only, and loads nothing from elsewhere', async () => {
    const res = await fetch(`${base}/`);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self';/);
    const html = await res.text();
    expect(html.match(/<script src="[^"]*"/g)).toEqual(['<script src="uplot.js"', '<script src="app.js"']);
    expect(html).not.toMatch(/https?:/);
  });

  test('uPlot is served from node_modules, the page script as JavaScript', async () => {
    const req = createRequire(import.meta.url);
    const js = await fetch(`${base}/uplot.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe(readFileSync(req.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'));
    expect(await (await fetch(`${base}/uplot.css`)).text()).toBe(readFileSync(req.resolve('uplot/dist/uPlot.min.css'), 'utf8'));
    const app = await (await fetch(`${base}/app.js`)).text();
    expect(app).toContain("new EventSource('api/events')");
    expect(app).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  test('/api/report is the report cut to what the page draws', async () => {
    const v = (await (await fetch(`${base}/api/report`)).json()) as WebView;
    expect(v.title).toBe('lo, tcp port 6379');
    expect(v.hotKeys[0]).toEqual({ key: 'user:1', count: 232, bytes: expect.any(Number), error: 0 });
    expect(v.commands[0]).toMatchObject({ name: 'GET', count: 509, latencyUs: report.commands[0]!.latencyUs });
    expect(v.slow.map((s) => s.command)).toContain('BLPOP nolist 0.1');
    expect(v.apps.map((a) => a.name)).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.6', '127.0.0.4', '127.0.0.5']);
    expect([v.totals.commands, v.totals.gaps, v.totals.kernelDrops]).toEqual([729, 0, report.totals['kernelDrops']]);
    expect(v.rate.full).toBe(true);
    expect(Object.keys(v).sort()).toEqual(
      ['apps', 'commands', 'hotKeys', 'hotKeysErrorBound', 'hotKeysExact', 'latencyUs', 'nowMs', 'rate', 'slow', 'source', 'span', 'title', 'totals', 'warnings'],
    );
  });

  test('/api/events: the whole history first, then one event a second with the new samples; a gone client is dropped', async () => {
    const abort = new AbortController();
    const res = await fetch(`${base}/api/events`, { signal: abort.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const events: WebView[] = [];
    let buf = '';
    const next = async (): Promise<WebView> => {
      for (;;) {
        const end = buf.indexOf('\n\n');
        if (end >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          if (block.startsWith('data: ')) return JSON.parse(block.slice(6)) as WebView;
          continue;
        }
        const { value } = await reader.read();
        buf += Buffer.from(value!).toString('utf8');
      }
    };
    events.push(await next());
    expect(routes.openStreams()).toBe(1);
    commands += 500;
    events.push(await next(), await next());
    expect(events.map((e) => e.rate.full)).toEqual([true, false, false]);
    // Each later event carries only the samples after the last one sent: here one each.
    expect(events.slice(1).map((e) => e.rate.samples.length)).toEqual([1, 1]);
    // The 500 new commands over the time since the sample before (whatever the timer's delay).
    const [at, perSec] = events[1]!.rate.samples[0]!;
    expect(perSec).toBeGreaterThan(0);
    const before = events[0]!.rate.samples.at(-1);
    if (before !== undefined) expect((perSec * (at - before[0])) / 1000).toBeCloseTo(500, 6);
    expect(events[2]!.rate.samples[0]![1]).toBe(0);
    expect(events[2]!.nowMs - events[1]!.nowMs).toBeGreaterThanOrEqual(900);
    abort.abort();
    for (let i = 0; i < 50 && routes.openStreams() > 0; i++) await sleep(20);
    expect(routes.openStreams()).toBe(0);
  });

  test('a snapshot that throws: the last good report, with what went wrong on top', async () => {
    let fail = false;
    const r = webRoutes({ title: 't', snapshot: () => { if (fail) throw new Error('boom'); return report; } });
    fail = true;
    await sleep(1100);
    const res = createServer((req, out) => r(req, out));
    await new Promise<void>((ok) => res.listen(0, '127.0.0.1', ok));
    const v = (await (await fetch(`http://127.0.0.1:${(res.address() as AddressInfo).port}/api/report`)).json()) as WebView;
    expect(v.warnings[0]).toBe('the web view could not take a report: boom');
    expect(v.hotKeys[0]!.key).toBe('user:1');
    r.close();
    res.closeAllConnections();
    await new Promise((ok) => res.close(ok));
  });

  test('close() stops the sampling', async () => {
    let taken = 0;
    const r = webRoutes({ title: 't', snapshot: () => (taken++, report) });
    expect(taken).toBe(1); // the first reading, at once
    r.close();
    await sleep(1100);
    expect(taken).toBe(1);
  });
});

test('startWebServer: an unusable address is one clear error, a good one gives the URL', async () => {
  const source = { title: 't', snapshot: demoReport };
  const a = await startWebServer(source, '127.0.0.1', 0);
  expect(a.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  const port = Number(new URL(a.url).port);
  await expect(startWebServer(source, '127.0.0.1', port)).rejects.toThrow(`web view: cannot listen on 127.0.0.1:${port} (EADDRINUSE)`);
  expect((await fetch(`${a.url}api/report`)).status).toBe(200);
  await a.close();
});
