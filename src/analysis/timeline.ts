/** Days of seconds the commands/s timeline keeps. */
export const TIMELINE_DAYS = 7;
const MAX_SECONDS = TIMELINE_DAYS * 24 * 3600;

/**
 * Commands per second over the capture, one counter per second, at most MAX_SECONDS of them.
 * Requests may come in any time order (a merged capture): a second before the first one seen
 * extends the series backwards, as long as the whole series stays within the bound.
 */
export class Timeline {
  private firstSec = -1;
  private counts: number[] = [];
  /** Requests whose second fell outside the bounded window. */
  outside = 0;

  add(tsUs: number): void {
    const sec = Math.floor(tsUs / 1e6);
    if (this.firstSec < 0) this.firstSec = sec;
    let i = sec - this.firstSec;
    if (i < 0 && this.counts.length - i <= MAX_SECONDS) {
      this.counts = new Array<number>(-i).fill(0).concat(this.counts);
      this.firstSec = sec;
      i = 0;
    }
    if (i < 0 || i >= MAX_SECONDS) {
      this.outside++;
      return;
    }
    while (this.counts.length <= i) this.counts.push(0);
    this.counts[i]!++;
  }

  /** [first second (Unix), counts per second]. */
  series(): { startSec: number; perSecond: number[] } {
    return { startSec: this.firstSec, perSecond: [...this.counts] };
  }

  clear(): void {
    this.firstSec = -1;
    this.counts = [];
    this.outside = 0;
  }
}
