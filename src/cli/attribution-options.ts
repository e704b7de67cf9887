/** `--clients FILE` and `--resolve`: who the clients are, for analyze, live and monitor. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AppNamer } from '../analysis/apps/app-namer.js';
import { parseClientMap } from '../analysis/apps/client-map.js';
import { ReverseResolver } from '../analysis/apps/resolver.js';
import { UserError } from '../errors.js';

export interface AttributionOpts {
  clients?: string;
  resolve?: boolean;
}

export function addAttributionOptions(cmd: Command): Command {
  return cmd
    .option('--clients <file>', "application names by client address: lines of '<ip|cidr|ip:port> <name>', or the JSON of 'kubectl get pods -A -o json'")
    .option('--resolve', 'reverse DNS for client IPs with no other name (in the background, cached, bounded)');
}

/** The namer the options ask for; a mapping file that cannot be read or parsed is one UserError line. */
export function appNamer(opts: AttributionOpts): AppNamer {
  let text: string | null = null;
  if (opts.clients !== undefined) {
    try {
      text = readFileSync(opts.clients, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UserError(`cannot read the client mapping ${opts.clients}: ${code === 'ENOENT' ? 'no such file' : code ?? String(e)}`);
    }
  }
  const map = text === null || opts.clients === undefined ? null : parseClientMap(text, opts.clients);
  return new AppNamer(map, opts.resolve === true ? new ReverseResolver() : null);
}
