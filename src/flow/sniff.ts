/**
 * What a connection carries, told from its first payload bytes before RESP sees any: TLS
 * records or the Redis Cluster bus are counted and never decoded; everything else is RESP.
 *
 * TLS record layer: https://www.rfc-editor.org/rfc/rfc8446#section-5.1 (and RFC 5246 §6.2).
 * Cluster bus: https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/
 * (every message starts with the signature "RCmb", then a 32-bit big-endian total length).
 */
import type { ConnKind, FlowHandler, FlowStats, TcpConn } from './types.js';
import * as typesMod from './types.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { CONN_KIND } = typesMod;

/** TLS record content types, the first byte of a record header. */
export const TLS_CONTENT = {
  /** change_cipher_spec (TLS 1.2 and earlier; a compatibility record in TLS 1.3). */
  CHANGE_CIPHER_SPEC: 0x14,
  /** alert */
  ALERT: 0x15,
  /** handshake: ClientHello, ServerHello, ... */
  HANDSHAKE: 0x16,
  /** application_data: all of TLS 1.3 after the hellos, and what a capture joined mid-stream sees. */
  APPLICATION_DATA: 0x17,
} as const;

/** The 5-byte record header: type, version (major, minor), 16-bit big-endian length. */
export const TLS_RECORD = {
  HEADER_BYTES: 5,
  /** Major version byte of SSL 3.0 and every TLS version. */
  VERSION_MAJOR: 0x03,
  /** Highest minor version byte: 0x00 SSL 3.0, 0x01 TLS 1.0 (a ClientHello record's), ... 0x04. */
  MAX_VERSION_MINOR: 0x04,
  /** Longest record body: a TLSCiphertext may carry 2^14 + 2048 bytes. */
  MAX_LENGTH: 16384 + 2048,
  /** Handshake type of a ClientHello, the byte after the header of the client's first record. */
  CLIENT_HELLO: 0x01,
} as const;

/** "RCmb": the first 4 bytes of every Cluster bus message. */
const CLUSTER_BUS_SIG = [0x52, 0x43, 0x6d, 0x62] as const;

/** sniffKind(): the bytes so far agree with a TLS header or the bus signature but are too few to tell. */
export const NEED_MORE = -1;

/**
 * The kind b[off, off+len) announces as the first bytes of a connection, or NEED_MORE.
 * `clientHello`: they are the client's first bytes on a connection seen from its SYN, so a
 * handshake record must be a ClientHello.
 */
export function sniffKind(b: Uint8Array, off: number, len: number, clientHello: boolean): ConnKind | typeof NEED_MORE {
  if (len <= 0) return NEED_MORE;
  const first = b[off]!;
  if (first === CLUSTER_BUS_SIG[0]) return sniffClusterBus(b, off, len);
  if (first >= TLS_CONTENT.CHANGE_CIPHER_SPEC && first <= TLS_CONTENT.APPLICATION_DATA) return sniffTls(b, off, len, clientHello);
  return CONN_KIND.RESP;
}

function sniffClusterBus(b: Uint8Array, off: number, len: number): ConnKind | typeof NEED_MORE {
  const n = Math.min(len, CLUSTER_BUS_SIG.length);
  for (let i = 1; i < n; i++) if (b[off + i] !== CLUSTER_BUS_SIG[i]) return CONN_KIND.RESP;
  return n < CLUSTER_BUS_SIG.length ? NEED_MORE : CONN_KIND.CLUSTER_BUS;
}

function sniffTls(b: Uint8Array, off: number, len: number, clientHello: boolean): ConnKind | typeof NEED_MORE {
  if (!tlsHeaderPrefixValid(b, off, len)) return CONN_KIND.RESP;
  if (len < TLS_RECORD.HEADER_BYTES) return NEED_MORE;
  if (clientHello && b[off] === TLS_CONTENT.HANDSHAKE) {
    if (len === TLS_RECORD.HEADER_BYTES) return NEED_MORE;
    if (b[off + TLS_RECORD.HEADER_BYTES] !== TLS_RECORD.CLIENT_HELLO) return CONN_KIND.RESP;
  }
  // A second record header inside these bytes must be one too: one valid header by chance is
  // rare, two in a row at the right distance rarer still.
  const next = TLS_RECORD.HEADER_BYTES + recordLength(b, off);
  if (next < len && !tlsHeaderPrefixValid(b, off + next, len - next)) return CONN_KIND.RESP;
  return CONN_KIND.TLS;
}

/** Whether the header bytes present (up to 5) at b[off] are a valid TLS record header's. */
function tlsHeaderPrefixValid(b: Uint8Array, off: number, len: number): boolean {
  const type = b[off]!;
  if (type < TLS_CONTENT.CHANGE_CIPHER_SPEC || type > TLS_CONTENT.APPLICATION_DATA) return false;
  if (len > 1 && b[off + 1] !== TLS_RECORD.VERSION_MAJOR) return false;
  if (len > 2 && b[off + 2]! > TLS_RECORD.MAX_VERSION_MINOR) return false;
  if (len > 3 && b[off + 3]! > TLS_RECORD.MAX_LENGTH >> 8) return false;
  if (len > 4) {
    const length = recordLength(b, off);
    if (length === 0 || length > TLS_RECORD.MAX_LENGTH) return false;
  }
  return true;
}

function recordLength(b: Uint8Array, off: number): number {
  return (b[off + 3]! << 8) | b[off + 4]!;
}

/** First bytes too few to tell the kind: copies of them, in order, from one direction. */
interface Held {
  fromClient: boolean;
  chunks: Array<{ bytes: Uint8Array; tsUs: number }>;
  /** All held bytes in one buffer, for sniffKind(). */
  joined: Uint8Array;
}

/**
 * Stands in front of the analysis: decides each connection's kind once, from the first payload
 * bytes in either direction, and passes on only RESP connections. The analysis sees a RESP
 * connection open when its kind is decided (at its first packet's time); a connection that
 * closes or loses bytes before any payload is RESP. TLS and Cluster bus connections are counted
 * in FlowStats and never reach it.
 */
export class KindSniffer implements FlowHandler {
  /** Connections whose first bytes were too few to tell, by connection id (rare, a few bytes each). */
  private readonly held = new Map<number, Held>();

  constructor(
    private readonly inner: FlowHandler,
    private readonly stats: FlowStats,
  ) {}

  /** Deferred until the kind is known; the analysis learns the endpoints at once. */
  onOpen(conn: TcpConn, _tsUs: number): void {
    this.inner.onFirstPacket?.(conn);
  }

  onData(conn: TcpConn, fromClient: boolean, data: Uint8Array, off: number, len: number, tsUs: number): void {
    if (conn.kind === CONN_KIND.RESP) return this.inner.onData(conn, fromClient, data, off, len, tsUs);
    if (conn.kind === CONN_KIND.UNKNOWN) return this.first(conn, fromClient, data, off, len, tsUs);
    if (conn.kind === CONN_KIND.TLS) this.stats.tlsBytes += len;
    else this.stats.clusterBusBytes += len;
  }

  onGap(conn: TcpConn, fromClient: boolean, missingBytes: number, tsUs: number): void {
    if (conn.kind === CONN_KIND.UNKNOWN) this.decide(conn, CONN_KIND.RESP);
    if (conn.kind === CONN_KIND.RESP) this.inner.onGap(conn, fromClient, missingBytes, tsUs);
  }

  onClose(conn: TcpConn, tsUs: number, how: 'fin' | 'rst' | 'end'): void {
    if (conn.kind === CONN_KIND.UNKNOWN && how === 'rst' && !conn.midstream && !conn.accepted) {
      // Refused: a SYN answered by a reset is no connection to report.
      this.stats.refusedConnections++;
      return;
    }
    if (conn.kind === CONN_KIND.UNKNOWN) this.decide(conn, CONN_KIND.RESP);
    if (conn.kind === CONN_KIND.RESP) this.inner.onClose(conn, tsUs, how);
  }

  /** Payload of a connection whose kind is not decided yet. */
  private first(conn: TcpConn, fromClient: boolean, data: Uint8Array, off: number, len: number, tsUs: number): void {
    const h = this.held.get(conn.id);
    if (h === undefined) {
      const kind = sniffKind(data, off, len, fromClient && !conn.midstream);
      if (kind === NEED_MORE) {
        const bytes = copyOf(data, off, len);
        this.held.set(conn.id, { fromClient, chunks: [{ bytes, tsUs }], joined: bytes });
        return;
      }
      this.decide(conn, kind);
      return this.onData(conn, fromClient, data, off, len, tsUs);
    }
    if (fromClient !== h.fromClient) {
      // The other side spoke before the first said enough: no TLS or bus peer does that.
      this.decide(conn, CONN_KIND.RESP);
      return this.onData(conn, fromClient, data, off, len, tsUs);
    }
    const bytes = copyOf(data, off, len);
    h.chunks.push({ bytes, tsUs });
    const joined = new Uint8Array(h.joined.length + len);
    joined.set(h.joined);
    joined.set(bytes, h.joined.length);
    h.joined = joined;
    const kind = sniffKind(joined, 0, joined.length, fromClient && !conn.midstream);
    // Too few bytes never last: a TLS header or the bus signature is told within 6 bytes.
    if (kind !== NEED_MORE) this.decide(conn, kind);
  }

  /** Sets the kind, once; a RESP connection opens, and bytes held while undecided go on. */
  private decide(conn: TcpConn, kind: ConnKind): void {
    conn.kind = kind;
    const h = this.held.get(conn.id);
    if (h !== undefined) this.held.delete(conn.id);
    const heldBytes = h === undefined ? 0 : h.joined.length;
    if (kind === CONN_KIND.TLS) {
      this.stats.tlsConnections++;
      this.stats.tlsBytes += heldBytes;
    } else if (kind === CONN_KIND.CLUSTER_BUS) {
      this.stats.clusterBusConnections++;
      this.stats.clusterBusBytes += heldBytes;
    } else {
      this.inner.onOpen(conn, conn.firstTsUs);
      if (h !== undefined) for (const c of h.chunks) this.inner.onData(conn, h.fromClient, c.bytes, 0, c.bytes.length, c.tsUs);
    }
  }
}

/**
 * A copy of data[off, off + len): kept bytes must not be a view, and a Buffer's slice() is one
 * (the capture reader reuses its buffer for the next read).
 */
function copyOf(data: Uint8Array, off: number, len: number): Uint8Array {
  return Uint8Array.prototype.slice.call(data, off, off + len);
}
