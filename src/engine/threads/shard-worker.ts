/**
 * A shard: one worker thread owning the connections routed to it (./shard-router.ts), with
 * their flows, sessions and aggregates; nothing on its hot path is shared. Started before its
 * work is known (./shard-threads.ts), it waits for its ShardSpec. Fed batches by the reader,
 * it answers each with the buffer (for reuse) and the MONITOR lines the batch made; given
 * files, it reads them itself and keeps its own connections. Either way it ends with its
 * ShardResult.
 */
import { parentPort } from 'node:worker_threads';
import { UserError } from '../../errors.js';
import { LineBuffer } from './file-shard.js';
import * as fileShardMod from './file-shard.js';
import * as packetBatchMod from './packet-batch.js';
import * as shardResultMod from './shard-result.js';
import type { FromShard, ShardSpec, ToShard } from './shard-protocol.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { readFileShard, shardPipeline } = fileShardMod;
const { readBatch } = packetBatchMod;
const { shardResult, transferables } = shardResultMod;

/** Batches of MONITOR lines a shard reading files hands over before it waits for the reader to take them. */
const MAX_UNTAKEN_LINES = 4;

const port = parentPort!;
const post = (m: FromShard, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

port.once('message', (m: ToShard) => {
  if (m.type === 'start') run(m.spec);
});

function run(spec: ShardSpec): void {
  const lines = new LineBuffer();
  const pipe = shardPipeline(spec, lines);
  const reader = { packet: pipe.packet, tick: (tsUs: number) => pipe.tick(tsUs), server: (ip: string, port: number) => pipe.analyzer.serverSeen(ip, port) };
  const stop = new AbortController();
  /** Stopped: awaits the reader's word on where to end (see ToShard 'stop'). */
  let toldWhere: ((records: number | null) => void) | null = null;
  const agree = (records: number): Promise<number | null> =>
    new Promise((resolve) => {
      toldWhere = resolve;
      post({ type: 'paused', records });
    });
  const tell = (records: number | null): void => {
    const resolve = toldWhere;
    toldWhere = null;
    resolve?.(records);
  };
  /** Batches of lines handed over and not yet taken (files), and the read waiting for one to be. */
  let untaken = 0;
  let onTaken: (() => void) | null = null;

  port.on('message', (m: ToShard) => {
    switch (m.type) {
      case 'batch':
        readBatch(m.buf, m.len, reader);
        post({ type: 'ack', buf: m.buf, lines: lines.take() }, [m.buf]);
        break;
      case 'finish': {
        pipe.finish(m.atTsUs);
        const result = shardResult(pipe.analyzer, pipe.flows.stats);
        post({ type: 'result', result, lines: lines.take() }, transferables(result));
        break;
      }
      case 'stop':
        stop.abort(m.why);
        break;
      case 'stopAt':
        tell(m.records);
        break;
      case 'end':
        tell(null);
        break;
      case 'linesTaken': {
        untaken--;
        const resolve = onTaken;
        onTaken = null;
        resolve?.();
        break;
      }
    }
  });

  /** Reads every file, keeping this shard's packets; the others only move the clock on. */
  async function readFiles(files: NonNullable<ShardSpec['files']>): Promise<void> {
    const file = await readFileShard(spec, files, pipe, stop.signal, async (set, packets) => {
      if (lines.text !== '') untaken++;
      if (spec.shard === 0 || lines.text !== '') post({ type: 'lines', lines: lines.take(), bytesRead: set.bytesRead, totalBytes: set.totalBytes, packets });
      // A slow stdout (monitor -r | ...): the lines wait in no queue of ours, the reading waits.
      while (untaken > MAX_UNTAKEN_LINES) await new Promise<void>((resolve) => (onTaken = resolve));
    }, agree);
    const result = shardResult(pipe.analyzer, pipe.flows.stats);
    post({ type: 'result', result, lines: lines.take(), file }, transferables(result));
  }

  if (spec.files !== null) {
    readFiles(spec.files).catch((e: unknown) => {
      post({ type: 'error', message: e instanceof Error ? e.message : String(e), user: e instanceof UserError });
    });
  }
}
