/**
 * The ground truth written beside each capture by captures/traffic.mjs, derive.mjs and
 * crosscheck.mjs (shape documented in captures/README.md), and the analyzer's JSON report.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Counts {
  connections: number;
  commands: number;
}

export interface SlowTruth {
  command: string;
  args: string;
  /** `ip:port` of the client connection that sent it. */
  client: string;
  /** Latency the generator saw (write call to reply parsed): the wire latency is not above it. */
  observedUs: number;
  minLatencyUs: number;
}

export interface BlockingTruth extends Omit<SlowTruth, 'minLatencyUs'> {
  timeoutMs: number;
}

export interface Truth {
  capture: string;
  scenario: string;
  capturedWith?: string;
  derivedFrom?: string;
  derivation?: string;
  /** Ports to pass as `-p` (the servers' ports). */
  ports: number[];
  /** Complete packet records in the file (tshark and tcpdump agree). */
  packets: number;
  connections: number;
  /** Connections whose handshake happened before the capture started. */
  midstreamConnections: number;
  commands: Record<string, number>;
  commandErrors: Record<string, number>;
  inlineCommands: Record<string, number>;
  errors: number;
  /** Every occurrence of every key in a request, multi-key commands included. */
  keys: Record<string, number>;
  notKeys: string[];
  bigKeys: { key: string; bytes: number }[];
  clients: Record<string, Counts>;
  servers: Record<string, Counts>;
  slowThresholdMs: number;
  slow: SlowTruth[];
  blocking: BlockingTruth[];
  /** Non-blocking requests the generator saw take >= slowThresholdMs (e.g. a 2 MB GET). */
  incidentalSlow: Omit<SlowTruth, 'minLatencyUs'>[];
  secrets: string[];
  gaps: number;
  /** Requests and replies whose values had a hole wholly inside them (dropped.pcap: 1). */
  partialValues?: number;
  /** Requests left without a reply (a reply lost in a gap); every other request was answered. */
  unanswered: { count: number; requests: { command: string; key: string; client: string }[] };
  replies: {
    /** Replies that answer a request (CLIENT REPLY OFF/SKIP requests get none). */
    toCommands: number;
    /** Requests that by design get no reply (CLIENT REPLY OFF/SKIP). */
    suppressed: number;
    /** Server pushes: pub/sub messages, RESP3 `>` invalidations. */
    pushes: number;
    monitorLines: number;
  };
  truncatedRecords: number;
  /** A regular expression the text report or stderr must match, or null. */
  expectWarning: string | null;
  /** Unix seconds: the captured traffic happened within [startedAt, endedAt]. */
  startedAt: number;
  endedAt: number;
  notes: string[];
}

export const CAPTURES_DIR = fileURLToPath(new URL('../../captures/', import.meta.url));

export function loadTruths(dir: string = CAPTURES_DIR): Truth[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.truth.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Truth);
}

export interface ReportRow {
  name: string;
  count: number;
  errors: number;
  latencyUs: { p50: number; p90: number; p99: number; max: number };
}

export interface SlowRow {
  ts: number;
  client: string;
  server: string;
  command: string;
  latencyUs: number;
  blocking: boolean;
}

/** `redis-tap analyze --json`, version 1. */
export interface Report {
  version: number;
  totals: {
    packets: number;
    commands: number;
    replies: number;
    errors: number;
    unanswered: number;
    connections: number;
    gaps: number;
  };
  commands: ReportRow[];
  hotKeys: { key: string; count: number; bytes: number }[];
  bigKeys: { key: string; bytes: number; command: string }[];
  slow: SlowRow[];
  clients: ({ ip: string } & Counts)[];
  servers: ({ endpoint: string } & Counts)[];
}
