/**
 * Every real capture in captures/, damaged at random in four ways (bytes overwritten, the file
 * cut short, a run of bytes cut out of the middle, bits flipped), goes through the whole
 * pipeline and every output. Nothing may throw except a one-line UserError, and no aggregator
 * or output may fail (the analyzer counts such failures as internal errors).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { analyzeFile } from '../src/engine/analyze-file.js';
import { analyzerOptions } from '../src/engine/options.js';
import { UserError } from '../src/errors.js';
import { renderJson } from '../src/output/json.js';
import { monitorListener } from '../src/output/monitor.js';
import { renderText } from '../src/output/text.js';
import { CAPTURES_DIR } from './helpers/truth.js';

const MUTATIONS_PER_CAPTURE = 40;
/** Past the pcap global header (24 bytes) and a pcapng section header's start. */
const KEEP_HEAD = 24;

const dir = mkdtempSync(join(tmpdir(), 'redis-tap-damaged-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A small deterministic generator, so a failure names a reproducible case. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

function damage(orig: Buffer, kind: number, rnd: () => number): Buffer {
  const at = () => KEEP_HEAD + Math.floor(rnd() * (orig.length - KEEP_HEAD));
  const b = Buffer.from(orig);
  switch (kind) {
    case 0:
      for (let i = 0; i < 20; i++) b[at()] = Math.floor(rnd() * 256);
      return b;
    case 1:
      return b.subarray(0, Math.floor(rnd() * b.length));
    case 2: {
      const s = at();
      return Buffer.concat([b.subarray(0, s), b.subarray(Math.min(b.length, s + Math.floor(rnd() * 2000)))]);
    }
    default:
      for (let i = 0; i < 300; i++) b[at()]! ^= 1 << Math.floor(rnd() * 8);
      return b;
  }
}

const captures = readdirSync(CAPTURES_DIR).filter((f) => /\.pcap(ng)?$/.test(f));

describe('damaged captures never break the analysis', () => {
  test('there are captures to damage', () => {
    expect(captures.length).toBeGreaterThan(10);
  });

  test.each(captures)('%s', (name) => {
    const orig = readFileSync(join(CAPTURES_DIR, name));
    const rnd = lcg(name.length * 7919);
    const path = join(dir, name);
    for (let k = 0; k < MUTATIONS_PER_CAPTURE; k++) {
      writeFileSync(path, damage(orig, k % 4, rnd));
      let lines = 0;
      const sink = {
        write: () => {
          lines++;
        },
      };
      let report;
      try {
        report = analyzeFile({
          path,
          ports: [6379, 22121],
          top: 10,
          analyzer: analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 }),
          listeners: [monitorListener(sink, true)],
        });
      } catch (e) {
        // Cut inside the file header: not a capture any more, which is one line for the user.
        expect(e, `${name} mutation ${k}`).toBeInstanceOf(UserError);
        expect((e as Error).message).not.toContain('\n');
        continue;
      }
      expect(report.warnings.filter((w) => w.includes('internal error')), `${name} mutation ${k}`).toEqual([]);
      expect(JSON.parse(renderJson(report, true)).version).toBe(1);
      expect(renderText(report, { color: true, top: 10 })).toContain('redis-tap report');
      expect(lines).toBe(report.totals['commands']);
    }
  });
});
