/** Bounds on what the flow layer holds per connection; all configurable through FlowTable. */
export interface FlowLimits {
  /**
   * Out-of-order bytes held per direction while waiting for a hole to fill. Past it the first
   * hole is declared a gap and the held bytes behind it are delivered.
   */
  maxHeldBytesPerDirection: number;
  /** Out-of-order segments held per direction (same effect as the byte limit). */
  maxHeldSegments: number;
  /**
   * Connections followed at once (each costs a few KB with its decoders). Past it the idlest
   * tenth are closed as if the capture ended for them, and counted.
   */
  maxOpenConnections: number;
  /**
   * How long, in capture time, a connection waits for bytes that a packet showed were sent
   * (acknowledged by the peer, or before a FIN) before declaring them a gap (see ./reorder.ts).
   */
  reorderWindowUs: number;
  /** Packets, and their payload bytes, a waiting connection keeps; past either the wait ends. */
  maxKeptPackets: number;
  maxKeptBytes: number;
  /** Payload bytes kept over all connections; past it the oldest wait ends first. */
  maxKeptBytesTotal: number;
  /**
   * A connection without a packet for this long in capture time is closed as at the end of a
   * capture (its FIN or RST was lost: kernel drops, shed frames), so its state is released.
   * Redis probes idle clients every `tcp-keepalive` seconds (300 by default): a connection that
   * is still there shows a packet at least that often.
   */
  idleTimeoutUs: number;
  /**
   * The same for a connection one side of which has sent its FIN: the other FIN follows within
   * milliseconds when both are captured, so a connection half closed and quiet this long lost it.
   */
  halfClosedTimeoutUs: number;
}

export const DEFAULT_FLOW_LIMITS: Readonly<FlowLimits> = {
  maxHeldBytesPerDirection: 4 * 1024 * 1024,
  maxHeldSegments: 2048,
  maxOpenConnections: 50_000,
  reorderWindowUs: 100_000,
  maxKeptPackets: 1024,
  maxKeptBytes: 1024 * 1024,
  maxKeptBytesTotal: 64 * 1024 * 1024,
  idleTimeoutUs: 600_000_000,
  halfClosedTimeoutUs: 30_000_000,
};
