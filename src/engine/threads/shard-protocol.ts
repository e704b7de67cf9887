/** Messages between the reader (main thread) and its shards' workers. */
import type { AnalyzerOptions } from '../../analysis/analyzer.js';
import type { CaptureStats } from '../../capture/packet.js';
import type { Report } from '../../output/report.js';
import type { PacketSelection } from '../packet-filter.js';
import type { ShardResult } from './shard-result.js';

export interface ShardSpec {
  shard: number;
  shards: number;
  /** The analysis options, as data: client names are given at report time, by the reader. */
  analyzer: Omit<AnalyzerOptions, 'apps'>;
  ports: number[];
  /** MONITOR lines to make (monitor), or none. */
  monitor: { withReplies: boolean } | null;
  /**
   * Capture files every shard reads itself, keeping its own connections (no copy, no reader
   * thread); absent: the reader sends batches (stdin, a live interface).
   */
  files: { inputs: string[]; selection: PacketSelection | null } | null;
}

export type ToShard =
  /** The first message: the shard's work (its worker may have been started before it was known). */
  | { type: 'start'; spec: ShardSpec }
  | { type: 'batch'; buf: ArrayBuffer; len: number }
  | { type: 'finish'; atTsUs: number | null }
  /**
   * Files, Ctrl-C: every shard ends at the same packet. Stop reading and say where ('paused');
   * then read on to the first chunk boundary at or past `records` (Infinity: to the end, when
   * another shard had read it all) and say where again, as often as the reader asks; 'end':
   * end there and report what was read.
   */
  | { type: 'stop'; why: string }
  | { type: 'stopAt'; records: number }
  | { type: 'end' }
  /** Files: the reader took a batch of this shard's MONITOR lines, and the output has room for more. */
  | { type: 'linesTaken' };

/** What a shard reading files knows of the whole capture (every shard reads every packet). */
export interface FileSide {
  capture: CaptureStats;
  source: Report['source'];
  firstTsUs: number | null;
  lastTsUs: number | null;
  backwardsPackets: number;
  maxBackwardsUs: number;
}

export type FromShard =
  | { type: 'ack'; buf: ArrayBuffer; lines: string }
  | { type: 'lines'; lines: string; bytesRead: number; totalBytes: number; packets: number }
  /** Files, stopped: the capture's records this shard has read, at a chunk boundary. */
  | { type: 'paused'; records: number }
  | { type: 'result'; result: ShardResult; lines?: string; file?: FileSide }
  | { type: 'error'; message: string; user: boolean };
