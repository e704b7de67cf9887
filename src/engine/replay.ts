import type { Report } from '../output/report.js';
import { openCapture, type CaptureAnalysis } from './analyze-file.js';

export interface ReplayJob extends Omit<CaptureAnalysis, 'onProgress' | 'chunkBytes' | 'listeners'> {
  /** 1 = capture speed, 10 = ten times faster, Infinity = as fast as possible. */
  speed: number;
}

export interface ReplayRun {
  /** What is replayed: the first file, and how many more. */
  name: string;
  /** Report of everything read so far. */
  snapshot(): Report;
  clear(): void;
  openConnections(): number;
  stop(): void;
  /** Resolves with the final report when the inputs are done or stop() was called. */
  done: Promise<Report>;
}

/** Small chunks so pacing is smooth and the event loop (keys, redraws) gets turns. */
const REPLAY_CHUNK_BYTES = 256 * 1024;
/** Longest single wait, so stop() and quitting stay responsive. */
const MAX_WAIT_MS = 200;

/**
 * Captures fed through the analysis paced by their own timestamps, for the live view. Opening
 * checks every input first (a UserError names the bad one) before anything is shown.
 */
export async function replayCapture(job: ReplayJob): Promise<ReplayRun> {
  const cap = await openCapture({ ...job, chunkBytes: REPLAY_CHUNK_BYTES });
  const { pipe, set } = cap;
  const snapshot = () => cap.report(job.top);
  let stopped = false;
  const startWall = Date.now();
  const done = new Promise<Report>((resolve, reject) => {
    const finish = () => {
      set.close();
      pipe.finish();
      resolve(snapshot());
    };
    const pace = () => {
      const { firstTsUs: first, lastTsUs: last } = pipe;
      const aheadMs = first === null || last === null ? 0 : (last - first) / 1000 / job.speed - (Date.now() - startWall);
      if (aheadMs > 1) setTimeout(tick, Math.min(aheadMs, MAX_WAIT_MS));
      else setImmediate(tick);
    };
    const tick = () => {
      if (stopped) return finish();
      set.step().then(
        (more) => (more && !stopped ? pace() : finish()),
        (e: unknown) => {
          // A read error mid-file: end the replay; the caller restores the terminal and says why.
          set.close();
          reject(e);
        },
      );
    };
    setImmediate(tick);
  });
  return {
    name: set.name,
    snapshot,
    clear: () => pipe.analyzer.stats.clear(),
    openConnections: () => pipe.analyzer.openConnections,
    stop: () => {
      stopped = true;
    },
    done,
  };
}
