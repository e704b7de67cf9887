import { Command, CommanderError } from 'commander';
import { UserError } from '../errors.js';
import { commandAgent } from './agent.js';
import { commandAnalyze } from './analyze.js';
import { commandLive } from './live.js';
import { commandMerge } from './merge.js';
import { commandMonitor } from './monitor.js';

const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('redis-tap')
    .description('Passive Redis traffic analyzer: hot keys, slow requests, latency and client skew from the wire')
    .version(VERSION)
    .configureOutput({ outputError: (str, write) => write(`redis-tap: ${str.replace(/^error: /, '').trimEnd()} (see --help)\n`) })
    .exitOverride();
  commandAnalyze(program);
  commandLive(program);
  commandMonitor(program);
  commandAgent(program);
  commandMerge(program);
  return program;
}

/** Runs the CLI; resolves to the exit code. User errors are one line on stderr, exit 2. */
export async function main(argv: string[]): Promise<number> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2; // commander printed the message
    if (e instanceof UserError) {
      process.stderr.write(`redis-tap: ${e.message}\n`);
      return e.exitCode;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`redis-tap: internal error: ${msg} (please report it; set REDIS_TAP_DEBUG=1 for a stack trace)\n`);
    if (process.env['REDIS_TAP_DEBUG']) console.error(e);
    return 70;
  }
}
