import { Analyzer, type AnalysisListener, type AnalyzerOptions } from '../analysis/analyzer.js';
import type { Stats } from '../analysis/stats.js';
import type { CaptureStats, Packet } from '../capture/packet.js';
import { FlowTable } from '../flow/flow-table.js';
import * as flowTableMod from '../flow/flow-table.js';
import { KindSniffer } from '../flow/sniff.js';
import type { Report } from '../output/report.js';
import * as reportMod from '../output/report.js';
import { Stamps } from './stamps.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { emptyFlowStats } = flowTableMod;
const { buildReport } = reportMod;

/**
 * The layers wired once: packets in (from a file, a replay or an interface), flows, the kind of
 * each connection (TLS and the Cluster bus stop there), analysis of the RESP ones, and the
 * capture's time span; a report out whenever asked.
 */
export class Pipeline {
  readonly analyzer: Analyzer;
  readonly flows: FlowTable;
  readonly stamps = new Stamps();

  constructor(opts: AnalyzerOptions, ports: readonly number[], listeners: AnalysisListener[] = []) {
    this.analyzer = new Analyzer(opts, listeners);
    const stats = emptyFlowStats();
    this.flows = new FlowTable({ serverPorts: new Set(ports), stats }, new KindSniffer(this.analyzer, stats));
  }

  /** Earliest and latest packet times: a merged capture's timestamps may go backwards. */
  get firstTsUs(): number | null {
    return this.stamps.firstTsUs;
  }

  get lastTsUs(): number | null {
    return this.stamps.lastTsUs;
  }

  get backwardsPackets(): number {
    return this.stamps.backwardsPackets;
  }

  get maxBackwardsUs(): number {
    return this.stamps.maxBackwardsUs;
  }

  /** Feeds one packet (bound, so it can be handed to a capture source as is). */
  readonly packet = (p: Packet): void => {
    this.stamps.add(p.tsUs);
    this.flows.packet(p);
  };

  /** Capture time passed without packets (a quiet live capture): see FlowTable.tick. */
  tick(nowUs: number): void {
    this.flows.tick(nowUs);
  }

  /**
   * End of input: every open connection is closed, pending requests become unanswered. A shard
   * is given the capture's last stamp, which may be later than its own packets'.
   */
  finish(atTsUs: number | null = this.lastTsUs): void {
    this.flows.finish(atTsUs ?? 0);
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
