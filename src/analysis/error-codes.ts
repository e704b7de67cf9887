/**
 * Error replies counted by their code: the first word of the error text (`MOVED`, `ASK`,
 * `WRONGTYPE`, `NOAUTH`, `OOM`, `ERR` ...), as Redis's own `INFO errorstats` counts them
 * (`errorstat_<CODE>`). The codes come from the wire, so the table is bounded and a word that
 * is no code at all is counted under one name.
 */

/** Distinct codes kept per table; past it the rest count under OTHER_CODE. */
export const MAX_ERROR_CODES = 64;
/** Longest code accepted as one (Redis's are at most a dozen letters). */
const MAX_CODE_LENGTH = 32;
export const OTHER_CODE = '(other)';
/** An error text whose first word is no code (lower case, punctuation, binary). */
export const NO_CODE = '(none)';

/** The code of an error text: its first word, when it is upper-case letters, digits, '_' or '-'. */
export function errorCode(text: string): string {
  let end = 0;
  while (end < text.length && end <= MAX_CODE_LENGTH) {
    const c = text.charCodeAt(end);
    if (c === 0x20) break;
    const ok = (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d;
    if (!ok) return NO_CODE;
    end++;
  }
  if (end === 0 || end > MAX_CODE_LENGTH) return NO_CODE;
  return end === text.length ? text : text.slice(0, end);
}

/** Counts by error code; add on the hot path, merge for shards and windows, snapshot for reports. */
export class ErrorCodes {
  readonly counts = new Map<string, number>();

  add(code: string, n = 1): void {
    const key = this.counts.size < MAX_ERROR_CODES || this.counts.has(code) ? code : OTHER_CODE;
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  merge(other: ErrorCodes): void {
    for (const [code, n] of other.counts) this.add(code, n);
  }

  /** Codes by count, most first (ties by name), as a plain object for the report. */
  snapshot(): Record<string, number> {
    const rows = [...this.counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return Object.fromEntries(rows);
  }

  clear(): void {
    this.counts.clear();
  }
}
