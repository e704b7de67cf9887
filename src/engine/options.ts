import type { AnalyzerOptions } from '../analysis/analyzer.js';
import { DEFAULT_MAX_PENDING } from '../analysis/pending-limits.js';
import { DEFAULT_LIMITS } from '../resp/types.js';

/** Defaults for every limit of the analysis, named once. */
export const DEFAULTS = {
  port: 6379,
  top: 10,
  slowMs: 10,
  /** Distinct keys counted exactly; ~150 bytes each, so 200k keys is ~30 MB at most. */
  maxKeys: 200_000,
  keepSlow: 1000,
  keepBig: 100,
  /** Zeek's max_pending_commands. */
  maxPending: DEFAULT_MAX_PENDING,
} as const;

export interface AnalysisChoices {
  slowMs: number;
  maxKeys: number;
  top: number;
  argPreviewBytes?: number;
  /** Largest value framed (the server's proto-max-bulk-len); default Redis's 512 MB. */
  maxBulkBytes?: number;
  cluster?: boolean;
  proxyPorts?: number[];
}

export function analyzerOptions(o: AnalysisChoices): AnalyzerOptions {
  return {
    cluster: o.cluster === true,
    proxyPorts: o.proxyPorts ?? [],
    slowUs: Math.round(o.slowMs * 1000),
    maxKeys: o.maxKeys,
    keepSlow: Math.max(DEFAULTS.keepSlow, o.top),
    keepBig: Math.max(DEFAULTS.keepBig, o.top),
    maxPending: DEFAULTS.maxPending,
    respLimits: {
      ...DEFAULT_LIMITS,
      ...(o.argPreviewBytes === undefined ? {} : { argPreviewBytes: o.argPreviewBytes }),
      ...(o.maxBulkBytes === undefined ? {} : { maxBulkBytes: o.maxBulkBytes }),
    },
  };
}
