/**
 * What the server sent on a connection joined mid-stream before its client sent anything: kept
 * (copied, bounded) until the client's first request shows what the connection is. A replication
 * link's replica speaks only once a second (REPLCONF ACK), and what its master propagated before
 * that is commands, not replies to discard; on any other connection the bytes are discarded
 * then, as before.
 */

/** Bytes kept per connection, and over all connections at once. */
export const MAX_EARLY_BYTES = 4 * 1024 * 1024;
export const MAX_EARLY_BYTES_TOTAL = 64 * 1024 * 1024;

let heldTotal = 0;

export class EarlyBytes {
  private readonly chunks: Array<{ data: Buffer; tsUs: number }> = [];
  private held = 0;

  /** Keeps a copy; false (keeping nothing more) once a bound would be passed. */
  keep(d: Uint8Array, off: number, len: number, tsUs: number): boolean {
    if (this.held + len > MAX_EARLY_BYTES || heldTotal + len > MAX_EARLY_BYTES_TOTAL) return false;
    this.chunks.push({ data: Buffer.from(d.subarray(off, off + len)), tsUs });
    this.held += len;
    heldTotal += len;
    return true;
  }

  /** Hands every kept chunk over, in order, and forgets them. */
  drain(to: (d: Uint8Array, off: number, len: number, tsUs: number) => void): void {
    heldTotal -= this.held;
    this.held = 0;
    for (const c of this.chunks.splice(0)) to(c.data, 0, c.data.length, c.tsUs);
  }
}
