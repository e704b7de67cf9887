// One fuzz case through the whole of redis-tap, in-process: the capture bytes read as the file
// reader reads them (chunk by chunk into one reused buffer), the pipeline, the report, JSON,
// text (colour on and off), MONITOR lines of every request, and the terminal view (headless).
// The modules come from the caller (`lib`): bench/fuzz.mjs passes dist/, the tests pass src/.
// A case fails on any exception but a one-line UserError, an internal error the analyzer
// caught, or a broken invariant of the report or of an output (see checkReport).
import { PassThrough, Writable } from 'node:stream';
import { checkReport, diffPath } from './fuzz-invariants.mjs';

/** Largest report JSON (pretty, as the CLI prints it) a capture may give. */
export const MAX_JSON_BYTES = 2 * 1024 * 1024;
const SOURCE_NAME = 'fuzz-input';

/** A terminal's output side: sized, a TTY, discarding what is written. */
class FakeOutput extends Writable {
  constructor(cols, rows) {
    super();
    this.columns = cols;
    this.rows = rows;
    this.isTTY = true;
  }
  _write(_chunk, _enc, done) {
    done();
  }
}

/** A terminal's input side: raw mode is a flag. */
class FakeInput extends PassThrough {
  constructor() {
    super();
    this.isTTY = true;
    this.isRaw = false;
  }
  setRawMode(on) {
    this.isRaw = on;
    return this;
  }
}

/** What failed: kind (exception, internal, invariant), the phase, and a signature to tell failures apart. */
export class CaseFailure extends Error {
  constructor(kind, phase, name, message, stack = '') {
    super(`${kind} in ${phase}: ${name}: ${message}`);
    this.kind = kind;
    this.phase = phase;
    this.sig = `${kind}/${phase}/${name}`;
    this.detail = message;
    this.origStack = stack;
  }
}

/** Where an exception was thrown: `function (file)` of the first frame in src/ or dist/. */
export function stackTop(stack) {
  for (const line of String(stack ?? '').split('\n').slice(1)) {
    const m = /at (?:(\S+) \()?.*?\/(?:src|dist)\/([^:)]+)/.exec(line);
    if (m) return `${m[1] ?? '<anonymous>'} (${m[2].replace(/\.js$/, '.ts')})`;
  }
  return 'outside src';
}

function exceptionFailure(phase, e) {
  const msg = e instanceof Error ? e.message : String(e);
  const norm = msg.replace(/\d+/g, 'N').slice(0, 80);
  const err = new CaseFailure('exception', phase, `${e?.name ?? 'Error'}: ${norm} @ ${stackTop(e?.stack)}`, msg, e?.stack ?? '');
  return err;
}

/** C0 controls but \n, DEL and C1 controls: bytes a terminal may act on. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
const SGR = /\x1b\[[0-9;]*m/g;

export function makeChecker(lib, tuiSizes) {
  const tuis = new Map();

  /** The capture read like CaptureFileCursor reads a file, and analysed like analyzeFile does. */
  function analyze(bytes, o, chunkBytes, sink) {
    // A file no longer than the read size is read in one piece: so is this, without the big buffer.
    const chunk = new Uint8Array(Math.max(4096, Math.min(chunkBytes, bytes.length)));
    const head = bytes.subarray(0, Math.min(bytes.length, chunk.length));
    if (bytes.length === 0) return null;
    if (lib.sniffFormat(head) === null) return null;
    const ports = [...new Set([...o.ports, ...o.proxyPorts])];
    const opts = lib.analyzerOptions({ slowMs: o.slowMs, maxKeys: o.maxKeys, top: o.top, cluster: o.cluster, proxyPorts: o.proxyPorts });
    const pipe = new lib.Pipeline(opts, ports, sink === null ? [] : [sink]);
    const parser = new lib.CaptureParser(pipe.packet, SOURCE_NAME);
    for (let off = 0; off < bytes.length; off += chunk.length) {
      const n = Math.min(chunk.length, bytes.length - off);
      chunk.set(bytes.subarray(off, off + n));
      parser.push(chunk.subarray(0, n));
      // The reader's next read lands in the same buffer: nothing may keep looking at it.
      if (off + n < bytes.length) chunk.fill(0xa5);
    }
    parser.end();
    pipe.finish();
    return pipe.report(parser.stats, { kind: 'file', name: SOURCE_NAME, format: parser.stats.format, ports, filter: null }, o.top);
  }

  /** MONITOR lines of every request (as decoded) and every completed request (with its reply). */
  function monitorSink(state) {
    const line = (text, what) => {
      if (CONTROL.test(text)) throw new CaseFailure('invariant', 'monitor', `${what} has a control byte`, JSON.stringify(text.slice(0, 200)));
      if (!/^-?\d+\.\d{6} \[(\?|\d+) \S+\]( |$)/.test(text)) throw new CaseFailure('invariant', 'monitor', `${what} is not a MONITOR line`, JSON.stringify(text.slice(0, 200)));
    };
    const guard = (fn) => (r) => {
      if (state.failure !== null) return;
      try {
        fn(r);
      } catch (e) {
        state.failure = e instanceof CaseFailure ? e : exceptionFailure('monitor', e);
      }
    };
    return {
      request: guard((r) => {
        state.requests++;
        line(lib.monitorLine(r), 'request line');
      }),
      complete: guard((r) => {
        state.completes++;
        line(lib.monitorLine(r) + lib.replySuffix(r), 'reply line');
      }),
    };
  }

  function checkText(report, top) {
    for (const color of [false, true]) {
      let text;
      try {
        text = lib.renderText(report, { color, top });
      } catch (e) {
        throw exceptionFailure(color ? 'text-color' : 'text', e);
      }
      const plain = color ? text.replace(SGR, '') : text;
      const m = CONTROL.exec(plain);
      if (m) throw new CaseFailure('invariant', 'text', `${color ? 'colour ' : ''}text has control byte 0x${m[0].charCodeAt(0).toString(16)}`, JSON.stringify(plain.slice(Math.max(0, m.index - 60), m.index + 20)));
      if (!text.startsWith(color ? '\x1b[1mredis-tap report' : 'redis-tap report')) throw new CaseFailure('invariant', 'text', 'no report title', text.slice(0, 80));
      // The sections before "Commands" hold only figures the report computed: never NaN and the like.
      const head = plain.slice(0, Math.max(0, plain.indexOf('\nCommands\n')));
      const odd = /NaN|undefined|Infinity|Invalid|null/.exec(head);
      if (odd) throw new CaseFailure('invariant', 'text', `"${odd[0]}" in the figures`, head.slice(Math.max(0, odd.index - 80), odd.index + 20));
    }
  }

  /** The view of size `i`, opened on `report` the first time. */
  function tuiFor(i, report) {
    let t = tuis.get(i);
    if (t !== undefined) return t;
    const [cols, rows] = tuiSizes[i];
    t = { cols, rows, report, snapshots: 0, clock: 0, input: new FakeInput() };
    const source = {
      title: SOURCE_NAME,
      snapshot: () => {
        t.snapshots++;
        return t.report;
      },
      clear: () => {},
      openConnections: () => t.report?.totals['openConnections'] ?? 0,
    };
    t.tui = lib.openTui(source, { input: t.input, output: new FakeOutput(cols, rows), onQuit: () => {}, now: () => t.clock, refreshMs: 2 ** 30, size: { cols, rows } });
    tuis.set(i, t);
    return t;
  }

  function checkScreen(t, when) {
    const lines = t.tui.screenText();
    if (lines.length !== t.rows) throw new CaseFailure('invariant', 'tui', 'screen has the wrong number of rows', `${lines.length} != ${t.rows} (${when})`);
    for (const l of lines) {
      if (l.length > t.cols) throw new CaseFailure('invariant', 'tui', 'a row is wider than the screen', `${l.length} > ${t.cols} (${when})`);
      const m = CONTROL.exec(l);
      if (m) throw new CaseFailure('invariant', 'tui', `screen has control byte 0x${m[0].charCodeAt(0).toString(16)}`, JSON.stringify(l));
    }
    const footer = lines[lines.length - 1] ?? '';
    if (footer.startsWith('error:')) throw new CaseFailure('exception', 'tui', `view shows ${footer.replace(/\d+/g, 'N').slice(0, 80)}`, `${footer} (${when})`);
  }

  /**
   * The view as a live run shows it: 'c' clears it (first snapshot: whole-run averages); with
   * `refresh`, the next refresh a second later too (rates from the difference).
   */
  async function checkTui(report, i, refresh) {
    const t = tuiFor(i, report);
    t.report = report;
    const before = t.snapshots;
    t.input.write('c');
    for (let k = 0; k < 5 && t.snapshots === before; k++) await new Promise((resolve) => setImmediate(resolve));
    if (t.snapshots === before) throw new CaseFailure('invariant', 'tui', 'no snapshot after clear', '');
    checkScreen(t, 'first snapshot');
    if (!refresh) return;
    t.clock += 1000;
    t.tui.render();
    checkScreen(t, 'second snapshot');
  }

  /**
   * Runs one case; resolves to { outcome: 'ok' | 'rejected', packets, commands } or rejects with
   * a CaseFailure. `tui: false` leaves the terminal view out (the costliest output to draw).
   */
  async function check(bytes, o, { tui = true } = {}) {
    const state = { requests: 0, completes: 0, failure: null };
    let report;
    try {
      report = analyze(bytes, o, o.chunkBytes, monitorSink(state));
    } catch (e) {
      if (e instanceof lib.UserError && !e.message.includes('\n')) return { outcome: 'rejected', packets: 0, commands: 0 };
      throw e instanceof CaseFailure ? e : exceptionFailure('pipeline', e);
    }
    if (report === null) return { outcome: 'rejected', packets: 0, commands: 0 };
    if (state.failure !== null) throw state.failure;
    const internal = report.warnings.find((w) => /internal errors? in aggregators/.test(w));
    if (internal) throw new CaseFailure('internal', 'analyzer', internal.replace(/\d+/g, 'N').slice(0, 120), internal);
    const bad = checkReport(report, state);
    if (bad !== null) throw new CaseFailure('invariant', 'report', bad.name, bad.detail);
    let json;
    try {
      json = lib.renderJson(report, true);
    } catch (e) {
      throw exceptionFailure('json', e);
    }
    if (json.length > MAX_JSON_BYTES) throw new CaseFailure('invariant', 'json', 'report JSON over 2 MB', `${json.length} bytes; timeline ${report.timeline.perSecond.length} s`);
    checkText(report, o.top);
    if (tui) {
      try {
        await checkTui(report, o.tui, o.tuiRefresh !== false);
      } catch (e) {
        throw e instanceof CaseFailure ? e : exceptionFailure('tui', e);
      }
    }
    if (o.compareChunks && bytes.length > 4096) {
      let whole;
      try {
        whole = analyze(bytes, o, bytes.length, null);
      } catch (e) {
        throw exceptionFailure('pipeline-whole', e);
      }
      const a = JSON.parse(json);
      const b = JSON.parse(lib.renderJson(whole, true));
      const at = diffPath(a, b);
      if (at !== null) throw new CaseFailure('invariant', 'chunks', `read in ${o.chunkBytes}-byte chunks and whole, the reports differ at ${at.replace(/\[\d+\]/g, '[]')}`, at);
    }
    return { outcome: 'ok', packets: report.totals['packets'], commands: report.totals['commands'] };
  }

  function close() {
    for (const t of tuis.values()) t.tui.close();
    tuis.clear();
  }

  return { check, close };
}
