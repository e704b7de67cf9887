/**
 * Issue 10 #4: the report's size is bounded whatever the span. A week of traffic gave 604,801
 * one-second timeline entries (5.45 MB of JSON); the timeline now widens its buckets to round
 * widths so it never holds more than MAX_BUCKETS.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Analyzer } from '../src/analysis/analyzer.js';
import { MAX_BUCKETS, Timeline } from '../src/analysis/timeline.js';
import { emptyCaptureStats } from '../src/capture/packet.js';
import { analyzerOptions } from '../src/engine/options.js';
import { emptyFlowStats } from '../src/flow/flow-table.js';
import { renderJson } from '../src/output/json.js';
import { buildReport, type Report } from '../src/output/report.js';
import { renderText } from '../src/output/text.js';
import { RateTracker, MAX_HISTORY } from '../src/output/tui/rates.js';
import { cmd, testConn } from './helpers/analyzer-run.js';

const DAY = 24 * 3600;
const T0 = 1_764_000_000; // a Unix second, 2025-11-24

function timelineOf(seconds: readonly number[]): Timeline {
  const t = new Timeline();
  for (const s of seconds) t.add(s * 1e6 + 123);
  return t;
}

describe('Timeline widens its buckets to round widths, never past MAX_BUCKETS', () => {
  test.each([
    { span: 1, width: 1 },
    { span: 3600, width: 1 }, // an hour of one-second buckets
    { span: 3601, width: 5 },
    { span: 5 * 3600, width: 5 },
    { span: 5 * 3600 + 1, width: 10 },
    { span: 7 * DAY, width: 300 },
    { span: 30 * DAY, width: 1800 },
    { span: 365 * DAY, width: 21600 },
    { span: 15 * 365 * DAY, width: 172800 }, // past a day per bucket, the width doubles
  ])('$span s of traffic: $width s buckets', ({ span, width }) => {
    const t = timelineOf([T0, T0 + span - 1, T0 + Math.floor(span / 2)]);
    const s = t.series();
    expect(s.bucketSeconds).toBe(width);
    expect(s.counts.length).toBeLessThanOrEqual(MAX_BUCKETS);
    expect(s.startTs! % width).toBe(0);
    expect(s.startTs!).toBeLessThanOrEqual(T0);
    expect(s.startTs! + s.counts.length * width).toBeGreaterThan(T0 + span - 1);
    expect(s.counts.reduce((a, b) => a + b, 0)).toBe(3);
  });

  test('each request lands in the bucket holding its second', () => {
    const seconds = [T0, T0 + 7, T0 + 3600, T0 + 7 * DAY - 1];
    const s = timelineOf(seconds).series();
    const expected = new Array<number>(s.counts.length).fill(0);
    for (const sec of seconds) expected[Math.floor((sec - s.startTs!) / s.bucketSeconds)]!++;
    expect(s.counts).toEqual(expected);
  });

  test('any order of arrival, and any split merged back, gives the series of the sorted seconds', () => {
    const seconds = fc.array(fc.integer({ min: T0 - 40 * DAY, max: T0 + 40 * DAY }), { minLength: 1, maxLength: 200 });
    fc.assert(
      fc.property(seconds, fc.integer({ min: 0, max: 200 }), (secs, cutAt) => {
        const sorted = timelineOf([...secs].sort((a, b) => a - b)).series();
        expect(timelineOf(secs).series()).toEqual(sorted);
        const merged = timelineOf(secs.slice(0, cutAt));
        merged.merge(timelineOf(secs.slice(cutAt)));
        expect(merged.series()).toEqual(sorted);
        expect(sorted.counts.length).toBeLessThanOrEqual(MAX_BUCKETS);
      }),
      { numRuns: 300 },
    );
  });

  test('clear() starts over at one second', () => {
    const t = timelineOf([T0, T0 + 7 * DAY]);
    t.clear();
    t.add(T0 * 1e6);
    expect(t.series()).toEqual({ startTs: T0, bucketSeconds: 1, counts: [1] });
  });
});

/** One connection's GET every `everySec` seconds for `days` days, answered at once. */
function weekReport(days: number, everySec: number): Report {
  const a = new Analyzer(analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 10 }));
  const conn = testConn(1);
  const req = Buffer.from(cmd('GET', 'k'), 'latin1');
  const reply = Buffer.from('$1\r\nv\r\n', 'latin1');
  const first = T0 * 1e6;
  let ts = first;
  a.onOpen(conn, ts);
  for (; ts < first + days * DAY * 1e6; ts += everySec * 1e6) {
    a.onData(conn, true, req, 0, req.length, ts);
    a.onData(conn, false, reply, 0, reply.length, ts + 100);
  }
  a.onClose(conn, ts, 'fin');
  a.flushAggregates();
  return buildReport({
    analyzer: a, capture: emptyCaptureStats('pcap'), flow: emptyFlowStats(),
    source: { kind: 'file', name: 'week.pcap', format: 'pcap', ports: [6379], filter: null },
    top: 10, firstTsUs: first, lastTsUs: ts, backwardsPackets: 0, maxBackwardsUs: 0,
  });
}

describe('a capture spanning 7 days', () => {
  const r = weekReport(7, 10);

  test('gives a JSON report of normal size, with the bucket width in it', () => {
    const json = renderJson(r, false);
    expect(json.length).toBeLessThan(40_000); // 5.45 MB before
    // Whatever the span: a week's report is no bigger than an hour's (3600 one-second buckets).
    expect(renderJson(r).length).toBeLessThanOrEqual(renderJson(weekReport(1 / 24, 1)).length);
    expect(r.timeline.bucketSeconds).toBe(300);
    expect(r.timeline.counts.length).toBe(2016);
    expect(r.timeline.counts.reduce((a, b) => a + b, 0)).toBe(r.totals['commands']);
    expect(r.timeline.counts.slice(1, -1).every((n) => n === 30)).toBe(true); // 300 s / one GET per 10 s
    expect(JSON.parse(json).timeline).toEqual(r.timeline);
  });

  test('the text report gives the peak per second and says how wide the buckets are', () => {
    const line = renderText(r, { color: false, top: 10 }).split('\n').find((l) => l.startsWith('  cmds/s'))!;
    expect(line).toMatch(/ peak 0\.1\/s over 604,800 s \(300 s buckets\)$/);
  });

  test("the terminal view's sparkline starts from the buckets, as commands per second", () => {
    const rates = new RateTracker();
    rates.update(r, 0);
    expect(rates.history.length).toBe(MAX_HISTORY);
    expect(rates.history.every((n) => n === 0.1)).toBe(true);
  });
});

describe('an hour or less keeps one-second buckets', () => {
  test('an hour of one GET a second: 3600 counts of 1', () => {
    const r = weekReport(1 / 24, 1);
    expect(r.timeline.bucketSeconds).toBe(1);
    expect(r.timeline.counts).toEqual(new Array(3600).fill(1));
    const line = renderText(r, { color: false, top: 10 }).split('\n').find((l) => l.startsWith('  cmds/s'))!;
    expect(line).toMatch(/ peak 1\/s over 3,600 s$/);
  });
});
