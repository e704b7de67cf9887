import { DEFAULT_LIMITS, type RespLimits } from './types.js';

/** Largest integer the decoders compute with exactly. */
const MAX_LIMIT = Number.MAX_SAFE_INTEGER;

function pick(value: number | undefined, fallback: number, min: number): number {
  if (typeof value !== 'number' || Number.isNaN(value)) return fallback;
  const n = Math.floor(value);
  if (n < min) return min;
  return n > MAX_LIMIT ? MAX_LIMIT : n;
}

/** Fills missing limits from DEFAULT_LIMITS and clamps odd values instead of throwing. */
export function resolveLimits(partial?: Partial<RespLimits>): RespLimits {
  const p = partial ?? {};
  const d = DEFAULT_LIMITS;
  return {
    maxBulkBytes: pick(p.maxBulkBytes, d.maxBulkBytes, 0),
    maxDepth: pick(p.maxDepth, d.maxDepth, 1),
    maxElements: pick(p.maxElements, d.maxElements, 1),
    maxLineBytes: pick(p.maxLineBytes, d.maxLineBytes, 1),
    argPreviewBytes: pick(p.argPreviewBytes, d.argPreviewBytes, 0),
    maxArgsKept: pick(p.maxArgsKept, d.maxArgsKept, 0),
  };
}
