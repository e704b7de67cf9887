import type { TcpConn } from '../flow/types.js';
import { ErrorCodes } from './error-codes.js';
import type { TrackedRequest } from './tracked-request.js';

/** Load attributed to one client IP, one server endpoint, or one connection. */
export interface PeerEntry {
  /** Client IP, server `ip:port`, or connection `client -> server`. */
  id: string;
  connections: number;
  commands: number;
  errors: number;
  requestBytes: number;
  replyBytes: number;
  latencySumUs: number;
  latencyCount: number;
  /** Errors by code: kept for server endpoints only (null for clients and connections). */
  errorCodes: ErrorCodes | null;
  /** Connections only: who the client is (its address, and what it says of itself). */
  who: ClientIdentity | null;
}

/** A connection's client: its address, and the name and library it gave (CLIENT SETNAME, SETINFO). */
export interface ClientIdentity {
  ip: string;
  port: number;
  name: string | null;
  lib: string | null;
  libVer: string | null;
  /** The connection has closed: an interval's table forgets it at its next clear(). */
  closed?: boolean;
}

function newPeer(id: string, codes: boolean, who: ClientIdentity | null = null): PeerEntry {
  return { id, connections: 0, commands: 0, errors: 0, requestBytes: 0, replyBytes: 0, latencySumUs: 0, latencyCount: 0, errorCodes: codes ? new ErrorCodes() : null, who };
}

/** Peers kept per table: past it, new peers are folded into "(other)" so memory stays bounded. */
export const MAX_PEERS = 100_000;

export class PeerTable {
  readonly byId = new Map<string, PeerEntry>();
  overflowed = false;

  /** `errorCodes`: whether its entries count errors by code. */
  constructor(private readonly errorCodes = false) {}

  get(id: string): PeerEntry {
    let e = this.byId.get(id);
    if (e === undefined) {
      // Full: the rest share one "(other)" row, which may take the table one past the bound.
      const key = this.byId.size >= MAX_PEERS ? '(other)' : id;
      if (key !== id) this.overflowed = true;
      e = this.byId.get(key);
      if (e === undefined) {
        e = newPeer(key, this.errorCodes);
        this.byId.set(key, e);
      }
    }
    return e;
  }

  sorted(): PeerEntry[] {
    return [...this.byId.values()].sort((a, b) => b.commands - a.commands || b.connections - a.connections || (a.id < b.id ? -1 : 1));
  }

  /**
   * Zeroes every entry in place (callers hold references to them), and forgets the rows of
   * connections that have closed: an always-on agent's windows do not carry them for ever.
   */
  clear(): void {
    for (const e of this.byId.values()) {
      if (e.who?.closed === true) this.byId.delete(e.id);
      else Object.assign(e, newPeer(e.id, this.errorCodes, e.who));
    }
  }
}

function addRequest(e: PeerEntry, r: TrackedRequest): void {
  e.commands++;
  e.requestBytes += r.frame.wireBytes;
  e.replyBytes += r.replyBytes;
  if (r.outcome === 'error') e.errors++;
  if (r.latencyUs >= 0) {
    e.latencySumUs += r.latencyUs;
    e.latencyCount++;
  }
}

/** The counts of `e` added into `into` (an application's row, a merged report's). */
export type PeerCounts = Pick<PeerEntry, 'connections' | 'commands' | 'errors' | 'requestBytes' | 'replyBytes' | 'latencySumUs' | 'latencyCount'>;
export function addPeerCounts(into: PeerCounts, e: PeerCounts): void {
  into.connections += e.connections;
  into.commands += e.commands;
  into.errors += e.errors;
  into.requestBytes += e.requestBytes;
  into.replyBytes += e.replyBytes;
  into.latencySumUs += e.latencySumUs;
  into.latencyCount += e.latencyCount;
}

/** Skew of load over a set of peers: how much the busiest carries. */
export interface Skew {
  peers: number;
  busiest: string;
  /** Busiest peer's share of all commands, 0..1. */
  share: number;
  /** Busiest peer's commands over the mean per peer. */
  maxOverMean: number;
}

export function skewOf(entries: readonly PeerEntry[]): Skew | null {
  if (entries.length === 0) return null;
  let total = 0;
  let top = entries[0]!;
  for (const e of entries) {
    total += e.commands;
    if (e.commands > top.commands) top = e;
  }
  const mean = total / entries.length;
  return {
    peers: entries.length,
    busiest: top.id,
    share: total === 0 ? 0 : top.commands / total,
    maxOverMean: mean === 0 ? 0 : top.commands / mean,
  };
}

/** The three entries one connection's requests count toward, looked up once per connection. */
export interface ConnPeers {
  client: PeerEntry;
  server: PeerEntry;
  connection: PeerEntry;
}

/** Client IPs, server endpoints and connections. */
export class PeerStats {
  readonly clients = new PeerTable();
  readonly servers = new PeerTable(true);
  readonly connections = new PeerTable();

  open(conn: TcpConn): ConnPeers {
    const peers = {
      client: this.clients.get(conn.clientIp),
      server: this.servers.get(conn.server),
      connection: this.connections.get(connectionId(conn)),
    };
    peers.client.connections++;
    peers.server.connections++;
    peers.connection.connections++;
    peers.connection.who ??= { ip: conn.clientIp, port: conn.clientPort, name: null, lib: null, libVer: null };
    return peers;
  }

  /**
   * Takes back open() of a connection nothing else was counted for (it turned out to be another
   * hop's): rows left with nothing are forgotten, as if it had never opened here.
   */
  unopen(peers: ConnPeers): void {
    this.forget(this.clients, peers.client);
    this.forget(this.servers, peers.server);
    this.forget(this.connections, peers.connection);
  }

  private forget(t: PeerTable, e: PeerEntry): void {
    e.connections--;
    if (e.connections === 0 && e.commands === 0 && e.errors === 0 && e.requestBytes === 0 && e.replyBytes === 0 && e.id !== '(other)') t.byId.delete(e.id);
  }

  /** `code`: the error code of its reply when the outcome is 'error'. */
  add(peers: ConnPeers, r: TrackedRequest, code: string | null): void {
    addRequest(peers.client, r);
    addRequest(peers.server, r);
    addRequest(peers.connection, r);
    if (code !== null) peers.server.errorCodes?.add(code);
  }

  /** Bytes of a reply that answers no request (a push, a MONITOR line, a message ...). */
  addReplyBytes(peers: ConnPeers, n: number): void {
    peers.client.replyBytes += n;
    peers.server.replyBytes += n;
    peers.connection.replyBytes += n;
  }

  /** An error inside an EXEC reply: one more error for the peers of its connection. */
  addError(peers: ConnPeers, code: string): void {
    peers.client.errors++;
    peers.server.errors++;
    peers.connection.errors++;
    peers.server.errorCodes?.add(code);
  }

  clear(): void {
    this.clients.clear();
    this.servers.clear();
    this.connections.clear();
  }
}

export function connectionId(conn: TcpConn): string {
  return conn.client + ' -> ' + conn.server;
}
