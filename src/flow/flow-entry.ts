/** One followed connection's record in the flow table, and how connections are named and hashed. */
import * as addrMod from './addr.js';
import type { TcpSegment } from './decode.js';
import * as decodeMod from './decode.js';
import { StreamDirection, type ReassemblyContext } from './reassembly.js';
import type { Wait } from './reorder.js';
import type { TcpConn } from './types.js';
import * as typesMod from './types.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { endpointText, formatIPv4, formatIPv6 } = addrMod;
const { TCP_FLAG } = decodeMod;
const { CONN_KIND } = typesMod;

/** One followed connection: its endpoints as numbers (for matching) and its two directions. */
export class FlowEntry {
  /** Next entry with the same hash. */
  next: FlowEntry | null = null;
  /** Capture time of the last packet, for evicting the idlest when too many are open. */
  lastTsUs = 0;
  /** Idle sweeps (./idle-sweep.ts) since its last packet. */
  idleSweeps = 0;
  /** Bytes shown sent have not arrived yet: see ./reorder.ts. */
  wait: Wait | null = null;
  closed = false;
  /**
   * First seen without a SYN: its packets wait one reorder window, in case its handshake or
   * earlier data was captured later in the file, before where each stream starts is decided.
   */
  joining = false;
  readonly toServer: StreamDirection;
  readonly toClient: StreamDirection;

  constructor(
    readonly hash: number,
    readonly conn: TcpConn,
    readonly v6: boolean,
    readonly c0: number, readonly c1: number, readonly c2: number, readonly c3: number, readonly cPort: number,
    readonly s0: number, readonly s1: number, readonly s2: number, readonly s3: number, readonly sPort: number,
    ctx: ReassemblyContext,
  ) {
    this.toServer = new StreamDirection(ctx, conn, true);
    this.toClient = new StreamDirection(ctx, conn, false);
    this.toServer.peer = this.toClient;
    this.toClient.peer = this.toServer;
  }
}

/** The entry of a connection first seen with segment s (from its client if srcIsClient). */
export function newEntry(hash: number, s: TcpSegment, srcIsClient: boolean, id: number, tsUs: number, ctx: ReassemblyContext): FlowEntry {
  const v6 = s.ipVersion === 6;
  const syn = (s.flags & TCP_FLAG.SYN) !== 0;
  const src = ipText(v6, s.s0, s.s1, s.s2, s.s3);
  const dst = ipText(v6, s.d0, s.d1, s.d2, s.d3);
  const [clientIp, clientPort, serverIp, serverPort] = srcIsClient
    ? [src, s.srcPort, dst, s.dstPort]
    : [dst, s.dstPort, src, s.srcPort];
  const conn: TcpConn = {
    id,
    clientIp, clientPort, serverIp, serverPort,
    client: endpointText(clientIp, clientPort, v6),
    server: endpointText(serverIp, serverPort, v6),
    // A SYN-ACK fixes the client's start too (its ack is the client's ISN + 1): a capture that
    // has it before the client's SYN (reordered) or without it still saw the stream begin.
    midstream: !syn,
    firstTsUs: tsUs,
    kind: CONN_KIND.UNKNOWN,
    accepted: false,
    handlerState: null,
  };
  return srcIsClient
    ? new FlowEntry(hash, conn, v6, s.s0, s.s1, s.s2, s.s3, s.srcPort, s.d0, s.d1, s.d2, s.d3, s.dstPort, ctx)
    : new FlowEntry(hash, conn, v6, s.d0, s.d1, s.d2, s.d3, s.dstPort, s.s0, s.s1, s.s2, s.s3, s.srcPort, ctx);
}

export function ipText(v6: boolean, w0: number, w1: number, w2: number, w3: number): string {
  return v6 ? formatIPv6(w0, w1, w2, w3) : formatIPv4(w3);
}

/** How far before the first byte followed a SYN captured late may be and still be its SYN. */
export const LATE_SYN_BYTES = 65536;

/** Hash of one endpoint (address words and port). */
function endpointHash(w0: number, w1: number, w2: number, w3: number, port: number): number {
  let h = Math.imul(w3 ^ Math.imul(port, 0x9e3779b1), 0x85ebca6b);
  h ^= Math.imul(w0, 0xc2b2ae35) ^ Math.imul(w1, 0x27d4eb2f) ^ Math.imul(w2, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return h ^ (h >>> 13);
}

/** Same value for both directions (sum of endpoint hashes), kept in V8's small-integer range. */
export function tupleHash(s: TcpSegment): number {
  return (endpointHash(s.s0, s.s1, s.s2, s.s3, s.srcPort) + endpointHash(s.d0, s.d1, s.d2, s.d3, s.dstPort)) & 0x3fffffff;
}
