import type { Stats } from '../analysis/stats.js';
import type { CaptureStats } from '../capture/packet.js';
import type { FlowStats } from '../flow/types.js';
import { buildReport, type Report, type ReportSource } from '../output/report.js';
import type { Pipeline } from './pipeline.js';

/** Numbers of CaptureStats that are not counters: kept as they are, not differenced. */
const GAUGES = new Set(['interfaces']);

/**
 * Each counter of `now` less the same counter of `before` (nested records too; null stays
 * null); other fields as in `now`. A counter that went down was reset, so all of it is new.
 */
export function counterDelta<T extends object>(now: T, before: T): T {
  const out: Record<string, unknown> = {};
  const b = before as Record<string, unknown>;
  for (const [k, v] of Object.entries(now)) {
    const was = b[k];
    if (typeof v === 'number' && !GAUGES.has(k)) out[k] = typeof was === 'number' && v >= was ? v - was : v;
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) out[k] = counterDelta(v, (was ?? {}) as object);
    else out[k] = v;
  }
  return out as T;
}

/** The run-wide counters an interval is the difference of, as they were at its start. */
interface Marks {
  capture: CaptureStats;
  flow: FlowStats;
  backwardsPackets: number;
  unparsedBytes: number;
  cutBytes: number;
  haltedBytes: number;
  valueGaps: number;
  valueGapBytes: number;
  internalErrors: number;
  violations: number;
}

/**
 * `live --interval`: a report of each interval's own counters. The analysis counts an interval
 * in its own Stats (cleared after each report); the counters kept run-wide (the capture's
 * packets, bytes and drops, the flows' gaps, the decoders' unparsed bytes and violations) are
 * reported as their growth since the last interval.
 */
export class IntervalReports {
  private marks: Marks;
  /** The counters as the last report() read them. */
  private reached: Marks;
  private fromTsUs: number | null = null;
  private prevTsUs = -Infinity;
  private maxBackwardsUs = 0;

  constructor(private readonly pipe: Pipeline, private readonly stats: Stats, capture: CaptureStats) {
    this.marks = this.reached = this.mark(capture);
  }

  /** Each packet, before the pipeline: the interval's largest step back in capture time. */
  packet(tsUs: number): void {
    if (tsUs < this.prevTsUs && this.prevTsUs - tsUs > this.maxBackwardsUs) this.maxBackwardsUs = this.prevTsUs - tsUs;
    this.prevTsUs = tsUs;
  }

  /** The report of the interval so far; restart() then begins the next one. */
  report(capture: CaptureStats, source: Report['source'], top: number): Report {
    const a = this.pipe.analyzer;
    a.flushAggregates();
    const now = this.mark(capture);
    const was = this.marks;
    this.reached = now;
    const counts: ReportSource = {
      stats: a.stats, backendStats: a.backendStats, proxyPorts: a.proxyPorts, suspectedProxies: a.suspectedProxies, apps: a.apps,
      openConnections: a.openConnections, firstInternalError: a.firstInternalError,
      internalErrors: now.internalErrors - was.internalErrors,
      unparsedBytes: now.unparsedBytes - was.unparsedBytes,
      cutBytes: now.cutBytes - was.cutBytes,
      haltedBytes: now.haltedBytes - was.haltedBytes,
      valueGaps: now.valueGaps - was.valueGaps,
      valueGapBytes: now.valueGapBytes - was.valueGapBytes,
      violations: a.violationsSince(was.violations),
    };
    return buildReport({
      analyzer: counts, stats: this.stats, capture: counterDelta(now.capture, was.capture), flow: counterDelta(now.flow, was.flow),
      source, top, firstTsUs: this.fromTsUs ?? this.pipe.firstTsUs, lastTsUs: this.pipe.lastTsUs,
      backwardsPackets: now.backwardsPackets - was.backwardsPackets, maxBackwardsUs: this.maxBackwardsUs,
    });
  }

  /**
   * Starts the next interval where the last report() left off; its span starts at `fromTsUs`
   * (default: the last packet's time).
   */
  restart(fromTsUs?: number): void {
    this.stats.clear();
    this.marks = this.reached;
    this.fromTsUs = fromTsUs ?? this.pipe.lastTsUs;
    this.maxBackwardsUs = 0;
  }

  private mark(capture: CaptureStats): Marks {
    const a = this.pipe.analyzer;
    return {
      capture: structuredClone(capture), flow: structuredClone(this.pipe.flows.stats), backwardsPackets: this.pipe.backwardsPackets,
      unparsedBytes: a.unparsedBytes, cutBytes: a.cutBytes, haltedBytes: a.haltedBytes, valueGaps: a.valueGaps, valueGapBytes: a.valueGapBytes, internalErrors: a.internalErrors,
      violations: a.violationsSeen,
    };
  }
}
