/** One self-overwriting status line on a terminal: bytes read of total, packets/s, elapsed. */
export class ProgressLine {
  private readonly start = Date.now();
  private lastDraw = 0;

  constructor(private readonly out: NodeJS.WriteStream) {}

  update(bytesRead: number, totalBytes: number, packets: number): void {
    const now = Date.now();
    if (now - this.lastDraw < 200) return;
    this.lastDraw = now;
    const secs = (now - this.start) / 1000;
    const pct = totalBytes > 0 ? ((100 * bytesRead) / totalBytes).toFixed(1) : '?';
    const mb = (n: number) => (n / 1048576).toFixed(1);
    const rate = secs > 0 ? Math.round(packets / secs).toLocaleString('en-US') : '-';
    this.out.write(`\r\x1b[K${mb(bytesRead)} / ${mb(totalBytes)} MB (${pct}%)  ${rate} packets/s  ${secs.toFixed(1)} s`);
  }

  done(): void {
    if (this.lastDraw > 0) this.out.write('\r\x1b[K');
  }
}
