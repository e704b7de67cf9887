import type { Report } from './report.js';

/** The report as JSON (one document; Infinity bounds become null). */
export function renderJson(report: Report, pretty = true): string {
  return JSON.stringify(report, (_k, v: unknown) => (v === Infinity ? null : v), pretty ? 2 : undefined) + '\n';
}
