import type { AnalysisListener, AnalyzerOptions } from '../analysis/analyzer.js';
import { readCaptureFile } from '../capture/file-reader.js';
import type { Report } from '../output/report.js';
import { Pipeline } from './pipeline.js';

export interface FileAnalysis {
  path: string;
  ports: number[];
  top: number;
  analyzer: AnalyzerOptions;
  listeners?: AnalysisListener[];
  onProgress?: (bytesRead: number, totalBytes: number, packets: number) => void;
}

/** capture file -> flows -> RESP -> pairing -> report, in one pass over the file. */
export function analyzeFile(job: FileAnalysis): Report {
  const pipe = new Pipeline(job.analyzer, job.ports, job.listeners);
  const progress = job.onProgress;
  const capture = readCaptureFile(job.path, pipe.packet, progress ? { onProgress: (read, total) => progress(read, total, pipe.flows.stats.packets) } : {});
  pipe.finish();
  return pipe.report(capture, { kind: 'file', name: job.path, format: capture.format, ports: job.ports, filter: null }, job.top);
}
