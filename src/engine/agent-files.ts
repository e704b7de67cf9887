/**
 * The agent's files: one JSON report per window in --out (written atomically, older than
 * --keep deleted), and the --events NDJSON log (reopened on SIGHUP for log rotation). A
 * failure to write is reported through `onError` and counted; it never stops the capture.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

/** `redis-tap-20261203T091500Z.json`: the window's start, UTC. */
const WINDOW_FILE = /^redis-tap-(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z\.json$/;
const TEMP_FILE = /^\.redis-tap-.*\.tmp$/;

export function windowFileName(startMs: number): string {
  return 'redis-tap-' + new Date(startMs).toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '') + '.json';
}

/** The start (ms) a window file is named by, or null for other files. */
export function windowFileStart(name: string): number | null {
  const m = WINDOW_FILE.exec(name);
  if (m === null) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/** `24h`, `90m`, `7d`, `3600s` (or plain seconds) in ms. */
export function parseDuration(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)([smhd]?)$/.exec(text.trim());
  if (m === null) throw new UserError(`'${text}' is not a duration (e.g. 90m, 24h, 7d)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit * 1000;
}

/** Writes `text` to `file` through a temporary file in the same directory, synced, then renamed. */
function writeAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), '.' + path.basename(file) + '.' + process.pid + '.tmp');
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'w', 0o644);
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was created, or it is gone already
    }
    throw e;
  }
}

/**
 * `mkdir -p`, one component at a time. Node's recursive mkdir loops for ever where mkdir says
 * ENOENT although the parent exists (any new name under /proc); here that is an error.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let d = path.resolve(dir);
  for (;;) {
    const st = statSync(d, { throwIfNoEntry: false }); // ENOTDIR (a file on the way) throws
    if (st !== undefined) {
      if (!st.isDirectory()) mkdirSync(d); // throws EEXIST, as mkdir -p does
      break;
    }
    missing.push(d);
    const parent = path.dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      mkdirSync(missing[i]!);
    } catch (e) {
      // Made meanwhile by another process: fine if it is a directory.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(missing[i]!).isDirectory()) throw e;
    }
  }
}

const reason = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));

export class WindowFiles {
  failures = 0;
  written = 0;

  constructor(
    readonly dir: string,
    private readonly keepMs: number,
    private readonly onError: (message: string) => void,
  ) {}

  /** Creates the directory; a directory that cannot be made is a startup error. */
  prepare(): void {
    try {
      makeDirs(this.dir);
    } catch (e) {
      throw new UserError(`cannot create the --out directory ${this.dir}: ${reason(e)}`);
    }
  }

  /** Writes one window's report, then deletes files older than --keep (by the start in their names). */
  write(startMs: number, json: string): void {
    const file = path.join(this.dir, windowFileName(startMs));
    try {
      makeDirs(this.dir); // made again if it was removed meanwhile
      writeAtomic(file, json);
      this.written++;
    } catch (e) {
      this.failures++;
      this.onError(`cannot write the window report ${file}: ${reason(e)} (the capture goes on)`);
    }
    this.prune(startMs);
  }

  /** Window files whose start is more than --keep before `nowMs`, and leftover temporary files as old. */
  private prune(nowMs: number): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return; // reported by write() already
    }
    const cutoff = nowMs - this.keepMs;
    for (const name of names) {
      const start = windowFileStart(name);
      const old = start !== null ? start < cutoff : TEMP_FILE.test(name) && this.mtime(name) < cutoff;
      if (!old) continue;
      try {
        unlinkSync(path.join(this.dir, name));
      } catch (e) {
        this.onError(`cannot delete the old window report ${name}: ${reason(e)}`);
      }
    }
  }

  private mtime(name: string): number {
    try {
      return statSync(path.join(this.dir, name)).mtimeMs;
    } catch {
      return Infinity;
    }
  }
}

/** The --events log: NDJSON lines appended to a file (reopened by reopen()), or stdout for '-'. */
export class EventLog {
  failures = 0;
  private fd: number | null = null;

  constructor(
    readonly target: string,
    private readonly onError: (message: string) => void,
  ) {}

  /** Opens the file; one that cannot be opened at startup is a startup error. */
  open(): void {
    if (this.target === '-') return;
    try {
      this.fd = openSync(this.target, 'a', 0o644);
    } catch (e) {
      throw new UserError(`cannot open the --events file ${this.target}: ${reason(e)}`);
    }
  }

  /** After a log rotation (SIGHUP): closes the file and opens the path again. */
  reopen(): void {
    if (this.target === '-') return;
    this.close();
    try {
      this.fd = openSync(this.target, 'a', 0o644);
    } catch (e) {
      this.failures++;
      this.onError(`cannot reopen the --events file ${this.target}: ${reason(e)} (events are lost until the next SIGHUP)`);
    }
  }

  write(lines: string): void {
    if (lines === '') return;
    if (this.target === '-') {
      process.stdout.write(lines);
      return;
    }
    if (this.fd === null) {
      this.failures++;
      return;
    }
    try {
      writeSync(this.fd, lines);
    } catch (e) {
      this.failures++;
      this.onError(`cannot write to the --events file ${this.target}: ${reason(e)} (the capture goes on)`);
    }
  }

  close(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // closing a file that failed is no news
    }
    this.fd = null;
  }
}
