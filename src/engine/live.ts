import type { AnalysisListener, AnalyzerOptions } from '../analysis/analyzer.js';
import { Stats } from '../analysis/stats.js';
import { openLiveCapture, type LiveCapture, type LiveCaptureOptions } from '../capture/live.js';
import { emptyCaptureStats, type CaptureStats, type Packet } from '../capture/packet.js';
import { PcapWriter } from '../capture/pcap-writer.js';
import type { Report } from '../output/report.js';
import { IntervalReports } from './live-interval.js';
import { Pipeline } from './pipeline.js';
import { UserError } from '../errors.js';
import { enterIdlePriority, type CpuPriority } from './cpu-priority.js';

export interface LiveJob {
  iface?: string;
  ports: number[];
  filter?: string;
  bufferMb: number;
  /** 'idle': analyse only with CPU nothing else wants (SCHED_IDLE); 'normal': compete for it. */
  cpuPriority: CpuPriority;
  durationSec?: number;
  /** Stop after this many commands. */
  count?: number;
  intervalSec?: number;
  /** Also save the raw packets as pcap here. */
  writePath?: string;
  top: number;
  analyzer: AnalyzerOptions;
  listeners?: AnalysisListener[];
  /**
   * Called with the report of each interval, every counter in it that interval's own (packets,
   * bytes and drops too), and the interval's Stats (cleared after the call).
   */
  onInterval?: (report: Report, stats: Stats) => void;
  /**
   * Capture time reached (µs): each packet's stamp before it is analysed (`quiet` false), and
   * while the ring is empty the time up to which every frame has been read (`quiet` true). The
   * agent cuts its windows here, in capture time, however far behind the reader is.
   */
  onClock?: (tsUs: number, quiet: boolean) => void;
  /** Called once the capture is open (to say so on stderr). */
  onOpen?: (capture: LiveCapture) => void;
}

export interface LiveRun {
  /**
   * Ends the capture now (Ctrl-C, the view's q); the final report is still built, from what
   * was captured until now, read first. Called again while that reading goes on: halt().
   */
  stop(): void;
  /** Ends the capture at once, frames not read yet unanalysed (nobody reads the output any more). */
  halt(): void;
  /** Report of everything so far (for the live view). */
  snapshot(): Report;
  /** Resets the whole-run counters (the live view's `c`). */
  clear(): void;
  /**
   * With onInterval: ends the interval now (onInterval gets its report); the next one's span
   * starts at `nextFromTsUs` (default: the last packet's time). Also after `done`, for the rest.
   */
  cutInterval(nextFromTsUs?: number): void;
  /** The layers, for outputs that read the aggregates at their own pace (the agent's /metrics). */
  readonly pipeline: Pipeline;
  /** Capture counters now (packets, kernel and interface drops). */
  captureStats(): CaptureStats;
  openConnections(): number;
  /** "lo, tcp port 6379": what is watched. */
  title: string;
  /** Resolves with the final report when the capture ends, for whatever reason. */
  done: Promise<Report>;
}

/**
 * Saves a frame to the -w file; a failure (disk full or the like) is returned, for the run to
 * stop and say why in its final report rather than crash.
 */
export function savePacket(writer: PcapWriter, p: Packet, path: string | undefined): UserError | null {
  try {
    writer.write(p);
    return null;
  } catch (e) {
    return e instanceof UserError ? e : new UserError(`writing ${path}: ${String(e)}`);
  }
}

/** Where and how a live job captures, as openLiveCapture takes it. */
export function ringOptions(job: Pick<LiveJob, 'ports' | 'bufferMb' | 'iface' | 'filter'>): Pick<LiveCaptureOptions, 'ports' | 'bufferMb' | 'iface' | 'filter'> {
  return { ports: job.ports, bufferMb: job.bufferMb, ...(job.iface === undefined ? {} : { iface: job.iface }), ...(job.filter === undefined ? {} : { filter: job.filter }) };
}

/** How far behind now a quiet ring's frames are surely read: the kernel's block timeout and more. */
export const QUIET_MARGIN_MS = 100;

/** Live interface -> flows -> analysis, until the duration, count, or stop(). */
export async function runLive(job: LiveJob): Promise<LiveRun> {
  let stopped = false;
  /** No frame is wanted any more, even one captured before the stop (--count reached, errors). */
  let halted = false;
  /** Frames stamped after this are not analysed. */
  let stopTsUs = Infinity;
  /** End of the --duration window in capture time, once the capture is open. */
  let windowEndTsUs = Infinity;
  let capture: LiveCapture | null = null;
  let finish: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (finish = resolve));
  // The end of the current millisecond by default: every frame the kernel stamped before now is in.
  const stopAt = (tsUs = (Date.now() + 1) * 1000) => {
    if (stopped) return;
    stopped = true;
    stopTsUs = tsUs;
    finish();
  };
  const halt = () => {
    halted = true;
    stopAt();
    capture?.close(); // ends a finish() under way; safe inside onPacket
  };
  const stop = () => (stopped ? halt() : stopAt());
  let commands = 0;
  const counter: AnalysisListener = {
    request() {
      if (job.count !== undefined && ++commands >= job.count) halt();
    },
  };
  const pipe = new Pipeline(job.analyzer, job.ports, [...(job.listeners ?? []), counter]);
  const analyzer = pipe.analyzer;
  const capStats = emptyCaptureStats('live');
  let intervals: IntervalReports | null = null;
  if (job.onInterval) {
    analyzer.intervalStats = new Stats(job.analyzer);
    intervals = new IntervalReports(pipe, analyzer.intervalStats, capStats);
  }
  let writer: PcapWriter | null = null;
  let captureError: UserError | null = null;
  const onPacket = (p: Packet) => {
    if (halted) return;
    // Past the stop time (a --duration window whose timer a long read of the ring delayed, or a
    // stop that has not reached the reader yet): not analysed, and the run stops there.
    if (p.tsUs > stopTsUs) return;
    if (p.tsUs > windowEndTsUs) {
      stopAt(windowEndTsUs);
      return;
    }
    job.onClock?.(p.tsUs, false);
    capStats.packets++;
    capStats.bytes += p.capLen;
    intervals?.packet(p.tsUs);
    const failed = writer === null ? null : savePacket(writer, p, job.writePath);
    if (failed !== null) {
      captureError = failed;
      writer = null;
      halt();
      return;
    }
    pipe.packet(p);
  };
  capture = await openLiveCapture(
    {
      ...ringOptions(job),
      onError: (e) => {
        captureError = e;
        halt();
      },
      // The ring is empty: frames captured more than a block timeout (and a margin) ago have
      // all been read, so capture time has reached that far.
      onIdle: () => {
        if (halted) return;
        const quietTsUs = (Date.now() - QUIET_MARGIN_MS) * 1000;
        pipe.tick(quietTsUs);
        job.onClock?.(quietTsUs, true);
      },
    },
    onPacket,
  );
  // Capture time starts now: read before the priority drops, as an idle reader on a busy host
  // may not run again for seconds, while the kernel captures all the same.
  const openedTsUs = Date.now() * 1000;
  if (job.writePath !== undefined) {
    try {
      writer = PcapWriter.open(job.writePath, capture.linkType, capture.snaplen);
    } catch (e) {
      capture.close(); // or its drain timer keeps the process alive after the error line
      throw e;
    }
  }
  // Lowered once the capture is open: opening it (and failing to) stays as quick as it was.
  const notIdle = job.cpuPriority === 'idle' ? enterIdlePriority() : null;
  if (notIdle !== null) capStats.warnings.push(`could not lower the CPU priority to idle (${notIdle}): the analysis competes with Redis for CPU`);
  const cpuPriority: CpuPriority = job.cpuPriority === 'idle' && notIdle === null ? 'idle' : 'normal';
  job.onOpen?.(capture);
  const source = { kind: 'live' as const, name: capture.iface, format: 'live', ports: job.ports, filter: capture.filter, cpuPriority };
  const captureStats = (): CaptureStats => {
    const s = capture.stats();
    capStats.kernelDrops = s.kernelDrops;
    capStats.interfaceDrops = s.interfaceDrops;
    capStats.shedFrames = s.shedFrames;
    return capStats;
  };
  const snapshot = (): Report => pipe.report(captureStats(), source, job.top);
  const cutInterval = (nextFromTsUs?: number) => {
    if (intervals === null || !job.onInterval) return;
    job.onInterval(intervals.report(captureStats(), source, job.top), analyzer.intervalStats!);
    intervals.restart(nextFromTsUs);
  };
  const timers: NodeJS.Timeout[] = [];
  if (job.durationSec !== undefined) {
    // The window is the duration from the capture's opening in capture time, however late
    // this code or the timer runs.
    windowEndTsUs = openedTsUs + job.durationSec * 1e6;
    timers.push(setTimeout(() => stopAt(windowEndTsUs), Math.max(0, (windowEndTsUs / 1000) - Date.now())));
  }
  if (job.onInterval && job.intervalSec !== undefined) timers.push(setInterval(() => cutInterval(), job.intervalSec * 1000));
  const done = ended.then(async () => {
    for (const t of timers) clearTimeout(t);
    if (halted) capture.close();
    else await capture.finish(stopTsUs);
    pipe.finish();
    writer?.close();
    const report = snapshot();
    if (captureError !== null) report.warnings.push(`capture stopped: ${(captureError as UserError).message}`);
    return report;
  });
  return {
    stop,
    halt,
    done,
    snapshot: () => snapshot(),
    clear: () => analyzer.stats.clear(),
    cutInterval,
    pipeline: pipe,
    captureStats,
    openConnections: () => analyzer.openConnections,
    title: `${capture.iface}, ${capture.filter}`,
  };
}

