/**
 * MONITOR lines and a slow reader. Live, lines past 64 MB waiting are dropped and counted (the
 * capture must not stall); from a file nothing is dropped: the file's reading waits for the
 * output instead, on one thread or several (`monitor -r FILE | grep ...`).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, test } from 'vitest';
import { LineWriter } from '../src/output/line-writer.js';
import { captureCopies } from './helpers/capture-copies.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/redis-tap.js');
const dir = mkdtempSync(join(tmpdir(), 'redis-tap-mon-slow-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stream that takes each write `delayMs` after it is given, counting the bytes. */
function slowStream(delayMs: number): Writable & { bytes: number } {
  const s = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, done) {
      s.bytes += chunk.length;
      setTimeout(done, delayMs);
    },
  }) as Writable & { bytes: number };
  s.bytes = 0;
  return s;
}

const LINE = `${'x'.repeat(1023)}\n`;

describe('LineWriter', () => {
  test('lossless: a writer that waits for room() loses no line to a slow stream', async () => {
    const out = slowStream(1);
    const w = new LineWriter(out, () => undefined, true);
    for (let step = 0; step < 100; step++) {
      for (let i = 0; i < 1000; i++) w.write(LINE);
      await w.room();
    }
    await w.end();
    expect(w.droppedLines).toBe(0);
    expect(out.bytes).toBe(100 * 1000 * LINE.length);
  });

  test('live: lines past 64 MB waiting are dropped and counted, not queued without bound', async () => {
    const out = slowStream(10_000);
    const w = new LineWriter(out, () => undefined);
    const n = 80 * 1024;
    for (let i = 0; i < n; i++) w.write(LINE);
    w.flush();
    expect(w.droppedLines).toBeGreaterThan(0);
    expect(w.droppedLines).toBeLessThan(n);
    out.destroy();
  });
});

describe('monitor -r into a slow pipe', () => {
  // demo.pcap 20 times over (other client ports each time): ~2 MB of lines, more than the
  // output may hold before the reading waits.
  const big = join(dir, 'big.pcap');
  writeFileSync(big, captureCopies(readFileSync(join(ROOT, 'captures/demo.pcap')), 20));

  /** monitor -r, its stdout read with a pause of a few ms after every chunk. */
  async function slowRead(threads: number): Promise<{ out: string; err: string; code: number | null }> {
    const child = spawn(process.execPath, [BIN, 'monitor', '-r', big, '--threads', String(threads)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const parts: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => {
      parts.push(d);
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 25);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { out: Buffer.concat(parts).toString('latin1'), err, code };
  }

  test('Ctrl-C while the reading waits for the reader: the count at once, then the lines so far, exit 0', { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, [BIN, 'monitor', '-r', big], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let saidAt = 0;
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (saidAt === 0 && err.includes('commands from')) saidAt = Date.now();
    });
    let out = 0;
    let lines = '';
    // A reader taking 16 KB every 50 ms: the 64 KB pipe fills at once, the output's room soon after.
    child.stdout.on('data', (d: Buffer) => {
      out += d.length;
      lines += d.toString('latin1');
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 50);
    });
    await new Promise((r) => setTimeout(r, 1000));
    const sentAt = Date.now();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, err).toBe(0);
    expect(err).toMatch(/^redis-tap: \d+ commands from \d+ packets; .*; interrupted, the lines read so far still being written\n$/);
    expect(saidAt - sentAt).toBeLessThan(3000);
    // Every line the reading made was written whole: as many lines as the count says.
    const commands = Number(/^redis-tap: (\d+) commands/.exec(err)![1]);
    expect(lines.endsWith('\n')).toBe(true);
    expect(lines.split('\n').length - 1).toBe(commands);
    expect(out).toBeGreaterThan(0);
  });

  const byConnection = (text: string): Map<string, string[]> => {
    const m = new Map<string, string[]>();
    for (const line of text.split('\n').filter((l) => l !== '')) {
      const conn = /^\S+ \[\S+ (\S+)\]/.exec(line)?.[1] ?? '?';
      m.set(conn, [...(m.get(conn) ?? []), line]);
    }
    return m;
  };

  test.each([1, 2])('--threads %i: every line, in order per connection, as to a file', { timeout: 120_000 }, async (threads) => {
    const file = join(dir, `lines-${threads}.txt`);
    const whole = spawn(process.execPath, [BIN, 'monitor', '-r', big, '--threads', String(threads)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    whole.stdout.on('data', (d: Buffer) => chunks.push(d));
    await new Promise((r) => whole.on('close', r));
    writeFileSync(file, Buffer.concat(chunks));
    const expected = readFileSync(file, 'latin1');
    expect(expected.length).toBeGreaterThan(1024 * 1024);
    const slow = await slowRead(threads);
    expect(slow.code, slow.err).toBe(0);
    expect(slow.err).not.toMatch(/dropped/);
    expect(slow.out.length).toBe(expected.length);
    expect(byConnection(slow.out)).toEqual(byConnection(expected));
  });
});
