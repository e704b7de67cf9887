/**
 * Most buckets the commands/s timeline holds, whatever the span: the report's size is bounded
 * by design (a week of one-second buckets was 604,801 numbers, 5 MB of JSON).
 */
export const MAX_BUCKETS = 3600;

/**
 * Bucket widths in seconds, each a multiple of the one before, so widening merges whole buckets:
 * 1 s up to an hour of traffic, 5 s up to 5 hours, 10 s up to 10, then 30 s, 1 min, 5 min ...
 * a day per bucket up to ~10 years; past that the width doubles.
 */
const WIDTHS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400];

function wider(width: number): number {
  const i = WIDTHS.indexOf(width);
  return i >= 0 && i < WIDTHS.length - 1 ? WIDTHS[i + 1]! : width * 2;
}

/** The timeline as the report has it: `counts[i]` requests in the `bucketSeconds` from `startTs + i * bucketSeconds`. */
export interface TimelineSeries {
  /** Unix second the first bucket starts at (a multiple of bucketSeconds); null when empty. */
  startTs: number | null;
  bucketSeconds: number;
  counts: number[];
}

/**
 * Commands over the capture in buckets of one width, at most MAX_BUCKETS of them: when a request
 * falls outside what that many buckets span, the width grows to the next round one and the
 * buckets merge. Buckets start at multiples of their width (Unix time), so the first and last
 * may cover seconds outside the capture. Requests may come in any time order (a merged capture):
 * one before the first bucket extends the series backwards.
 */
export class Timeline {
  private width = 1;
  /** Index (Unix second / width) of the first bucket. */
  private first = 0;
  private counts: number[] = [];

  add(tsUs: number): void {
    const sec = Math.floor(tsUs / 1e6);
    const i = Math.floor(sec / this.width) - this.first;
    if (i >= 0 && i < this.counts.length) this.counts[i]!++;
    else this.place(sec, 1);
  }

  /** Adds another timeline's counts (shards, windows). */
  merge(other: Timeline): void {
    other.counts.forEach((n, i) => {
      if (n > 0) this.place((other.first + i) * other.width, n);
    });
  }

  /** Adds a series as series() gives it (another report's, a shard's). */
  addSeries(s: TimelineSeries): void {
    if (s.startTs === null) return;
    s.counts.forEach((n, i) => {
      if (n > 0) this.place(s.startTs! + i * s.bucketSeconds, n);
    });
  }

  series(): TimelineSeries {
    return { startTs: this.counts.length === 0 ? null : this.first * this.width, bucketSeconds: this.width, counts: [...this.counts] };
  }

  clear(): void {
    this.width = 1;
    this.first = 0;
    this.counts = [];
  }

  /** Counts `n` at second `sec`, outside the buckets there are: widens first if need be. */
  private place(sec: number, n: number): void {
    if (this.counts.length === 0) {
      this.first = Math.floor(sec / this.width);
      this.counts.push(0);
    }
    const lo = Math.min(sec, this.first * this.width);
    const hi = Math.max(sec, (this.first + this.counts.length) * this.width - 1);
    while (Math.floor(hi / this.width) - Math.floor(lo / this.width) >= MAX_BUCKETS) this.widen();
    let i = Math.floor(sec / this.width) - this.first;
    if (i < 0) {
      this.counts = new Array<number>(-i).fill(0).concat(this.counts);
      this.first += i;
      i = 0;
    }
    while (this.counts.length <= i) this.counts.push(0);
    this.counts[i]! += n;
  }

  /** To the next width: each new bucket sums the old ones inside it. */
  private widen(): void {
    const w = wider(this.width);
    const first = Math.floor((this.first * this.width) / w);
    const out: number[] = [];
    this.counts.forEach((n, j) => {
      const k = Math.floor(((this.first + j) * this.width) / w) - first;
      while (out.length <= k) out.push(0);
      out[k]! += n;
    });
    this.width = w;
    this.first = first;
    this.counts = out;
  }
}
