import type { Report } from './report.js';

/**
 * The report as JSON (one document; Infinity bounds become null). JSON.stringify escapes C0
 * controls but writes DEL and the C1 controls (U+0080-U+009F, which a terminal may obey: U+009B
 * is CSI) as they are: those are escaped too, so the output is safe to print. A JSON parser
 * reads them back exactly.
 */
export function renderJson(report: Report, pretty = true): string {
  const text = JSON.stringify(report, (_k, v: unknown) => (v === Infinity ? null : v), pretty ? 2 : undefined);
  const safe = /[\u007f-\u009f]/.test(text) ? text.replace(/[\u007f-\u009f]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) : text;
  return safe + '\n';
}
