/**
 * A capture's time span from its packets' stamps: the earliest and the latest (a merged
 * capture's stamps may go backwards), and how often and how far they stepped back.
 */
export class Stamps {
  firstTsUs: number | null = null;
  lastTsUs: number | null = null;
  /**
   * Packets stamped earlier than the packet before them, and the largest such step back in µs:
   * one interface's capture has sub-millisecond disorder between CPUs; a merge may have hours.
   */
  backwardsPackets = 0;
  maxBackwardsUs = 0;
  private prevTsUs = -Infinity;

  add(ts: number): void {
    if (ts < this.prevTsUs) this.backwards(this.prevTsUs - ts);
    this.prevTsUs = ts;
    if (this.firstTsUs === null || ts < this.firstTsUs) this.firstTsUs = ts;
    if (this.lastTsUs === null || ts > this.lastTsUs) this.lastTsUs = ts;
  }

  private backwards(stepUs: number): void {
    this.backwardsPackets++;
    if (stepUs > this.maxBackwardsUs) this.maxBackwardsUs = stepUs;
  }
}
