import { Analyzer, type AnalyzerOptions } from '../analysis/analyzer.js';
import { CaptureFileCursor } from '../capture/file-reader.js';
import type { Packet } from '../capture/packet.js';
import { FlowTable } from '../flow/flow-table.js';
import { buildReport, type Report } from '../output/report.js';

export interface ReplayJob {
  path: string;
  ports: number[];
  top: number;
  analyzer: AnalyzerOptions;
  /** 1 = capture speed, 10 = ten times faster, Infinity = as fast as possible. */
  speed: number;
}

export interface ReplayRun {
  /** Report of everything read so far. */
  snapshot(): Report;
  clear(): void;
  openConnections(): number;
  stop(): void;
  /** Resolves with the final report when the file is done or stop() was called. */
  done: Promise<Report>;
}

/** Small chunks so pacing is smooth and the event loop (keys, redraws) gets turns. */
const REPLAY_CHUNK_BYTES = 256 * 1024;
/** Longest single wait, so stop() and quitting stay responsive. */
const MAX_WAIT_MS = 200;

/** A capture file fed through the analysis paced by its own timestamps, for the live view. */
export function replayFile(job: ReplayJob): ReplayRun {
  const analyzer = new Analyzer(job.analyzer);
  const flows = new FlowTable({ serverPorts: new Set(job.ports) }, analyzer);
  let first: number | null = null;
  let last: number | null = null;
  const onPacket = (p: Packet) => {
    if (first === null) first = p.tsUs;
    last = p.tsUs;
    flows.packet(p);
  };
  const cursor = new CaptureFileCursor(job.path, onPacket, REPLAY_CHUNK_BYTES);
  const source = { kind: 'file' as const, name: job.path, format: '', ports: job.ports, filter: null };
  const snapshot = () =>
    buildReport({
      analyzer, capture: cursor.stats, flow: flows.stats, top: job.top, firstTsUs: first, lastTsUs: last,
      source: { ...source, format: cursor.stats.format },
    });
  let stopped = false;
  const startWall = Date.now();
  const done = new Promise<Report>((resolve) => {
    const tick = () => {
      if (stopped || !cursor.step()) {
        cursor.close();
        flows.finish(last ?? 0);
        resolve(snapshot());
        return;
      }
      const aheadMs = first === null || last === null ? 0 : (last - first) / 1000 / job.speed - (Date.now() - startWall);
      if (aheadMs > 1) setTimeout(tick, Math.min(aheadMs, MAX_WAIT_MS));
      else setImmediate(tick);
    };
    setImmediate(tick);
  });
  return {
    snapshot,
    clear: () => analyzer.stats.clear(),
    openConnections: () => analyzer.openConnections,
    stop: () => {
      stopped = true;
    },
    done,
  };
}
