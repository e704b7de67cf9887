/**
 * HDR-style log-linear histogram of integer microseconds: exact below 2^SUB_BITS, then each
 * power-of-two range split into 2^(SUB_BITS-1) buckets, so any recorded value is off by less
 * than 1/64 (1.6%). Fixed memory (~17 KiB) whatever is recorded; values past MAX are clamped.
 */
const SUB_BITS = 7;
const SUB_COUNT = 1 << SUB_BITS; // 128 exact buckets for 0..127 us
const HALF = SUB_COUNT >> 1;
const MAX_EXP = 40; // 2^40 us = 12.7 days
const BUCKETS = SUB_COUNT + (MAX_EXP - SUB_BITS + 1) * HALF;
/** Largest value recorded as it is; larger ones are clamped to it. */
const MAX_VALUE = 2 ** MAX_EXP - 1;

function bucketOf(v: number): number {
  if (v < SUB_COUNT) return v < 0 ? 0 : v;
  if (v >= 2 ** 31) return bucketOfLarge(v);
  const exp = 31 - Math.clz32(v);
  const shift = exp - SUB_BITS + 1;
  return SUB_COUNT + (shift - 1) * HALF + ((v >>> shift) - HALF);
}

function bucketOfLarge(v: number): number {
  const exp = Math.min(Math.floor(Math.log2(v)), MAX_EXP);
  const shift = exp - SUB_BITS + 1;
  const top = Math.min(Math.floor(v / 2 ** shift), SUB_COUNT - 1);
  return Math.min(SUB_COUNT + (shift - 1) * HALF + (top - HALF), BUCKETS - 1);
}

/** Highest value that falls in bucket b (what percentiles report, as HdrHistogram does). */
function bucketHigh(b: number): number {
  if (b < SUB_COUNT) return b;
  const shift = Math.floor((b - SUB_COUNT) / HALF) + 1;
  const top = ((b - SUB_COUNT) % HALF) + HALF;
  return (top + 1) * 2 ** shift - 1;
}

/** Lowest value of bucket b. */
function bucketLow(b: number): number {
  if (b < SUB_COUNT) return b;
  const shift = Math.floor((b - SUB_COUNT) / HALF) + 1;
  const top = ((b - SUB_COUNT) % HALF) + HALF;
  return top * 2 ** shift;
}

/** A histogram as plain data: its non-empty buckets as [index, count] pairs. */
export interface HistogramState {
  count: number;
  sum: number;
  min: number | null;
  max: number;
  buckets: Array<[number, number]>;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sum = 0;
  min = Infinity;
  max = 0;

  record(us: number): void {
    // Past the last bucket (12.7 days: a capture with absurd stamps) a value counts as that
    // bound everywhere, so max, mean and percentiles agree.
    const v = us < 0 ? 0 : us >= MAX_VALUE ? MAX_VALUE : Math.round(us);
    this.counts[bucketOf(v)]!++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  toState(): HistogramState {
    const buckets: Array<[number, number]> = [];
    for (let b = 0; b < BUCKETS; b++) if (this.counts[b]! > 0) buckets.push([b, this.counts[b]!]);
    return { count: this.count, sum: this.sum, min: this.count === 0 ? null : this.min, max: this.max, buckets };
  }

  /** Adds a state's counts (another report's, a shard's); indexes out of range are ignored. */
  addState(s: HistogramState): void {
    for (const [b, n] of s.buckets) if (Number.isInteger(b) && b >= 0 && b < BUCKETS && n > 0) this.counts[b]! += n;
    this.count += s.count;
    this.sum += s.sum;
    if (s.min !== null && s.min < this.min) this.min = s.min;
    if (s.max > this.max) this.max = s.max;
  }

  /** Value at quantile q (0..1): the top of the bucket holding it, never above max. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return Math.min(bucketHigh(b), this.max);
    }
    return this.max;
  }

  mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** Counts per power-of-ten-ish log bucket for drawing: [upper bound us, count][]. */
  logBuckets(bounds: readonly number[]): Array<[number, number]> {
    const out: Array<[number, number]> = bounds.map((b) => [b, 0]);
    for (let b = 0; b < BUCKETS; b++) {
      const c = this.counts[b]!;
      if (c === 0) continue;
      const low = bucketLow(b);
      let i = 0;
      while (i < bounds.length - 1 && low >= bounds[i]!) i++;
      out[i]![1] += c;
    }
    return out;
  }
}
