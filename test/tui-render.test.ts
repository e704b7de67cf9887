import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { AppNamer } from '../src/analysis/apps/app-namer.js';
import { parseClientMap } from '../src/analysis/apps/client-map.js';
import { analyzeFile } from '../src/engine/analyze-file.js';
import { analyzerOptions } from '../src/engine/options.js';
import type { Report } from '../src/output/report.js';
import { dur, num, pct, rate } from '../src/output/text-format.js';
import { openTui, type Tui, type TuiOptions, type TuiSource } from '../src/output/tui/index.js';
import { layout } from '../src/output/tui/layout.js';

const DEMO = fileURLToPath(new URL('../captures/demo.pcap', import.meta.url));

/** A terminal's output side: sized, a TTY, and discarding what is written. */
class FakeOutput extends Writable {
  columns: number;
  rows: number;
  isTTY = true;
  written = 0;
  constructor(cols: number, rows: number) {
    super();
    this.columns = cols;
    this.rows = rows;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.written += chunk.length;
    done();
  }
}

/** A terminal's input side: raw mode is a flag. */
class FakeInput extends PassThrough {
  isTTY = true;
  isRaw = false;
  setRawMode(on: boolean): this {
    this.isRaw = on;
    return this;
  }
}

let demo: Report;
const get = () => demo.commands.find((c) => c.name === 'GET')!;
beforeAll(() => {
  demo = analyzeFile({ path: DEMO, ports: [6379], top: 50, analyzer: analyzerOptions({ slowMs: 10, maxKeys: 200_000, top: 50 }) });
});

interface Harness {
  tui: Tui;
  input: FakeInput;
  output: FakeOutput;
  source: TuiSource & { clears: number };
  quits: () => number;
  text: () => string;
  press: (keys: string) => Promise<void>;
  clock: { ms: number };
}

const open: Tui[] = [];
afterEach(() => {
  for (const t of open.splice(0)) t.close();
  vi.useRealTimers();
});

function harness(cols: number, rows: number, snapshot: () => Report = () => demo, extra: Partial<TuiOptions> = {}): Harness {
  const input = new FakeInput();
  const output = new FakeOutput(cols, rows);
  const clock = { ms: 0 };
  let quits = 0;
  const source = {
    title: 'captures/demo.pcap',
    clears: 0,
    snapshot,
    clear() {
      source.clears++;
    },
    openConnections: () => 3,
  };
  const tui = openTui(source, { input, output, onQuit: () => quits++, now: () => clock.ms, ...extra });
  open.push(tui);
  return {
    tui, input, output, source, clock,
    quits: () => quits,
    text: () => tui.screenText().join('\n'),
    // Keys arrive as bytes on the input, decoded by blessed on a later tick.
    press: async (keys) => {
      input.write(keys);
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

/** The lines of the pane whose border label contains `title`, up to the next border. */
function paneRows(lines: string[], title: string): string[] {
  const top = lines.findIndex((l) => l.includes(title));
  expect(top, `pane ${title}`).toBeGreaterThanOrEqual(0);
  const col = lines[top]!.lastIndexOf('┌', lines[top]!.indexOf(title));
  const rows: string[] = [];
  for (let y = top + 1; y < lines.length && lines[y]![col] === '│'; y++) {
    const end = lines[y]!.indexOf('│', col + 1);
    rows.push(lines[y]!.slice(col + 1, end < 0 ? undefined : end).trimEnd());
  }
  return rows;
}

describe.each([
  [80, 24],
  [120, 40],
  [160, 50],
])('demo capture at %ix%i', (cols, rows) => {
  test('shows the header, hot keys, the slow DEBUG SLEEP and the busiest client', () => {
    const h = harness(cols, rows);
    const lines = h.tui.screenText();
    if (process.env['TUI_DUMP']) console.log(`--- ${cols}x${rows}\n` + lines.join('\n'));
    expect(lines).toHaveLength(rows);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(cols);
    expect(lines[0]).toContain('redis-tap');
    const t = demo.totals;
    // The error codes (WRONGTYPE 2, ERR 1) show where they fit beside the facts that always do.
    const codes = cols >= 100 ? '  err WRONGTYPE 2 ERR 1' : '';
    expect(lines[0]).toMatch(new RegExp(`up 0:00:00  packets ${num(t['packets']!)}  drops n/a  gaps 0  conns 3${codes}$`));
    // First refresh: the whole run's averages.
    expect(lines[1]).toMatch(new RegExp(`^cmd/s ${rate(t['commands']! / demo.span.seconds)}  bytes/s \\d`));
    expect(paneRows(lines, 'Hot keys')[1]).toMatch(/^user:1\s+232\b/);
    expect(paneRows(lines, 'Hot keys')[2]).toMatch(/^session:abc\s+122\b/);
    const slow = paneRows(lines, 'Slow requests').find((l) => l.includes('DEBUG SLEEP 0.05'));
    expect(slow).toMatch(/(^|\s)5\d\.\dms\s/);
    expect(slow).toMatch(/\s127\.0\.0\.6(:\d+)?\s/);
    const busiest = demo.clients[0]!;
    expect(busiest.ip).toBe('127.0.0.2');
    expect(paneRows(lines, 'Clients')[1]).toMatch(new RegExp(`^127\\.0\\.0\\.2\\s+${busiest.connections}\\s.*\\s${pct(busiest.share).replace(".", "\\.")}(\\s.*)?\\s█+$`));
    expect(paneRows(lines, 'Commands')[1]).toMatch(new RegExp(`^GET\\s+${num(get().count)}\\s`));
  });
});

describe('keys', () => {
  test("'b' orders hot keys by bytes: big:blob first", async () => {
    const h = harness(80, 24);
    await h.press('b');
    const keys = paneRows(h.tui.screenText(), 'Hot keys · by bytes');
    expect(keys[0]).toMatch(/^key\s+bytes/);
    expect(keys[1]).toMatch(/^big:blob\s+3\.8 MiB/);
    await h.press('b');
    expect(paneRows(h.tui.screenText(), 'Hot keys · by count')[1]).toMatch(/^user:1\s+232/);
  });

  test("'a' shows the clients by application, and back by IP", async () => {
    // demo.pcap as analysed with a --clients mapping naming 127.0.0.2.
    const named = analyzeFile({
      path: DEMO, ports: [6379], top: 50,
      analyzer: { ...analyzerOptions({ slowMs: 10, maxKeys: 200_000, top: 50 }), apps: new AppNamer(parseClientMap('127.0.0.2 webapp\n', 'm'), null) },
    });
    const h = harness(120, 40, () => named);
    await h.press('a');
    const rows = paneRows(h.tui.screenText(), 'Applications');
    expect(rows[0]).toMatch(/^application\s/);
    expect(rows[1]).toMatch(/^webapp\s+6\s/);
    expect(rows.slice(1).some((r) => r.startsWith('127.0.0.3'))).toBe(true);
    await h.press('a');
    expect(paneRows(h.tui.screenText(), 'Clients')[1]).toMatch(/^127\.0\.0\.2\s/);
  });

  test("'/' GET Enter filters the commands pane to GET", async () => {
    const h = harness(120, 40);
    await h.press('/');
    expect(h.tui.screenText().at(-1)).toContain('filter (command or key prefix');
    await h.press('GET');
    expect(h.tui.screenText().at(-1)).toMatch(/: GET$/);
    await h.press('\r');
    const lines = h.tui.screenText();
    const cmds = paneRows(lines, 'Commands').slice(1).filter((l) => l !== '');
    expect(cmds).toHaveLength(1);
    expect(cmds[0]).toMatch(new RegExp(`^GET\\s+${num(get().count)}\\s`));
    // The latency pane follows a command filter, and so does the slow pane.
    expect(lines.join('\n')).toContain('Latency · GET');
    expect(lines.join('\n')).toContain('Commands · by count · GET');
    for (const l of paneRows(lines, 'Slow requests').slice(1).filter((x) => x !== '')) expect(l).toMatch(/ GET /);
    // A key prefix filters hot keys and prefixes instead.
    await h.press('/');
    await h.press('\x15session\r');
    const keys = paneRows(h.tui.screenText(), 'Hot keys').slice(1).filter((l) => l.trim() !== '');
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^session:abc\s+122/);
    await h.press('/\r');
    expect(paneRows(h.tui.screenText(), 'Commands').slice(1).filter((l) => l !== '').length).toBeGreaterThan(5);
  });

  test("'p' pauses: PAUSED in the header, no snapshots until resumed", async () => {
    let calls = 0;
    const h = harness(80, 24, () => (calls++, demo));
    await h.press('p');
    expect(h.tui.screenText()[0]).toContain('PAUSED');
    const before = calls;
    h.tui.render();
    expect(calls).toBe(before);
    await h.press('p');
    expect(calls).toBe(before + 1);
    expect(h.tui.screenText()[0]).not.toContain('PAUSED');
  });

  test("'c' clears the source, '?' shows help, 'q' and Ctrl-C quit once", async () => {
    const h = harness(80, 24);
    await h.press('c');
    expect(h.source.clears).toBe(1);
    await h.press('?');
    expect(h.text()).toContain('clear all counters');
    await h.press('x');
    expect(h.text()).not.toContain('clear all counters');
    expect(h.quits()).toBe(0);
    await h.press('q');
    expect(h.quits()).toBe(1);
    await h.press('\x03');
    expect(h.quits()).toBe(1);
  });

  test('Ctrl-C quits', async () => {
    const h = harness(80, 24);
    await h.press('\x03');
    expect(h.quits()).toBe(1);
  });

  test("tab moves the focus, 's' sorts the focused pane, arrows select a command's latency", async () => {
    const h = harness(120, 40);
    expect(h.text()).toContain('▶ Commands · by count');
    await h.press('s');
    const worst = [...demo.commands].sort((a, b) => b.latencyUs.p99 - a.latencyUs.p99)[0]!.name;
    expect(paneRows(h.tui.screenText(), 'Commands · by p99')[1]).toMatch(new RegExp(`^${worst}\\s`));
    await h.press('\x1b[B');
    expect(h.text()).toContain(`Latency · ${worst}`);
    expect(h.text()).toMatch(/p99\.9 +\S+ms █+/);
    await h.press('\x1b[A');
    expect(h.text()).toContain('Latency · all commands');
    await h.press('\t');
    expect(h.text()).toContain('▶ Hot keys');
    await h.press('\t\t');
    expect(h.text()).toContain('▶ Slow requests');
    await h.press('s');
    const slowest = [...demo.slow].sort((a, b) => b.latencyUs - a.latencyUs)[0]!;
    expect(paneRows(h.tui.screenText(), 'slowest first')[1]).toMatch(new RegExp(`${dur(slowest.latencyUs)}.*${slowest.command}$`));
  });
});

describe('panes', () => {
  test('a key prefix filter keeps matching keys and the slow requests on them', async () => {
    const h = harness(120, 40);
    await h.press('/user:1\r');
    let lines = h.tui.screenText();
    const keys = paneRows(lines, 'Hot keys · by count · user:1*').slice(1).map((l) => l.split(' │ ')[0]!.trim()).filter((l) => l !== '');
    expect(keys).toEqual([expect.stringMatching(/^user:1\s+232\s/), expect.stringMatching(/^user:1:profile\s/)]);
    // Commands are not per key: that pane stays whole.
    expect(paneRows(lines, 'Commands · by count')[1]).toMatch(/^GET\s/);
    await h.press('/\x15nolist\r');
    lines = h.tui.screenText();
    const slow = paneRows(lines, 'Slow requests').slice(1).filter((l) => l !== '');
    expect(slow).toEqual([expect.stringMatching(/blocking\s+BLPOP nolist 0\.1$/)]);
  });

  test('servers get their own rows when there are several', () => {
    const two = structuredClone(demo);
    const s = two.servers[0]!;
    two.servers = [{ ...s, endpoint: '10.0.0.1:6379', commands: 600, share: 0.8 }, { ...s, endpoint: '10.0.0.2:6379', commands: 150, share: 0.2 }];
    const lines = harness(120, 40, () => two).tui.screenText();
    const rows = paneRows(lines, 'Clients');
    const at = rows.findIndex((l) => l.startsWith('server'));
    expect(at).toBeGreaterThan(1);
    expect(rows[at + 1]).toMatch(/^10\.0\.0\.1:6379\s.*80\.0%.*█+$/);
    expect(rows[at + 2]).toMatch(/^10\.0\.0\.2:6379\s.*20\.0%/);
  });

  test('an exception from the source is shown, not thrown', () => {
    let fail = false;
    const h = harness(80, 24, () => {
      if (fail) throw new Error('capture went away');
      return demo;
    });
    fail = true;
    h.clock.ms = 1000;
    expect(() => h.tui.render()).not.toThrow();
    expect(h.tui.screenText().at(-1)).toBe('error: capture went away');
    expect(h.text()).toContain('user:1');
  });
});

describe('resize', () => {
  test('re-lays out on resize, down to tiny sizes, without throwing', () => {
    const h = harness(160, 50);
    for (const [c, r] of [[80, 24], [100, 30], [40, 12], [12, 5], [1, 1], [200, 60]] as const) {
      h.output.columns = c;
      h.output.rows = r;
      expect(() => h.output.emit('resize')).not.toThrow();
      const lines = h.tui.screenText();
      expect(lines).toHaveLength(r);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(c);
    }
    expect(h.tui.screenText()[0]).toContain('redis-tap');
  });

  test('the help overlay survives tiny sizes and closes', async () => {
    const h = harness(80, 24);
    await h.press('?');
    for (const [c, r] of [[20, 6], [3, 2], [80, 24]] as const) {
      h.output.columns = c;
      h.output.rows = r;
      h.output.emit('resize');
      expect(h.tui.screenText()).toHaveLength(r);
    }
    expect(h.text()).toContain('keys count/bytes');
    await h.press(' ');
    expect(h.text()).not.toContain('keys count/bytes');
  });

  test('a fixed size wins over the stream size', () => {
    const h = harness(200, 60, () => demo, { size: { cols: 90, rows: 30 } });
    expect(h.tui.screenText()).toHaveLength(30);
    expect(Math.max(...h.tui.screenText().map((l) => l.length))).toBe(90);
  });

  test('panes never overlap and stay on screen', () => {
    for (let cols = 1; cols <= 200; cols += 7) {
      for (let rows = 1; rows <= 60; rows += 3) {
        const l = layout(cols, rows);
        const rects = Object.values(l.panes).filter((r) => r !== null);
        for (const a of rects) {
          expect(a.left + a.width).toBeLessThanOrEqual(cols);
          expect(a.top + a.height).toBeLessThanOrEqual(rows - 1);
          for (const b of rects) {
            if (a === b) continue;
            const apart = a.left + a.width <= b.left || b.left + b.width <= a.left || a.top + a.height <= b.top || b.top + b.height <= a.top;
            expect(apart).toBe(true);
          }
        }
      }
    }
  });
});

describe('rates now', () => {
  /** The demo report with 500 more GETs from 127.0.0.2 per second of fake time. */
  function growing(clock: { ms: number }): () => Report {
    return () => {
      const r = structuredClone(demo);
      const extra = Math.floor(clock.ms / 1000) * 500;
      r.totals['commands'] = (r.totals['commands'] ?? 0) + extra;
      r.commands.find((c) => c.name === 'GET')!.count += extra;
      r.clients.find((c) => c.ip === '127.0.0.2')!.commands += extra;
      return r;
    };
  }

  test('cmd/s is the difference between snapshots: 500', () => {
    const clock = { ms: 0 };
    const h = harness(120, 40, growing(clock), { now: () => clock.ms });
    clock.ms = 1000;
    h.tui.render();
    const lines = h.tui.screenText();
    expect(lines[1]).toMatch(/^cmd\/s 500 {2}bytes\/s 0 B/);
    expect(paneRows(lines, 'Commands')[1]).toMatch(new RegExp(`^GET\\s+${num(get().count + 500)}\\s+\\S+\\s+500\\s`));
    expect(paneRows(lines, 'Clients')[1]).toMatch(new RegExp(`^127\\.0\\.0\\.2\\s+${demo.clients[0]!.connections}\\s+500\\s`));
    // Other commands did not move: 0 now, whatever their average was.
    expect(paneRows(lines, 'Commands')[2]).toMatch(/^SET\s+[\d,]+\s+\S+\s+0\.0\s/);
  });

  test('the refresh timer drives it, and close() stops it', () => {
    vi.useFakeTimers();
    const clock = { ms: 0 };
    let calls = 0;
    const snap = growing(clock);
    const h = harness(80, 24, () => (calls++, snap()), { now: () => clock.ms, refreshMs: 1000 });
    for (let i = 0; i < 3; i++) {
      clock.ms += 1000;
      vi.advanceTimersByTime(1000);
    }
    expect(calls).toBe(4);
    expect(h.tui.screenText()[1]).toMatch(/^cmd\/s 500 /);
    expect(h.tui.screenText()[0]).toContain('up 0:00:03');
    h.tui.close();
    vi.advanceTimersByTime(5000);
    expect(calls).toBe(4);
    expect(vi.getTimerCount()).toBe(0);
  });

  test("'c' resets the deltas: the next rate counts from the clear", async () => {
    let base = 10_000;
    const h = harness(80, 24, () => {
      const r = structuredClone(demo);
      r.totals['commands'] = base;
      return r;
    });
    h.clock.ms = 1000;
    base = 10_300;
    h.tui.render();
    expect(h.tui.screenText()[1]).toMatch(/^cmd\/s 300 /);
    base = 0;
    await h.press('c');
    expect(h.source.clears).toBe(1);
    expect(h.tui.screenText()[0]).toContain('up 0:00:00');
    h.clock.ms = 2000;
    base = 200;
    h.tui.render();
    expect(h.tui.screenText()[1]).toMatch(/^cmd\/s 200 /);
  });
});

describe('close', () => {
  test('restores the terminal: leaves raw mode and the alternate screen', () => {
    const h = harness(80, 24);
    expect(h.input.isRaw).toBe(true);
    const before = h.output.written;
    h.tui.close();
    expect(h.input.isRaw).toBe(false);
    expect(h.output.written).toBeGreaterThan(before);
    h.tui.close();
  });
});
