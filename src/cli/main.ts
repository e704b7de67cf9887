import { Command, CommanderError } from 'commander';
import { UserError } from '../errors.js';

const VERSION = '0.1.0';

/**
 * The subcommands, in the order help lists them, each loaded when wanted: a run loads only its
 * own (the others' modules cost ~20 ms of every start); help, the version or a mistyped name
 * loads them all.
 */
const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  analyze: async () => (await import('./analyze.js')).commandAnalyze,
  live: async () => (await import('./live.js')).commandLive,
  monitor: async () => (await import('./monitor.js')).commandMonitor,
  agent: async () => (await import('./agent.js')).commandAgent,
  merge: async () => (await import('./merge.js')).commandMerge,
};

export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('redis-tap')
    .description('Passive Redis traffic analyzer: hot keys, slow requests, latency and client skew from the wire')
    .version(VERSION)
    .configureOutput({ outputError: (str, write) => write(`redis-tap: ${str.replace(/^error: /, '').trimEnd()} (see --help)\n`) })
    .exitOverride();
  const sub = argv[2];
  const names = sub !== undefined && Object.hasOwn(COMMANDS, sub) ? [sub] : Object.keys(COMMANDS);
  for (const add of await Promise.all(names.map((name) => COMMANDS[name]!()))) add(program);
  return program;
}

/** Runs the CLI; resolves to the exit code. User errors are one line on stderr, exit 2. */
export async function main(argv: string[]): Promise<number> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  try {
    await (await buildProgram(argv)).parseAsync(argv);
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
