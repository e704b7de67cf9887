/**
 * Lines to a stream in large writes: batched until 64 KiB or the next turn of the event loop.
 * When the reader is slower than the traffic, at most MAX_QUEUED bytes wait; lines past that
 * are dropped and counted (the capture must not stall, nor memory grow without bound).
 */
const BATCH_BYTES = 64 * 1024;
const MAX_QUEUED = 64 * 1024 * 1024;

export class LineWriter {
  private batch = '';
  private scheduled = false;
  private queued = 0;
  private closed = false;
  droppedLines = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    /** Called once when the stream closes under us (EPIPE: `| head`). */
    private readonly onClosed: () => void,
  ) {
    out.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') this.close();
    });
  }

  write(text: string): void {
    if (this.closed) return;
    if (this.queued + this.batch.length > MAX_QUEUED) {
      this.droppedLines++;
      return;
    }
    this.batch += text;
    if (this.batch.length >= BATCH_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.closed || this.batch.length === 0) return;
    const chunk = this.batch;
    this.batch = '';
    this.queued += chunk.length;
    this.out.write(chunk, () => (this.queued -= chunk.length));
  }

  /** Flushes and resolves once everything written has been handed to the OS. */
  end(): Promise<void> {
    this.flush();
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.out.write('', () => resolve());
    });
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed();
  }
}
