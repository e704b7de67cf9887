import { Analyzer, type AnalysisListener, type AnalyzerOptions } from '../analysis/analyzer.js';
import { readCaptureFile } from '../capture/file-reader.js';
import type { Packet } from '../capture/packet.js';
import { FlowTable } from '../flow/flow-table.js';
import { buildReport, type Report } from '../output/report.js';

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
  const analyzer = new Analyzer(job.analyzer, job.listeners ?? []);
  const flows = new FlowTable({ serverPorts: new Set(job.ports) }, analyzer);
  let first: number | null = null;
  let last: number | null = null;
  const onPacket = (p: Packet) => {
    if (first === null) first = p.tsUs;
    last = p.tsUs;
    flows.packet(p);
  };
  const progress = job.onProgress;
  const capture = readCaptureFile(job.path, onPacket, progress ? { onProgress: (read, total) => progress(read, total, flows.stats.packets) } : {});
  flows.finish(last ?? 0);
  return buildReport({
    analyzer,
    capture,
    flow: flows.stats,
    source: { kind: 'file', name: job.path, format: capture.format, ports: job.ports, filter: null },
    top: job.top,
    firstTsUs: first,
    lastTsUs: last,
  });
}
