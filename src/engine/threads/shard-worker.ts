/**
 * A shard: one worker thread owning the connections routed to it (./shard-router.ts), with
 * their flows, sessions and aggregates; nothing on its hot path is shared. Fed batches by the
 * reader, it answers each with the buffer (for reuse) and the MONITOR lines the batch made;
 * given files, it reads them itself and keeps its own connections. Either way it ends with its
 * ShardResult.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AnalysisListener } from '../../analysis/analyzer.js';
import type { Packet } from '../../capture/packet.js';
import { UserError } from '../../errors.js';
import { monitorListener } from '../../output/monitor.js';
import { openInputs, readInputs } from '../analyze-file.js';
import { Pipeline } from '../pipeline.js';
import { Stamps } from '../stamps.js';
import { readBatch } from './packet-batch.js';
import { shardResult, transferables } from './shard-result.js';
import { OtherServers, ShardRouter, TICK_US } from './shard-router.js';
import type { FromShard, ShardSpec, ToShard } from './shard-protocol.js';

/** MONITOR lines not yet handed to the reader. */
class LineBuffer {
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


const spec = workerData as ShardSpec;
const lines = new LineBuffer();
const listeners: AnalysisListener[] = spec.monitor === null ? [] : [monitorListener(lines, spec.monitor.withReplies)];
const pipe = new Pipeline(spec.analyzer, spec.ports, listeners);
const port = parentPort!;
const post = (m: FromShard, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
const reader = { packet: pipe.packet, tick: (tsUs: number) => pipe.tick(tsUs), server: (ip: string, port: number) => pipe.analyzer.serverSeen(ip, port) };
const stop = new AbortController();

port.on('message', (m: ToShard) => {
  switch (m.type) {
    case 'batch':
      readBatch(m.buf, m.len, reader);
      post({ type: 'ack', buf: m.buf, lines: lines.take() }, [m.buf]);
      break;
    case 'snapshot': {
      const result = shardResult(pipe.analyzer, pipe.flows.stats);
      post({ type: 'result', result, final: false }, transferables(result));
      break;
    }
    case 'finish': {
      pipe.finish(m.atTsUs);
      const result = shardResult(pipe.analyzer, pipe.flows.stats);
      post({ type: 'result', result, final: true, lines: lines.take() }, transferables(result));
      break;
    }
    case 'stop':
      stop.abort(m.why);
      break;
  }
});

/** Reads every file, keeping this shard's packets; the others only move the clock on. */
async function readFiles(files: NonNullable<ShardSpec['files']>): Promise<void> {
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
  const job = { inputs: files.inputs, ports: spec.ports, top: 0, analyzer: spec.analyzer, signal: stop.signal, ...(files.selection === null ? {} : { selection: files.selection }) };
  const { set, stats, source } = await openInputs(job, sink);
  await readInputs(job, set, () => seen, async () => {
    if (spec.shard === 0 || lines.text !== '') post({ type: 'lines', lines: lines.take(), bytesRead: set.bytesRead, totalBytes: set.totalBytes, packets: seen });
  });
  pipe.finish(stamps.lastTsUs);
  const capture = stats();
  const result = shardResult(pipe.analyzer, pipe.flows.stats);
  post({
    type: 'result', result, final: true, lines: lines.take(),
    file: { capture, source: source(capture.format), firstTsUs: stamps.firstTsUs, lastTsUs: stamps.lastTsUs, backwardsPackets: stamps.backwardsPackets, maxBackwardsUs: stamps.maxBackwardsUs },
  }, transferables(result));
}

if (spec.files !== null) {
  readFiles(spec.files).catch((e: unknown) => {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e), user: e instanceof UserError });
  });
}
