/**
 * A shard reading capture files itself: it reads every packet, keeps those of its own
 * connections, and lets the others only move its clock on (and name their servers), so its
 * connections age as one thread would age them. Run by a worker (./shard-worker.ts), and as
 * shard 0 by the reader thread itself (./sharded-pipeline.ts), which would otherwise idle.
 */
import type { AnalysisListener } from '../../analysis/analyzer.js';
import type { CaptureSet } from '../../capture/capture-set.js';
import type { Packet } from '../../capture/packet.js';
import * as monitorMod from '../../output/monitor.js';
import type { StopAgreement } from '../analyze-file.js';
import * as analyzeFileMod from '../analyze-file.js';
import { Pipeline } from '../pipeline.js';
import { Stamps } from '../stamps.js';
import type { FileSide, ShardSpec } from './shard-protocol.js';
import { OtherServers, ShardRouter } from './shard-router.js';
import * as shardRouterMod from './shard-router.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { monitorListener } = monitorMod;
const { openInputs, readInputs } = analyzeFileMod;
const { TICK_US } = shardRouterMod;

/** MONITOR lines not yet handed on. */
export class LineBuffer {
  text = '';
  write(s: string): void {
    this.text += s;
  }
  take(): string {
    const t = this.text;
    this.text = '';
    return t;
  }
}

/** A shard's layers, writing its MONITOR lines (if it makes any) to `lines`. */
export function shardPipeline(spec: ShardSpec, lines: LineBuffer): Pipeline {
  const listeners: AnalysisListener[] = spec.monitor === null ? [] : [monitorListener(lines, spec.monitor.withReplies)];
  return new Pipeline(spec.analyzer, spec.ports, listeners);
}

/**
 * Reads every file through `pipe`, keeping this shard's packets, awaiting `onStep` after each
 * read; ends with the shard's connections closed and what it saw of the whole capture. Stopped
 * (`signal`), it ends where `agree` says, the packet where every shard ends: each shard keeps
 * other connections, so only the same stop makes their sum the capture up to that packet.
 */
export async function readFileShard(
  spec: ShardSpec,
  files: NonNullable<ShardSpec['files']>,
  pipe: Pipeline,
  signal: AbortSignal,
  onStep: (set: CaptureSet, packets: number) => Promise<void>,
  agree: StopAgreement,
): Promise<FileSide> {
  const router = new ShardRouter(spec.shards);
  const others = new OtherServers(spec.ports, (ip, port) => pipe.analyzer.serverSeen(ip, port));
  const stamps = new Stamps();
  let lastTickUs = -Infinity;
  let seen = 0;
  const sink = (p: Packet): void => {
    seen++;
    stamps.add(p.tsUs);
    if (router.shardOf(p) === spec.shard) return pipe.packet(p);
    others.packet(router);
    if (p.tsUs >= lastTickUs + TICK_US) {
      lastTickUs = p.tsUs;
      pipe.tick(p.tsUs);
    }
  };
  const job = { inputs: files.inputs, ports: spec.ports, top: 0, analyzer: spec.analyzer, signal, ...(files.selection === null ? {} : { selection: files.selection }) };
  const { set, stats, source } = await openInputs(job, sink);
  await readInputs(job, set, () => seen, () => onStep(set, seen), agree);
  pipe.finish(stamps.lastTsUs);
  const capture = stats();
  return { capture, source: source(capture.format), firstTsUs: stamps.firstTsUs, lastTsUs: stamps.lastTsUs, backwardsPackets: stamps.backwardsPackets, maxBackwardsUs: stamps.maxBackwardsUs };
}
