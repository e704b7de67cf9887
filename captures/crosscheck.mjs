#!/usr/bin/env node
// Independent evidence for a capture's truth, from wireshark's tools rather than the generator:
// packet counts (tshark, tcpdump), file format (capinfos), TCP conversations, handshakes, TCP
// analysis flags, and the requests tshark's own RESP dissector finds. Adds them to the truth
// file as `tshark`, `tcpdump`, `capinfos`, and fails when they contradict the truth.
//
//   node captures/crosscheck.mjs captures/demo.pcap [--ports 6379,22121] [--how "tcpdump ..."]
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    ports: { type: 'string', default: '6379' },
    how: { type: 'string' },
    lenient: { type: 'boolean' },
    note: { type: 'string', multiple: true },
    // tshark's RESP dissector loses requests whose segments arrive out of order (reordered.pcap).
    'resp-diff-ok': { type: 'boolean' },
  },
});
const file = positionals[0];
const truthPath = file.replace(/\.pcap(ng)?$/, '.truth.json');
const truth = JSON.parse(readFileSync(truthPath, 'utf8'));
const ports = opt.ports.split(',').map(Number);

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'latin1', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // tshark exits non-zero on a truncated file but still prints every complete frame.
    if (typeof err.stdout === 'string' && /cut short|truncated dump file/.test(String(err.stderr))) return err.stdout;
    throw err;
  }
}

const decodeAs = ports.filter((p) => p !== 6379).flatMap((p) => ['-d', `tcp.port==${p},resp`]);
const tshark = (...args) => run('tshark', ['-r', file, ...decodeAs, ...args]);
const lines = (s) => s.split('\n').filter((l) => l.length > 0);
const countOf = (filter) => lines(tshark('-Y', filter, '-T', 'fields', '-e', 'frame.number')).length;

function capinfos() {
  const out = run('capinfos', [file]);
  const field = (name) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(out)?.[1]?.trim() ?? null;
  const encaps = [...out.matchAll(/Encapsulation = (.*)$/gm)].map((m) => m[1].trim());
  return {
    fileType: field('File type'),
    encapsulation: field('File encapsulation'),
    precision: field('File timestamp precision'),
    interfaces: encaps,
  };
}

function conversations() {
  const byServer = {};
  let total = 0;
  for (const l of lines(tshark('-q', '-z', 'conv,tcp'))) {
    const m = /^(\S+)\s+<->\s+(\S+)\s/.exec(l);
    if (m === null) continue;
    // tshark writes `ip:port` for IPv6 too (`::1:6379`); the truth uses `[::1]:6379`.
    const split = (e) => [e.slice(0, e.lastIndexOf(':')), Number(e.slice(e.lastIndexOf(':') + 1))];
    const side = [m[1], m[2]].map(split).find(([, port]) => ports.includes(port));
    if (side === undefined) continue;
    const server = side[0].includes(':') ? `[${side[0]}]:${side[1]}` : `${side[0]}:${side[1]}`;
    total++;
    byServer[server] = (byServer[server] ?? 0) + 1;
  }
  return { total, byServer };
}

/** Requests per command name as tshark's RESP dissector reassembles them (flat arrays only). */
function respRequests() {
  const portFilter = ports.map((p) => `tcp.dstport==${p}`).join(' || ');
  // A request spread over segments is shown partially in each earlier frame: skip those.
  const out = tshark('-Y', `resp && !resp.reassembled_in_next_frame && (${portFilter})`, '-T', 'fields', '-E', 'aggregator=;', '-e', 'resp.array.length', '-e', 'resp.bulk_string.value');
  const commands = {};
  for (const l of lines(out)) {
    const [lens, values] = l.split('\t');
    const vals = (values ?? '').split(';');
    let v = 0;
    for (const n of (lens ?? '').split(';').filter((x) => x !== '').map(Number)) {
      const name = Buffer.from(vals[v] ?? '', 'hex').toString('latin1').toUpperCase();
      commands[name] = (commands[name] ?? 0) + 1;
      v += n;
    }
  }
  return Object.fromEntries(Object.entries(commands).sort());
}

function tcpdumpCount() {
  try {
    return lines(run('tcpdump', ['-n', '-r', file])).length;
  } catch (err) {
    const why = String(err.stderr ?? err).trim().split('\n');
    return `unreadable: ${why[why.length - 1]}`;
  }
}

const conv = conversations();
const watched = ports.map((p) => `tcp.port==${p}`).join(' || ');
const evidence = {
  packets: lines(tshark('-T', 'fields', '-e', 'frame.number')).length,
  tcpConversations: conv.total,
  conversationsByServer: conv.byServer,
  handshakes: countOf(`tcp.flags.syn==1 && tcp.flags.ack==0 && (${watched})`),
  finPackets: countOf(`tcp.flags.fin==1 && (${watched})`),
  retransmissions: countOf('tcp.analysis.retransmission'),
  outOfOrder: countOf('tcp.analysis.out_of_order'),
  lostSegments: countOf('tcp.analysis.lost_segment'),
  frameStacks: {},
  respRequests: respRequests(),
};
for (const l of lines(tshark('-T', 'fields', '-e', 'frame.protocols'))) {
  const stack = l.replace(/:tcp.*$/, ':tcp');
  evidence.frameStacks[stack] = (evidence.frameStacks[stack] ?? 0) + 1;
}

const problems = [];
if (truth.packets === undefined) truth.packets = evidence.packets;
else if (truth.packets !== evidence.packets) problems.push(`packets: truth ${truth.packets}, tshark ${evidence.packets}`);
if (evidence.tcpConversations !== truth.connections) {
  problems.push(`connections: truth ${truth.connections}, tshark conversations ${evidence.tcpConversations}`);
}
for (const [ep, s] of Object.entries(truth.servers)) {
  if (evidence.conversationsByServer[ep] !== s.connections) problems.push(`server ${ep}: truth ${s.connections} connections, tshark ${evidence.conversationsByServer[ep]}`);
}
// tshark's RESP dissector does not decode inline commands: compare RESP-framed requests only.
// Every connection opens in the file (but midstream ones) and closes in it: the capture window
// covers the whole traffic.
if (evidence.handshakes !== truth.connections - (truth.midstreamConnections ?? 0)) {
  problems.push(`handshakes: tshark ${evidence.handshakes}, truth ${truth.connections} connections, ${truth.midstreamConnections} midstream`);
}
if (evidence.finPackets !== 2 * truth.connections) problems.push(`FIN packets: tshark ${evidence.finPackets}, expected 2 per connection`);
const respDiff = {};
for (const n of new Set([...Object.keys(truth.commands), ...Object.keys(evidence.respRequests)])) {
  const expected = (truth.commands[n] ?? 0) - (truth.inlineCommands?.[n] ?? 0);
  if (expected !== (evidence.respRequests[n] ?? 0)) respDiff[n] = { truth: expected, tshark: evidence.respRequests[n] ?? 0 };
}
evidence.respRequestsDiff = respDiff;
if (Object.keys(respDiff).length > 0 && !opt['resp-diff-ok']) {
  problems.push(`tshark RESP requests differ from the truth: ${JSON.stringify(respDiff)}`);
}

truth.capture = file.split('/').pop();
if (opt.how !== undefined) truth.capturedWith = opt.how;
truth.ports = ports;
for (const n of opt.note ?? []) if (!(truth.notes ??= []).includes(n)) truth.notes.push(n);
truth.gaps ??= 0;
// The generator got a reply to every request that expected one, inside the capture window.
truth.unanswered ??= { count: 0, requests: [] };
truth.truncatedRecords ??= 0;
truth.expectWarning ??= null;
truth.capinfos = capinfos();
truth.tcpdump = { packets: tcpdumpCount() };
truth.tshark = evidence;
writeFileSync(truthPath, `${JSON.stringify(truth, null, 2)}\n`);
const summary = `${truth.capture}: ${evidence.packets} packets, ${evidence.tcpConversations} conversations, resp diff ${JSON.stringify(respDiff)}`;
if (problems.length > 0) {
  console.error(`crosscheck ${summary}\n  ${problems.join('\n  ')}`);
  if (!opt.lenient) process.exit(1);
} else console.log(`crosscheck ok ${summary}`);
