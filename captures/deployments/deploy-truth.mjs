#!/usr/bin/env node
// Writes <capture>.truth.json for a deployment capture from the facts of deploy-traffic.mjs
// (what the generator sent, what the servers say), after checking them against the capture
// itself (wire-scan.mjs over tcp-streams.mjs) and wireshark (tshark). Fails on any mismatch.
//
//   node deploy-truth.mjs --facts facts.json --pcap replica-disk.pcap --ports 6401 --how "tcpdump ..."
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { readPcap } from '../lib/pcap.mjs';
import { tcpStreams } from '../lib/tcp-streams.mjs';
import { hexBytes, tsharkOf } from '../lib/tshark.mjs';
import { isReplicationLink, messagesOf, requestsOf, scanReplicationLink } from '../lib/wire-scan.mjs';

const { values: opt } = parseArgs({
  options: {
    facts: { type: 'string' },
    pcap: { type: 'string' },
    ports: { type: 'string' },
    how: { type: 'string' },
    out: { type: 'string' },
    note: { type: 'string', multiple: true },
  },
});

const facts = JSON.parse(readFileSync(opt.facts, 'utf8'));
const ports = opt.ports.split(',').map(Number);
const gen = facts.generator;
const problems = [];
const checks = {};
/** Figures from tshark, kept in the truth as `tshark`. */
const evidence = {};

/** Records a cross-check; a mismatch fails the run. */
function check(what, truth, seen, ok = (a, b) => JSON.stringify(a) === JSON.stringify(b)) {
  const good = ok(truth, seen);
  checks[what] = good ? 'ok' : { truth, seen };
  if (!good) problems.push(`${what}: truth ${JSON.stringify(truth)}, evidence ${JSON.stringify(seen)}`);
}
const within = (n) => (a, b) => Math.abs(a - b) <= n;
const sorted = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
function addCounts(...maps) {
  const out = {};
  for (const m of maps) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return sorted(out);
}
function diffCounts(truth, seen) {
  const out = {};
  for (const k of new Set([...Object.keys(truth), ...Object.keys(seen)])) {
    if ((truth[k] ?? 0) !== (seen[k] ?? 0)) out[k] = { truth: truth[k] ?? 0, tshark: seen[k] ?? 0 };
  }
  return out;
}
const topKeys = (keys, n) =>
  Object.entries(keys).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n).map(([key, count]) => ({ key, count }));

const pcap = readPcap(readFileSync(opt.pcap));
const streams = tcpStreams(opt.pcap, ports);
const tshark = tsharkOf(opt.pcap, ports);
const links = streams.filter(isReplicationLink);
const others = streams.filter((c) => !links.includes(c));
const genConns = others.filter((c) => c.client.startsWith('127.0.0.2:'));

function serverView(a) {
  const r = a.replication;
  return {
    version: a.version,
    role: a.role,
    commandstats: a.commandstats,
    errorstats: a.errorstats,
    totalErrorReplies: a.totalErrorReplies,
    replication: { master_replid: r.master_replid, master_repl_offset: Number(r.master_repl_offset) },
  };
}

/** The generator's requests, as the capture carries them and as tshark's RESP dissector reads them. */
function checkGenerator() {
  const onWire = addCounts(...genConns.map((c) => requestsOf(c.toServer).commands));
  check('generator requests == requests on its connections in the pcap', gen.commands, onWire);
  evidence.generatorRespRequests = tshark.respRequests('ip.src==127.0.0.2');
  check('generator requests == tshark RESP requests from 127.0.0.2', gen.commands, evidence.generatorRespRequests);
  check('generator error replies == server total_error_replies', gen.errors, facts.master.totalErrorReplies);
}

function replicationTruth() {
  if (links.length !== 1) throw new Error(`${links.length} replication links in the capture`);
  const link = links[0];
  const scan = scanReplicationLink(link);
  const propagatedNotes = [];
  const m = facts.master.commandstats;
  const replicaCmds = sorted(facts.replica.commandstats);
  const log = facts.replicaLog.join('\n');
  const base = { links: 1, linkClients: [link.client] };
  let transfer;
  if (scan.fromStart) {
    const full = /Full resync from master: ([0-9a-f]+):(\d+)/.exec(log);
    if (full === null) throw new Error('no "Full resync from master" in the replica log');
    const fullresync = { replid: full[1], offset: Number(full[2]) };
    const sized = /receiving (\d+) bytes from master/.exec(log);
    // Disk sync: the replica logs the announced size. Diskless: it logs no size; the RDB it
    // received is the file it saved (the EOF mark is not written), so its size is the payload.
    const rdbBytes = sized !== null ? Number(sized[1]) : facts.rdbFiles.replica;
    check('RDB size: replica log / saved file == bytes on the wire', rdbBytes, scan.rdb.bytes);
    check('RDB size == the replica\'s saved RDB file', rdbBytes, facts.rdbFiles.replica);
    if (facts.rdbFiles.master !== null) check('RDB size == the master\'s BGSAVE file', rdbBytes, facts.rdbFiles.master);
    check('+FULLRESYNC on the wire == replica log', fullresync, scan.fullresync);
    const handshake = scan.handshake;
    check('master commandstats PSYNC/SYNC == handshake', (m.PSYNC ?? 0) + (m.SYNC ?? 0), (handshake.PSYNC ?? 0) + (handshake.SYNC ?? 0));
    check('master commandstats PING == handshake PING + generator PING', m.PING ?? 0, (handshake.PING ?? 0) + (gen.commands.PING ?? 0));
    const acks = (m.REPLCONF ?? 0) - (handshake.REPLCONF ?? 0);
    check('REPLCONF ACKs: master commandstats REPLCONF - handshake == ACKs on the wire', acks, scan.acks);
    transfer = {
      rdbTransfers: 1,
      rdbBytes,
      rdbFraming: scan.rdb,
      fullresync,
      keepalives: scan.keepalives,
      streamBytes: facts.link.masterReplOffset - fullresync.offset,
      acks,
      handshake,
      handshakeReplies: scan.handshakeReplies,
    };
  } else {
    const acksStats = m.REPLCONF ?? 0;
    // CONFIG RESETSTAT ran just after the capture started: an ACK of that second may be in the
    // file and not in the stats.
    check('REPLCONF ACKs on the wire vs master commandstats since the reset (0..1 apart)', scan.acks, acksStats, (a, b) => a - b >= 0 && a - b <= 1);
    transfer = {
      rdbTransfers: 0,
      rdbBytes: 0,
      streamBytes: facts.link.masterReplOffset - facts.link.startReplOffset,
      acks: scan.acks,
      handshake: {},
      acksInServerStats: acksStats,
    };
  }
  check('stream bytes: master_repl_offset delta == bytes after the RDB on the wire', transfer.streamBytes, scan.streamBytes);
  check('propagated commands: replica commandstats == commands on the wire', replicaCmds, scan.commands);
  // tshark's RESP dissector reads a stream joined mid-way cleanly; an RDB transfer derails it.
  evidence.propagatedRespRequests = tshark.respRequests(`tcp.srcport==${ports[0]} && ip.dst==127.0.0.1`);
  if (!scan.fromStart) evidence.propagatedRespRequestsDiff = diffCounts(replicaCmds, evidence.propagatedRespRequests);
  if (Object.keys(evidence.propagatedRespRequestsDiff ?? {}).length > 0) {
    propagatedNotes.push('the master\'s writes on the link can split a command across two segments (its replication buffer is written block by block); tshark\'s RESP dissector loses such a command (tshark.propagatedRespRequestsDiff), the replica\'s commandstats and the wire scan agree');
  }
  check('nothing left unread on the link', scan.unread, { toMaster: 0, toReplica: 0 });
  // The hottest propagated keys are the generator's most written ones (the scenarios give the
  // top two a wide margin over the third); the stream on the wire must carry them as often.
  const hotKeys = topKeys(facts.writeKeys, 2);
  check('hot propagated keys: generator writes == keys in the stream on the wire', hotKeys, hotKeys.map(({ key }) => ({ key, count: scan.keys[key] ?? 0 })));
  const third = topKeys(facts.writeKeys, 3)[2]?.count ?? 0;
  check('the two hot keys lead the third by a wide margin', true, hotKeys[1].count >= 2 * third + 2);
  const replicationTruth = { ...base, ...transfer, commands: replicaCmds, hotKeys };
  replicationTruth.getacks = scan.getacks;
  replicationTruth.replicaNewlines = scan.replicaNewlines;
  evidence.keepaliveFrames = tshark.frames(`tcp.srcport==${ports[0]} && tcp.len==1 && tcp.payload==0a`);
  check('newline keepalives: wire scan == tshark 1-byte LF frames', scan.keepalives, evidence.keepaliveFrames);
  evidence.replicaRespRequests = tshark.respRequests(`ip.src==127.0.0.1 && tcp.dstport==${ports[0]}`);
  check('replica requests: tshark RESP == handshake + ACKs', evidence.replicaRespRequests, addCounts(transfer.handshake, { REPLCONF: scan.acks }));
  const notes = [...propagatedNotes];
  if (scan.fromStart) {
    notes.push(
      'linkHandshake: the replica sends PING (answered +PONG, so it may count as a client command), REPLCONF listening-port, REPLCONF capa eof capa psync2 and PSYNC ? -1 (answered +FULLRESYNC <replid> <offset>); REPLCONF and PSYNC are never client commands',
      scan.rdb.trailerBytes === 0
        ? `the RDB comes as $${scan.rdb.bytes}\r\n and ${scan.rdb.bytes} bytes (REDIS0010 ... 0xff + CRC64) with no CRLF after it; the propagated stream follows at once`
        : `the RDB comes as $EOF:<40 random bytes>\r\n, the RDB, then the same 40 bytes; the replica logs no size for it, so rdbBytes is the size of the RDB file the replica saved (== the bytes between the marks)`,
      `keepalives: ${scan.keepalives} bare LF bytes from the master between +FULLRESYNC and the RDB (not requests, not part of rdbBytes)`,
      'the link is closed inside the capture: the master\'s PINGs stopped (CONFIG SET repl-ping-replica-period 3600), the replica caught up, then REPLICAOF NO ONE on the replica; so streamBytes = master_repl_offset - the FULLRESYNC offset is the whole stream in the file',
      `acks: REPLCONF ACK <offset> requests from the replica (master commandstats REPLCONF less the 2 of the handshake); they get no reply`,
    );
  } else {
    notes.push(
      'CONFIG RESETSTAT on both servers just after the capture started, while the stream was still (the master\'s PINGs paused): the replica\'s commandstats are exactly the propagated commands in the file',
      `acks are counted on the wire; the master's commandstats since the reset show ${transfer.acksInServerStats} (an ACK of the second the capture started in may precede the reset)`,
    );
  }
  notes.push('propagated commands (replica commandstats) are the master\'s requests on the link; the replica does not answer them, except REPLCONF GETACK * with a REPLCONF ACK request');
  return { replication: replicationTruth, linkHandshake: transfer.handshake, scan, notes };
}

function sentinelTruth() {
  const hello = others.find((c) => !c.client.startsWith('127.0.0.2:') && messagesOf(c.toClient, '__sentinel__:hello').messages > 0);
  const cmd = others.find((c) => !c.client.startsWith('127.0.0.2:') && c !== hello);
  if (hello === undefined || cmd === undefined) throw new Error('the sentinel connections are not both in the capture');
  check('hello connection == the sentinel -pubsub client of CLIENT LIST', hello.client, facts.sentinelConnections.hello);
  check('command connection == the sentinel -cmd client of CLIENT LIST', cmd.client, facts.sentinelConnections.command);
  const msgs = messagesOf(hello.toClient, '__sentinel__:hello');
  const head = `*3\r\n$7\r\nmessage\r\n$18\r\n__sentinel__:hello\r\n`;
  evidence.helloFrames = tshark.frames(`tcp.srcport==${ports[0]} && tcp.payload contains ${hexBytes(head)}`);
  check('hello messages: wire scan == tshark frames holding one', msgs.messages, evidence.helloFrames);
  check('the hello connection carries only messages, nothing unread', { values: msgs.values, unread: msgs.unread }, { values: msgs.messages, unread: 0 });
  check('the hello connection sends nothing in the capture', hello.toServer.bytes.length, 0);
  const sentinel = requestsOf(cmd.toServer);
  const replies = requestsOf(cmd.toClient); // replies are values too: count them
  check('sentinel command connection: starts and ends on a request boundary', sentinel.unread, 0);
  check('sentinel command connection: one reply per request (none cut at the capture start)', replies.requests, sentinel.requests);
  evidence.sentinelRespRequests = tshark.respRequests(`tcp.srcport==${cmd.client.split(':')[1]}`);
  check('sentinel requests: wire scan == tshark RESP', sentinel.commands, evidence.sentinelRespRequests);
  const publishes = sentinel.commands.PUBLISH ?? 0;
  check('each hello PUBLISH reached the subscriber once', msgs.messages, publishes);
  // The stats were reset just after the capture started and read just before it stopped: a
  // PING (1/s) or a hello PUBLISH (1/2 s) may fall in either margin.
  const stats = facts.master.commandstats;
  for (const [name, n] of Object.entries(sentinel.commands)) {
    check(`sentinel ${name}: wire vs master commandstats less the generator's (within 2)`, n, (stats[name] ?? 0) - (gen.commands[name] ?? 0), within(2));
  }
  return { pubsubMessages: msgs.messages, sentinelCommands: sorted(sentinel.commands), sentinelConnections: { command: cmd.client, hello: hello.client } };
}

function main() {
  checkGenerator();
  const truth = {
    capture: basename(opt.pcap),
    capturedWith: opt.how,
    ports,
    packets: pcap.packets.length,
    connections: streams.length,
    midstreamConnections: streams.filter((c) => !c.syn).length,
    clientCommands: gen.commands,
    generatorCommands: gen.commands,
    clientHotKeys: topKeys(gen.keys, 5),
    linkHandshake: {},
    replication: { links: 0, rdbTransfers: 0, rdbBytes: 0, streamBytes: 0, acks: 0, commands: {}, hotKeys: [], linkClients: [] },
    pubsubMessages: 0,
    gaps: 0,
    gapBytes: 0,
    partialValues: 0,
    unanswered: 0,
    errors: gen.errors,
    bigKeys: gen.bigKeys,
    startedAt: gen.startedAt,
    endedAt: gen.endedAt,
  };
  const notes = [...(gen.notes ?? []), ...(opt.note ?? [])];
  if (facts.step === 'replica' || facts.step === 'midstream') {
    const r = replicationTruth();
    truth.linkHandshake = r.linkHandshake;
    truth.replication = r.replication;
    notes.push(...r.notes);
    check('generator commands + master-side link requests == master commandstats',
      addCounts(gen.commands, r.linkHandshake, { REPLCONF: r.scan.acks }),
      addCounts(facts.master.commandstats),
      facts.step === 'replica' ? undefined : (a, b) => JSON.stringify({ ...a, REPLCONF: 0 }) === JSON.stringify({ ...b, REPLCONF: 0 }));
  } else if (facts.step === 'sentinel') {
    const s = sentinelTruth();
    truth.pubsubMessages = s.pubsubMessages;
    truth.sentinelCommands = s.sentinelCommands;
    truth.sentinelConnections = s.sentinelConnections;
    truth.clientCommands = addCounts(gen.commands, s.sentinelCommands);
    notes.push(
      'clientCommands = the generator\'s (127.0.0.2) + the sentinel\'s on its command connection (PING each second, PUBLISH of its hello every 2 s, INFO every 10 s), counted in the pcap (own scan == tshark); the master\'s commandstats agree within 2 (they cover a slightly narrower window)',
      `pubsubMessages: ${s.pubsubMessages} __sentinel__:hello messages reached the sentinel's subscription, one per hello PUBLISH; that connection subscribed before the capture and sends nothing in it`,
      'both sentinel connections were open before the capture and stay open after it (no SYN, no FIN in the file)',
    );
  } else {
    check('generator commands == master commandstats', gen.commands, facts.master.commandstats);
  }
  evidence.packets = tshark.packets();
  evidence.tcpConversations = tshark.conversations();
  evidence.handshakes = tshark.handshakes();
  evidence.finPackets = tshark.finPackets();
  evidence.lostSegments = tshark.lostSegments();
  evidence.retransmissions = tshark.retransmissions();
  // Loopback TCP may resend a segment (a tail loss probe): an exact copy, which the streams above
  // lay over the original. Worth a note, not a failure.
  if (evidence.retransmissions > 0) notes.push(`${evidence.retransmissions} TCP retransmissions (exact copies of segments in the file): their bytes count once`);
  check('packets: own reader == tshark', truth.packets, evidence.packets);
  check('connections == tshark TCP conversations', truth.connections, evidence.tcpConversations);
  check('handshakes in the file == connections - midstream', truth.connections - truth.midstreamConnections, evidence.handshakes);
  // Every connection closes inside the file, but the sentinel's two, which outlive the capture.
  truth.connectionsOpenAtEnd = streams.filter((c) => c.fin < 2).length;
  check('connections still open when the capture stops', facts.step === 'sentinel' ? 2 : 0, truth.connectionsOpenAtEnd);
  check('FIN packets: own scan == tshark', streams.reduce((n, c) => n + c.fin, 0), evidence.finPackets);
  check('no lost segments', 0, evidence.lostSegments);
  truth.server = { master: serverView(facts.master), ...(facts.replica ? { replica: serverView(facts.replica) } : {}) };
  if (facts.replicaLog) truth.server.replicaLog = facts.replicaLog;
  if (facts.rdbFiles) truth.server.rdbFiles = facts.rdbFiles;
  truth.crossChecks = checks;
  truth.tshark = evidence;
  truth.notes = notes;
  if (problems.length > 0) {
    console.error(`deploy-truth ${truth.capture}:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  const out = opt.out ?? opt.pcap.replace(/\.pcap$/, '.truth.json');
  writeFileSync(out, `${JSON.stringify(truth, null, 2)}\n`);
  console.log(`deploy-truth ok ${truth.capture}: ${truth.packets} packets, ${truth.connections} connections, ${Object.keys(checks).length} cross-checks`);
}

main();
