import type { FlowHandler, TcpConn } from '../flow/types.js';
import type { ReplyFrame, RespLimits, Violation } from '../resp/types.js';
import type { ConnPeers } from './peer-stats.js';
import { Session, SessionPools, type SessionEvents, type UnpairedKind } from './session.js';
import { AppNamer } from './apps/app-namer.js';
import * as errorCodesMod from './error-codes.js';
import { Stats, type StatsOptions } from './stats.js';
import type { TrackedRequest } from './tracked-request.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { errorCode } = errorCodesMod;

/**
 * An output fed as traffic is decoded (MONITOR stream, live view). Errors in it are contained.
 * What it is handed is valid during the call only: requests and frames are filled again for
 * later traffic (see SessionPools), so it copies what it keeps.
 */
export interface AnalysisListener {
  request?(r: TrackedRequest): void;
  complete?(r: TrackedRequest): void;
  unpaired?(conn: TcpConn, reply: ReplyFrame, kind: UnpairedKind): void;
}

export interface AnalyzerOptions extends StatsOptions {
  /** Requests awaiting replies per connection; past it the oldest are given up (Session.overflow). */
  maxPending: number;
  respLimits: Partial<RespLimits>;
  /** Who clients are (--clients, --resolve); without it, names connections give themselves, then IPs. */
  apps?: AppNamer;
  /**
   * Ports where a proxy (Twemproxy) listens: its clients' connections are the 'client' hop,
   * its own connections to the servers behind it the 'backend' hop, counted apart.
   */
  proxyPorts?: number[];
}

/** Protocol violations kept for the report (the count covers all of them). */
export const KEEP_VIOLATIONS = 20;

export interface ViolationNote {
  tsUs: number;
  connection: string;
  direction: 'request' | 'reply';
  offset: number;
  reason: string;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Earliest first: by time, then connection, direction (requests first), offset and reason. A
 * total order, so the violations kept (the earliest KEEP_VIOLATIONS) and their order are the
 * same whatever order they are met in: one thread meets a reordered segment's late, and shards
 * each meet their own.
 */
export function violationOrder(a: ViolationNote, b: ViolationNote): number {
  return (
    a.tsUs - b.tsUs ||
    byText(a.connection, b.connection) ||
    (a.direction === b.direction ? 0 : a.direction === 'request' ? -1 : 1) ||
    a.offset - b.offset ||
    byText(a.reason, b.reason)
  );
}

/** `list` (in violationOrder) with `v` in its place, cut to `keep`; the index it went to, or -1 when it did not make the list. */
export function keepViolation(list: ViolationNote[], v: ViolationNote, keep: number): number {
  let i = list.length;
  while (i > 0 && violationOrder(v, list[i - 1]!) < 0) i--;
  if (i >= keep) return -1;
  list.splice(i, 0, v);
  if (list.length > keep) list.length = keep;
  return i;
}

interface ConnContext {
  conn: TcpConn;
  session: Session;
  /** The aggregates its requests count in: the analysis's, or the proxy backend hop's. */
  stats: Stats;
  /** Whether its first keyed command was looked at for the proxy warning (see noteSuspect). */
  suspectChecked: boolean;
  peers: ConnPeers;
  intervalPeers: ConnPeers | null;
  /** Whether a request or reply of it was counted (its hop is then settled; see reclassFrom). */
  counted: boolean;
}

/**
 * The analysis layer's entry point: receives reassembled streams from the flow layer, runs one
 * Session per connection and feeds what they pair to Stats and to listeners.
 */
export class Analyzer implements FlowHandler {
  readonly stats: Stats;
  /** Optional second set of aggregates that a live run reports and clears per interval. */
  intervalStats: Stats | null = null;
  /** The earliest KEEP_VIOLATIONS protocol violations, in violationOrder. */
  readonly violations: ViolationNote[] = [];
  /** Violations met so far, and at which of them each one kept was met (live intervals list theirs). */
  violationsSeen = 0;
  private readonly violationSeq: number[] = [];
  /** Exceptions thrown by an aggregator or listener: counted, never allowed to stop decoding. */
  internalErrors = 0;
  firstInternalError: string | null = null;
  /** Bytes the RESP decoders could not parse, from connections already closed. */
  private closedUnparsed = 0;
  /**
   * Of the unparsed bytes: those of requests and replies their connection's end cut off (a
   * client killed mid-request, the capture stopped mid-reply); only closed connections have any.
   */
  cutBytes = 0;
  /** Of unparsedBytes: sent after QUIT or a request the server rejected, by connections closed so far. */
  haltedBytes = 0;
  /** Gaps wholly inside values of known length, and their bytes: those lost only the values' bytes. */
  valueGaps = 0;
  valueGapBytes = 0;
  private readonly conns = new Map<number, ConnContext>();
  /** With --proxy-port: what the proxies' own connections to the servers behind them carry. */
  readonly backendStats: Stats | null;
  readonly apps: AppNamer;
  readonly proxyPorts: ReadonlySet<number>;
  /** IPs seen serving a proxy port: their connections to other watched ports are backend hops. */
  private readonly proxyIps = new Set<string>();
  /**
   * Server IPs by port seen, and connections whose client is a server of another port and that
   * carried commands with keys (a proxy forwarding its clients' commands; a replica's link or a
   * sentinel's pings carry none): by "ip (serving port P) -> port Q".
   */
  private readonly serverPorts = new Map<string, number>();
  readonly suspectedProxies = new Map<string, number>();
  private readonly events: SessionEvents;
  private readonly pools = new SessionPools();
  private lastTsUs = 0;

  constructor(
    private readonly opts: AnalyzerOptions,
    private readonly listeners: AnalysisListener[] = [],
  ) {
    this.stats = new Stats(opts);
    this.apps = opts.apps ?? new AppNamer(null, null);
    this.proxyPorts = new Set(opts.proxyPorts ?? []);
    this.backendStats = this.proxyPorts.size > 0 ? new Stats(opts) : null;
    this.events = {
      request: (r) => this.onRequest(r),
      complete: (r) => this.onComplete(r),
      unpaired: (conn, reply, kind) => this.onUnpaired(conn, reply, kind),
      violation: (conn, fromClient, v) => this.onViolation(conn, fromClient, v),
      linkRequest: (r) => this.onLinkRequest(r),
      linkStart: () => this.toStats((st) => st.replication.links++),
      rdb: (_conn, bytes, missing) => this.toStats((st) => st.replication.rdb(bytes, missing)),
      propagated: (_conn, f) => this.toStats((st) => {
        st.replication.propagated(f);
        if (f.missingBytes > 0) st.counters.partialValues++;
      }),
      clientInfo: (conn, field, value) => this.onClientInfo(conn, field, value),
      overflow: (conn, requests) => this.onOverflow(conn, requests),
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
      this.backendStats?.flush();
    } catch (e) {
      this.fail(e);
    }
  }

  onOpen(conn: TcpConn, tsUs: number): void {
    this.lastTsUs = tsUs;
    const backend = this.isBackendHop(conn);
    this.apps.seen(conn.clientIp, conn.clientPort);
    const stats = backend ? this.backendStats! : this.stats;
    const peers = stats.open(conn);
    const intervalPeers = backend ? null : this.intervalStats?.open(conn) ?? null;
    const session = new Session(conn, this.events, this.opts.respLimits, this.opts.maxPending, this.pools);
    const ctx: ConnContext = { conn, session, stats, peers, intervalPeers, suspectChecked: this.proxyPorts.size > 0, counted: false };
    conn.handlerState = ctx;
    this.conns.set(conn.id, ctx);
  }

  /**
   * Every connection's server endpoint, TLS and Cluster bus ones too, at its first packet: the
   * facts serverSeen keeps then come in capture order, as another shard's connections do.
   */
  onFirstPacket(conn: TcpConn): void {
    this.serverSeen(conn.serverIp, conn.serverPort);
  }

  /**
   * A proxy's own connection to a server behind it (its IP serves a --proxy-port, the port it
   * connects to is another). Without --proxy-port such connections are noted as suspects.
   */
  private isBackendHop(conn: TcpConn): boolean {
    this.serverSeen(conn.serverIp, conn.serverPort);
    return !this.proxyPorts.has(conn.serverPort) && this.proxyIps.has(conn.clientIp);
  }

  /**
   * A server endpoint seen: a proxy's IP, or which port an IP serves. Also told of connections
   * another shard owns (src/engine/threads), since both facts span connections.
   */
  serverSeen(ip: string, port: number): void {
    if (this.proxyPorts.has(port)) {
      if (this.proxyIps.has(ip)) return;
      this.proxyIps.add(ip);
      this.reclassFrom(ip);
    } else if (this.proxyPorts.size === 0 && this.serverPorts.size < 1024 && !this.serverPorts.has(ip)) this.serverPorts.set(ip, port);
  }

  /**
   * A proxy's IP, first seen: connections from it to another port that opened before (a replica's
   * idle link, a connection joined mid-stream) are backend hops too, as long as nothing of theirs
   * was counted yet. So a connection's hop does not hang on whether the proxy's IP was met before
   * it opened, which one thread and shards meet in different orders (a shard is told of other
   * shards' connections at their first packet, one thread when they open).
   */
  private reclassFrom(ip: string): void {
    const backend = this.backendStats;
    if (backend === null) return;
    for (const ctx of this.conns.values()) {
      const c = ctx.conn;
      if (ctx.stats === backend || ctx.counted || c.clientIp !== ip || this.proxyPorts.has(c.serverPort)) continue;
      ctx.stats.counters.connections--;
      ctx.stats.peers.unopen(ctx.peers);
      ctx.stats = backend;
      ctx.peers = backend.open(c);
      // A live interval keeps the open it counted; the backend hop is never counted per interval.
      ctx.intervalPeers = null;
    }
  }

  /** The first keyed command of a connection from a watched server's own IP to another port. */
  private noteSuspect(conn: TcpConn, ctx: ConnContext): void {
    ctx.suspectChecked = true;
    const port = this.serverPorts.get(conn.clientIp);
    if (port === undefined || port === conn.serverPort || this.suspectedProxies.size >= 16) return;
    const key = `${conn.clientIp} (serving port ${port}) -> port ${conn.serverPort}`;
    this.suspectedProxies.set(key, (this.suspectedProxies.get(key) ?? 0) + 1);
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
    const who = ctx.intervalPeers?.connection.who;
    if (who != null) who.closed = true;
    this.closedUnparsed += ctx.session.unparsedBytes;
    this.cutBytes += ctx.session.cutBytes;
    this.haltedBytes += ctx.session.haltedBytes;
    this.conns.delete(conn.id);
    conn.handlerState = null;
  }

  // Each consumer runs in its own try: a bug in one aggregator or output never unwinds the
  // decoder nor starves the others.
  private onRequest(r: TrackedRequest): void {
    const ctx = r.conn.handlerState as ConnContext | null;
    // Every request is told here before it completes: its connection's hop is settled.
    if (ctx !== null) ctx.counted = true;
    try {
      (ctx?.stats ?? this.stats).request(r);
      if (ctx?.stats !== this.backendStats) this.intervalStats?.request(r);
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
        if (!ctx.suspectChecked && r.info.spec !== null && r.info.spec.keys.length > 0) this.noteSuspect(r.conn, ctx);
        ctx.stats.complete(r, ctx.peers);
        if (this.intervalStats !== null && ctx.stats === this.stats) {
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
    const ctx = conn.handlerState as ConnContext | null;
    if (ctx !== null) ctx.counted = true;
    try {
      (ctx?.stats ?? this.stats).unpaired(reply, kind, ctx?.peers ?? null);
      if (ctx?.stats !== this.backendStats) this.intervalStats?.unpaired(reply, kind, ctx?.intervalPeers ?? null);
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

  private onClientInfo(conn: TcpConn, field: 'name' | 'lib' | 'libVer', value: string): void {
    const ctx = conn.handlerState as ConnContext | null;
    if (ctx === null) return;
    for (const who of [ctx.peers.connection.who, ctx.intervalPeers?.connection.who]) if (who != null) who[field] = value;
  }

  /**
   * A replica's request on its link: counted apart from client commands, but an error that
   * answers it (PSYNC's -NOMASTERLINK) is an error of the server, as INFO errorstats counts it.
   */
  private onLinkRequest(r: TrackedRequest): void {
    const error = r.outcome === 'error' && r.reply !== null ? errorCode(r.reply.error ?? '') : null;
    const ctx = r.conn.handlerState as ConnContext | null;
    this.toStats((st) => {
      st.replication.linkRequest(r.info.name, r.info.sub ?? r.frame.args[1]?.toUpperCase() ?? null);
      if (error === null) return;
      st.counters.errors++;
      st.errorCodes.add(error);
      const peers = ctx === null || ctx.stats !== this.stats ? null : st === this.stats ? ctx.peers : ctx.intervalPeers;
      if (peers != null) st.peers.addError(peers, error);
    });
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
    const seq = this.violationsSeen++;
    const note: ViolationNote = { tsUs: this.lastTsUs, connection: conn.client + ' -> ' + conn.server, direction: fromClient ? 'request' : 'reply', offset: v.offset, reason: v.reason };
    const i = keepViolation(this.violations, note, KEEP_VIOLATIONS);
    if (i < 0) return;
    this.violationSeq.splice(i, 0, seq);
    this.violationSeq.length = this.violations.length;
  }

  private onOverflow(conn: TcpConn, requests: number): void {
    const ctx = conn.handlerState as ConnContext | null;
    try {
      (ctx?.stats ?? this.stats).counters.pendingOverflows += requests;
      if (ctx?.stats !== this.backendStats && this.intervalStats !== null) this.intervalStats.counters.pendingOverflows += requests;
    } catch (e) {
      this.fail(e);
    }
  }

  /** The violations kept that were met after the first `seen` (see violationsSeen). */
  violationsSince(seen: number): ViolationNote[] {
    return this.violations.filter((_, i) => this.violationSeq[i]! >= seen);
  }

  private fail(e: unknown): void {
    this.internalErrors++;
    this.firstInternalError ??= e instanceof Error ? e.message : String(e);
  }
}
