/** Commands per second over the capture, one counter per second, bounded to MAX_SECONDS. */
const MAX_SECONDS = 7 * 24 * 3600;

export class Timeline {
  private firstSec = -1;
  private counts: number[] = [];
  /** Requests whose second fell outside the bounded window. */
  outside = 0;

  add(tsUs: number): void {
    const sec = Math.floor(tsUs / 1e6);
    if (this.firstSec < 0) this.firstSec = sec;
    const i = sec - this.firstSec;
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
