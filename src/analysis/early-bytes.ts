/**
 * What the server sent on a connection joined mid-stream before its client sent anything: kept
 * (copied, bounded) until the client's first request shows what the connection is. A replication
 * link's replica speaks only once a second (REPLCONF ACK), and what its master propagated before
 * that is commands, not replies to discard; on any other connection the bytes are discarded
 * then, as before.
 *
 * The answer to a PSYNC sent before the capture (`+FULLRESYNC`, `+CONTINUE`) makes the connection
 * a replication link at once. Past the bound the oldest bytes give way to the newest (counted in
 * `evicted`): a link joined inside a long RDB transfer, or one whose master sends more than the
 * bound between two ACKs, keeps the newest for its first ACK. Commands alone do not make a
 * link: a client's value can hold RESP command text (a capture joined inside such a GET reply
 * reads exactly like a master's stream), and taking it for one loses the client's requests.
 */

/** Bytes kept per connection, and over all connections at once. */
export const MAX_EARLY_BYTES = 4 * 1024 * 1024;
export const MAX_EARLY_BYTES_TOTAL = 64 * 1024 * 1024;

/** What keep() makes of the bytes so far. */
export const EARLY = {
  /** Kept: nothing known yet. */
  KEPT: 0,
  /** Over the bound of all connections: nothing kept; discard what is held. */
  FULL: 1,
  /** The answer to a PSYNC: a replication link, from its answer on. */
  PSYNC: 2,
} as const;

const LF = 0x0a; // the master's keepalive while it prepares an RDB
/** How PSYNC's answer begins (replication.c: `+FULLRESYNC <replid> <offset>`, `+CONTINUE [<replid>]`). */
const PSYNC_ANSWERS = ['+FULLRESYNC ', '+CONTINUE'];
const HEAD_BYTES = 12;

let heldTotal = 0;

export class EarlyBytes {
  private readonly chunks: Array<{ data: Buffer; tsUs: number }> = [];
  private held = 0;
  /** Bytes given way to newer ones (unparsed). */
  evicted = 0;
  /** The first bytes after keepalive newlines, while they may still begin PSYNC's answer; null once decided. */
  private head: string | null = '';

  /** Keeps a copy of d[off..off+len); says what the bytes so far are (EARLY). */
  keep(d: Uint8Array, off: number, len: number, tsUs: number): number {
    if (heldTotal + len > MAX_EARLY_BYTES_TOTAL) return EARLY.FULL;
    this.chunks.push({ data: Buffer.from(d.subarray(off, off + len)), tsUs });
    this.held += len;
    heldTotal += len;
    if (this.head !== null) {
      // The first bytes past the master's keepalives: PSYNC's answer, or not a link's start.
      let s = off;
      if (this.head === '') while (s < off + len && d[s] === LF) s++;
      for (; s < off + len && this.head.length < HEAD_BYTES; s++) this.head += String.fromCharCode(d[s]!);
      const head = this.head;
      if (head.length < HEAD_BYTES && PSYNC_ANSWERS.some((w) => w.startsWith(head))) return EARLY.KEPT;
      this.head = null;
      if (PSYNC_ANSWERS.some((w) => head.startsWith(w))) return EARLY.PSYNC;
    }
    while (this.held > MAX_EARLY_BYTES && this.chunks.length > 1) {
      const old = this.chunks.shift()!;
      this.held -= old.data.length;
      heldTotal -= old.data.length;
      this.evicted += old.data.length;
    }
    return EARLY.KEPT;
  }

  /** Hands every kept chunk over, in order, and forgets them. */
  drain(to: (d: Uint8Array, off: number, len: number, tsUs: number) => void): void {
    heldTotal -= this.held;
    this.held = 0;
    for (const c of this.chunks.splice(0)) to(c.data, 0, c.data.length, c.tsUs);
  }
}
