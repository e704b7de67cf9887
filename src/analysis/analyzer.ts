import type { FlowHandler, TcpConn } from '../flow/types.js';
import type { ReplyFrame, RespLimits, Violation } from '../resp/types.js';
import type { ConnPeers } from './peer-stats.js';
import { Session, type SessionEvents, type UnpairedKind } from './session.js';
import { Stats, type StatsOptions } from './stats.js';
import type { TrackedRequest } from './tracked-request.js';

/** An output fed as traffic is decoded (MONITOR stream, live view). Errors in it are contained. */
export interface AnalysisListener {
  request?(r: TrackedRequest): void;
  complete?(r: TrackedRequest): void;
  unpaired?(conn: TcpConn, reply: ReplyFrame, kind: UnpairedKind): void;
}

export interface AnalyzerOptions extends StatsOptions {
  /** Requests awaiting replies per connection; past it every pending request becomes unanswered and replies resync. */
  maxPending: number;
  respLimits: Partial<RespLimits>;
}

/** Protocol violations kept for the report (the count covers all of them). */
const KEEP_VIOLATIONS = 20;

export interface ViolationNote {
  tsUs: number;
  connection: string;
  direction: 'request' | 'reply';
  offset: number;
  reason: string;
}

interface ConnContext {
  session: Session;
  peers: ConnPeers;
  intervalPeers: ConnPeers | null;
}

/**
 * The analysis layer's entry point: receives reassembled streams from the flow layer, runs one
 * Session per connection and feeds what they pair to Stats and to listeners.
 */
export class Analyzer implements FlowHandler {
  readonly stats: Stats;
  /** Optional second set of aggregates that a live run reports and clears per interval. */
  intervalStats: Stats | null = null;
  readonly violations: ViolationNote[] = [];
  /** Exceptions thrown by an aggregator or listener: counted, never allowed to stop decoding. */
  internalErrors = 0;
  firstInternalError: string | null = null;
  /** Bytes the RESP decoders could not parse, from connections already closed. */
  private closedUnparsed = 0;
  /** Gaps wholly inside values of known length, and their bytes: those lost only the values' bytes. */
  valueGaps = 0;
  valueGapBytes = 0;
  private readonly conns = new Map<number, ConnContext>();
  private readonly events: SessionEvents;
  private lastTsUs = 0;

  constructor(
    private readonly opts: AnalyzerOptions,
    private readonly listeners: AnalysisListener[] = [],
  ) {
    this.stats = new Stats(opts);
    this.events = {
      request: (r) => this.onRequest(r),
      complete: (r) => this.onComplete(r),
      unpaired: (conn, reply, kind) => this.onUnpaired(conn, reply, kind),
      violation: (conn, fromClient, v) => this.onViolation(conn, fromClient, v),
      linkRequest: (r) => this.toStats((st) => st.replication.linkRequest(r.info.name, r.info.sub ?? r.frame.args[1]?.toUpperCase() ?? null)),
      linkStart: () => this.toStats((st) => st.replication.links++),
      rdb: (_conn, bytes, missing) => this.toStats((st) => st.replication.rdb(bytes, missing)),
      propagated: (_conn, f) => this.toStats((st) => st.replication.propagated(f)),
    };
  }

  get openConnections(): number {
    return this.conns.size;
  }

  get unparsedBytes(): number {
    let n = this.closedUnparsed;
    for (const c of this.conns.values()) n += c.session.unparsedBytes;
    return n;
  }

  /** Counts what aggregators hold queued, before a report reads them; errors are contained. */
  flushAggregates(): void {
    try {
      this.stats.flush();
      this.intervalStats?.flush();
    } catch (e) {
      this.fail(e);
    }
  }

  onOpen(conn: TcpConn, tsUs: number): void {
    this.lastTsUs = tsUs;
    const peers = this.stats.open(conn);
    const intervalPeers = this.intervalStats?.open(conn) ?? null;
    const session = new Session(conn, this.events, this.opts.respLimits, this.opts.maxPending);
    const ctx: ConnContext = { session, peers, intervalPeers };
    conn.handlerState = ctx;
    this.conns.set(conn.id, ctx);
  }

  onData(conn: TcpConn, fromClient: boolean, data: Uint8Array, off: number, len: number, tsUs: number): void {
    this.lastTsUs = tsUs;
    (conn.handlerState as ConnContext | null)?.session.data(fromClient, data, off, len, tsUs);
  }

  onGap(conn: TcpConn, fromClient: boolean, missingBytes: number, tsUs: number): void {
    this.lastTsUs = tsUs;
    const ctx = conn.handlerState as ConnContext | null;
    if (ctx === null || !ctx.session.gap(fromClient, missingBytes)) return;
    this.valueGaps++;
    this.valueGapBytes += missingBytes;
  }

  onClose(conn: TcpConn, tsUs: number): void {
    this.lastTsUs = tsUs;
    const ctx = conn.handlerState as ConnContext | null;
    if (ctx === null) return;
    ctx.session.close();
    this.closedUnparsed += ctx.session.unparsedBytes;
    this.conns.delete(conn.id);
    conn.handlerState = null;
  }

  // Each consumer runs in its own try: a bug in one aggregator or output never unwinds the
  // decoder nor starves the others.
  private onRequest(r: TrackedRequest): void {
    try {
      this.stats.request(r);
      this.intervalStats?.request(r);
    } catch (e) {
      this.fail(e);
    }
    for (const l of this.listeners) {
      try {
        l.request?.(r);
      } catch (e) {
        this.fail(e);
      }
    }
  }

  private onComplete(r: TrackedRequest): void {
    const ctx = r.conn.handlerState as ConnContext | null;
    try {
      if (ctx !== null) {
        this.stats.complete(r, ctx.peers);
        if (this.intervalStats !== null) {
          ctx.intervalPeers ??= this.intervalStats.open(r.conn);
          this.intervalStats.complete(r, ctx.intervalPeers);
        }
      }
    } catch (e) {
      this.fail(e);
    }
    for (const l of this.listeners) {
      try {
        l.complete?.(r);
      } catch (e) {
        this.fail(e);
      }
    }
  }

  private onUnpaired(conn: TcpConn, reply: ReplyFrame, kind: UnpairedKind): void {
    try {
      this.stats.unpaired(reply, kind);
      this.intervalStats?.unpaired(reply, kind);
    } catch (e) {
      this.fail(e);
    }
    for (const l of this.listeners) {
      try {
        l.unpaired?.(conn, reply, kind);
      } catch (e) {
        this.fail(e);
      }
    }
  }

  /** Feeds the whole-run and the interval aggregates; an exception is counted, not thrown. */
  private toStats(fn: (st: Stats) => void): void {
    try {
      fn(this.stats);
      if (this.intervalStats !== null) fn(this.intervalStats);
    } catch (e) {
      this.fail(e);
    }
  }

  private onViolation(conn: TcpConn, fromClient: boolean, v: Violation): void {
    this.stats.counters.violations++;
    if (this.violations.length >= KEEP_VIOLATIONS) return;
    this.violations.push({
      tsUs: this.lastTsUs,
      connection: conn.client + ' -> ' + conn.server,
      direction: fromClient ? 'request' : 'reply',
      offset: v.offset,
      reason: v.reason,
    });
  }

  private fail(e: unknown): void {
    this.internalErrors++;
    this.firstInternalError ??= e instanceof Error ? e.message : String(e);
  }
}
