import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { EventLog, makeDirs, parseDuration, windowFileName, windowFileStart, WindowFiles } from '../src/engine/agent-files.js';
import { HttpServer, parseListen } from '../src/output/http-server.js';

const BIN = new URL('../bin/redis-tap.js', import.meta.url).pathname;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'redis-tap-agent-files-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('window file names and durations', () => {
  test.each([
    [Date.UTC(2026, 11, 3, 9, 15, 0), 'redis-tap-20261203T091500Z.json'],
    [Date.UTC(2027, 0, 1, 0, 0, 59, 999), 'redis-tap-20270101T000059Z.json'],
  ])('%d is named %s, and read back to the second', (ms, name) => {
    expect(windowFileName(ms)).toBe(name);
    expect(windowFileStart(name)).toBe(Math.floor(ms / 1000) * 1000);
  });

  test.each(['redis-tap-20261203T091500Z.json.tmp', 'report.json', 'redis-tap-2026.json'])('%s is no window file', (name) => {
    expect(windowFileStart(name)).toBeNull();
  });

  test.each([
    ['90m', 90 * 60_000], ['24h', 86_400_000], ['7d', 7 * 86_400_000], ['30s', 30_000], ['45', 45_000], ['1.5h', 5_400_000],
  ])('--keep %s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each(['', 'h', '24 hours', '-1h', '1w'])('--keep %j is refused in one line', (text) => {
    expect(() => parseDuration(text)).toThrow(/is not a duration/);
  });

  test.each([
    ['0.0.0.0:9769', { host: '0.0.0.0', port: 9769 }], [':9769', { host: '0.0.0.0', port: 9769 }],
    ['[::1]:9769', { host: '::1', port: 9769 }], ['localhost:80', { host: 'localhost', port: 80 }],
  ])('--metrics-listen %s', (text, want) => {
    expect(parseListen(text)).toEqual(want);
  });

  test.each(['9769', '1.2.3.4', 'host:0', 'host:70000', '::1:9769'])('--metrics-listen %s is refused', (text) => {
    expect(() => parseListen(text)).toThrow(/is not a listen address/);
  });
});

describe('WindowFiles', () => {
  test('writes whole files under their start and deletes those older than --keep, leftovers included', () => {
    const dir = tmp();
    const errors: string[] = [];
    const files = new WindowFiles(dir, 60 * 60_000, (m) => errors.push(m));
    files.prepare();
    const now = Date.UTC(2026, 11, 3, 12, 0, 0);
    for (const minutesAgo of [120, 61, 59]) writeFileSync(path.join(dir, windowFileName(now - minutesAgo * 60_000)), '{}');
    writeFileSync(path.join(dir, 'notes.txt'), 'kept');
    const leftover = path.join(dir, '.redis-tap-20261203T090000Z.json.123.tmp');
    writeFileSync(leftover, 'half');
    utimesSync(leftover, new Date(now - 2 * 3_600_000), new Date(now - 2 * 3_600_000));
    files.write(now, '{"version":1}\n');
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', windowFileName(now - 59 * 60_000), windowFileName(now)].sort());
    expect(readFileSync(path.join(dir, windowFileName(now)), 'utf8')).toBe('{"version":1}\n');
    expect([files.written, files.failures, errors]).toEqual([1, 0, []]);
  });

  test('a window that cannot be written is reported and counted; the next one is written again', () => {
    const dir = path.join(tmp(), 'out');
    const errors: string[] = [];
    const files = new WindowFiles(dir, 3_600_000, (m) => errors.push(m));
    files.prepare();
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'a file where the directory was');
    files.write(Date.UTC(2026, 11, 3, 12, 0, 0), '{}');
    expect(files.failures).toBe(1);
    expect(errors).toEqual([expect.stringMatching(/^cannot write the window report .*redis-tap-20261203T120000Z\.json: EEXIST \(the capture goes on\)$/)]);
    rmSync(dir);
    mkdirSync(dir);
    files.write(Date.UTC(2026, 11, 3, 12, 1, 0), '{}');
    expect([files.failures, files.written, readdirSync(dir)]).toEqual([1, 1, ['redis-tap-20261203T120100Z.json']]);
  });

  test('an --out that cannot be created is a startup error', () => {
    const file = path.join(tmp(), 'plain');
    writeFileSync(file, '');
    expect(() => new WindowFiles(path.join(file, 'sub'), 1, () => undefined).prepare()).toThrow(/^cannot create the --out directory .*: ENOTDIR$/);
  });

  test('makeDirs makes every missing component, and accepts a directory that exists', () => {
    const dir = path.join(tmp(), 'a', 'b', 'c');
    makeDirs(dir);
    makeDirs(dir);
    expect(existsSync(dir)).toBe(true);
  });

  // mkdir under /proc says ENOENT although /proc exists: Node's recursive mkdir retried it for
  // ever at 100% CPU. Run as the CLI, in a child with a timeout, so that a loop fails the test.
  test.skipIf(!existsSync('/proc/self'))('agent --out /proc/nope: one line and exit 2 at startup, within seconds', () => {
    const r = spawnSync(process.execPath, [BIN, 'agent', '-i', 'lo', '--no-metrics', '--out', '/proc/nope'], { encoding: 'utf8', timeout: 8000 });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/cannot create the --out directory \/proc\/nope: ENOENT$/)]);
  });
});

describe('EventLog', () => {
  test('appends lines, and after a rotation (rename + SIGHUP) writes to a new file at the path', () => {
    const dir = tmp();
    const file = path.join(dir, 'events.ndjson');
    const log = new EventLog(file, () => undefined);
    log.open();
    log.write('{"a":1}\n');
    renameSync(file, file + '.1');
    log.write('{"a":2}\n'); // still the old file, as logrotate expects until the signal
    log.reopen();
    log.write('{"a":3}\n');
    log.close();
    expect(readFileSync(file + '.1', 'utf8')).toBe('{"a":1}\n{"a":2}\n');
    expect(readFileSync(file, 'utf8')).toBe('{"a":3}\n');
  });

  test('a path that cannot be reopened is reported and counted; writes are counted as lost until it can', () => {
    const dir = tmp();
    const file = path.join(dir, 'sub', 'events.ndjson');
    mkdirSync(path.dirname(file));
    const errors: string[] = [];
    const log = new EventLog(file, (m) => errors.push(m));
    log.open();
    rmSync(path.dirname(file), { recursive: true });
    log.reopen();
    log.write('{"lost":1}\n');
    expect([log.failures, errors.length, existsSync(file)]).toEqual([2, 1, false]);
    expect(errors[0]).toMatch(/^cannot reopen the --events file .*: ENOENT/);
  });
});

describe('HttpServer', () => {
  test('routes by the longest path prefix; anything else is a 404; a handler that throws is a 500', async () => {
    const errors: string[] = [];
    const server = new HttpServer((m) => errors.push(m));
    server.route('/metrics', (_q, res) => void res.end('metrics'));
    server.route('/', (q, res) => void res.end('web ' + q.url));
    server.route('/boom', () => {
      throw new Error('kaput');
    });
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
    const get = async (p: string) => {
      const r = await fetch(`http://127.0.0.1:${port}${p}`);
      return `${r.status} ${await r.text()}`;
    };
    try {
      expect(await get('/metrics')).toBe('200 metrics');
      expect(await get('/metrics?x=1')).toBe('200 metrics');
      expect(await get('/metricsfoo')).toBe('200 web /metricsfoo');
      expect(await get('/boom')).toBe('500 internal error\n');
      expect(errors).toEqual(['/boom: kaput']);
    } finally {
      await server.close();
    }
    const bare = new HttpServer();
    const { port: p2 } = await bare.listen({ host: '127.0.0.1', port: 0 });
    expect((await fetch(`http://127.0.0.1:${p2}/`)).status).toBe(404);
    await bare.close();
  });

  test('a port in use is one clear error', async () => {
    const a = new HttpServer();
    const { port } = await a.listen({ host: '127.0.0.1', port: 0 });
    await expect(new HttpServer().listen({ host: '127.0.0.1', port })).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    await a.close();
  });
});
