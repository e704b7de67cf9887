/**
 * Commands per second over the last hour, one sample per reading of the whole-run counter: the
 * report's own timeline widens its buckets past an hour, and a file's is in capture time.
 */

import type { TimelineSeries } from '../../analysis/timeline.js';

/** Samples kept: an hour at one reading a second. */
export const RING_SAMPLES = 3600;
/** Samples older than this (ms) are never served, however few readings there were. */
export const RING_SPAN_MS = 3600 * 1000;

/** [Unix ms, commands/s]: the rate over the interval that ends at the stamp. */
export type RateSample = [number, number];

export class RateRing {
  private readonly atMs = new Float64Array(RING_SAMPLES);
  private readonly perSec = new Float64Array(RING_SAMPLES);
  /** Index of the oldest sample. */
  private head = 0;
  private size = 0;
  private lastCount: number | null = null;
  private lastMs = 0;

  get empty(): boolean {
    return this.size === 0;
  }

  /** The newest rate, or null before two readings. */
  latest(): number | null {
    return this.size === 0 ? null : this.perSec[(this.head + this.size - 1) % RING_SAMPLES]!;
  }

  /**
   * Reads the whole-run command counter at `nowMs`: the sample is the growth since the last
   * reading over the time between. A counter that went down was cleared (the terminal view's
   * `c`): everything in it is new.
   */
  observe(commands: number, nowMs: number): void {
    if (this.lastCount !== null && nowMs > this.lastMs) {
      const grown = commands >= this.lastCount ? commands - this.lastCount : commands;
      this.push(nowMs, (grown * 1000) / (nowMs - this.lastMs));
    }
    if (this.lastCount === null || nowMs > this.lastMs) {
      this.lastCount = commands;
      this.lastMs = nowMs;
    }
  }

  /**
   * History from before the first reading: a live run's timeline (Unix seconds, the wall clock)
   * gives each whole bucket that ended by `nowMs`, within the last hour. Only into an empty ring.
   */
  seed(timeline: TimelineSeries, nowMs: number): void {
    if (this.size > 0 || this.lastCount !== null || timeline.startTs === null) return;
    const w = timeline.bucketSeconds;
    timeline.counts.forEach((n, i) => {
      const endMs = (timeline.startTs! + (i + 1) * w) * 1000;
      if (endMs <= nowMs && endMs > nowMs - RING_SPAN_MS) this.push(endMs, n / w);
    });
  }

  /** Samples stamped after `afterMs` and within the hour before `nowMs`, oldest first. */
  since(afterMs: number, nowMs: number): RateSample[] {
    const from = Math.max(afterMs, nowMs - RING_SPAN_MS);
    const out: RateSample[] = [];
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) % RING_SAMPLES;
      if (this.atMs[i]! > from) out.push([this.atMs[i]!, this.perSec[i]!]);
    }
    return out;
  }

  private push(atMs: number, perSec: number): void {
    const i = (this.head + this.size) % RING_SAMPLES;
    this.atMs[i] = atMs;
    this.perSec[i] = perSec;
    if (this.size < RING_SAMPLES) this.size++;
    else this.head = (this.head + 1) % RING_SAMPLES;
  }
}
