import { describe, expect, test } from 'vitest';
import { analyzeFile } from '../src/engine/analyze-file.js';
import { analyzerOptions } from '../src/engine/options.js';
import { renderText } from '../src/output/text.js';

const CAPTURE = new URL('../captures/demo.pcap', import.meta.url).pathname;
const truth = (await import('../captures/demo.truth.json', { with: { type: 'json' } })).default as {
  clients: Record<string, { commands: number }>;
  secrets: string[];
};

describe('text report on the demo capture', () => {
  const report = analyzeFile({ path: CAPTURE, ports: [6379], top: 10, analyzer: analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 }) });
  const plain = renderText(report, { color: false, top: 10 });

  test('has every section, aligned under its titles', () => {
    for (const title of ['Overall', 'Latency', 'Commands', 'Hot keys by count (exact)', 'Hot keys by bytes', 'Key prefixes', 'Big values', 'Slow requests', 'Clients (by IP)', 'Servers', 'Busiest connections', 'Skew']) {
      expect(plain).toContain(`\n${title}`);
    }
    const lines = plain.split('\n');
    const header = lines.findIndex((l) => l.startsWith('  command '));
    const countEnd = lines[header]!.indexOf('count') + 'count'.length;
    expect(lines[header + 1]!.slice(0, countEnd)).toMatch(/^\s+GET\s+\d+$/); // right-aligned under "count"
  });

  test('the busiest client row is marked as skew, in words when there is no colour', () => {
    const busiest = Object.entries(truth.clients).sort((a, b) => b[1].commands - a[1].commands)[0]!;
    const row = plain.split('\n').find((l) => l.trimStart().startsWith(busiest[0] + ' '))!;
    expect(row).toContain(String(busiest[1].commands));
    expect(row).toMatch(/<- skew$/);
    expect(plain).not.toMatch(/\x1b\[/);
  });

  test('colour only when asked, and never a secret', () => {
    expect(renderText(report, { color: true, top: 10 })).toMatch(/\x1b\[1m/);
    for (const s of truth.secrets) expect(plain).not.toContain(s);
  });
});
