/**
 * The web view in a real browser (headless Chromium through puppeteer-core): the page fills in
 * from the event stream of a real analysis, and what came off the wire is text, never markup.
 * REDIS_TAP_SCREENSHOT=docs/web-view.png also runs ~40 s of varied live traffic and saves the
 * page at 1280x800 (as root, with redis-server).
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Pipeline } from '../src/engine/pipeline.js';
import { runLive, type LiveRun } from '../src/engine/live.js';
import { analyzerOptions } from '../src/engine/options.js';
import { readCaptureFile } from '../src/capture/file-reader.js';
import { emptyCaptureStats, type Packet } from '../src/capture/packet.js';
import { startWebServer, type WebSource } from '../src/output/web/index.js';
import { toPacket } from './helpers/flow-recorder.js';
import { liveCaptureUnavailable } from './helpers/live.js';
import { encodeCommand, haveRedis, startRedis, type RedisServer } from './helpers/redis-server.js';
import { c, HS, s } from './helpers/tcp-conversation.js';

const CHROMIUM = '/usr/bin/chromium';
const noBrowser = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (Debian package chromium; .ci/run installs it)`;
if (noBrowser) console.warn(`web-view: skipped: ${noBrowser}`);
const noLive = noBrowser ?? (!haveRedis ? 'redis-server not installed' : liveCaptureUnavailable());
if (noLive && !noBrowser) console.warn(`web-view: live test skipped: ${noLive}`);
const SHOT = process.env['REDIS_TAP_SCREENSHOT'];

const DEMO = new URL('../captures/demo.pcap', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const XSS_KEY = '<img src=x onerror="window.__xss=1">';
const XSS_NAME = '<script>window.__xss=2</script>';

let browser: Browser;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

/** A page on `source`, with its console errors (CSP refusals, exceptions) collected. */
async function openView(source: WebSource): Promise<{ page: Page; errors: string[] }> {
  const server = await startWebServer(source, '127.0.0.1', 0);
  cleanups.push(server.close);
  const page = await browser.newPage();
  cleanups.push(() => page.close());
  await page.setViewport({ width: 1280, height: 800 });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.url);
  return { page, errors };
}

/**
 * demo.pcap through the analysis, its packets in order and evenly over `ms` of wall time (most
 * of its 0.55 s falls in the first 0.1 s), so the page sees commands/s above zero for a few
 * samples running.
 */
function pacedDemo(ms: number): { source: WebSource; done: Promise<void>; stop(): void } {
  const packets: Packet[] = [];
  // The reader reuses its buffer after each callback: keep a copy of each frame.
  const capture = readCaptureFile(DEMO, (p) => packets.push({ ...p, data: Uint8Array.prototype.slice.call(p.data, p.offset, p.offset + p.capLen), offset: 0 }));
  const pipe = new Pipeline(analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 }), [6379]);
  const t0 = Date.now();
  let next = 0;
  let timer: NodeJS.Timeout;
  const done = new Promise<void>((resolve) => {
    timer = setInterval(() => {
      const upTo = Math.min(packets.length, Math.ceil(((Date.now() - t0) / ms) * packets.length));
      while (next < upTo) pipe.packet(packets[next++]!);
      if (next === packets.length) {
        clearInterval(timer);
        pipe.finish();
        resolve();
      }
    }, 50);
  });
  const source = { kind: 'file' as const, name: DEMO, format: capture.format, ports: [6379], filter: null };
  return { source: { snapshot: () => pipe.report(capture, source, 10), title: 'captures/demo.pcap' }, done, stop: () => clearInterval(timer) };
}

/** First-column texts of a table body. */
const column = (page: Page, body: string) => page.$$eval(`#${body} tr td:first-child`, (tds) => tds.map((td) => td.textContent));

/**
 * Waits until the hot-keys table shows `key` and the current rate is a number above zero; gives
 * both as they were at that moment (the next event may change them).
 */
async function waitForKeyAndRate(page: Page, key: string, ms: number): Promise<{ keys: string[]; rate: number }> {
  const seen = await page.waitForFunction(
    (k) => {
      const keys = [...document.querySelectorAll('#hotkeys-body tr td:first-child')].map((td) => td.textContent ?? '');
      const rate = Number((document.getElementById('rate')?.textContent ?? '').replace(/,/g, ''));
      return keys.includes(k) && rate > 0 ? { keys, rate } : null;
    },
    { timeout: ms, polling: 100 },
    key,
  );
  return (await seen.jsonValue()) as { keys: string[]; rate: number };
}

describe.skipIf(noBrowser !== null)('web view in Chromium', () => {
  beforeAll(async () => {
    const puppeteer = (await import('puppeteer-core')).default;
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--headless=new'] });
  });
  afterAll(async () => {
    for (const f of cleanups.reverse()) await f();
    await browser?.close();
  });

  test('demo.pcap replayed: hot key user:1, a non-zero rate, commands, slow requests and applications', async () => {
    const run = pacedDemo(3000);
    cleanups.push(() => run.stop());
    const { page, errors } = await openView(run.source);
    const seen = await waitForKeyAndRate(page, 'user:1', 8000);
    expect(seen.keys[0]).toBe('user:1');
    expect(seen.rate).toBeGreaterThan(0);
    expect(await column(page, 'commands-body')).toContain('GET');
    expect(await page.$eval('#title', (el) => el.textContent)).toBe('captures/demo.pcap');
    await run.done;
    await sleep(1200); // the final report reaches the page
    expect((await column(page, 'commands-body')).slice(0, 3)).toEqual(['GET', 'SET', 'INCR']);
    expect(await page.$eval('#commands', (el) => el.textContent)).toBe('729');
    // The blocking and slow requests, by their latency, and the applications by IP.
    expect(await page.$$eval('#slow-body tr td:last-child', (tds) => tds.map((td) => td.textContent))).toContain('BLPOP nolist 0.1');
    expect(await column(page, 'apps-body')).toContain('127.0.0.2');
    expect(await page.$eval('#status', (el) => el.textContent)).toBe('live');
    expect(errors).toEqual([]);
  });

  test('keys, names and commands off the wire are shown as text, never run as markup', async () => {
    const setName = encodeCommand(['CLIENT', 'SETNAME', XSS_NAME]).toString('latin1');
    const set = encodeCommand(['SET', XSS_KEY, '<b>v</b>']).toString('latin1');
    const frames = [...HS, c(10, 1000, setName), s(20, 5000, '+OK\r\n'), c(30, 1000 + setName.length, set), s(40, 5005, '+OK\r\n')];
    const pipe = new Pipeline(analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 }), [6379]);
    for (const f of frames) pipe.packet(toPacket(f));
    const capture = emptyCaptureStats('pcap');
    const source = { kind: 'file' as const, name: XSS_NAME, format: 'pcap', ports: [6379], filter: null };
    const { page, errors } = await openView({ snapshot: () => pipe.report(capture, source, 10), title: XSS_NAME });
    await page.waitForFunction((k) => [...document.querySelectorAll('#hotkeys-body td')].some((td) => td.textContent === k), { timeout: 5000 }, XSS_KEY);
    expect(await column(page, 'hotkeys-body')).toEqual([XSS_KEY]);
    expect(await column(page, 'apps-body')).toEqual([XSS_NAME]);
    expect(await page.$eval('#title', (el) => el.textContent)).toBe(XSS_NAME);
    expect(await page.$$eval('#slow-body img, main img, main script, #hotkeys-body b', (els) => els.length)).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(errors).toEqual([]);
  });

  describe.skipIf(noLive !== null)('live on lo', () => {
    let redis: RedisServer;
    let run: LiveRun;
    let stopTraffic = false;
    beforeAll(async () => {
      redis = await startRedis();
      run = await runLive({
        iface: 'lo', ports: [redis.port], bufferMb: 8, cpuPriority: 'normal', top: 10,
        analyzer: analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 }),
      });
    });
    afterAll(async () => {
      stopTraffic = true;
      run?.halt();
      await run?.done;
      await redis?.stop();
    });

    /** One connection naming itself, then sending `cmds` round after round, `pauseMs()` apart, until the test ends. */
    async function client(name: string, cmds: string[][], pauseMs = () => 5): Promise<void> {
      const sock = net.connect(redis.port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      const ask = async (args: string[]) => {
        sock.write(encodeCommand(args));
        await new Promise((r) => sock.once('data', r));
      };
      await ask(['CLIENT', 'SETNAME', name]);
      while (!stopTraffic) {
        for (const cmd of cmds) await ask(cmd);
        await sleep(pauseMs());
      }
      sock.end();
    }

    test('a live capture of a real redis-server: the hot key, a non-zero rate, a name and a key as text', async () => {
      const { page, errors } = await openView(run);
      const traffic = [
        client('checkout', [['GET', 'user:1'], ['GET', 'user:1'], ['SET', 'user:2', 'x'], ['GET', 'user:1']]),
        client(XSS_NAME, [['SET', XSS_KEY, 'v']]),
      ];
      const seen = await waitForKeyAndRate(page, 'user:1', 8000);
      expect(seen.keys[0]).toBe('user:1');
      expect(seen.rate).toBeGreaterThan(0);
      await page.waitForFunction((k) => [...document.querySelectorAll('#hotkeys-body td')].some((td) => td.textContent === k), { timeout: 5000 }, XSS_KEY);
      expect((await column(page, 'hotkeys-body'))[0]).toBe('user:1');
      expect(await column(page, 'apps-body')).toEqual(expect.arrayContaining(['checkout', XSS_NAME]));
      expect(await page.$eval('#title', (el) => el.textContent)).toBe(run.title);
      expect(await page.$$eval('main img, main script', (els) => els.length)).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
      stopTraffic = true;
      await Promise.all(traffic);
      expect(errors).toEqual([]);
    });

    test.runIf(SHOT !== undefined)('screenshot of the page at 1280x800 over varied live traffic', async () => {
      stopTraffic = false;
      // A run of its own: nothing from the tests before it on the page.
      const shot = await runLive({
        iface: 'lo', ports: [redis.port], bufferMb: 8, cpuPriority: 'normal', top: 10,
        analyzer: analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 }),
      });
      cleanups.push(async () => {
        shot.halt();
        await shot.done;
      });
      const { page, errors } = await openView(shot);
      const t0 = Date.now();
      // A rate that swells and ebbs, so the chart has a shape.
      const pause = () => 1 + 12 * (1 + Math.sin((Date.now() - t0) / 5000));
      const shop = [['GET', 'user:1'], ['HGET', 'cart:17', 'items'], ['GET', 'user:1'], ['SET', 'session:abc', 'x', 'EX', '60'], ['GET', 'product:42'], ['GET', 'user:2']];
      const traffic = [
        client('checkout', shop, pause),
        client('checkout', shop, pause),
        client('sessions', [['SET', 'session:xyz', '1'], ['EXPIRE', 'session:xyz', '60'], ['GET', 'session:abc'], ['INCR', 'session:abc']], pause),
        client('worker', [['LPUSH', 'queue:jobs', 'j'], ['RPOP', 'queue:jobs'], ['BLPOP', 'queue:idle', '0.05']], () => 300),
        client('reports', [['ZRANGE', 'leaderboard', '0', '-1'], ['MGET', 'user:1', 'user:2', 'user:3'], ['INCR', 'counter:views']], () => 40),
      ];
      await sleep(40_000);
      await page.screenshot({ path: SHOT!, type: 'png' });
      stopTraffic = true;
      await Promise.all(traffic);
      expect(errors).toEqual([]);
    }, 90_000);
  });
});

