/**
 * Every input the fuzz campaign (bench/fuzz.mjs) ever found failing, kept in test/fuzz-repros/
 * with a note (<name>.json: case id, base capture, mutations, options, what failed), goes
 * through the same checks as a campaign case: the pipeline, the report's invariants, JSON, text,
 * MONITOR lines and the terminal view, read in the chunks the note gives; and once more through
 * the real file reader (analyzeFile) at its own read size. A fixed failure stays fixed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { makeChecker } from '../bench/fuzz-check.mjs';
import { TUI_SIZES } from '../bench/fuzz-mutate.mjs';
import { CaptureParser, sniffFormat } from '../src/capture/capture-parser.js';
import { analyzeFile } from '../src/engine/analyze-file.js';
import { analyzerOptions } from '../src/engine/options.js';
import { Pipeline } from '../src/engine/pipeline.js';
import { UserError } from '../src/errors.js';
import { renderJson } from '../src/output/json.js';
import { monitorLine, replySuffix } from '../src/output/monitor.js';
import { renderText } from '../src/output/text.js';
import { openTui } from '../src/output/tui/index.js';

/**
 * Reproducers that still fail, until src/ is fixed: each runs as test.fails, so a fix flips it
 * (then take it out of here). A hang is skipped instead: it would hang the suite.
 */
const KNOWN_FAILING = new Set<string>([]);

const DIR = fileURLToPath(new URL('./fuzz-repros/', import.meta.url));
const files = readdirSync(DIR).filter((f) => /\.pcap(ng)?$/.test(f)).sort();
const lib = { Pipeline, CaptureParser, sniffFormat, analyzerOptions, renderJson, renderText, monitorLine, replySuffix, openTui, UserError };
const checker = makeChecker(lib, TUI_SIZES);
afterAll(() => checker.close());

interface Note {
  case: number;
  options: { ports: number[]; proxyPorts: number[]; cluster: boolean; top: number; maxKeys: number; slowMs: number; chunkBytes: number; compareChunks: boolean; tui: number };
  failure: { kind: string; sig: string };
}

function noteOf(file: string): Note {
  return JSON.parse(readFileSync(join(DIR, file.replace(/\.pcap(ng)?$/, '.json')), 'utf8')) as Note;
}

async function replay(file: string): Promise<void> {
  const note = noteOf(file);
  const bytes = new Uint8Array(readFileSync(join(DIR, file)));
  try {
    await checker.check(bytes, note.options);
  } catch (e) {
    const f = e as { sig?: string; detail?: string; stack?: string };
    throw new Error(`${file}: ${f.sig ?? ''} ${f.detail ?? ''}\n${f.sig === undefined ? f.stack : ''}`);
  }
  const o = note.options;
  try {
    const report = analyzeFile({
      path: join(DIR, file), ports: [...new Set([...o.ports, ...o.proxyPorts])], top: o.top,
      analyzer: analyzerOptions({ slowMs: o.slowMs, maxKeys: o.maxKeys, top: o.top, cluster: o.cluster, proxyPorts: o.proxyPorts }),
    });
    renderText(report, { color: true, top: o.top });
    renderJson(report);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
  }
}

describe('fuzz reproducers stay fixed', () => {
  test('every reproducer has its note', () => {
    for (const f of files) expect(noteOf(f).failure.sig, f).toBeTruthy();
  });

  for (const file of files) {
    const known = KNOWN_FAILING.has(file);
    if (known && noteOf(file).failure.kind === 'hang') test.skip(`${file} (known hang)`, () => {});
    else if (known) test.fails(`${file} (known failing)`, () => replay(file));
    else test(file, () => replay(file));
  }
});
