/**
 * The layers over several threads, each shard (./shard-worker.ts) running its own Pipeline over
 * the connections it owns. Files: every shard reads them and keeps its own packets
 * (./file-shard.ts); shard 0 runs in this thread, which has nothing else to do meanwhile. Stdin
 * and live frames: this (reader) thread parses only link, IP and TCP headers and routes each
 * packet, copied once into a batch, to its shard. Either way capture time reaches every shard
 * in order with its packets (tick records), so connections age as one thread would age them.
 * At the end the shards' aggregates merge (src/analysis/merge/shard-merge.ts) into the report
 * one thread builds.
 */
import type { Worker } from 'node:worker_threads';
import type { AnalyzerOptions } from '../../analysis/analyzer.js';
import { AppNamer } from '../../analysis/apps/app-namer.js';
import type { CaptureStats, Packet } from '../../capture/packet.js';
import { UserError } from '../../errors.js';
import type { Report } from '../../output/report.js';
import * as reportMod from '../../output/report.js';
import { Stamps } from '../stamps.js';
import { LineBuffer } from './file-shard.js';
import * as fileShardMod from './file-shard.js';
import { BatchWriter } from './packet-batch.js';
import type { FileSide, FromShard, ShardSpec, ToShard } from './shard-protocol.js';
import type { ShardResult } from './shard-result.js';
import * as shardResultMod from './shard-result.js';
import { OtherServers, ShardRouter } from './shard-router.js';
import { takeShardThread } from './shard-threads.js';
import * as shardRouterMod from './shard-router.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { buildReport } = reportMod;
const { readFileShard, shardPipeline } = fileShardMod;
const { mergeFlowStats, mergeShards, shardResult } = shardResultMod;
const { TICK_US } = shardRouterMod;

/** Batches a shard may have in hand before the reader waits (files): a few MB per shard. */
const MAX_IN_FLIGHT = 4;
/**
 * Batches a shard may have in hand before a live reader stops reading the kernel ring (frames
 * wait there, and are dropped by the kernel, counted, when it is full) ...
 */
const PAUSE_IN_FLIGHT = 8;
/**
 * ... and before it throws away frames of a read already under way (counted as shed): one read
 * of a ring that filled while paused delivers all of it (100 MB of redis-benchmark -P 16 on lo;
 * 64 batches shed 41% of its frames), so the bound is the ring's size, 128 MB per shard.
 */
const MAX_IN_FLIGHT_LIVE = 512;

export interface ShardedJob {
  threads: number;
  analyzer: AnalyzerOptions;
  ports: number[];
  monitor?: { withReplies: boolean };
  /** MONITOR lines, as each shard hands back a batch's (in order within a shard, so per connection). */
  onLines?: (text: string) => void;
  /** Files every shard reads itself (see ShardSpec.files); absent: packets come through packet(). */
  files?: NonNullable<ShardSpec['files']>;
  /** A shard failed (the run should stop; finish() rethrows). */
  onFailure?: (e: Error) => void;
  /** Packets come from a live capture: a shard too far behind sheds them (packet() false). */
  live?: boolean;
  /** Files: how far the first shard has read. */
  onProgress?: (bytesRead: number, totalBytes: number, packets: number) => void;
  /** The output's room, awaited after each read and before a shard may hand more lines over. */
  pace?: () => Promise<void>;
}

export class ShardedPipeline {
  readonly stamps = new Stamps();
  private readonly router: ShardRouter;
  /** By shard; null: the shard runs in this thread (files' shard 0). */
  private readonly workers: Array<Worker | null> = [];
  private readonly writers: BatchWriter[] = [];
  private readonly spare: ArrayBuffer[][] = [];
  private readonly inFlight: number[] = [];
  /** Resolved when shard k hands a batch back (pace), says where it stopped, or its result. */
  private readonly wake: Array<Array<() => void>> = [];
  private readonly results: Array<ShardResult | null> = [];
  private failure: Error | null = null;
  private lastTickUs = -Infinity;
  /** Server endpoints of new connections, told to the shards that do not own them. */
  private readonly others: OtherServers;
  private owner = 0;
  private readonly apps: AppNamer;
  private closing = false;
  /** Shards that sent their final result (their threads may exit). */
  private readonly ended = new Set<number>();
  /** Files: what the first shard saw of the whole capture. */
  private fileSide: FileSide | null = null;
  /** Files: stops this thread's shard reading (Ctrl-C). */
  private readonly stopHere = new AbortController();
  /** Files, stopped: the records each shard has read (at its last word, or when it ended); null: not told yet. */
  private readonly at: Array<number | null> = [];
  /** Files, stopped: where this thread's shard is told to read on to (see ToShard 'stop'). */
  private toldHere: ((records: number | null) => void) | null = null;
  private stopping = false;
  /** Files, stopped: the records each shard ended at, when they could not agree (a file that shrank). */
  private unevenStop: number[] | null = null;
  private readonly spec: ShardSpec;
  /** Packets routed (for progress). */
  packets = 0;

  constructor(private readonly job: ShardedJob) {
    this.router = new ShardRouter(job.threads);
    this.others = new OtherServers(job.ports, (ip, port) => {
      for (let j = 0; j < this.writers.length; j++) if (j !== this.owner) this.writers[j]!.server(ip, port);
    });
    this.apps = job.analyzer.apps ?? new AppNamer(null, null);
    const { apps: _apps, ...analyzer } = job.analyzer;
    this.spec = { shard: 0, shards: job.threads, analyzer, ports: job.ports, monitor: job.monitor ?? null, files: job.files ?? null };
    for (let k = 0; k < job.threads; k++) {
      this.workers.push(k === 0 && job.files !== undefined ? null : this.start({ ...this.spec, shard: k }));
      this.writers.push(new BatchWriter());
      this.spare.push([]);
      this.inFlight.push(0);
      this.wake.push([]);
      this.results.push(null);
      this.at.push(null);
    }
  }

  /**
   * Routes one packet (bound, to hand to a capture source as is). False when its shard is so far
   * behind that a live reader should shed it (see `live`); a file reader waits in pace() instead.
   */
  readonly packet = (p: Packet): boolean => {
    const ts = p.tsUs;
    this.packets++;
    this.stamps.add(ts);
    const k = this.router.shardOf(p);
    this.owner = k;
    if (this.job.threads > 1) this.others.packet(this.router);
    if (this.job.threads > 1 && ts >= this.lastTickUs + TICK_US) {
      // The other shards learn that capture time moved on, between the same packets as here.
      this.lastTickUs = ts;
      for (let j = 0; j < this.writers.length; j++) if (j !== k) this.writers[j]!.tick(ts);
    }
    if (this.job.live === true && this.inFlight[k]! >= MAX_IN_FLIGHT_LIVE) return false;
    const w = this.writers[k]!;
    w.packet(p);
    if (w.full) this.send(k);
    return true;
  };

  /** Whether a shard is far enough behind that a live reader should leave frames in the ring. */
  behind(): boolean {
    for (const n of this.inFlight) if (n >= PAUSE_IN_FLIGHT) return true;
    return false;
  }

  /** A live capture's ring is empty: capture time reached tsUs; every partial batch goes. */
  idle(tsUs: number): void {
    for (let k = 0; k < this.writers.length; k++) {
      this.writers[k]!.tick(tsUs);
      this.send(k);
    }
  }

  private start(spec: ShardSpec): Worker {
    const k = spec.shard;
    const w = takeShardThread();
    w.postMessage({ type: 'start', spec } satisfies ToShard);
    w.on('message', (m: FromShard) => this.onMessage(k, m));
    w.on('error', (e) => this.fail(e));
    w.on('exit', (code) => {
      if (code !== 0 && !this.closing && !this.ended.has(k)) this.fail(new Error(`shard ${k} exited with code ${code}`));
    });
    return w;
  }

  /** Waits while a shard is behind by more than a few batches (a file is read faster than analysed). */
  async pace(): Promise<void> {
    for (let k = 0; k < this.workers.length; k++) {
      while (this.inFlight[k]! >= MAX_IN_FLIGHT && this.failure === null) await this.waitFor(k);
    }
    if (this.failure !== null) throw this.failure;
    await this.job.pace?.();
  }

  /** Hands over every partial batch (a live capture's quiet moment). */
  flush(): void {
    for (let k = 0; k < this.workers.length; k++) if (this.writers[k]!.len > 0) this.send(k);
  }

  /**
   * End of input: every shard closes its connections at the capture's last stamp, then reports.
   * Files: this thread reads them first, as shard 0.
   */
  async finish(): Promise<void> {
    if (this.job.files === undefined) {
      this.flush();
      for (const w of this.workers) w!.postMessage({ type: 'finish', atTsUs: this.stamps.lastTsUs } satisfies ToShard);
    } else {
      await this.readHere(this.job.files);
    }
    for (let k = 0; k < this.workers.length; k++) {
      while (this.results[k] === null && this.failure === null) await this.waitFor(k);
    }
    if (this.failure !== null) throw this.failure;
    await this.close();
  }

  /**
   * Files: every shard stops reading (Ctrl-C) at the same packet and reports what it read. Each
   * shard stops where it is and says how far it read; all read on to the furthest (none can go
   * back) and end there, so the shards' sum is what one thread reports of the capture cut there.
   */
  stop(why: string): void {
    if (this.job.files === undefined || this.stopping) return;
    this.stopping = true;
    this.stopHere.abort(why);
    for (const w of this.workers) w?.postMessage({ type: 'stop', why } satisfies ToShard);
    void this.settleStop();
  }

  /** Asks the shards behind to read on, until all have read the same records (or can read no more); then ends them. */
  private async settleStop(): Promise<void> {
    let asked = -1;
    for (;;) {
      for (let k = 0; k < this.at.length; k++) while (this.at[k] === null && this.failure === null) await this.waitFor(k);
      if (this.failure !== null) return;
      const at = this.at as number[];
      const to = Math.max(...at);
      const behind = at.flatMap((n, k) => (n < to && !this.done(k) ? [k] : []));
      // None behind: agreed. Asked to read on to the same point twice: they are at the end of a file that shrank.
      if (behind.length === 0 || to === asked) break;
      asked = to;
      // A shard furthest ahead that has ended read the whole capture before the stop: the
      // others read to its end too (there, not just to its last packet, and nothing was cut).
      const whole = at.some((n, k) => n === to && this.done(k));
      for (const k of behind) {
        this.at[k] = null;
        this.tell(k, whole ? Infinity : to);
      }
    }
    if (this.at.some((n) => n !== this.at[0])) this.unevenStop = [...(this.at as number[])];
    for (let k = 0; k < this.at.length; k++) if (!this.done(k)) this.tell(k, null);
  }

  /** Whether shard k has ended its reading (before the stop, or at it). */
  private done(k: number): boolean {
    return k === 0 && this.workers[0] === null ? this.results[0] !== null : this.ended.has(k);
  }

  /** Shard k reads on to `records`, or (null) ends where it is. */
  private tell(k: number, records: number | null): void {
    const w = this.workers[k];
    if (w === null || w === undefined) this.tellHere(records);
    else w.postMessage((records === null ? { type: 'end' } : { type: 'stopAt', records }) satisfies ToShard);
  }

  private tellHere(records: number | null): void {
    const told = this.toldHere;
    this.toldHere = null;
    told?.(records);
  }

  /** This thread's shard, stopped, says where it is and waits to be told where to end. */
  private readonly agreeHere = (records: number): Promise<number | null> => {
    if (this.failure !== null) return Promise.resolve(null);
    const told = new Promise<number | null>((resolve) => (this.toldHere = resolve));
    this.at[0] = records;
    this.wakeUp(0);
    return told;
  };

  /** Files: the capture's counters and source, as the first shard read them. */
  get file(): FileSide | null {
    return this.fileSide;
  }

  /** Client addresses of every connection the shards saw (for --resolve, before the report). */
  clientIps(): string[] {
    const ips = new Set<string>();
    for (const r of this.results) for (const c of r?.stats.state.clients ?? []) ips.add(c.id);
    return [...ips];
  }

  /** The report of the finished shards, as one thread would build it; `capture` and `source` from the reader (absent: the first shard's). */
  report(top: number, capture?: CaptureStats, source?: Report['source']): Report {
    const results = this.results as ShardResult[];
    const a = this.job.analyzer;
    const f = this.fileSide;
    const stamps = f ?? this.stamps;
    const read = capture ?? f!.capture;
    const uneven = this.unevenStop === null ? [] : [`the threads stopped at different packets (${this.unevenStop.join(', ')} read): the totals mix them`];
    return buildReport({
      analyzer: mergeShards(results, a, a.proxyPorts ?? [], this.apps),
      capture: { ...read, warnings: [...read.warnings, ...uneven] },
      flow: mergeFlowStats(results),
      source: source ?? f!.source,
      top,
      firstTsUs: stamps.firstTsUs,
      lastTsUs: stamps.lastTsUs,
      backwardsPackets: stamps.backwardsPackets,
      maxBackwardsUs: stamps.maxBackwardsUs,
    });
  }

  /** Stops every shard at once (an error elsewhere, Ctrl-C twice). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w?.terminate()));
  }

  private send(k: number): void {
    const b = this.writers[k]!.take(this.spare[k]!.pop() ?? null);
    this.inFlight[k]!++;
    this.workers[k]!.postMessage({ type: 'batch', buf: b.buf, len: b.len } satisfies ToShard, [b.buf]);
  }

  /**
   * Files: shard 0, here. After each read the other shards' messages (their MONITOR lines, a
   * failure) are taken in, so they neither wait in a queue until the end nor go unnoticed.
   */
  private async readHere(files: NonNullable<ShardSpec['files']>): Promise<void> {
    const lines = new LineBuffer();
    const pipe = shardPipeline(this.spec, lines);
    const onLines = this.job.onLines;
    try {
      this.fileSide = await readFileShard(this.spec, files, pipe, this.stopHere.signal, async (set, packets) => {
        if (lines.text !== '') onLines?.(lines.take());
        await this.job.pace?.();
        this.job.onProgress?.(set.bytesRead, set.totalBytes, packets);
        await new Promise((resolve) => setImmediate(resolve));
        if (this.failure !== null) throw this.failure;
      }, this.agreeHere);
      if (lines.text !== '') onLines?.(lines.take());
      this.results[0] = shardResult(pipe.analyzer, pipe.flows.stats, true);
      this.at[0] = this.fileSide.capture.packets;
      this.wakeUp(0);
    } catch (e) {
      this.fail(e);
    }
  }

  private onMessage(k: number, m: FromShard): void {
    if (m.type === 'ack') {
      this.inFlight[k]!--;
      this.spare[k]!.push(m.buf);
      if (m.lines !== '') this.job.onLines?.(m.lines);
    } else if (m.type === 'lines') {
      if (m.lines !== '') {
        this.job.onLines?.(m.lines);
        // The shard waits for this before it hands over more than a few batches of lines.
        const taken = (): void => this.workers[k]?.postMessage({ type: 'linesTaken' } satisfies ToShard);
        if (this.job.pace === undefined) taken();
        else void this.job.pace().then(taken);
      }
      if (k === 0) this.job.onProgress?.(m.bytesRead, m.totalBytes, m.packets);
      return;
    } else if (m.type === 'paused') {
      this.at[k] = m.records;
    } else if (m.type === 'error') {
      this.fail(m.user ? new UserError(m.message) : new Error(m.message));
      return;
    } else {
      if (m.lines !== undefined && m.lines !== '') this.job.onLines?.(m.lines);
      this.results[k] = m.result;
      if (m.file !== undefined && k === 0) this.fileSide = m.file;
      if (m.file !== undefined) this.at[k] = m.file.capture.packets;
      // Its heap goes now rather than after the slowest shard: it held a copy of all it sent.
      this.ended.add(k);
      void this.workers[k]?.terminate();
    }
    this.wakeUp(k);
  }

  private waitFor(k: number): Promise<void> {
    return new Promise((resolve) => this.wake[k]!.push(resolve));
  }

  private wakeUp(k: number): void {
    const waiting = this.wake[k]!;
    this.wake[k] = [];
    for (const resolve of waiting) resolve();
  }

  private fail(e: unknown): void {
    if (this.failure !== null) return;
    this.failure = e instanceof UserError ? e : new Error(`analysis thread failed: ${e instanceof Error ? e.message : String(e)}`);
    this.job.onFailure?.(this.failure);
    for (let k = 0; k < this.wake.length; k++) this.wakeUp(k);
    this.tellHere(null);
  }
}
