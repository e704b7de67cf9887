/**
 * Lines to a stream in large writes: batched until 64 KiB or the next turn of the event loop.
 * Live, when the reader is slower than the traffic, at most MAX_QUEUED bytes wait; lines past
 * that are dropped and counted (the capture must not stall, nor memory grow without bound).
 * Reading a file nothing is lost by waiting: the file's reader awaits room() after each read,
 * so the lines wait for the stream instead (`monitor -r FILE | grep ...`).
 */
const BATCH_BYTES = 64 * 1024;
const MAX_QUEUED = 64 * 1024 * 1024;
/** room() resolves once at most this much waits for the stream. */
const ROOM_BYTES = 1024 * 1024;

export class LineWriter {
  private batch = '';
  private scheduled = false;
  private queued = 0;
  private closed = false;
  /** Resolvers of room(), called once the queue is short again (or the stream closed). */
  private waiting: Array<() => void> = [];
  droppedLines = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    /** Called once when the stream closes under us (EPIPE: `| head`). */
    private readonly onClosed: () => void,
    /** Never drop a line: the writer's caller waits on room() (a file's reader) instead. */
    private readonly lossless = false,
  ) {
    out.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') this.close();
    });
  }

  write(text: string): void {
    if (this.closed) return;
    if (!this.lossless && this.queued + this.batch.length > MAX_QUEUED) {
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
    // Bytes now, not at the write: a pipe's stream keeps what it cannot write yet, and a batch
    // kept as a string holds its thousands of line strings in the young generation, copied by
    // every scavenge (monitor -r into a pipe spent 5 of its 10 s collecting them).
    const chunk = Buffer.from(this.batch);
    this.batch = '';
    this.queued += chunk.length;
    this.out.write(chunk, () => {
      this.queued -= chunk.length;
      if (this.queued <= ROOM_BYTES) this.wake();
    });
  }

  /** Resolves once at most ROOM_BYTES wait for the stream (at once if so, or if it closed). */
  room(): Promise<void> {
    if (this.closed || this.queued + this.batch.length <= ROOM_BYTES) return Promise.resolve();
    this.flush();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
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
    this.wake();
    this.onClosed();
  }
}
