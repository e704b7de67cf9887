import { ErrorCodes } from './error-codes.js';
import { LatencyHistogram } from './histogram.js';
import type { TrackedRequest } from './tracked-request.js';

export interface CommandEntry {
  name: string;
  count: number;
  errors: number;
  /** Its errors by code, those inside EXEC and script replies included. */
  errorCodes: ErrorCodes;
  unanswered: number;
  noreply: number;
  /** Requests that block by design (BLPOP, XREAD BLOCK, WAIT ...). */
  blocking: number;
  requestBytes: number;
  replyBytes: number;
  latency: LatencyHistogram;
  /** Subcommand counts for container commands (CONFIG GET, CLIENT LIST ...). */
  subs: Map<string, number>;
}

/** Subcommands kept per command; more distinct ones are counted under "(other)". */
const MAX_SUBS = 64;
/** Distinct command names kept; garbage names beyond it are counted under "(other)". */
const MAX_COMMANDS = 1024;

export class CommandStats {
  readonly byName = new Map<string, CommandEntry>();
  /** Latency of every answered request, for the overall histogram. */
  all = new LatencyHistogram();
  /** The last row looked up and the name it was looked up by: runs of one command skip the Map. */
  private lastName = '';
  private lastEntry: CommandEntry | null = null;

  /** `code`: the error code of its reply when the outcome is 'error'. */
  add(r: TrackedRequest, code: string | null): void {
    const e = this.entry(r.info.name);
    e.count++;
    e.requestBytes += r.frame.wireBytes;
    e.replyBytes += r.replyBytes;
    if (r.info.blocking) e.blocking++;
    if (r.info.sub !== null) {
      const sub = e.subs.size < MAX_SUBS || e.subs.has(r.info.sub) ? r.info.sub : '(other)';
      e.subs.set(sub, (e.subs.get(sub) ?? 0) + 1);
    }
    switch (r.outcome) {
      case 'error':
        e.errors++;
        if (code !== null) e.errorCodes.add(code);
        break;
      case 'unanswered':
        e.unanswered++;
        return;
      case 'noreply':
        e.noreply++;
        return;
      case 'ok':
        break;
    }
    e.latency.record(r.latencyUs);
    this.all.record(r.latencyUs);
  }

  /** The row of `name`, created if new (for merges: ./merge/stats-state.ts). */
  row(name: string): CommandEntry {
    return this.entry(name);
  }

  /** An error inside an EXEC reply, credited to the queued command it answers. */
  addError(name: string, code: string): void {
    const e = this.entry(name);
    e.errors++;
    e.errorCodes.add(code);
  }

  sorted(): CommandEntry[] {
    return [...this.byName.values()].sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : 1));
  }

  clear(): void {
    this.byName.clear();
    this.lastName = '';
    this.lastEntry = null;
    this.all = new LatencyHistogram();
  }

  private entry(name: string): CommandEntry {
    if (name === this.lastName && this.lastEntry !== null) return this.lastEntry;
    const e = this.lookup(name);
    this.lastName = name;
    this.lastEntry = e;
    return e;
  }

  private lookup(name: string): CommandEntry {
    let e = this.byName.get(name);
    if (e === undefined && this.byName.size >= MAX_COMMANDS) {
      // Full: the rest share one "(other)" row, which may take the table one past the bound.
      name = '(other)';
      e = this.byName.get(name);
    }
    if (e === undefined) {
      e = {
        name,
        count: 0,
        errors: 0,
        errorCodes: new ErrorCodes(),
        unanswered: 0,
        noreply: 0,
        blocking: 0,
        requestBytes: 0,
        replyBytes: 0,
        latency: new LatencyHistogram(),
        subs: new Map(),
      };
      this.byName.set(name, e);
    }
    return e;
  }
}
