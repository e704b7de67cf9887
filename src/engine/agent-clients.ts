/**
 * Per (server, client) series for the agent's metrics, and the last window's hot keys.
 *
 * Client requests are folded in from each window's Stats when the window ends (its
 * connections, each named once as the report names it: the name the connection gave itself,
 * the --clients map, reverse DNS, else its IP), and the window under way is added at scrape
 * time, so the counters move as traffic is analysed. At most `maxSeries` (server, client)
 * series are kept: the first come keep theirs; the rest count as client 'other'; a series with
 * no requests for EVICT_WINDOWS windows is dropped, freeing its place (Prometheus reads its
 * return as a counter reset).
 */
import type { AppNamer } from '../analysis/apps/app-namer.js';
import type { PeerEntry } from '../analysis/peer-stats.js';
import { OTHER } from '../analysis/server-commands.js';
import type { Stats } from '../analysis/stats.js';
import { textLabel, type ClientRow, type HotKeyRow } from '../output/metrics.js';

/** Windows without requests after which a client series is dropped. */
export const EVICT_WINDOWS = 60;
/** 'other' rows kept per server at most; past it, server 'other' too. */
const MAX_OTHER_SERVERS = 64;

interface Series {
  server: string;
  client: string;
  /** Requests of completed windows. */
  commands: number;
  /** Most ever exported: a connection renamed mid-window moves its requests, never down. */
  exported: number;
  idleWindows: number;
}

export interface ClientOptions {
  maxSeries: number;
  hotKeys: number;
}

/** The endpoint in a connection row's id, `client -> server`; null for the '(other)' row. */
function serverOf(id: string): string | null {
  const i = id.indexOf(' -> ');
  return i < 0 ? null : id.slice(i + 4);
}

export class AgentClients {
  private readonly series = new Map<string, Series>();
  private otherServers = 0;
  private connections: ClientRow[] = [];
  private keys: HotKeyRow[] = [];

  constructor(
    private readonly opts: ClientOptions,
    private readonly namer: AppNamer,
  ) {}

  /** A window ended: its requests join the counters, its connections and hot keys replace the last. */
  endWindow(stats: Stats): void {
    const conns = new Map<string, ClientRow>();
    for (const e of stats.peers.connections.byId.values()) {
      if (e.commands === 0 && e.connections === 0) continue;
      const s = this.seriesOf(e);
      s.commands += e.commands;
      if (e.commands > 0) s.idleWindows = -1; // 0 after the sweep below
      const key = s.server + '\n' + s.client;
      const row = conns.get(key) ?? { server: s.server, client: s.client, value: 0 };
      // A row is one client port: a port reused in the window carries several connections; a
      // connection opened in an earlier window that carried requests in this one counts once.
      row.value += Math.max(e.connections, 1);
      conns.set(key, row);
    }
    for (const [key, s] of this.series) {
      if (++s.idleWindows >= EVICT_WINDOWS) {
        this.series.delete(key);
        if (s.client === OTHER && s.server !== OTHER) this.otherServers--;
      }
    }
    this.connections = [...conns.values()];
    this.keys = this.hotKeysOf(stats);
  }

  /** Requests per series: completed windows plus the window under way (`current`), never lower than exported before. */
  commands(current: Stats | null): ClientRow[] {
    const now = new Map<Series, number>();
    if (current !== null) {
      for (const e of current.peers.connections.byId.values()) {
        if (e.commands === 0) continue;
        const s = this.seriesOf(e);
        now.set(s, (now.get(s) ?? 0) + e.commands);
      }
    }
    const rows: ClientRow[] = [];
    for (const s of this.series.values()) {
      s.exported = Math.max(s.exported, s.commands + (now.get(s) ?? 0));
      rows.push({ server: s.server, client: s.client, value: s.exported });
    }
    return rows;
  }

  /** Connections per series in the last completed window. */
  clientConnections(): ClientRow[] {
    return this.connections;
  }

  hotKeys(): HotKeyRow[] {
    return this.keys;
  }

  get size(): number {
    return this.series.size;
  }

  /** The series a connection row counts in, admitted if there is room. */
  private seriesOf(e: PeerEntry): Series {
    const server = serverOf(e.id);
    const who = e.who;
    const client = server === null || who === null ? OTHER : textLabel(this.namer.name(who.ip, who.port, who.name).name);
    const key = (server ?? OTHER) + '\n' + client;
    let s = this.series.get(key);
    if (s !== undefined) return s;
    if (server !== null && client !== OTHER && this.series.size < this.opts.maxSeries) return this.admit(key, server, client);
    // Past the cap: the server's 'other' series, or the one shared 'other' past MAX_OTHER_SERVERS.
    const otherServer = server !== null && this.otherServers < MAX_OTHER_SERVERS ? server : OTHER;
    const otherKey = otherServer + '\n' + OTHER;
    s = this.series.get(otherKey);
    if (s !== undefined) return s;
    if (otherServer !== OTHER) this.otherServers++;
    return this.admit(otherKey, otherServer, OTHER);
  }

  private admit(key: string, server: string, client: string): Series {
    const s: Series = { server, client, commands: 0, exported: 0, idleWindows: 0 };
    this.series.set(key, s);
    return s;
  }

  /** The window's hottest keys: per node with --cluster, else over all servers ('all'); the rest as 'other'. */
  private hotKeysOf(stats: Stats): HotKeyRow[] {
    const n = this.opts.hotKeys;
    const tables: Array<[string, Stats['keys']]> = stats.nodeKeys.size > 0 ? [...stats.nodeKeys.entries()] : [['all', stats.keys]];
    const rows: HotKeyRow[] = [];
    for (const [server, table] of tables) {
      // One row per label: a key named 'other', or two keys alike in their first MAX_LABEL_CHARS, share it.
      const byLabel = new Map<string, HotKeyRow>();
      const count = (key: string, c: number) => {
        const row = byLabel.get(key);
        if (row === undefined) byLabel.set(key, { server, key, count: c });
        else row.count += c;
      };
      let listed = 0;
      for (const k of table.top(n, 'count')) {
        count(textLabel(k.key), k.count);
        listed += k.count;
      }
      if (table.total > listed) count(OTHER, table.total - listed);
      rows.push(...byLabel.values());
    }
    return rows;
  }
}
