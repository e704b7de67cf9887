/**
 * analyzeCapture over several threads. Files: every shard reads them and keeps its own
 * connections. Stdin: read here, each packet routed to its shard.
 */
import type { Report } from '../../output/report.js';
import type { CaptureAnalysis } from '../analyze-file.js';
import * as analyzeFileMod from '../analyze-file.js';
import { ShardedPipeline, type ShardedJob } from './sharded-pipeline.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { openInputs, readInputs } = analyzeFileMod;

export async function analyzeSharded(job: CaptureAnalysis): Promise<Report> {
  const base: ShardedJob = {
    threads: job.threads ?? 1,
    analyzer: job.analyzer,
    ports: job.ports,
    ...(job.monitor === undefined ? {} : { monitor: { withReplies: job.monitor.withReplies }, onLines: job.monitor.onLines }),
    ...(job.pace === undefined ? {} : { pace: job.pace }),
  };
  if (job.inputs.includes('-')) return fromReader(job, new ShardedPipeline(base));
  // Opened here first, so an input that cannot be read is named as one thread names it.
  (await openInputs(job, () => undefined)).set.close();
  const sharded = new ShardedPipeline({
    ...base,
    files: { inputs: job.inputs, selection: job.selection ?? null },
    ...(job.onProgress === undefined ? {} : { onProgress: job.onProgress }),
  });
  const onAbort = (): void => sharded.stop(String(job.signal?.reason ?? 'interrupted'));
  job.signal?.addEventListener('abort', onAbort, { once: true });
  // Aborted while the inputs were being checked: the event has gone by.
  if (job.signal?.aborted === true) onAbort();
  try {
    await sharded.finish();
    await settleNames(job, sharded);
    return sharded.report(job.top);
  } finally {
    job.signal?.removeEventListener('abort', onAbort);
    await sharded.close();
  }
}

async function fromReader(job: CaptureAnalysis, sharded: ShardedPipeline): Promise<Report> {
  try {
    const { set, stats, source } = await openInputs(job, sharded.packet);
    await readInputs(job, set, () => sharded.packets, () => sharded.pace());
    await sharded.finish();
    await settleNames(job, sharded);
    const capture = stats();
    return sharded.report(job.top, capture, source(capture.format));
  } finally {
    await sharded.close();
  }
}

/** --resolve: lookups start for the clients the shards saw, and get their moment. */
async function settleNames(job: CaptureAnalysis, sharded: ShardedPipeline): Promise<void> {
  const apps = job.analyzer.apps;
  if (apps !== undefined) for (const ip of sharded.clientIps()) apps.seen(ip, 0);
  await job.beforeReport?.();
}
