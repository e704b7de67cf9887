/**
 * The agent's Prometheus metrics, in the text exposition format. The only file that imports
 * prom-client. Values are read at scrape time from the analysis (one snapshot per scrape), so
 * nothing is done per request here; counters come from aggregates that are never cleared, so
 * they never go backwards. Label values that come from traffic (commands, clients, keys) are
 * bounded upstream (an `other` row past each cap), cut to a fixed length and shown as the
 * report shows them; prom-client escapes them as the exposition format requires.
 */
import { collectDefaultMetrics, Gauge, Registry, type MetricType } from 'prom-client';
import { DURATION_BOUNDS_US, OTHER, type ServerCommandRow } from '../analysis/server-commands.js';
import { displayPrefix } from './strings.js';

/** One labelled value of a client series (commands, connections). */
export interface ClientRow {
  server: string;
  client: string;
  value: number;
}

export interface HotKeyRow {
  server: string;
  key: string;
  count: number;
}

/** Whole-run capture health, read at scrape time. */
export interface CaptureHealth {
  packets: number;
  kernelDrops: number;
  interfaceDrops: number;
  shedFrames: number;
  gaps: number;
  unparsedBytes: number;
  violations: number;
  unanswered: number;
  internalErrors: number;
  openConnections: number;
  /** Now minus the stamp of the last packet analysed, while packets flow (0 when the ring is empty). */
  lagSeconds: number;
  windowWriteFailures: number;
  eventWriteFailures: number;
  windows: number;
}

/** What the metrics are read from, once per scrape. */
export interface MetricsSource {
  serverCommands(): readonly ServerCommandRow[];
  clientCommands(): readonly ClientRow[];
  clientConnections(): readonly ClientRow[];
  hotKeys(): readonly HotKeyRow[];
  health(): CaptureHealth;
}

/** Longest label value taken from traffic, in displayed characters. */
export const MAX_LABEL_CHARS = 200;

/** A command name as redis_exporter labels it: lower-case (ASCII letters only; the rest as the report shows it). */
export function cmdLabel(name: string): string {
  if (name === OTHER) return OTHER;
  return displayPrefix(name.replace(/[A-Z]/g, (c) => c.toLowerCase()), 64).text;
}

/** A key, client name or other wire text as a label value. */
export function textLabel(raw: string): string {
  return displayPrefix(raw, MAX_LABEL_CHARS).text;
}

type Value = { labels: Record<string, string | number>; value: number; metricName?: string };
type Kind = 'counter' | 'gauge' | 'histogram';

/** A metric whose values are computed when it is read (a Gauge only for prom-client's name and label checks). */
class Computed extends Gauge<string> {
  constructor(
    registry: Registry,
    private readonly spec: { name: string; help: string; kind: Kind; labelNames: string[] },
    private readonly values: () => Value[],
  ) {
    super({ name: spec.name, help: spec.help, labelNames: spec.labelNames, registers: [registry] });
  }

  override async get() {
    const { name, help, kind } = this.spec;
    // prom-client's MetricType is declared as an enum but compared as these strings at run time.
    return { name, help, type: kind as unknown as MetricType, aggregator: 'sum' as const, collect: () => undefined, values: this.values() as never[] };
  }
}

/** `le` values in seconds, as Prometheus writes them. */
const LE = [...DURATION_BOUNDS_US.map((us) => String(us / 1e6)), '+Inf'];

function histogramValues(name: string, rows: readonly ServerCommandRow[]): Value[] {
  const out: Value[] = [];
  for (const r of rows) {
    const labels = { server: r.server, cmd: cmdLabel(r.cmd) };
    let cum = 0;
    for (let i = 0; i < LE.length; i++) {
      cum += r.buckets[i]!;
      out.push({ labels: { ...labels, le: LE[i]! }, value: cum, metricName: name + '_bucket' });
    }
    out.push({ labels, value: r.sumUs / 1e6, metricName: name + '_sum' });
    out.push({ labels, value: cum, metricName: name + '_count' });
  }
  return out;
}

export class AgentMetrics {
  readonly registry = new Registry();
  /** The source read once per scrape, shared by every metric of that scrape. */
  private commands: readonly ServerCommandRow[] = [];
  private healthNow: CaptureHealth | null = null;

  constructor(private readonly source: MetricsSource) {
    collectDefaultMetrics({ register: this.registry });
    // Gauges that prom-client names with _total, which Prometheus reserves for counters (promtool
    // rejects them); the same numbers remain by type in nodejs_active_handles and the like.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    this.commandMetrics();
    this.clientMetrics();
    this.healthMetrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text of every metric, read from the source now. */
  async render(): Promise<string> {
    this.commands = this.source.serverCommands();
    this.healthNow = this.source.health();
    try {
      return await this.registry.metrics();
    } finally {
      this.commands = [];
    }
  }

  private add(name: string, help: string, kind: Kind, labelNames: string[], values: () => Value[]): void {
    new Computed(this.registry, { name, help, kind, labelNames }, values);
  }

  private commandMetrics(): void {
    const per = (field: 'count' | 'errors' | 'requestBytes' | 'replyBytes') => () =>
      this.commands.map((r) => ({ labels: { server: r.server, cmd: cmdLabel(r.cmd) }, value: r[field] }));
    const sc = ['server', 'cmd'];
    this.add('redis_tap_commands_total', 'Requests decoded, by server endpoint and command (counted when answered, or given up as unanswered).', 'counter', sc, per('count'));
    this.add('redis_tap_command_errors_total', 'Requests answered with an error, errors inside EXEC and script replies included.', 'counter', sc, per('errors'));
    this.add('redis_tap_request_bytes_total', 'Wire bytes of requests.', 'counter', sc, per('requestBytes'));
    this.add('redis_tap_reply_bytes_total', 'Wire bytes of the replies to them.', 'counter', sc, per('replyBytes'));
    this.add('redis_tap_command_duration_seconds', 'Latency of answered requests: first reply packet minus last request packet, capture timestamps.', 'histogram', sc, () =>
      histogramValues('redis_tap_command_duration_seconds', this.commands),
    );
  }

  private clientMetrics(): void {
    const rows = (read: () => readonly ClientRow[]) => () => read().map((r) => ({ labels: { server: r.server, client: r.client }, value: r.value }));
    this.add('redis_tap_client_commands_total', "Requests by server and client (the client's application name when known, else its IP; capped, the rest as 'other').", 'counter', ['server', 'client'], rows(() => this.source.clientCommands()));
    this.add('redis_tap_client_connections', 'Connections of each client that were open or carried requests in the last completed window.', 'gauge', ['server', 'client'], rows(() => this.source.clientConnections()));
    this.add('redis_tap_hot_key_commands', "Key occurrences in the last completed window's hottest keys (replaced each window; the rest as key 'other').", 'gauge', ['server', 'key'], () =>
      this.source.hotKeys().map((k) => ({ labels: { server: k.server, key: k.key }, value: k.count })),
    );
  }

  private healthMetrics(): void {
    const h = (name: string, help: string, kind: Kind, field: keyof CaptureHealth) =>
      this.add(name, help, kind, [], () => [{ labels: {}, value: (this.healthNow ?? this.source.health())[field] }]);
    h('redis_tap_packets_total', 'Packets captured and analysed.', 'counter', 'packets');
    h('redis_tap_kernel_drops_total', 'Packets the kernel dropped because the capture buffer was full (libpcap ps_drop).', 'counter', 'kernelDrops');
    h('redis_tap_interface_drops_total', 'Packets the interface dropped (libpcap ps_ifdrop).', 'counter', 'interfaceDrops');
    h('redis_tap_shed_frames_total', 'Captured frames thrown away because the analysis fell too far behind.', 'counter', 'shedFrames');
    h('redis_tap_gaps_total', 'Holes in TCP streams: bytes never captured.', 'counter', 'gaps');
    h('redis_tap_unparsed_bytes_total', 'Bytes the RESP decoders could not parse.', 'counter', 'unparsedBytes');
    h('redis_tap_violations_total', 'RESP protocol violations.', 'counter', 'violations');
    h('redis_tap_unanswered_total', 'Requests whose reply was never seen (gap, close, overflow).', 'counter', 'unanswered');
    h('redis_tap_internal_errors_total', 'Exceptions inside aggregators or outputs (counted, never stopping the decoder).', 'counter', 'internalErrors');
    h('redis_tap_open_connections', 'Redis connections open now.', 'gauge', 'openConnections');
    h('redis_tap_analysis_lag_seconds', 'How far the analysis is behind the wire: now minus the stamp of the last packet analysed, while packets flow.', 'gauge', 'lagSeconds');
    h('redis_tap_windows_total', 'Windows completed.', 'counter', 'windows');
    h('redis_tap_window_write_failures_total', 'Window reports that could not be written to --out.', 'counter', 'windowWriteFailures');
    h('redis_tap_event_write_failures_total', 'Writes to the --events file that failed.', 'counter', 'eventWriteFailures');
  }
}
