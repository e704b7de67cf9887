import type { AnalyzerOptions } from '../analysis/analyzer.js';
import { CaptureFileCursor } from '../capture/file-reader.js';
import type { Report } from '../output/report.js';
import { Pipeline } from './pipeline.js';

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
  const pipe = new Pipeline(job.analyzer, job.ports);
  const cursor = new CaptureFileCursor(job.path, pipe.packet, REPLAY_CHUNK_BYTES);
  const snapshot = () =>
    pipe.report(cursor.stats, { kind: 'file', name: job.path, format: cursor.stats.format, ports: job.ports, filter: null }, job.top);
  let stopped = false;
  const startWall = Date.now();
  const done = new Promise<Report>((resolve, reject) => {
    const tick = () => {
      try {
        step();
      } catch (e) {
        // A read error mid-file: end the replay; the caller restores the terminal and says why.
        cursor.close();
        reject(e);
      }
    };
    const step = () => {
      if (stopped || !cursor.step()) {
        cursor.close();
        pipe.finish();
        resolve(snapshot());
        return;
      }
      const { firstTsUs: first, lastTsUs: last } = pipe;
      const aheadMs = first === null || last === null ? 0 : (last - first) / 1000 / job.speed - (Date.now() - startWall);
      if (aheadMs > 1) setTimeout(tick, Math.min(aheadMs, MAX_WAIT_MS));
      else setImmediate(tick);
    };
    setImmediate(tick);
  });
  return {
    snapshot,
    clear: () => pipe.analyzer.stats.clear(),
    openConnections: () => pipe.analyzer.openConnections,
    stop: () => {
      stopped = true;
    },
    done,
  };
}
