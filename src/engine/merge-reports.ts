/**
 * Many reports (hosts, windows, shards) as one: their `merge` states added up (see
 * src/analysis/merge/stats-state.ts), then the report built from them as analyze builds one.
 * Counts that only the capture and flow layers know (packets, gaps, drops ...) are the sums of
 * the reports' totals.
 */
import { KEEP_VIOLATIONS, violationOrder, type ViolationNote } from '../analysis/analyzer.js';
import { AppNamer } from '../analysis/apps/app-namer.js';
import { mergeStates, STATE_VERSION, statsOf, type StatsState } from '../analysis/merge/stats-state.js';
import { emptyCaptureStats } from '../capture/packet.js';
import { UserError } from '../errors.js';
import { emptyFlowStats } from '../flow/flow-table.js';
import { buildReport, type Report } from '../output/report.js';
import { DEFAULTS } from './options.js';

/** Totals that are no sums: recomputed, or the largest of the reports'. */
const NOT_SUMMED = new Set(['commandsPerSec', 'maxBackwardsUs', 'errorsByCode']);

/** Checks that a parsed JSON document is a redis-tap report this version can merge. */
export function asReport(doc: unknown, file: string): Report {
  const r = doc as Partial<Report> | null;
  if (r === null || typeof r !== 'object' || !('totals' in r) || !('commands' in r)) {
    throw new UserError(`${file}: not a redis-tap report`);
  }
  if (r.version !== 1) throw new UserError(`${file}: report version ${String(r.version)} is not one this redis-tap reads (1)`);
  const m = r.merge as Partial<StatsState> | undefined;
  if (m === undefined || typeof m !== 'object' || m === null) throw new UserError(`${file}: a redis-tap report without its merge section (made by an older version?)`);
  if (m.version !== STATE_VERSION) throw new UserError(`${file}: merge section version ${String(m.version)} is not one this redis-tap reads (${STATE_VERSION})`);
  return r as Report;
}

export function mergeReports(reports: Array<{ file: string; report: Report }>, top: number): Report {
  if (reports.length === 0) throw new UserError('merge: no reports given');
  const keep = { slow: Math.max(DEFAULTS.keepSlow, top), big: Math.max(DEFAULTS.keepBig, top) };
  let state = reports[0]!.report.merge;
  for (const { report } of reports.slice(1)) state = mergeStates(state, report.merge, keep);
  const stats = statsOf(state, { slowUs: 0, maxKeys: DEFAULTS.maxKeys, keepSlow: keep.slow, keepBig: keep.big });
  const starts = reports.map((r) => r.report.span.startTs).filter((x): x is number => x !== null);
  const ends = reports.map((r) => r.report.span.endTs).filter((x): x is number => x !== null);
  const ports = [...new Set(reports.flatMap((r) => r.report.source.ports))].sort((a, b) => a - b);
  const source: Report['source'] = { kind: 'file', name: `merge of ${reports.length} reports`, format: 'merge', ports, filter: null };
  const merged = buildReport({
    analyzer: {
      stats, internalErrors: 0, firstInternalError: null, valueGaps: 0, valueGapBytes: 0, openConnections: 0, unparsedBytes: 0, cutBytes: 0, haltedBytes: 0,
      violations: [], backendStats: null, proxyPorts: new Set(), suspectedProxies: new Map(), apps: new AppNamer(null, null),
    },
    capture: { ...emptyCaptureStats('merge'), kernelDrops: null },
    flow: emptyFlowStats(),
    source,
    top,
    firstTsUs: starts.length === 0 ? null : Math.min(...starts) * 1e6,
    lastTsUs: ends.length === 0 ? null : Math.max(...ends) * 1e6,
    backwardsPackets: 0,
    maxBackwardsUs: 0,
  });
  sumTotals(merged, reports.map((r) => r.report));
  // The earliest, as one analysis keeps them (violationOrder), not the first report's first.
  merged.violations = reports.flatMap((r) => r.report.violations).sort(byViolation).slice(0, KEEP_VIOLATIONS);
  merged.warnings = [...new Set(reports.flatMap(({ file, report }) => report.warnings.map((w) => `${file}: ${w}`)))];
  return merged;
}

/** Totals only the capture and flow layers count: the sums of the reports'. */
function sumTotals(merged: Report, reports: Report[]): void {
  const t = merged.totals;
  const keys = new Set(reports.flatMap((r) => Object.keys(r.totals)));
  for (const k of keys) {
    if (NOT_SUMMED.has(k)) continue;
    const values = reports.map((r) => r.totals[k]);
    if (values.every((v) => v === null || v === undefined)) t[k] = null;
    else t[k] = values.reduce<number>((n, v) => n + (typeof v === 'number' ? v : 0), 0);
  }
  t['maxBackwardsUs'] = Math.max(0, ...reports.map((r) => r.totals['maxBackwardsUs'] ?? 0));
  t['commandsPerSec'] = merged.span.seconds > 0 ? (t['commands'] ?? 0) / merged.span.seconds : (t['commands'] ?? 0);
}

type ReportViolation = Report['violations'][number];
const noteOf = (v: ReportViolation): ViolationNote => ({ ...v, direction: v.direction === 'request' ? 'request' : 'reply', tsUs: Math.round(v.ts * 1e6) });
const byViolation = (a: ReportViolation, b: ReportViolation): number => violationOrder(noteOf(a), noteOf(b));
