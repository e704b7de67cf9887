/**
 * A live capture over several threads: this thread drains the kernel ring and routes each
 * frame to its connection's shard (./sharded-pipeline.ts); the final report merges the shards.
 * For runs that need only the end (a report, MONITOR lines): the live view, intervals and
 * --count read the aggregates as they go, and run on one thread (../live.ts).
 */
import { openLiveCapture, type LiveCapture } from '../../capture/live.js';
import { emptyCaptureStats, type CaptureStats, type Packet } from '../../capture/packet.js';
import { PcapWriter } from '../../capture/pcap-writer.js';
import { UserError } from '../../errors.js';
import type { Report } from '../../output/report.js';
import { enterIdlePriority, type CpuPriority } from '../cpu-priority.js';
import { QUIET_MARGIN_MS, ringOptions, savePacket, type LiveJob } from '../live.js';
import { ShardedPipeline } from './sharded-pipeline.js';

export interface ShardedLiveJob extends Omit<LiveJob, 'onInterval' | 'intervalSec' | 'count' | 'listeners' | 'onClock'> {
  threads: number;
  monitor?: { withReplies: boolean; onLines: (text: string) => void };
}

export interface ShardedLiveRun {
  stop(): void;
  halt(): void;
  done: Promise<Report>;
}

export async function runLiveSharded(job: ShardedLiveJob): Promise<ShardedLiveRun> {
  let stopped = false;
  let halted = false;
  let stopTsUs = Infinity;
  let windowEndTsUs = Infinity;
  let finish: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (finish = resolve));
  const stopAt = (tsUs = (Date.now() + 1) * 1000): void => {
    if (stopped) return;
    stopped = true;
    stopTsUs = tsUs;
    finish();
  };
  const capStats = emptyCaptureStats('live');
  let live: LiveCapture | null = null;
  const halt = (): void => {
    halted = true;
    stopAt();
    live?.close();
  };
  // Made once the capture is open: opening it (and failing to) stays as quick as on one thread,
  // and frames read meanwhile wait in the ring.
  let sharded: ShardedPipeline | null = null;
  let writer: PcapWriter | null = null;
  let captureError: UserError | null = null;
  const onPacket = (p: Packet): void => {
    if (halted || p.tsUs > stopTsUs) return;
    if (p.tsUs > windowEndTsUs) return stopAt(windowEndTsUs);
    capStats.packets++;
    capStats.bytes += p.capLen;
    const failed = writer === null ? null : savePacket(writer, p, job.writePath);
    if (failed !== null) {
      captureError = failed;
      writer = null;
      return halt();
    }
    // Shards too far behind: the frame is thrown away and counted, as the ring sheds frames.
    if (!sharded!.packet(p)) capStats.shedFrames++;
  };
  const capture: LiveCapture = await openLiveCapture(
    {
      ...ringOptions(job),
      onError: (e) => {
        captureError = e;
        halt();
      },
      onIdle: () => {
        if (!halted) sharded?.idle((Date.now() - QUIET_MARGIN_MS) * 1000);
      },
      paused: () => sharded === null || sharded.behind(),
    },
    onPacket,
  );
  live = capture;
  const shards = new ShardedPipeline({
    threads: job.threads,
    live: true,
    onFailure: () => halt(),
    analyzer: job.analyzer,
    ports: job.ports,
    ...(job.monitor === undefined ? {} : { monitor: { withReplies: job.monitor.withReplies }, onLines: job.monitor.onLines }),
  });
  sharded = shards;
  if (job.writePath !== undefined) {
    try {
      writer = PcapWriter.open(job.writePath, capture.linkType, capture.snaplen);
    } catch (e) {
      capture.close();
      await shards.close();
      throw e;
    }
  }
  // Lowered once the capture is open, for every thread of the process (the shards' too).
  const notIdle = job.cpuPriority === 'idle' ? enterIdlePriority() : null;
  if (notIdle !== null) capStats.warnings.push(`could not lower the CPU priority to idle (${notIdle}): the analysis competes with Redis for CPU`);
  const cpuPriority: CpuPriority = job.cpuPriority === 'idle' && notIdle === null ? 'idle' : 'normal';
  job.onOpen?.(capture);
  const source = { kind: 'live' as const, name: capture.iface, format: 'live', ports: job.ports, filter: capture.filter, cpuPriority };
  const timers: NodeJS.Timeout[] = [];
  if (job.durationSec !== undefined) {
    windowEndTsUs = Date.now() * 1000 + job.durationSec * 1e6;
    timers.push(setTimeout(() => stopAt(windowEndTsUs), job.durationSec * 1000));
  }
  const done = ended.then(async () => {
    for (const t of timers) clearTimeout(t);
    if (halted) capture.close();
    else await capture.finish(stopTsUs);
    writer?.close();
    const s = capture.stats();
    const stats: CaptureStats = { ...capStats, kernelDrops: s.kernelDrops, interfaceDrops: s.interfaceDrops, shedFrames: capStats.shedFrames + s.shedFrames };
    try {
      await shards.finish();
      const report = shards.report(job.top, stats, source);
      if (captureError !== null) report.warnings.push(`capture stopped: ${(captureError as UserError).message}`);
      return report;
    } finally {
      await shards.close();
    }
  });
  return { stop: () => (stopped ? halt() : stopAt()), halt, done };
}
