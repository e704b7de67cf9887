/**
 * Requests by server endpoint and command name: count, errors, request and reply bytes, and a
 * latency histogram over fixed buckets, the counters a Prometheus exporter serves
 * (`redis_tap_commands_total{server,cmd}` ...). Bounded: MAX_SERVERS endpoints x MAX_NAMES
 * names per endpoint; past either, rows are counted under OTHER.
 */
import type { TrackedRequest } from './tracked-request.js';

/**
 * Upper bounds (µs, inclusive: Prometheus's `le`) of the latency buckets, 25 µs to 10 s; one
 * more bucket counts what is slower.
 */
const BOUNDS_US = [
  25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000,
] as const;
export const DURATION_BOUNDS_US = BOUNDS_US; // an alias: code here reads the module const (README, "Design notes")
const N_BUCKETS = BOUNDS_US.length + 1;

export const MAX_SERVERS = 64;
export const MAX_NAMES = 256;
/** The row of endpoints or names past the bounds. */
export const OTHER = 'other';

export interface ServerCommandRow {
  server: string;
  /** Command name as decoded (upper-case), or OTHER. */
  cmd: string;
  count: number;
  errors: number;
  requestBytes: number;
  replyBytes: number;
  /** Timed requests (answered: ok or error) per bucket of BOUNDS_US, not cumulative; the last is slower than 10 s. */
  buckets: Float64Array;
  /** Sum of their latencies, µs. */
  sumUs: number;
}

function newRow(server: string, cmd: string): ServerCommandRow {
  return { server, cmd, count: 0, errors: 0, requestBytes: 0, replyBytes: 0, buckets: new Float64Array(N_BUCKETS), sumUs: 0 };
}

/** Index of the bucket of a latency: the first bound it does not exceed. */
export function bucketOf(us: number): number {
  let i = 0;
  while (i < BOUNDS_US.length && us > BOUNDS_US[i]!) i++;
  return i;
}

export class ServerCommands {
  private readonly servers = new Map<string, Map<string, ServerCommandRow>>();
  /** The table of the last endpoint looked up: consecutive requests mostly share one. */
  private lastServer = '';
  private lastTable: Map<string, ServerCommandRow> | null = null;
  /** The row last looked up, with the name it was looked up by (its endpoint is lastServer's). */
  private lastName = '';
  private lastRow: ServerCommandRow | null = null;

  add(r: TrackedRequest): void {
    const e = this.row(r.conn.server, r.info.name);
    e.count++;
    e.requestBytes += r.frame.wireBytes;
    e.replyBytes += r.replyBytes;
    const outcome = r.outcome;
    if (outcome === 'error') e.errors++;
    else if (outcome !== 'ok') return; // unanswered and no-reply requests have no latency
    const us = r.latencyUs < 0 ? 0 : r.latencyUs;
    e.buckets[bucketOf(us)]!++;
    e.sumUs += us;
  }

  /** An error inside an EXEC reply, credited to the queued command it answers. */
  addError(server: string, name: string): void {
    this.row(server, name).errors++;
  }

  merge(other: ServerCommands): void {
    for (const table of other.servers.values()) {
      for (const o of table.values()) {
        const e = this.row(o.server, o.cmd);
        e.count += o.count;
        e.errors += o.errors;
        e.requestBytes += o.requestBytes;
        e.replyBytes += o.replyBytes;
        e.sumUs += o.sumUs;
        for (let i = 0; i < N_BUCKETS; i++) e.buckets[i]! += o.buckets[i]!;
      }
    }
  }

  /** Every row, copied, by server then by name. */
  snapshot(): ServerCommandRow[] {
    const rows: ServerCommandRow[] = [];
    for (const table of this.servers.values()) for (const e of table.values()) rows.push({ ...e, buckets: e.buckets.slice() });
    return rows.sort((a, b) => (a.server < b.server ? -1 : a.server > b.server ? 1 : a.cmd < b.cmd ? -1 : a.cmd > b.cmd ? 1 : 0));
  }

  /** Rows kept (at most MAX_SERVERS + 1 endpoints x MAX_NAMES + 1 names). */
  get size(): number {
    let n = 0;
    for (const t of this.servers.values()) n += t.size;
    return n;
  }

  clear(): void {
    this.servers.clear();
    this.lastServer = '';
    this.lastTable = null;
    this.lastName = '';
    this.lastRow = null;
  }

  private row(server: string, name: string): ServerCommandRow {
    const sameServer = server === this.lastServer && this.lastTable !== null;
    if (sameServer && name === this.lastName && this.lastRow !== null) return this.lastRow;
    const table = sameServer ? this.lastTable! : this.table(server);
    const e = this.rowIn(table, server, name);
    this.lastName = name;
    this.lastRow = e;
    return e;
  }

  private rowIn(table: Map<string, ServerCommandRow>, server: string, name: string): ServerCommandRow {
    let e = table.get(name);
    if (e === undefined) {
      // Full: the rest share one OTHER row, which may take the table one past the bound.
      if (table.size >= MAX_NAMES) name = OTHER;
      e = table.get(name);
      if (e === undefined) {
        e = newRow(this.serverOf(table, server), name);
        table.set(name, e);
      }
    }
    return e;
  }

  private table(server: string): Map<string, ServerCommandRow> {
    let t = this.servers.get(server);
    if (t === undefined) {
      const key = this.servers.size >= MAX_SERVERS ? OTHER : server;
      t = this.servers.get(key);
      if (t === undefined) {
        t = new Map();
        this.servers.set(key, t);
      }
    }
    this.lastServer = server;
    this.lastTable = t;
    return t;
  }

  /** The endpoint a table counts for (OTHER for the shared table past MAX_SERVERS). */
  private serverOf(table: Map<string, ServerCommandRow>, server: string): string {
    return this.servers.get(server) === table ? server : OTHER;
  }
}
