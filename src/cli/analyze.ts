import { InvalidArgumentError, type Command } from 'commander';
import { replayCapture } from '../engine/replay.js';
import { viewRun } from './tui-run.js';
import { analyzeCapture } from '../engine/analyze-file.js';
import { analyzerOptions, DEFAULTS } from '../engine/options.js';
import { parseIpNet, type ClientSelector, type PacketSelection, type TimeBound } from '../engine/packet-filter.js';
import type { AppNamer } from '../analysis/apps/app-namer.js';
import { LOOKUP_TIMEOUT_MS } from '../analysis/apps/resolver.js';
import { UserError } from '../errors.js';
import { renderJson } from '../output/json.js';
import { ProgressLine } from '../output/progress.js';
import { renderText } from '../output/text.js';
import { clientArg, nonNegativeNumber, portArg, positiveInt, timeArg } from './args.js';
import { stopOnSignals } from './capture-options.js';
import { addAttributionOptions, appNamer, type AttributionOpts } from './attribution-options.js';
import { writeOut } from './io.js';
import { addThreadsOption, threadsForInputs } from './threads-option.js';

interface AnalyzeOpts extends AttributionOpts {
  port?: number[];
  json?: boolean;
  top: number;
  slow: number;
  maxKeys: number;
  color: boolean;
  tui?: boolean;
  speed: number;
  cluster?: boolean;
  proxyPort?: number[];
  read?: string[];
  since?: TimeBound;
  until?: TimeBound;
  client?: ClientSelector[];
  threads: number | 'auto';
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** -r files first, then the others; '-' is stdin. */
function inputsOf(files: string[], opts: AnalyzeOpts): string[] {
  const inputs = [...(opts.read ?? []), ...files];
  if (inputs.length === 0) throw new UserError("analyze: no capture named: give files, -r FILE, or - for stdin (see --help)");
  return inputs;
}

/**
 * `--client <name>`: the addresses the --clients mapping gives that name. A name connections
 * give themselves (CLIENT SETNAME) cannot select packets: it is known only after their first
 * commands.
 */
function namedClients(clients: ClientSelector[] | undefined, apps: AppNamer, mapFile: string | undefined): ClientSelector[] | undefined {
  if (clients === undefined) return undefined;
  return clients.flatMap((c): ClientSelector[] => {
    if (c.kind === 'address') return [c];
    const addrs = apps.map?.addressesOf(c.text) ?? [];
    if (addrs.length === 0) {
      const where = mapFile === undefined ? 'no --clients mapping was given' : `${mapFile} names no client '${c.text}'`;
      throw new UserError(`--client ${c.text}: ${where} (a name a connection gives itself cannot select packets: it is known only after its first commands)`);
    }
    return addrs.map((a) => ({ kind: 'address' as const, net: parseIpNet(a)!, text: `${c.text}=${a}` }));
  });
}

/** --since / --until / --client as one selection, or undefined when none was given. */
function selectionOf(opts: AnalyzeOpts, apps: AppNamer): PacketSelection | undefined {
  const { since, until } = opts;
  const client = namedClients(opts.client, apps, opts.clients);
  if (since === undefined && until === undefined && client === undefined) return undefined;
  if (since !== undefined && until !== undefined && since.kind === until.kind && until.us <= since.us) {
    throw new UserError(`--until ${until.text} is not later than --since ${since.text}: no packet could be kept`);
  }
  const text = [
    since === undefined ? '' : `--since ${since.text}`,
    until === undefined ? '' : `--until ${until.text}`,
    ...(client ?? []).map((c) => `--client ${c.text}`),
  ].filter((t) => t !== '').join(' ');
  return {
    text,
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    ...(client === undefined ? {} : { clients: client }),
  };
}

function speedArg(value: string): number {
  if (value === 'max') return Infinity;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`'${value}' is not a speed factor (> 0, or 'max').`);
  return n;
}

/** -p ports, and the proxy ports (watched too). */
function watchedPorts(opts: AnalyzeOpts): number[] {
  const ports = opts.port ?? (opts.proxyPort === undefined ? [DEFAULTS.port] : []);
  return [...new Set([...ports, ...(opts.proxyPort ?? [])])];
}

/** What the deployment options ask of the analysis: Cluster, proxies, who the clients are. */
function deployment(opts: AnalyzeOpts): { cluster: boolean; proxyPorts: number[] } {
  return { cluster: opts.cluster === true, proxyPorts: opts.proxyPort ?? [] };
}

export function commandAnalyze(program: Command): void {
  const cmd = program
    .command('analyze')
    .description('analyse pcap or pcapng captures (several files are one capture, read in time order) and print a report')
    .argument('[files...]', "capture files (pcap or pcapng, as tcpdump, dumpcap, tshark write them; gzip or zstd compressed too); '-' is stdin")
    .option('-r, --read <file>', "a capture file, as for tcpdump -r; repeatable; '-' is stdin", collect)
    .option('-p, --port <port>', `Redis server port, repeatable (default: ${DEFAULTS.port})`, portArg)
    .option('--json', 'print the report as JSON')
    .option('--top <n>', 'rows per section', positiveInt, DEFAULTS.top)
    .option('--slow <ms>', 'slow-request threshold in milliseconds', nonNegativeNumber, DEFAULTS.slowMs)
    .option('--max-keys <n>', 'distinct keys counted exactly (then Space-Saving top-K)', positiveInt, DEFAULTS.maxKeys)
    .option('--cluster', 'Redis Cluster: hot hash slots and hot keys per node (slots are also shown when cluster traffic is seen)')
    .option('--proxy-port <port>', 'a proxy (Twemproxy) port, repeatable: its clients and its backend connections are counted as two hops', portArg)
    .option('--since <time>', 'skip packets stamped before this: an ISO time (UTC unless a zone is given) or seconds from the start of the capture', timeArg)
    .option('--until <time>', 'skip packets stamped at or after this (same forms as --since)', timeArg)
    .option('--client <ip|cidr|app>', 'only connections from these clients (an address, a network, or an application name of --clients), repeatable', clientArg)
    .option('--no-color', 'no colour even on a terminal')
    .option('--tui', 'replay the capture into the full-screen live view')
    .option('--speed <x>', "with --tui: replay speed, 1 = capture speed, 'max' = at once", speedArg, 1);
  addThreadsOption(addAttributionOptions(cmd))
    .action(async (files: string[], opts: AnalyzeOpts) => {
      const inputs = inputsOf(files, opts);
      const apps = appNamer(opts);
      const selection = selectionOf(opts, apps);
      const color = opts.color && process.stdout.isTTY === true;
      if (opts.tui === true) {
        const analyzer = { ...analyzerOptions({ slowMs: opts.slow, maxKeys: opts.maxKeys, top: Math.max(opts.top, 50), ...deployment(opts) }), apps };
        const run = await replayCapture({
          inputs, ports: watchedPorts(opts), top: Math.max(opts.top, 50), analyzer, speed: opts.speed, ...(selection === undefined ? {} : { selection }),
        });
        const report = await viewRun({ ...run, title: run.name }, true);
        await writeOut(renderText(report, { color, top: opts.top }));
        return;
      }
      const progress = process.stderr.isTTY ? new ProgressLine(process.stderr) : null;
      const stop = stopOnSignals(inputs);
      const report = await analyzeCapture({
        signal: stop.signal,
        inputs,
        threads: threadsForInputs(opts.threads, inputs),
        ports: watchedPorts(opts),
        top: opts.top,
        analyzer: { ...analyzerOptions({ slowMs: opts.slow, maxKeys: opts.maxKeys, top: opts.top, ...deployment(opts) }), apps },
        ...(selection === undefined ? {} : { selection }),
        // --resolve: the reverse lookups started during the analysis get their moment.
        ...(apps.resolver === null ? {} : { beforeReport: () => apps.resolver!.settle(LOOKUP_TIMEOUT_MS) }),
        // Progress only when there is a size to measure it against (not for a pipe).
        ...(progress ? { onProgress: (read: number, total: number, packets: number) => { if (total > 0) progress.update(read, total, packets); } } : {}),
      });
      stop.unhook();
      progress?.done();
      await writeOut(opts.json ? renderJson(report) : renderText(report, { color, top: opts.top }));
    });
}
