/**
 * End to end on the deployment captures of captures/deployments/make-replication.sh: replication
 * links (disk and diskless full syncs, a link joined mid-stream), a sentinel's two connections,
 * and gaps inside large values. `redis-tap analyze --json` must agree with the truth written
 * beside each file from what the generator sent and what the servers said (INFO, the replica's
 * log, the RDB files), checked against the pcap and tshark when the files were made. Nothing
 * here is a number taken from the analyzer's own output.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'redis-tap.js');
const DIR = join(ROOT, 'captures', 'deployments');
const CAPTURES = ['replica-disk', 'replica-diskless', 'replica-midstream', 'sentinel', 'gap-set', 'gap-get'];
/** Commands that only a replica sends to its master: never client commands. */
const LINK_ONLY = ['REPLCONF', 'PSYNC', 'SYNC'];
/** A capture joined mid-stream may hold a few bytes before the first boundary of a connection. */
const MIDSTREAM_UNPARSED_MAX = 1024;

type Counts = Record<string, number>;

interface Truth {
  capture: string;
  ports: number[];
  packets: number;
  connections: number;
  midstreamConnections: number;
  clientCommands: Counts;
  linkHandshake: Counts;
  replication: {
    links: number; rdbTransfers: number; rdbBytes: number; streamBytes: number; acks: number;
    commands: Counts; hotKeys: { key: string; count: number }[]; linkClients: string[];
  };
  pubsubMessages: number;
  gaps: number;
  gapBytes: number;
  partialValues: number;
  unanswered: number;
  errors: number;
  removedFrame?: { frame: number; payloadBytes: number };
}

interface Report {
  totals: Record<string, number | null>;
  commands: { name: string; count: number }[];
  slow: { client: string; command: string }[];
  replication: {
    links: number; rdbTransfers: number; rdbBytes: number; streamBytes: number; acks: number;
    commands: { name: string; count: number }[]; hotKeys: { key: string; count: number }[];
  };
}

const truths = CAPTURES.map((name) => JSON.parse(readFileSync(join(DIR, `${name}.truth.json`), 'utf8')) as Truth);
const sum = (c: Counts) => Object.values(c).reduce((a, b) => a + b, 0);

function analyze(t: Truth, json: boolean) {
  const args = ['analyze', join(DIR, t.capture), ...t.ports.flatMap((p) => ['-p', String(p)]), '--top', '1000', '--max-keys', '100000'];
  if (json) args.push('--json');
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
}

it('finds every deployment capture and its truth', () => {
  expect(truths.map((t) => t.capture)).toEqual(CAPTURES.map((n) => `${n}.pcap`));
});

describe.each(truths.map((t) => ({ capture: t.capture, t })))('$capture', ({ t }) => {
  let report: Report;
  let text: { status: number | null; out: string };

  beforeAll(() => {
    const r = analyze(t, true);
    expect(r.status, r.stderr).toBe(0);
    report = JSON.parse(r.stdout) as Report;
    const plain = analyze(t, false);
    text = { status: plain.status, out: `${plain.stdout}\n${plain.stderr}` };
  });

  it('reads every packet and every connection', () => {
    expect(report.totals['packets']).toBe(t.packets);
    expect(report.totals['connections']).toBe(t.connections);
    expect(text.status).toBe(0);
  });

  it('counts the client commands exactly, and no replication request as one', () => {
    const got = Object.fromEntries(report.commands.map((r) => [r.name, r.count]));
    for (const [name, count] of Object.entries(t.clientCommands)) expect(got[name], name).toBe(count);
    for (const name of LINK_ONLY) expect(got[name], `${name} is not a client command`).toBeUndefined();
    // Only the replica's handshake PING (and AUTH) may show up besides the generator's commands.
    const extra = Object.entries(got).filter(([name]) => t.clientCommands[name] === undefined);
    for (const [name, count] of extra) {
      expect(['PING', 'AUTH'], `unexpected client command ${name}`).toContain(name);
      expect(count, name).toBeLessThanOrEqual(t.linkHandshake[name] ?? 0);
    }
    for (const name of ['PING', 'AUTH']) {
      if (t.clientCommands[name] !== undefined) expect(got[name], name).toBeLessThanOrEqual(t.clientCommands[name] + (t.linkHandshake[name] ?? 0));
    }
    const total = report.totals['commands'] ?? -1;
    expect(total).toBe(report.commands.reduce((n, r) => n + r.count, 0));
    expect(total).toBeGreaterThanOrEqual(sum(t.clientCommands));
    expect(total).toBeLessThanOrEqual(sum(t.clientCommands) + (t.linkHandshake['PING'] ?? 0) + (t.linkHandshake['AUTH'] ?? 0));
  });

  it('reports the replication link apart: RDB transfer, stream, ACKs, propagated commands', () => {
    const r = report.replication;
    expect(r).toBeDefined();
    expect({ links: r.links, rdbTransfers: r.rdbTransfers, rdbBytes: r.rdbBytes, streamBytes: r.streamBytes, acks: r.acks }).toEqual({
      links: t.replication.links,
      rdbTransfers: t.replication.rdbTransfers,
      rdbBytes: t.replication.rdbBytes,
      streamBytes: t.replication.streamBytes,
      acks: t.replication.acks,
    });
    expect(Object.fromEntries(r.commands.map((c) => [c.name, c.count]))).toEqual(t.replication.commands);
    const hot = Object.fromEntries(r.hotKeys.map((k) => [k.key, k.count]));
    for (const k of t.replication.hotKeys) expect(hot[k.key], k.key).toBe(k.count);
    if (t.replication.hotKeys.length > 0) expect(r.hotKeys[0]?.key).toBe(t.replication.hotKeys[0]?.key);
  });

  it('keeps propagated commands out of the client figures', () => {
    const got = Object.fromEntries(report.commands.map((r) => [r.name, r.count]));
    // Names only the master sends on the link (SELECT, PEXPIREAT, ...) are not client commands.
    for (const name of Object.keys(t.replication.commands)) {
      if (t.clientCommands[name] === undefined && t.linkHandshake[name] === undefined) expect(got[name], name).toBeUndefined();
    }
    for (const row of report.slow) expect(t.replication.linkClients, `${row.command} on a replication link is not slow`).not.toContain(row.client);
  });

  it('parses every byte: no violations, no unexpected replies', () => {
    expect(report.totals['violations']).toBe(0);
    expect(report.totals['unexpectedReplies']).toBe(0);
    if (t.midstreamConnections === 0) expect(report.totals['unparsedBytes']).toBe(0);
    else expect(report.totals['unparsedBytes']).toBeLessThan(MIDSTREAM_UNPARSED_MAX);
    expect(report.totals['errors']).toBe(t.errors);
  });

  it('counts pub/sub messages, on a subscription opened before the capture too', () => {
    expect(report.totals['pubsubMessages']).toBe(t.pubsubMessages);
  });

  it('counts gaps, their bytes and the values they cut, and leaves nothing unanswered', () => {
    expect(report.totals['gaps']).toBe(t.gaps);
    expect(report.totals['gapBytes']).toBe(t.gapBytes);
    expect(report.totals['partialValues']).toBe(t.partialValues);
    expect(report.totals['unanswered']).toBe(t.unanswered);
  });

  it.runIf(t.gaps > 0)('still counts, pairs and times the request with a hole in its value, and warns', () => {
    const got = Object.fromEntries(report.commands.map((r) => [r.name, r.count]));
    expect(got['SET']).toBe(2);
    expect(report.totals['commands']).toBe(8);
    expect(report.totals['replies']).toBe(8);
    const warnings = text.out.split('\n').filter((l) => /gap/i.test(l) && !/^\s*losses\b/.test(l));
    expect(warnings.length, text.out).toBeGreaterThan(0);
  });
});
