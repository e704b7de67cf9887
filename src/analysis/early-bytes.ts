/**
 * What the server sent on a connection joined mid-stream before its client sent anything: kept
 * (copied, bounded) until the client's first request shows what the connection is. A replication
 * link's replica speaks only once a second (REPLCONF ACK), and what its master propagated before
 * that is commands, not replies to discard; on any other connection the bytes are discarded
 * then, as before.
 *
 * A busy master sends more than the bound between two ACKs, so the bytes themselves are read
 * too: the answer to a PSYNC sent before the capture (`+FULLRESYNC`, `+CONTINUE`), or a run of
 * propagated commands, make the connection a replication link at once. Past the bound the
 * oldest bytes give way to the newest (counted in `evicted`): a link joined inside a long RDB
 * transfer keeps the commands sent after it for its first ACK.
 */
import { RequestDecoder } from '../resp/request-decoder.js';
import { commandInfo } from './command-info.js';

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
  /** Propagated commands: a replication link's command stream. */
  STREAM: 3,
} as const;

/** Commands in a row, all of them ones a master propagates, that make the bytes a command stream. */
const STREAM_PROOF = 8;
/**
 * Held bytes between two looks for a command stream, and the newest bytes each look decodes:
 * a quarter of what arrives, and room for STREAM_PROOF writes of 32 KB.
 */
const LOOK_EVERY = 1024 * 1024;
const LOOK_BYTES = 256 * 1024;
/** What a master propagates besides write commands. */
const PROPAGATED = new Set(['PING', 'SELECT', 'MULTI', 'EXEC', 'REPLCONF', 'PUBLISH', 'SPUBLISH', 'EVAL', 'EVALSHA', 'FCALL', 'SCRIPT', 'FUNCTION']);

const LF = 0x0a; // the master's keepalive while it prepares an RDB
/** How PSYNC's answer begins (replication.c: `+FULLRESYNC <replid> <offset>`, `+CONTINUE [<replid>]`). */
const PSYNC_ANSWERS = ['+FULLRESYNC ', '+CONTINUE'];
const HEAD_BYTES = 12;

let heldTotal = 0;

export class EarlyBytes {
  private readonly chunks: Array<{ data: Buffer; tsUs: number }> = [];
  private held = 0;
  private nextLook = LOOK_EVERY;
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
      this.nextLook -= old.data.length;
    }
    if (this.held < this.nextLook) return EARLY.KEPT;
    this.nextLook = this.held + LOOK_EVERY;
    return commandStream(this.newest(LOOK_BYTES)) ? EARLY.STREAM : EARLY.KEPT;
  }

  /** The newest chunks holding at least n bytes (or all of them), oldest first. */
  private newest(n: number): Buffer[] {
    let i = this.chunks.length;
    for (let got = 0; i > 0 && got < n; ) got += this.chunks[--i]!.data.length;
    return this.chunks.slice(i).map((c) => c.data);
  }

  /** Hands every kept chunk over, in order, and forgets them. */
  drain(to: (d: Uint8Array, off: number, len: number, tsUs: number) => void): void {
    heldTotal -= this.held;
    this.held = 0;
    for (const c of this.chunks.splice(0)) to(c.data, 0, c.data.length, c.tsUs);
  }
}

/** Whether the chunks, from their first command boundary, are STREAM_PROOF commands a master propagates. */
function commandStream(chunks: readonly Uint8Array[]): boolean {
  let commands = 0;
  let other = false;
  const dec = new RequestDecoder((f) => {
    const info = commandInfo(f.args);
    if (info.spec !== null && (info.spec.flags.includes('write') || PROPAGATED.has(info.name))) commands++;
    else other = true;
  }, () => {
    other = true;
  }, {});
  dec.resync();
  for (const d of chunks) dec.push(d, 0, d.length, 0);
  return !other && commands >= STREAM_PROOF;
}
