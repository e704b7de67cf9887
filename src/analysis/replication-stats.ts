/**
 * What replication links carry, counted apart from client traffic: the links, their handshake
 * requests (REPLCONF, PSYNC, SYNC) and acknowledgements (REPLCONF ACK), the RDB transfers, and
 * the command stream a master propagates (an exact account of its writes), by name and key.
 */
import type { RequestFrame } from '../resp/types.js';
import * as commandInfoMod from './command-info.js';
import { TopKeys } from './top-keys.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { commandInfo, requestKeys } = commandInfoMod;

/** Distinct names kept per table; past it, the rest count under "(other)". */
const MAX_NAMES = 1024;
/** Keys of propagated commands counted exactly (Space-Saving past it). */
const MAX_LINK_KEYS = 10_000;

function bump(m: Map<string, number>, name: string, n = 1): void {
  const key = m.size < MAX_NAMES || m.has(name) ? name : '(other)';
  m.set(key, (m.get(key) ?? 0) + n);
}

export interface ReplicationSnapshot {
  links: number;
  rdbTransfers: number;
  /** RDB payload bytes (lengths as announced; missingRdbBytes of them were not captured). */
  rdbBytes: number;
  missingRdbBytes: number;
  /** Wire bytes of the propagated commands (missingStreamBytes of them lost in gaps inside their values). */
  streamBytes: number;
  missingStreamBytes: number;
  /** REPLCONF ACK requests from replicas: never paired, never timed. */
  acks: number;
  /** Requests of the replicas' handshakes that redis-tap keeps out of client commands. */
  handshake: Record<string, number>;
  commands: Array<{ name: string; count: number }>;
  hotKeys: Array<{ key: string; count: number }>;
}

export class ReplicationStats {
  links = 0;
  rdbTransfers = 0;
  rdbBytes = 0;
  missingRdbBytes = 0;
  streamBytes = 0;
  missingStreamBytes = 0;
  acks = 0;
  readonly handshake = new Map<string, number>();
  readonly commands = new Map<string, number>();
  readonly keys: TopKeys;
  private readonly keyPos: number[] = [];

  constructor(maxKeys: number) {
    this.keys = new TopKeys(Math.min(maxKeys, MAX_LINK_KEYS));
  }

  /** A request a replica sent on its link (handshake or ACK). */
  linkRequest(name: string, sub: string | null): void {
    if (name === 'REPLCONF' && sub === 'ACK') this.acks++;
    else bump(this.handshake, name);
  }

  rdb(bytes: number, missing: number): void {
    this.rdbTransfers++;
    this.rdbBytes += bytes;
    this.missingRdbBytes += missing;
  }

  /** A command the master propagated. */
  propagated(f: RequestFrame): void {
    if (f.argc === 0 || f.args.length === 0) return;
    const info = commandInfo(f.args);
    bump(this.commands, info.name);
    this.streamBytes += f.wireBytes;
    this.missingStreamBytes += f.missingBytes;
    const n = requestKeys(info, f.args, f.argc, this.keyPos);
    for (let i = 0; i < n; i++) {
      const p = this.keyPos[i]!;
      if (p < f.args.length) this.keys.add(f.args[p]!, 0);
    }
  }

  snapshot(top: number, show: (key: string) => string): ReplicationSnapshot {
    return {
      links: this.links, rdbTransfers: this.rdbTransfers, rdbBytes: this.rdbBytes, missingRdbBytes: this.missingRdbBytes,
      streamBytes: this.streamBytes, missingStreamBytes: this.missingStreamBytes, acks: this.acks,
      handshake: Object.fromEntries([...this.handshake.entries()].sort((a, b) => b[1] - a[1])),
      commands: [...this.commands.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([name, count]) => ({ name: show(name), count })),
      hotKeys: this.keys.top(top).map((k) => ({ key: show(k.key), count: k.count })),
    };
  }

  clear(): void {
    this.links = this.rdbTransfers = this.rdbBytes = this.missingRdbBytes = this.streamBytes = this.missingStreamBytes = this.acks = 0;
    this.handshake.clear();
    this.commands.clear();
    this.keys.clear();
  }
}
