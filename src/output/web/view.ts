/** The part of a Report the web page draws, and the rate history with it: what /api/report serves. */

import type { LatencySummary, Report } from '../report.js';
import type { RateSample } from './rate-ring.js';

/** Rows of the commands and applications tables (the report keeps up to 1000). */
export const WEB_ROWS = 50;

/** Counters the page shows: traffic, then what was lost or could not be read. */
const TOTALS = [
  'commands', 'commandsPerSec', 'replies', 'errors', 'unanswered', 'slowRequests', 'connections', 'openConnections',
  'packets', 'bytes', 'kernelDrops', 'interfaceDrops', 'shedFrames', 'gaps', 'gapBytes', 'truncatedRecords', 'skippedBytes',
  'violations', 'unparsedBytes',
] as const;

export interface WebView {
  title: string;
  source: { kind: Report['source']['kind']; name: string; ports: number[] };
  span: Report['span'];
  /** Server time of this view, Unix ms. */
  nowMs: number;
  /** commands/s samples: the whole last hour when `full`, else only those after the client's last one. */
  rate: { full: boolean; samples: RateSample[] };
  totals: Record<(typeof TOTALS)[number], number | null>;
  latencyUs: LatencySummary;
  commands: Array<Pick<Report['commands'][number], 'name' | 'count' | 'perSec' | 'share' | 'errors' | 'unanswered' | 'blocking' | 'latencyUs'>>;
  hotKeys: Report['hotKeys'];
  hotKeysExact: boolean;
  hotKeysErrorBound: number;
  slow: Report['slow'];
  apps: Array<Pick<Report['apps'][number], 'name' | 'source' | 'ips' | 'connections' | 'commands' | 'share' | 'errors' | 'meanLatencyUs'>>;
  warnings: string[];
}

export function webView(r: Report, title: string, nowMs: number, rate: WebView['rate']): WebView {
  const { p50, p90, p99, p999, max, mean } = r.latencyUs;
  return {
    title,
    source: { kind: r.source.kind, name: r.source.name, ports: r.source.ports },
    span: r.span,
    nowMs,
    rate,
    totals: Object.fromEntries(TOTALS.map((k) => [k, r.totals[k] ?? null])) as WebView['totals'],
    latencyUs: { p50, p90, p99, p999, max, mean },
    commands: r.commands.slice(0, WEB_ROWS).map((c) => ({
      name: c.name, count: c.count, perSec: c.perSec, share: c.share, errors: c.errors, unanswered: c.unanswered, blocking: c.blocking, latencyUs: c.latencyUs,
    })),
    hotKeys: r.hotKeys,
    hotKeysExact: r.hotKeysExact,
    hotKeysErrorBound: r.hotKeysErrorBound,
    slow: r.slow,
    apps: r.apps.slice(0, WEB_ROWS).map((a) => ({
      name: a.name, source: a.source, ips: a.ips, connections: a.connections, commands: a.commands, share: a.share, errors: a.errors, meanLatencyUs: a.meanLatencyUs,
    })),
    warnings: r.warnings,
  };
}
