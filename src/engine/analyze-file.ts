import type { AnalysisListener, AnalyzerOptions } from '../analysis/analyzer.js';
import { CaptureSet } from '../capture/capture-set.js';
import * as fileReaderMod from '../capture/file-reader.js';
import type { CaptureStats, Packet } from '../capture/packet.js';
import { TcpSegment } from '../flow/decode.js';
import * as decodeMod from '../flow/decode.js';
import type { FlowStats } from '../flow/types.js';
import { UserError } from '../errors.js';
import type { Report } from '../output/report.js';
import { PacketFilter, type PacketSelection } from './packet-filter.js';
import { Pipeline } from './pipeline.js';
import * as analyzeShardedMod from './threads/analyze-sharded.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { readCaptureFile } = fileReaderMod;
const { DECODE, decodeTcp } = decodeMod;
const { analyzeSharded } = analyzeShardedMod;

export interface FileAnalysis {
  path: string;
  ports: number[];
  top: number;
  analyzer: AnalyzerOptions;
  listeners?: AnalysisListener[];
  onProgress?: (bytesRead: number, totalBytes: number, packets: number) => void;
}

/** capture file -> flows -> RESP -> pairing -> report, in one pass over one plain capture file. */
export function analyzeFile(job: FileAnalysis): Report {
  const pipe = new Pipeline(job.analyzer, job.ports, job.listeners);
  const progress = job.onProgress;
  const capture = readCaptureFile(job.path, pipe.packet, progress ? { onProgress: (read, total) => progress(read, total, pipe.flows.stats.packets) } : {});
  pipe.finish();
  refuseUnreadable(job.path, pipe.flows.stats);
  return pipe.report(capture, { kind: 'file', name: job.path, format: capture.format, ports: job.ports, filter: null, files: [job.path] }, job.top);
}

export interface CaptureAnalysis extends Omit<FileAnalysis, 'path'> {
  /** Files read as one capture, in their first packets' time order; '-' alone is stdin. */
  inputs: string[];
  /** --since / --until / --client. */
  selection?: PacketSelection;
  /** Stored bytes per input read; smaller reads give a smoother replay. */
  chunkBytes?: number;
  /** Aborted (Ctrl-C): stop reading, even while waiting on a pipe, and report what was read. */
  signal?: AbortSignal;
  /** Awaited once the capture is read, before the report is built (--resolve's lookups). */
  beforeReport?: () => Promise<void>;
  /** Analysis threads (shards by connection); 1 or absent: this thread alone. */
  threads?: number;
  /** With threads: MONITOR lines made by the shards (the listeners of one thread cannot be shared). */
  monitor?: { withReplies: boolean; onLines: (text: string) => void };
  /** Awaited after each read: the output's room (lines wait for a slow stdout, the reading with them). */
  pace?: () => Promise<void>;
}

/** The inputs opened and checked, wired to a pipeline, not read yet. */
export interface OpenCapture {
  pipe: Pipeline;
  set: CaptureSet;
  /** What the set counts, with what the selection skipped. */
  stats(): CaptureStats;
  /** A report of what was read so far. */
  report(top: number): Report;
}

/** The inputs opened and checked, their packets going to a sink through the selection. */
export interface OpenInputs {
  set: CaptureSet;
  stats(): CaptureStats;
  source(format: string): Report['source'];
}

/**
 * Opens every input (a UserError names the one that cannot be read or is not a capture) and
 * wires it through the selection to `sink`: a Pipeline, or the reader of several threads.
 */
export async function openInputs(job: CaptureAnalysis, sink: (p: Packet) => void): Promise<OpenInputs> {
  const filter = job.selection === undefined ? null : new PacketFilter(job.selection, job.ports, sink);
  const set = await CaptureSet.open(job.inputs, filter?.packet ?? sink, job.chunkBytes);
  const stats = (): CaptureStats => {
    const s = set.stats;
    if (filter === null) return s;
    s.filteredPackets = filter.skipped;
    const w = filter.warning();
    if (w !== null) s.warnings.push(w);
    return s;
  };
  const source = (format: string): Report['source'] => ({
    kind: 'file', name: set.name, format, ports: job.ports, filter: job.selection?.text ?? null, files: set.members.map((m) => m.name),
  });
  return { set, stats, source };
}

/** The inputs wired to one Pipeline, so connections go on from file to file. */
export async function openCapture(job: CaptureAnalysis): Promise<OpenCapture> {
  const pipe = new Pipeline(job.analyzer, job.ports, job.listeners);
  const { set, stats, source } = await openInputs(job, pipe.packet);
  return {
    pipe,
    set,
    stats,
    report: (top) => {
      const capture = stats();
      return pipe.report(capture, source(capture.format), top);
    },
  };
}

/** Longest the reading loop runs without letting the event loop take signals and messages. */
const YIELD_MS = 50;

/**
 * Where a reader stopped by Ctrl-C ends, when other readers of the same capture must end at the
 * same packet (threads reading a file each): told how many records this one has read, it gives
 * the count to read on to (the reader goes on to the first chunk boundary there or past it and
 * is asked again), or null: end here.
 */
export type StopAgreement = (records: number) => Promise<number | null>;

/**
 * Reads every input, awaiting `pace` after each read (a reader of several threads lets them
 * catch up); Ctrl-C (the signal) ends the reading with what was read, at the point `agree`
 * settles on when it is given.
 */
export async function readInputs(job: CaptureAnalysis, set: CaptureSet, packets: () => number, pace?: () => Promise<void>, agree?: StopAgreement): Promise<void> {
  const progress = job.onProgress;
  const signal = job.signal;
  const aborted = new Promise<false>((resolve) => signal?.addEventListener('abort', () => resolve(false), { once: true }));
  let yieldedMs = Date.now();
  // Waiting on a pipe ends at the abort. With agreement, a read is never left unfinished: it
  // would add packets after this reader has said where it stopped (a file always delivers).
  const step = agree === undefined ? () => Promise.race([set.step(), aborted]) : () => set.step();
  try {
    while (signal?.aborted !== true && (await step())) {
      progress?.(set.bytesRead, set.totalBytes, packets());
      if (pace !== undefined) await pace();
      // A plain file is read synchronously, so each step settles at once and the loop never
      // leaves the microtask queue: a signal (Ctrl-C) or a thread's message waits for the event
      // loop, which gets a turn every YIELD_MS.
      if (Date.now() - yieldedMs >= YIELD_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        yieldedMs = Date.now();
      }
    }
    if (signal?.aborted === true && (agree === undefined || (await readOnTo(set, agree, pace)))) set.interrupt(String(signal.reason ?? 'interrupted'));
  } finally {
    set.close();
  }
}

/** Reads on to the stop `agree` settles on; false when the capture ended first (read whole). */
async function readOnTo(set: CaptureSet, agree: StopAgreement, pace?: () => Promise<void>): Promise<boolean> {
  let more = true;
  for (let to = await agree(set.stats.packets); to !== null; to = await agree(set.stats.packets)) {
    while (more && set.stats.packets < to) {
      more = await set.step();
      if (pace !== undefined) await pace();
    }
  }
  return more;
}

/** Every input, in time order, through one pipeline: the report of them as one capture. */
export async function analyzeCapture(job: CaptureAnalysis): Promise<Report> {
  if ((job.threads ?? 1) > 1) return refuseUnreadableSharded(job, await analyzeSharded(job));
  const cap = await openCapture(job);
  await readInputs(job, cap.set, () => cap.pipe.flows.stats.packets, job.pace);
  cap.pipe.finish();
  refuseUnreadable(cap.set.name, cap.pipe.flows.stats);
  await job.beforeReport?.();
  return cap.report(job.top);
}

/**
 * A capture none of whose packets is of a link type redis-tap decodes (USER0, 802.11, ...) is
 * bad input, not an empty capture: one line naming the link types, exit 2. Some such packets
 * among readable ones only earn the report's warning.
 */
function refuseUnreadable(name: string, flow: Pick<FlowStats, 'packets' | 'unknownLinkTypes'>): void {
  const types = Object.keys(flow.unknownLinkTypes);
  const unknown = Object.values(flow.unknownLinkTypes).reduce((n, k) => n + k, 0);
  if (flow.packets === 0 || unknown < flow.packets) return;
  throw new UserError(
    `${name}: every packet is of link type${types.length > 1 ? 's' : ''} ${types.join(', ')}, which redis-tap cannot decode (it reads Ethernet, Linux cooked v1/v2, BSD loopback and raw IP)`,
  );
}

/**
 * The report of threads does not carry the link types; a capture with no TCP packet at all is
 * read again here, link layers only, to tell an unreadable one from one that has no TCP.
 */
async function refuseUnreadableSharded(job: CaptureAnalysis, report: Report): Promise<Report> {
  const packets = report.totals['packets'] ?? 0;
  // Stdin cannot be read again; a stopped run reports what it read.
  if (packets === 0 || report.totals['nonTcpPackets'] !== packets || job.inputs.includes('-') || job.signal?.aborted === true) return report;
  const flow: Pick<FlowStats, 'packets' | 'unknownLinkTypes'> = { packets: 0, unknownLinkTypes: {} };
  const seg = new TcpSegment();
  const { set } = await openInputs(job, (p) => {
    flow.packets++;
    if (decodeTcp(p, seg) === DECODE.UNKNOWN_LINK) flow.unknownLinkTypes[p.linkType] = (flow.unknownLinkTypes[p.linkType] ?? 0) + 1;
  });
  const { signal: _signal, onProgress: _progress, ...quiet } = job;
  await readInputs(quiet, set, () => flow.packets);
  refuseUnreadable(set.name, flow);
  return report;
}
