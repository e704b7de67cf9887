import { Option, type Command } from 'commander';
import { LIVE_DEFAULTS } from '../capture/live.js';
import { parseDuration } from '../engine/agent-files.js';
import { CPU_PRIORITIES, type CpuPriority } from '../engine/cpu-priority.js';
import { analyzerOptions, DEFAULTS } from '../engine/options.js';
import { UserError } from '../errors.js';
import { parseListen } from '../output/http-server.js';
import { nonNegativeNumber, portArg, positiveInt } from './args.js';
import { addAttributionOptions, appNamer, type AttributionOpts } from './attribution-options.js';

interface AgentOpts extends AttributionOpts {
  interface?: string;
  port?: number[];
  filter?: string;
  bufferMb: number;
  cpuPriority: CpuPriority;
  metricsListen: string;
  metrics: boolean;
  window: number;
  out?: string;
  keep: string;
  events?: string;
  bigValue: number;
  maxClients: number;
  metricsHotKeys: number;
  top: number;
  slow: number;
  maxKeys: number;
  cluster?: boolean;
}

export const AGENT_DEFAULTS = {
  metricsListen: '127.0.0.1:9769',
  windowSec: 60,
  keep: '24h',
  maxClients: 100,
  hotKeys: 20,
  /** A "big key" by the usual rule of thumb for strings. */
  bigValueBytes: 10_240,
} as const;

function nonNegativeInt(value: string): number {
  return value === '0' ? 0 : positiveInt(value);
}

export function commandAgent(program: Command): void {
  const cmd = program
    .command('agent')
    .description('run until stopped on a live interface: a JSON report per window, NDJSON events, Prometheus metrics')
    .option('-i, --interface <iface>', "interface to capture on, 'any' for all (default: libpcap's default device)")
    .option('-p, --port <port>', `Redis server port, repeatable (default: ${DEFAULTS.port})`, portArg)
    .option('--filter <bpf>', "extra BPF expression, and-ed with the port filter (e.g. 'host 10.0.0.5')")
    .option('--buffer-mb <n>', 'kernel capture buffer in MiB', positiveInt, LIVE_DEFAULTS.bufferMb)
    .addOption(
      new Option('--cpu-priority <p>', "'idle': analyse only on CPU that Redis leaves idle; 'normal': compete for it").choices(CPU_PRIORITIES).default('idle'),
    )
    .option('--metrics-listen <addr>', 'serve Prometheus metrics at http://ADDR/metrics (host:port, [ipv6]:port, :port for every interface)', AGENT_DEFAULTS.metricsListen)
    .option('--no-metrics', 'serve no metrics')
    .option('--window <s>', 'seconds per window report', positiveInt, AGENT_DEFAULTS.windowSec)
    .option('--out <dir>', 'write each window as redis-tap-<start, UTC>.json into this directory')
    .option('--keep <duration>', 'delete window reports older than this (e.g. 90m, 24h, 7d)', AGENT_DEFAULTS.keep)
    .option('--events <file>', "append one JSON line per slow request and big value ('-' for stdout); reopened on SIGHUP")
    .option('--big-value <bytes>', 'values of at least this many bytes are events', nonNegativeInt, AGENT_DEFAULTS.bigValueBytes)
    .option('--max-clients <n>', "(server, client) series in the client metrics; the rest as client 'other'", positiveInt, AGENT_DEFAULTS.maxClients)
    .option('--metrics-hot-keys <n>', "hottest keys of the last window as metrics; the rest as key 'other'", positiveInt, AGENT_DEFAULTS.hotKeys)
    .option('--top <n>', 'rows per section of the window reports', positiveInt, DEFAULTS.top)
    .option('--slow <ms>', 'slow-request threshold in milliseconds', nonNegativeNumber, DEFAULTS.slowMs)
    .option('--max-keys <n>', 'distinct keys counted exactly per window', positiveInt, DEFAULTS.maxKeys)
    .option('--cluster', 'Redis Cluster: hot hash slots, and hot keys per node (also in the metrics)');
  addAttributionOptions(cmd).action(async (opts: AgentOpts) => {
    const keepMs = parseDuration(opts.keep);
    const listen = opts.metrics ? parseListen(opts.metricsListen) : null;
    const log = (line: string) => process.stderr.write(`redis-tap agent: ${line}\n`);
    // Loaded here, not at start-up: prom-client alone costs every other subcommand ~70 ms.
    const { runAgent } = await import('../engine/agent.js');
    const run = await runAgent({
      capture: {
        ports: opts.port ?? [DEFAULTS.port],
        bufferMb: opts.bufferMb,
        cpuPriority: opts.cpuPriority,
        ...(opts.interface === undefined ? {} : { iface: opts.interface }),
        ...(opts.filter === undefined ? {} : { filter: opts.filter }),
      },
      analyzer: { ...analyzerOptions({ slowMs: opts.slow, maxKeys: opts.maxKeys, top: opts.top, cluster: opts.cluster === true }), apps: appNamer(opts) },
      top: opts.top,
      windowSec: opts.window,
      ...(opts.out === undefined ? {} : { outDir: opts.out }),
      keepMs,
      ...(opts.events === undefined ? {} : { events: opts.events }),
      bigValueBytes: opts.bigValue,
      listen,
      maxClients: opts.maxClients,
      hotKeys: opts.metricsHotKeys,
      log,
    });
    const stop = () => run.stop();
    const reopen = () => run.reopen();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', reopen);
    const failure = await run.done;
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.off('SIGHUP', reopen);
    // Exit 1 (not 2: the command line was right) so that a service manager restarts it.
    if (failure !== null) throw new UserError(failure, 1);
  });
}
