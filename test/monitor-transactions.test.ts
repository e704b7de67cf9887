/**
 * MONITOR lines of transactions, against a real redis-server's own MONITOR (redis-cli over a
 * unix socket). Each client conversation is recorded as the client saw it (what it sent, what it
 * got back) and replayed into the analyzer with the MONITOR listener: no capture privileges.
 *
 * What MONITOR prints (Redis 7.0): MULTI; each queued command when EXEC runs it, in the db it
 * runs in (a queued SELECT shows its new db, and so do the commands after it); then EXEC, in the
 * db after. Nothing queued of a transaction that ran nothing (DISCARD, EXECABORT, an EXEC answered
 * nil after WATCH). redis-tap prints queued commands as they arrive (README: a documented
 * difference), each in the db it runs in if EXEC runs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Analyzer } from '../src/analysis/analyzer.js';
import { analyzerOptions } from '../src/engine/options.js';
import { monitorListener } from '../src/output/monitor.js';
import { analyze, type Step } from './helpers/analyzer-run.js';
import { encodeCommand, haveRedis, startRedis, type RedisServer } from './helpers/redis-server.js';

if (!haveRedis) console.warn('monitor-transactions: skipped: redis-server not installed');

type Cmd = string[];

interface Case {
  name: string;
  /**
   * Sent pipelined, in one write each; `watchBreak` before the next batch changes key w from
   * another client. A command after an EXEC that ran nothing goes in a batch of its own: one
   * pipelined behind it is read before the answer (README).
   */
  batches: Cmd[][];
  watchBreak?: boolean;
  /** Lines redis-tap prints that MONITOR does not: queued commands of a transaction that ran nothing, commands refused. */
  tapOnly: string[];
  /**
   * The EXEC line of a transaction that ran nothing: printed as the request is read, before the
   * answer says so, it shows the db its queued SELECT would have set (README).
   */
  execShownAs?: string;
}

const CASES: Case[] = [
  { name: 'a SELECT inside MULTI: it and what is queued after it in the new db', batches: [[['MULTI'], ['SELECT', '5'], ['SET', 'in5', 'x'], ['EXEC'], ['GET', 'in5']]], tapOnly: [] },
  {
    name: 'two SELECTs inside MULTI: each queued command in the db it runs in',
    batches: [[['MULTI'], ['SET', 'f', '1'], ['SELECT', '5'], ['GET', 'f'], ['SELECT', '7'], ['SET', 'g', '1'], ['EXEC'], ['GET', 'g']]],
    tapOnly: [],
  },
  { name: 'DISCARD: MONITOR prints none of the queued commands; the db stays', batches: [[['SELECT', '2'], ['MULTI'], ['SELECT', '3'], ['SET', 'a', '1'], ['DISCARD'], ['GET', 'a']]], tapOnly: ['"SELECT" "3"', '"SET" "a" "1"'] },
  {
    name: 'EXECABORT (a command refused while queueing): nothing runs, the db stays',
    batches: [[['MULTI'], ['SELECT', '5'], ['NOSUCHCMD'], ['SET', 'c', '1'], ['EXEC']], [['GET', 'c']]],
    tapOnly: ['"SELECT" "5"', '"NOSUCHCMD"', '"SET" "c" "1"'],
    execShownAs: '[5] "EXEC"',
  },
  {
    name: 'EXEC answered nil (a WATCHed key changed): nothing runs, the db stays',
    batches: [[['WATCH', 'w'], ['MULTI'], ['SELECT', '6'], ['SET', 'q', '1']], [['EXEC']], [['GET', 'q']]],
    watchBreak: true,
    tapOnly: ['"SELECT" "6"', '"SET" "q" "1"'],
    execShownAs: '[6] "EXEC"',
  },
  // Redis runs a MULTI inside MULTI at once (refused), not at EXEC: after a queued SELECT MONITOR
  // would print it before that SELECT, in the old db; here it comes first, where the orders agree.
  { name: 'MULTI inside MULTI is refused; the transaction goes on', batches: [[['MULTI'], ['MULTI'], ['SELECT', '4'], ['SET', 'm', '1'], ['EXEC'], ['GET', 'm']]], tapOnly: [] },
];

/** Replies a batch gets: one per command. */
function countReplies(text: string): number {
  let n = 0;
  let pos = 0;
  const value = (): boolean => {
    const eol = text.indexOf('\r\n', pos);
    if (eol < 0) return false;
    const t = text[pos];
    const len = Number(text.slice(pos + 1, eol));
    pos = eol + 2;
    if (t === '$' && len >= 0) {
      if (text.length < pos + len + 2) return false;
      pos += len + 2;
    } else if (t === '*' && len > 0) {
      for (let i = 0; i < len; i++) if (!value()) return false;
    }
    return true;
  };
  while (pos < text.length && value()) n++;
  return n;
}

/** One connection: its batches, each answered whole before the next; the bytes as the client saw them. */
async function converse(port: number, batches: Cmd[][], between: () => Promise<void>): Promise<{ steps: Step[]; localPort: number }> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const steps: Step[] = [];
  let got = '';
  sock.on('data', (d) => {
    steps.push(['S', d.toString('latin1')]);
    got += d.toString('latin1');
  });
  for (const [i, batch] of batches.entries()) {
    if (i > 0) await between();
    got = '';
    const bytes = Buffer.concat(batch.map((c) => encodeCommand(c))).toString('latin1');
    steps.push(['C', bytes]);
    sock.write(Buffer.from(bytes, 'latin1'));
    while (countReplies(got) < batch.length) await new Promise((r) => sock.once('data', r));
  }
  const localPort = sock.localPort!;
  sock.end();
  await new Promise((r) => sock.once('close', r));
  return { steps, localPort };
}

/** `ts [db client] args` -> `[db] args`. */
const dbAndArgs = (line: string): string => line.replace(/^\d+\.\d{6} \[(\S+) \S+\] /, '[$1] ');
const argsOf = (line: string): string => line.replace(/^\[\S+\] /, '');

describe.skipIf(!haveRedis)('MONITOR lines of transactions match the server MONITOR', () => {
  let redis: RedisServer;
  let sock: string;
  let monitorOut = '';
  let monitor: ChildProcess;
  const recorded: Array<{ steps: Step[]; localPort: number }> = [];
  let tapOut: string[] = [];

  beforeAll(async () => {
    sock = join(mkdtempSync(join(tmpdir(), 'redis-tap-tx-')), 'redis.sock');
    redis = await startRedis(['--unixsocket', sock]);
    monitor = spawn('redis-cli', ['-s', sock, 'monitor'], { stdio: ['ignore', 'pipe', 'pipe'] });
    monitor.stdout!.on('data', (d) => (monitorOut += d));
    // MONITOR answers OK once it is on.
    while (!monitorOut.startsWith('OK')) await new Promise((r) => setTimeout(r, 20));
    for (const c of CASES) {
      let breaks = 0;
      const breakWatch = async () => {
        if (!c.watchBreak || breaks++ > 0) return;
        await converse(redis.port, [[['SET', 'w', 'changed']]], async () => undefined);
      };
      recorded.push(await converse(redis.port, c.batches, breakWatch));
    }
    // The last line MONITOR prints is the last case's last command.
    const last = CASES.at(-1)!.batches.at(-1)!.at(-1)!.map((a) => `"${a}"`).join(' ');
    for (let i = 0; i < 100 && !monitorOut.trimEnd().endsWith(last); i++) await new Promise((r) => setTimeout(r, 20));
    monitor.kill('SIGINT');

    const lines: string[] = [];
    const a = new Analyzer(analyzerOptions({ slowMs: 10, maxKeys: 100, top: 10 }), [monitorListener({ write: (l) => lines.push(l) }, false)]);
    analyze(recorded.map((r) => r.steps), { analyzer: a });
    tapOut = lines.map((l) => l.trimEnd());
  }, 30_000);

  afterAll(async () => {
    if (monitor?.exitCode === null) monitor.kill('SIGINT');
    await redis?.stop();
  });

  test.each(CASES.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const c = CASES[i]!;
    // analyze() runs conversation i as client 10.0.0.5:(5001 + i).
    const tap = tapOut.filter((l) => l.includes(` 10.0.0.5:${5001 + i}]`)).map(dbAndArgs);
    const truth = monitorOut.split('\n').filter((l) => l.includes(` 127.0.0.1:${recorded[i]!.localPort}]`)).map(dbAndArgs);
    expect(truth.length).toBeGreaterThan(2);
    expect(tap.filter((l) => c.tapOnly.includes(argsOf(l))).map(argsOf)).toEqual(c.tapOnly);
    const shown = tap.filter((l) => !c.tapOnly.includes(argsOf(l)));
    const expected = c.execShownAs === undefined ? truth : truth.map((l) => (argsOf(l) === '"EXEC"' ? c.execShownAs! : l));
    expect(shown).toEqual(expected);
  });
});
