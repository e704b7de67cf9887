/**
 * Issue 10 #9: wire bytes reach a terminal only through displayString (src/output/strings.ts).
 * Control bytes (ESC, BEL, CR, the C1 CSI 0x9b) pushed through every field that comes from the
 * wire, or from a file name, must leave the report, the text report and the terminal view with
 * no raw control character; the slow list shows an argument escaped once, and marks a cut only
 * when bytes were cut.
 */
import { PassThrough, Writable } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import { Analyzer } from '../src/analysis/analyzer.js';
import { emptyCaptureStats } from '../src/capture/packet.js';
import { analyzerOptions } from '../src/engine/options.js';
import { emptyFlowStats } from '../src/flow/flow-table.js';
import type { TcpConn } from '../src/flow/types.js';
import { buildReport, type Report } from '../src/output/report.js';
import { commandLine, displayString, displayText } from '../src/output/strings.js';
import { renderText } from '../src/output/text.js';
import { openTui, type Tui } from '../src/output/tui/index.js';
import { cmd, testConn } from './helpers/analyzer-run.js';

/** ESC (an OSC that sets the window title, then SGR red), BEL, CR and the C1 CSI. */
const P = '\x1b]0;pwned\x07\x1b[31m\r\x9b';
/** What displayString makes of P: escaped once, as redis-cli escapes (BEL is \a). */
const P_SHOWN = '\\x1b]0;pwned\\a\\x1b[31m\\r\\x9b';

/** P as a simple string or error line may hold it: no CR. */
const P_LINE = P.replace('\r', '');

/** UTF-8 text as wire bytes (one char per byte). */
const u8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

/** A raw control character a terminal would act on: C0 but newline, DEL, C1. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('commandLine shows each argument escaped once, cut only when it was', () => {
  test.each([
    { name: 'an escaped key: no doubled backslash, no cut marker', args: ['GET', '\x1b[31mredkey'], lens: null, want: 'GET \\x1b[31mredkey' },
    { name: 'BEL, CR and C1 escaped', args: ['SET', 'k\x07\r\x9b', 'v'], lens: null, want: 'SET k\\a\\r\\x9b v' },
    { name: 'quoted when it holds a space', args: ['SET', 'a b', 'x'], lens: null, want: 'SET "a b" x' },
    { name: 'quoted when it holds a quote', args: ['SET', 'say "hi"', 'x'], lens: null, want: 'SET "say \\"hi\\"" x' },
    { name: 'empty', args: ['SET', '', 'x'], lens: null, want: 'SET "" x' },
    { name: 'UTF-8 shown as text', args: ['GET', u8('clé')], lens: null, want: 'GET clé' },
    { name: 'cut at 64 characters: the full size follows', args: ['SET', 'k', 'v'.repeat(100)], lens: null, want: `SET k ${'v'.repeat(64)}...(100 bytes)` },
    { name: 'exactly 64 characters: not cut', args: ['SET', 'k', 'v'.repeat(64)], lens: null, want: `SET k ${'v'.repeat(64)}` },
    { name: 'escapes are never cut in half', args: ['SET', 'k', '\x00'.repeat(30)], lens: null, want: `SET k ${'\\x00'.repeat(16)}...(30 bytes)` },
    { name: 'UTF-8 cut between characters, the size in bytes', args: ['SET', 'k', u8('é'.repeat(70))], lens: null, want: `SET k ${'é'.repeat(64)}...(140 bytes)` },
    { name: 'a preview cut on the wire: its full size', args: ['SET', 'k', 'abc'], lens: [3, 1, 1000], want: 'SET k abc...(1000 bytes)' },
    { name: 'a cut argument with a space: quoted, the marker outside', args: ['SET', 'k', 'a b'], lens: [3, 1, 500], want: 'SET k "a b"...(500 bytes)' },
  ])('$name', ({ args, lens, want }) => {
    expect(commandLine(args, args.length, lens)).toBe(want);
  });

  test('more arguments than shown', () => {
    expect(commandLine(['DEL', 'a', 'b'], 40, null, 64, 3)).toBe('DEL a b ...(37 more args)');
  });
});

describe('displayText: strings that are text already (file names, warnings)', () => {
  test.each([
    ['plain', 'captures/demo.pcap', 'captures/demo.pcap'],
    ['UTF-8 text kept', 'café.pcap', 'café.pcap'],
    ['controls escaped', `a${P}.pcap`, `a${P_SHOWN.replace('\\x9b', '\\xc2\\x9b')}.pcap`],
    ['idempotent on what displayString made', P_SHOWN, P_SHOWN],
  ])('%s', (_n, text, want) => {
    expect(displayText(text)).toBe(want);
  });
});

/**
 * The report as outputs show it: all of it but `merge`, the aggregates with keys as raw bytes
 * for `redis-tap merge`, which only JSON (escaping every control character) carries.
 */
function shown(r: Report): unknown {
  const { merge: _raw, ...rest } = r as Report & { merge?: unknown };
  return rest;
}

/** Every string in a value, object keys included. */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) strings(x, strings(k, out));
  return out;
}

const conn = (id: number, clientIp: string, serverPort: number): TcpConn => testConn(id, false, clientIp, serverPort);

/** P through command names, keys, values, subcommands, error texts, client names and libraries, replication, proxy hops. */
function hostileReport(): Report {
  const a = new Analyzer(analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 50, cluster: true, proxyPorts: [22121] }));
  let ts = 1_764_000_000_000_000;
  const talk = (c: TcpConn, steps: Array<['C' | 'S', string, number?]>) => {
    a.onOpen(c, ts);
    for (const [who, bytes, waitUs] of steps) {
      ts += waitUs ?? 100;
      const b = Buffer.from(bytes, 'latin1');
      a.onData(c, who === 'C', b, 0, b.length, ts);
    }
    a.onClose(c, ts, 'fin');
  };
  // A client of the proxy port: everything on it.
  talk(conn(1, '10.0.0.5', 22121), [
    ['C', cmd('CLIENT', 'SETNAME', `app${P}`)], ['S', '+OK\r\n'],
    ['C', cmd('CLIENT', 'SETINFO', 'LIB-NAME', `lib${P}`)], ['S', '+OK\r\n'],
    ['C', cmd('CLIENT', 'SETINFO', 'LIB-VER', `1.0${P}`)], ['S', '+OK\r\n'],
    ['C', cmd('GET', `key:${P}`)], ['S', '$-1\r\n', 50_000], // slow
    ['C', cmd('SET', `big${P}`, `v${P}`.repeat(500))], ['S', '+OK\r\n', 20_000],
    ['C', cmd(`CMD${P}`, `arg${P}`)], ['S', `-ERR unknown command 'CMD${P_LINE}'\r\n`, 30_000],
    ['C', cmd('GET', `other${P}`)], ['S', `-WEIRD${P_LINE} text\r\n`],
    ['C', cmd('GET', `x${P}`)], ['S', `-${P_LINE}\r\n`],
    ['C', cmd('CONFIG', `G${P}`, `p${P}`)], ['S', `-ERR unknown subcommand${P_LINE}\r\n`],
    ['C', cmd('OBJECT', `ENC${P}`, `k${P}`)], ['S', '$-1\r\n'],
    ['C', `*1\r\nX${P}`], // a violation
  ]);
  // The proxy's own connection to the server behind it: the backend hop.
  talk(conn(2, '10.0.0.1', 6379), [['C', cmd('GET', `backend${P}`)], ['S', '$1\r\nv\r\n']]);
  // A replica: the master's propagated commands and the keys they write.
  const rdb = 'REDIS0010xx';
  talk(conn(3, '10.0.0.6', 22121), [
    ['C', cmd('PSYNC', '?', '-1')],
    ['S', `+FULLRESYNC 8de0 0\r\n$${rdb.length}\r\n${rdb}` + cmd(`SET${P}`, `rk${P}`, 'v') + cmd('SET', `rk2${P}`, 'v')],
  ]);
  a.flushAggregates();
  const capture = emptyCaptureStats('pcap');
  capture.warnings.push(`cap${P}.pcap: 3 bytes at the end skipped`); // warnings name the file
  return buildReport({
    analyzer: a, capture, flow: emptyFlowStats(),
    source: { kind: 'file', name: `cap${P}.pcap`, format: 'pcap', ports: [6379, 22121], filter: null },
    top: 50, firstTsUs: 1_764_000_000_000_000, lastTsUs: ts, backwardsPackets: 0, maxBackwardsUs: 0,
  });
}

class FakeOutput extends Writable {
  columns = 220;
  rows = 70;
  isTTY = true;
  written = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.written += chunk.toString('utf8');
    done();
  }
}

class FakeInput extends PassThrough {
  isTTY = true;
  isRaw = false;
  setRawMode(on: boolean): this {
    this.isRaw = on;
    return this;
  }
}

const opened: Tui[] = [];
afterEach(() => {
  for (const t of opened.splice(0)) t.close();
});

describe('control bytes through every field', () => {
  const r = hostileReport();

  test('the traffic reached every field (so the checks below check something)', () => {
    const all = strings(shown(r)).join('\n');
    // Command and subcommand names are upper-cased, as Redis reads them.
    for (const what of [`key:${P}`, `big${P}`, `CMD${P}`.toUpperCase(), `app${P}`, `lib${P}`, `1.0${P}`, `G${P}`.toUpperCase(), `backend${P}`, `rk2${P}`, `SET${P}`.toUpperCase()]) {
      expect(all).toContain(displayString(what));
    }
    expect(r.slow.map((s) => s.command)).toContain(`GET key:${P_SHOWN}`);
    expect(r.violations.length).toBeGreaterThan(0);
  });

  test('no string in the report holds a raw control character', () => {
    for (const s of strings(shown(r))) expect(s, JSON.stringify(s)).not.toMatch(CONTROL);
  });

  test('the text report holds none, and shows the escaped bytes', () => {
    const text = renderText(r, { color: false, top: 50 });
    const bad = text.split('\n').filter((l) => CONTROL.test(l));
    expect(bad).toEqual([]);
    expect(text).toContain(`key:${P_SHOWN}`);
    expect(text).toContain(`app${P_SHOWN}`);
    expect(text).toContain(`cap${displayText(P)}.pcap`);
  });

  test('the terminal view draws none, and writes none of the injected sequences', async () => {
    const output = new FakeOutput();
    const input = new FakeInput();
    const tui = openTui({ title: `cap${P}.pcap`, snapshot: () => r, clear: () => undefined, openConnections: () => 1 },
      { input, output, onQuit: () => undefined, size: { cols: 220, rows: 70 } });
    opened.push(tui);
    const screens = [tui.screenText()];
    for (const key of ['b', '\t', 's', '\t', 's', '\t', 's']) {
      input.write(key);
      await new Promise((resolve) => setImmediate(resolve));
      tui.render();
      screens.push(tui.screenText());
    }
    const shown = screens.flat().join('\n');
    expect(shown.split('\n').filter((l) => CONTROL.test(l))).toEqual([]);
    expect(shown).toContain('key:\\x1b]0;pwned');
    expect(shown).toContain('cap\\x1b]0;pwned');
    // What reached the terminal: blessed's own sequences only, nothing from the traffic.
    expect(output.written).not.toContain('\x1b]0;pwned');
    expect(output.written).not.toContain('\x1b[31M'); // upper-cased in the command name
    expect(output.written).not.toMatch(/[\u0007\u0080-\u009f]/);
  });

  test('displayString is the one escaping function: escaping its output again changes nothing', () => {
    for (const s of strings(shown(r))) expect(displayText(s)).toBe(s);
    expect(displayString(Buffer.from(`k${P}`, 'utf8').toString('latin1'))).toBe(`k${P_SHOWN.replace('\\x9b', '\\xc2\\x9b')}`);
  });
});
