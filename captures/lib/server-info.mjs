// Control connections over a server's unix socket (never captured) for the deployment scripts:
// INFO sections, the server's own commandstats less what the control connection itself sent,
// and polling.
import { RedisConn, sleep } from './client.mjs';
import { commandstatsByName, parseInfo } from './truth.mjs';

const bump = (map, key, by = 1) => {
  map[key] = (map[key] ?? 0) + by;
};

export class ServerControl {
  static async open(rec, path) {
    const s = new ServerControl();
    s.conn = await new RedisConn(rec, { path }).open();
    /** Requests sent here since the last CONFIG RESETSTAT (or since the server started). */
    s.sent = {};
    return s;
  }

  async send(args) {
    const name = String(args[0]).toUpperCase();
    const reset = name === 'CONFIG' && String(args[1]).toUpperCase() === 'RESETSTAT';
    const reply = await this.conn.send(args);
    // The reset is itself counted once in the zeroed stats.
    if (reset) this.sent = { CONFIG: 1 };
    else bump(this.sent, name);
    return reply;
  }

  async info(section = 'everything') {
    return parseInfo((await this.send(['INFO', section])).toString('latin1'));
  }

  async replication() {
    return (await this.info('replication')).replication;
  }

  /**
   * What the server says about its traffic since the last CONFIG RESETSTAT, without the
   * requests of this control connection (an INFO does not count itself in its own reply).
   */
  async account() {
    const mine = { ...this.sent };
    const info = await this.info();
    const commandstats = commandstatsByName(info.commandstats);
    for (const [name, n] of Object.entries(mine)) {
      const left = (commandstats[name] ?? 0) - n;
      if (left < 0) throw new Error(`commandstats ${name} below what the control connection sent`);
      if (left === 0) delete commandstats[name];
      else commandstats[name] = left;
    }
    const errorstats = Object.fromEntries(
      Object.entries(info.errorstats ?? {}).map(([k, v]) => [k.replace(/^errorstat_/, ''), Number(v.split('=')[1])]),
    );
    return {
      version: info.server.redis_version,
      role: info.replication.role,
      commandstats,
      errorstats,
      totalErrorReplies: Number(info.stats.total_error_replies),
      connectionsReceived: Number(info.stats.total_connections_received),
      replication: info.replication,
    };
  }

  close() {
    return this.conn.close();
  }
}

/** Polls `probe` every 100 ms until it returns a truthy value; fails after timeoutMs. */
export async function until(what, probe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
