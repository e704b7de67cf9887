/**
 * Clients by application: every connection resolved to a name (see AppNamer), gathered into one
 * row per name with its IPs, connections, commands, errors, latency and client libraries.
 */
import { addPeerCounts, type PeerEntry, type PeerTable } from '../peer-stats.js';
import type { AppNamer, NameSource } from './app-namer.js';

/** IPs and libraries listed per application row. */
const MAX_LISTED = 20;

export interface AppEntry {
  name: string;
  source: NameSource;
  ips: string[];
  libs: string[];
  /** Counters as for any peer (id = the name). */
  peer: PeerEntry;
}

/** One row per application, busiest first. */
export function appEntries(connections: PeerTable, namer: AppNamer): AppEntry[] {
  const apps = new Map<string, AppEntry & { ipSet: Set<string>; libSet: Set<string> }>();
  for (const e of connections.byId.values()) {
    const who = e.who;
    const app = who === null ? { name: e.id, source: 'ip' as const } : namer.name(who.ip, who.port, who.name);
    let row = apps.get(app.name);
    if (row === undefined) {
      const peer: PeerEntry = { id: app.name, connections: 0, commands: 0, errors: 0, requestBytes: 0, replyBytes: 0, latencySumUs: 0, latencyCount: 0, errorCodes: null, who: null };
      row = { name: app.name, source: app.source, ips: [], libs: [], peer, ipSet: new Set(), libSet: new Set() };
      apps.set(app.name, row);
    }
    addPeerCounts(row.peer, e);
    if (who !== null && row.ipSet.size < MAX_LISTED) row.ipSet.add(who.ip);
    if (who?.lib != null && row.libSet.size < MAX_LISTED) row.libSet.add(who.libVer === null ? who.lib : `${who.lib} ${who.libVer}`);
  }
  const rows = [...apps.values()].map(({ ipSet, libSet, ...r }) => ({ ...r, ips: [...ipSet].sort(), libs: [...libSet].sort() }));
  return rows.sort((a, b) => b.peer.commands - a.peer.commands || b.peer.connections - a.peer.connections || (a.name < b.name ? -1 : 1));
}
