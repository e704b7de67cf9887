// The server's own account of the captured phase, read over a unix socket that the capture
// never sees: INFO commandstats/errorstats/stats after CONFIG RESETSTAT, and optionally a
// MONITOR log (used for the twemproxy leg, whose requests the generator does not write itself).
import { RedisConn } from './client.mjs';
import { commandstatsByName, parseInfo, parseMonitorLine } from './truth.mjs';

export async function openServerView(rec, { unixPath, password, monitor = false }) {
  const open = async () => {
    const c = await new RedisConn(rec, { path: unixPath }).open();
    if (password !== undefined) await c.send(['AUTH', password]);
    return c;
  };
  const ctl = await open();
  let mon = null;
  if (monitor) {
    mon = await open();
    await mon.send(['MONITOR']);
  }
  return {
    async reset() {
      await ctl.send(['CONFIG', 'RESETSTAT']);
      if (mon !== null) mon.pushLog = [];
    },
    async finish() {
      const info = parseInfo((await ctl.send(['INFO', 'everything'])).toString('latin1'));
      const monitorLog = mon === null ? null : mon.pushLog.map((l) => parseMonitorLine(String(l)));
      if (mon !== null) await mon.close();
      await ctl.close();
      const commandstats = commandstatsByName(info.commandstats);
      // The reset itself is counted (calls=1 after the stats were zeroed); INFO is not yet.
      commandstats.CONFIG -= 1;
      if (commandstats.CONFIG === 0) delete commandstats.CONFIG;
      return {
        version: info.server.redis_version,
        commandstats,
        errorstats: Object.fromEntries(
          Object.entries(info.errorstats ?? {}).map(([k, v]) => [k.replace(/^errorstat_/, ''), Number(v.split('=')[1])]),
        ),
        totalErrorReplies: Number(info.stats.total_error_replies),
        connectionsReceived: Number(info.stats.total_connections_received),
        monitorLog,
      };
    },
  };
}

/** Differences between the generator's per-command counts and the server's commandstats. */
export function diffCounts(mine, server, ignore = []) {
  const diff = {};
  for (const name of new Set([...Object.keys(mine), ...Object.keys(server)])) {
    if (ignore.includes(name)) continue;
    const a = mine[name] ?? 0;
    const b = server[name] ?? 0;
    if (a !== b) diff[name] = { generator: a, server: b };
  }
  return diff;
}
