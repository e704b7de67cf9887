import { Analyzer, type AnalysisListener, type AnalyzerOptions } from '../analysis/analyzer.js';
import type { Stats } from '../analysis/stats.js';
import type { CaptureStats, Packet } from '../capture/packet.js';
import { emptyFlowStats, FlowTable } from '../flow/flow-table.js';
import { KindSniffer } from '../flow/sniff.js';
import { buildReport, type Report } from '../output/report.js';

/**
 * The layers wired once: packets in (from a file, a replay or an interface), flows, the kind of
 * each connection (TLS and the Cluster bus stop there), analysis of the RESP ones, and the
 * capture's time span; a report out whenever asked.
 */
export class Pipeline {
  readonly analyzer: Analyzer;
  readonly flows: FlowTable;
  /** Earliest and latest packet times: a merged capture's timestamps may go backwards. */
  firstTsUs: number | null = null;
  lastTsUs: number | null = null;
  /**
   * Packets stamped earlier than the packet before them, and the largest such step back in µs:
   * one interface's capture has sub-millisecond disorder between CPUs; a merge may have hours.
   */
  backwardsPackets = 0;
  maxBackwardsUs = 0;
  private prevTsUs = -Infinity;

  constructor(opts: AnalyzerOptions, ports: readonly number[], listeners: AnalysisListener[] = []) {
    this.analyzer = new Analyzer(opts, listeners);
    const stats = emptyFlowStats();
    this.flows = new FlowTable({ serverPorts: new Set(ports), stats }, new KindSniffer(this.analyzer, stats));
  }

  /** Feeds one packet (bound, so it can be handed to a capture source as is). */
  readonly packet = (p: Packet): void => {
    const ts = p.tsUs;
    if (ts < this.prevTsUs) this.backwards(this.prevTsUs - ts);
    this.prevTsUs = ts;
    if (this.firstTsUs === null || ts < this.firstTsUs) this.firstTsUs = ts;
    if (this.lastTsUs === null || ts > this.lastTsUs) this.lastTsUs = ts;
    this.flows.packet(p);
  };

  private backwards(stepUs: number): void {
    this.backwardsPackets++;
    if (stepUs > this.maxBackwardsUs) this.maxBackwardsUs = stepUs;
  }

  /** Capture time passed without packets (a quiet live capture): see FlowTable.tick. */
  tick(nowUs: number): void {
    this.flows.tick(nowUs);
  }

  /** End of input: every open connection is closed, pending requests become unanswered. */
  finish(): void {
    this.flows.finish(this.lastTsUs ?? 0);
  }

  /** A report of the whole run, or of `stats` (an interval's) from `fromTsUs`. */
  report(capture: CaptureStats, source: Report['source'], top: number, stats?: Stats, fromTsUs?: number | null): Report {
    this.analyzer.flushAggregates();
    return buildReport({
      analyzer: this.analyzer,
      capture,
      flow: this.flows.stats,
      source,
      top,
      firstTsUs: fromTsUs ?? this.firstTsUs,
      lastTsUs: this.lastTsUs,
      backwardsPackets: this.backwardsPackets,
      maxBackwardsUs: this.maxBackwardsUs,
      ...(stats === undefined ? {} : { stats }),
    });
  }
}
