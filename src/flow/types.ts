/**
 * What a connection carries, decided once from its first payload bytes (./sniff.ts). Only RESP
 * connections reach the analysis; the others are counted in FlowStats.
 */
export const CONN_KIND = {
  /** No payload seen yet (or no KindSniffer in front of the handler). */
  UNKNOWN: 0,
  /** Anything that is neither of the below: handed to the RESP decoder. */
  RESP: 1,
  /** TLS records: encrypted, never decoded. */
  TLS: 2,
  /** Redis Cluster bus (port + 10000): binary "RCmb" messages between nodes. */
  CLUSTER_BUS: 3,
} as const;

export type ConnKind = (typeof CONN_KIND)[keyof typeof CONN_KIND];

/** The flow layer's view of one TCP connection to a Redis server. */
export interface TcpConn {
  /** Small integer, unique within one analysis, in order of first packet. */
  readonly id: number;
  readonly clientIp: string;
  readonly clientPort: number;
  readonly serverIp: string;
  readonly serverPort: number;
  /** `ip:port`, IPv6 as `[ip]:port`; built once when the connection is first seen. */
  readonly client: string;
  readonly server: string;
  /** True when the capture started after the handshake (neither SYN nor SYN-ACK seen first). */
  readonly midstream: boolean;
  /** Microseconds since the epoch of the first packet seen. */
  readonly firstTsUs: number;
  /** CONN_KIND.UNKNOWN until a KindSniffer sets it, once. */
  kind: ConnKind;
  /** The server's SYN-ACK was seen: the server accepted the connection. */
  accepted: boolean;
  /**
   * The handler's own state for this connection, null until it sets one: reached with the
   * connection on every call, so the handler needs no lookup per segment.
   */
  handlerState: unknown;
}

/**
 * Receives what the flow layer reassembles. `data[off .. off+len)` is in-order stream bytes of
 * one direction and is only valid during the call: a handler that keeps bytes copies them.
 */
export interface FlowHandler {
  onOpen(conn: TcpConn, tsUs: number): void;
  /**
   * Optional: a connection's first packet, before anything decides what it carries (a handler
   * told of RESP connections only still learns every endpoint, as another shard's reader does).
   */
  onFirstPacket?(conn: TcpConn): void;
  onData(conn: TcpConn, fromClient: boolean, data: Uint8Array, off: number, len: number, tsUs: number): void;
  /** Bytes of this direction were never captured; the stream continues after the hole. */
  onGap(conn: TcpConn, fromClient: boolean, missingBytes: number, tsUs: number): void;
  /** FIN or RST seen both ways, RST, or the end of the capture ('end'). Called once per connection. */
  onClose(conn: TcpConn, tsUs: number, how: 'fin' | 'rst' | 'end'): void;
}

export interface FlowStats {
  /** Frames seen by the flow layer. */
  packets: number;
  /** Frames that were not IPv4/IPv6 TCP (ARP, UDP, other link types ...). */
  nonTcpPackets: number;
  /** TCP frames on no watched port. */
  otherPortPackets: number;
  /** Frames whose link/IP/TCP headers were cut short or malformed. */
  malformedPackets: number;
  /** Link types seen that the decoder does not know; key = LINKTYPE value, value = frames. */
  unknownLinkTypes: Record<number, number>;
  /** IP fragments (not reassembled; counted). */
  ipFragments: number;
  connections: number;
  /** TCP payload bytes of watched connections, as captured (before de-duplication). */
  payloadBytes: number;
  /** Payload bytes delivered in order to the handler. */
  deliveredBytes: number;
  /** Payload bytes seen twice (retransmissions, overlaps) and delivered once. */
  duplicateBytes: number;
  /**
   * Payload bytes captured after their connection closed that it had not carried (sent before
   * the sender learned of the peer's RST): the peer discarded them; not decoded.
   */
  afterCloseBytes: number;
  /**
   * Segments that arrived ahead of a hole and were held until a late segment filled it (a hole
   * declared a gap does not make the segments after it out of order: the one before them was
   * never captured).
   */
  outOfOrderSegments: number;
  /**
   * Payload bytes of a hole already declared a gap that were captured after all (later than
   * the reorder wait allowed): in gapBytes too, but not "never captured"; not decoded.
   */
  lateBytes: number;
  /** Holes that never filled, and the bytes they lost. */
  gaps: number;
  gapBytes: number;
  /** RSTs whose sequence number was out of the window (./reassembly.ts RST_WINDOW): ignored, as the receiver does. */
  ignoredResets: number;
  /** Connections closed early because more than maxOpenConnections were open. */
  evictedConnections: number;
  /** Connections closed after idleTimeoutUs of capture time without a packet (their FIN or RST was not captured). */
  expiredConnections: number;
  /** Connections recognised as TLS (./sniff.ts), never decoded, and their payload bytes. */
  tlsConnections: number;
  tlsBytes: number;
  /** Connections recognised as the Redis Cluster bus, never decoded, and their payload bytes. */
  clusterBusConnections: number;
  clusterBusBytes: number;
  /** Connection attempts the server refused (SYN answered by RST, no SYN-ACK): no Redis connections. */
  refusedConnections: number;
}
