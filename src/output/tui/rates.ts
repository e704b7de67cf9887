/** Rates "now": the difference between this refresh's cumulative report and the previous one. */

import type { Report } from '../report.js';

export interface Rates {
  commands: number;
  /** Request plus reply bytes per second. */
  bytes: number;
  perCommand: ReadonlyMap<string, number>;
  perClient: ReadonlyMap<string, number>;
  perServer: ReadonlyMap<string, number>;
  /** False until two snapshots are apart: the figures are then the report's whole-run averages. */
  live: boolean;
}

interface Baseline {
  atMs: number;
  commands: number;
  bytes: number;
  perCommand: Map<string, number>;
  perClient: Map<string, number>;
  perServer: Map<string, number>;
}

/** Snapshots closer than this are not differenced: rates over a few ms are noise. */
const MIN_INTERVAL_MS = 50;

/** Most per-refresh rates kept for the sparkline, whatever the screen width. */
export const MAX_HISTORY = 1000;

const EMPTY: Rates = { commands: 0, bytes: 0, perCommand: new Map(), perClient: new Map(), perServer: new Map(), live: false };

function totalBytes(r: Report): number {
  return (r.totals['requestBytes'] ?? 0) + (r.totals['replyBytes'] ?? 0);
}

function baseline(r: Report, atMs: number): Baseline {
  return {
    atMs,
    commands: r.totals['commands'] ?? 0,
    bytes: totalBytes(r),
    perCommand: new Map(r.commands.map((c) => [c.name, c.count])),
    perClient: new Map(r.clients.map((c) => [c.ip, c.commands])),
    perServer: new Map(r.servers.map((s) => [s.endpoint, s.commands])),
  };
}

/** A counter's growth; a counter that went down was reset upstream, so all of it is new. */
function grown(now: number, before: number | undefined): number {
  const b = before ?? 0;
  return now >= b ? now - b : now;
}

/** Whole-run averages, for the first refresh when there is nothing to difference against. */
function averages(r: Report): Rates {
  const s = r.span.seconds;
  const avg = (n: number) => (s > 0 ? n / s : 0);
  return {
    commands: avg(r.totals['commands'] ?? 0),
    bytes: avg(totalBytes(r)),
    perCommand: new Map(r.commands.map((c) => [c.name, avg(c.count)])),
    perClient: new Map(r.clients.map((c) => [c.ip, avg(c.commands)])),
    perServer: new Map(r.servers.map((x) => [x.endpoint, avg(x.commands)])),
    live: false,
  };
}

export class RateTracker {
  /** Commands/s, one entry per refresh, oldest first. */
  readonly history: number[] = [];
  current: Rates = EMPTY;
  private prev: Baseline | null = null;

  /** Takes this refresh's report; returns the rates since the previous one. */
  update(r: Report, nowMs: number): Rates {
    const prev = this.prev;
    if (prev === null) {
      this.current = averages(r);
      // The capture's own series gives the sparkline a past to start from, a bucket an entry.
      const w = r.timeline.bucketSeconds;
      for (const n of r.timeline.counts.slice(-MAX_HISTORY)) this.history.push(n / w);
      this.prev = baseline(r, nowMs);
      return this.current;
    }
    const dtMs = nowMs - prev.atMs;
    if (dtMs < MIN_INTERVAL_MS) return this.current;
    const per = (n: number) => (n * 1000) / dtMs;
    const next = baseline(r, nowMs);
    const diff = (now: Map<string, number>, before: Map<string, number>) => {
      const out = new Map<string, number>();
      for (const [id, n] of now) out.set(id, per(grown(n, before.get(id))));
      return out;
    };
    this.current = {
      commands: per(grown(next.commands, prev.commands)),
      bytes: per(grown(next.bytes, prev.bytes)),
      perCommand: diff(next.perCommand, prev.perCommand),
      perClient: diff(next.perClient, prev.perClient),
      perServer: diff(next.perServer, prev.perServer),
      live: true,
    };
    this.history.push(this.current.commands);
    if (this.history.length > MAX_HISTORY) this.history.splice(0, this.history.length - MAX_HISTORY);
    this.prev = next;
    return this.current;
  }

  /** Forgets the baseline and the history (after the counters were cleared). */
  reset(): void {
    this.prev = null;
    this.current = EMPTY;
    this.history.length = 0;
  }
}
