#!/usr/bin/env node
// Independent evidence for tls.pcap, cluster.pcap and twemproxy2.pcap from wireshark's tools
// (tshark, tcpdump), added to each truth file as `tshark` / `tcpdump`; fails when it contradicts
// what the generator and the servers said. Also fills the figures only the file can give
// (packets; connections and clusterBusConnections, from tshark -qz conv,tcp).
//
//   node cluster-tls-evidence.mjs captures/deployments/cluster.pcap --how "tcpdump ..."
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opt, positionals } = parseArgs({ allowPositionals: true, options: { how: { type: 'string' } } });
const file = positionals[0];
const truthPath = file.replace(/\.pcap$/, '.truth.json');
const truth = JSON.parse(readFileSync(truthPath, 'utf8'));
const problems = [];
const check = (what, got, want) => {
  if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${what}: evidence ${JSON.stringify(got)}, truth ${JSON.stringify(want)}`);
};

const run = (cmd, args) => execFileSync(cmd, args, { encoding: 'latin1', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
const lines = (s) => s.split('\n').filter((l) => l.length > 0);
const tshark = (decode, ...args) => run('tshark', ['-r', file, ...decode.flatMap(([p, proto]) => ['-d', `tcp.port==${p},${proto}`]), ...args]);
const frames = (decode, filter, ...fields) =>
  lines(tshark(decode, '-Y', filter, '-T', 'fields', '-E', 'aggregator=;', ...fields.flatMap((f) => ['-e', f]))).map((l) => l.split('\t'));
const anyPort = (ports) => ports.map((p) => `tcp.port==${p}`).join(' || ');
const bump = (m, k, by = 1) => {
  m[k] = (m[k] ?? 0) + by;
};
const sorted = (obj) => Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** TCP conversations whose one side is a watched port, by that `ip:port`. */
function conversations(ports) {
  const byServer = {};
  for (const l of lines(tshark([], '-q', '-z', 'conv,tcp'))) {
    const m = /^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s/.exec(l);
    if (m === null) continue;
    const side = [[m[1], Number(m[2])], [m[3], Number(m[4])]].find(([, p]) => ports.includes(p));
    if (side !== undefined) bump(byServer, `${side[0]}:${side[1]}`);
  }
  return sorted(byServer);
}

/** Requests per destination port and command name, as tshark's RESP dissector frames them. */
function respRequests(ports) {
  const byPort = {};
  const spellings = {};
  const rows = frames(ports.map((p) => [p, 'resp']), `resp && !resp.reassembled_in_next_frame && (${ports.map((p) => `tcp.dstport==${p}`).join(' || ')})`,
    'tcp.dstport', 'resp.array.length', 'resp.bulk_string.value');
  for (const [port, lens, values] of rows) {
    const vals = (values ?? '').split(';');
    let v = 0;
    for (const n of (lens ?? '').split(';').filter((x) => x !== '').map(Number)) {
      const raw = Buffer.from(vals[v] ?? '', 'hex').toString('latin1');
      bump((byPort[port] ??= {}), raw.toUpperCase());
      bump((spellings[port] ??= {}), raw);
      v += n;
    }
  }
  for (const p of Object.keys(byPort)) byPort[p] = sorted(byPort[p]);
  return { byPort, spellings };
}

const addAll = (maps) => sorted(maps.reduce((acc, m) => { for (const [k, v] of Object.entries(m)) bump(acc, k, v); return acc; }, {}));

const evidence = { packets: lines(tshark([], '-T', 'fields', '-e', 'frame.number')).length };
const tcpdumpPackets = lines(run('tcpdump', ['-n', '-r', file])).length;
check('tcpdump packets', tcpdumpPackets, evidence.packets);
truth.packets = evidence.packets;
truth.capture = file.split('/').pop();
if (opt.how !== undefined) truth.capturedWith = opt.how;

function tcpBasics(ports, expectConnections, expectHandshakes, expectFins) {
  evidence.conversationsByServer = conversations(ports);
  evidence.tcpConversations = Object.values(evidence.conversationsByServer).reduce((a, b) => a + b, 0);
  evidence.handshakes = frames([], `tcp.flags.syn==1 && tcp.flags.ack==0 && (${ports.map((p) => `tcp.dstport==${p}`).join(' || ')})`, 'frame.number').length;
  evidence.finPackets = frames([], `tcp.flags.fin==1 && (${anyPort(ports)})`, 'frame.number').length;
  evidence.lostSegments = frames([], 'tcp.analysis.lost_segment', 'frame.number').length;
  evidence.retransmissions = exactRetransmissions();
  check('connections', evidence.tcpConversations, expectConnections);
  check('handshakes', evidence.handshakes, expectHandshakes);
  check('FIN packets', evidence.finPackets, expectFins);
  check('lost segments', evidence.lostSegments, 0);
}

/**
 * Loopback TCP now and then resends a segment (a tail loss probe when an ACK is late). An exact
 * copy of bytes already in the file changes nothing in the truth: it is kept, and noted. Any
 * other retransmission fails.
 */
function exactRetransmissions() {
  const seen = new Set();
  let copies = 0;
  for (const [stream, src, seq, retrans, payload] of frames([], 'tcp.len>0', 'tcp.stream', 'tcp.srcport', 'tcp.seq', 'tcp.analysis.retransmission', 'tcp.payload')) {
    const id = `${stream}/${src}/${seq}/${payload}`;
    if (retrans !== undefined && retrans !== '') {
      if (seen.has(id)) copies++;
      else problems.push(`stream ${stream}: a retransmission at seq ${seq} that is not an exact copy of an earlier segment`);
    }
    seen.add(id);
  }
  if (copies > 0) {
    const note = `${copies} TCP retransmission(s) in the file, each an exact copy of a segment already in it (tshark flags them): the bytes count once`;
    truth.notes = [...(truth.notes ?? []).filter((n) => !/^\d+ TCP retransmission/.test(n)), note];
  }
  return copies;
}

/** First payload bytes of each TCP stream on `port`, per direction, as hex. */
function firstPayloads(port, n) {
  const streams = {};
  for (const [stream, dst, syn, payload] of frames([], `tcp.port==${port} && (tcp.len>0 || tcp.flags.syn==1)`, 'tcp.stream', 'tcp.dstport', 'tcp.flags.syn', 'tcp.payload')) {
    const s = (streams[stream] ??= { handshake: false });
    if (syn === '1' || syn === 'True') s.handshake = true;
    if (payload === undefined || payload === '') continue;
    const dir = Number(dst) === port ? 'toServer' : 'toClient';
    s[dir] ??= payload.slice(0, 2 * n).replace(/(..)/g, '$1 ').trim();
  }
  return streams;
}

function tls() {
  const [plainPort, tlsPort] = truth.ports;
  tcpBasics(truth.ports, truth.connections, truth.connections - truth.midstreamConnections, 2 * truth.connections);
  check('conversations per server', evidence.conversationsByServer, sorted(Object.fromEntries(
    [...Object.entries(truth.servers), ...Object.entries(truth.tlsServers)].map(([ep, s]) => [ep, s.connections]))));
  const dec = [[tlsPort, 'tls']];
  evidence.clientHellos = frames(dec, 'tls.handshake.type==1', 'frame.number').length;
  evidence.serverHellos = frames(dec, 'tls.handshake.type==2', 'frame.number').length;
  check('ClientHellos', evidence.clientHellos, truth.tlsConnections - truth.tlsMidstreamConnections);
  // TLS 1.3 hides the real type of an encrypted record: its outer (opaque) type is always 23.
  evidence.tlsRecordsByOuterType = {};
  evidence.tlsRecords = 0;
  for (const [plain, opaque] of frames(dec, `tcp.port==${tlsPort} && tls`, 'tls.record.content_type', 'tls.record.opaque_type')) {
    for (const t of [plain, opaque].flatMap((x) => (x ?? '').split(/[;,]/)).filter((x) => x !== '')) {
      bump(evidence.tlsRecordsByOuterType, t);
      evidence.tlsRecords++;
    }
  }
  const streams = Object.values(firstPayloads(tlsPort, 5));
  evidence.tlsFirstBytes = {
    midstream: streams.filter((s) => !s.handshake).map(({ toServer, toClient }) => ({ toServer, toClient })),
    withHandshake: [...new Set(streams.filter((s) => s.handshake).map((s) => `${s.toServer} / ${s.toClient}`))],
  };
  for (const s of evidence.tlsFirstBytes.midstream) {
    if (!s.toServer?.startsWith('17 03 03') || !s.toClient?.startsWith('17 03 03')) problems.push(`midstream TLS stream does not start with an application-data record: ${JSON.stringify(s)}`);
  }
  const resp = respRequests([plainPort]);
  evidence.respRequests = resp.byPort[plainPort] ?? {};
  check('RESP requests on the plain port', evidence.respRequests, truth.commands);
  // Nothing sent inside TLS is readable in the file.
  const bytes = readFileSync(file).toString('latin1');
  const leaked = Object.keys(truth.tlsKeys).filter((k) => bytes.includes(k));
  if (leaked.length > 0 || bytes.includes('secret-')) problems.push(`TLS plaintext in the file: ${leaked.join(', ')}`);
  evidence.tlsPlaintextInFile = false;
}

function cluster() {
  const clientPorts = truth.ports.filter((p) => p < 10000);
  const busPorts = truth.ports.filter((p) => p >= 10000);
  const byServer = conversations(truth.ports);
  const bus = Object.entries(byServer).filter(([ep]) => busPorts.includes(Number(ep.split(':')[1])));
  truth.clusterBusConnections = bus.reduce((n, [, c]) => n + c, 0);
  truth.connections = truth.clientConnections + truth.clusterBusConnections;
  truth.midstreamConnections = truth.clusterBusConnections;
  tcpBasics(truth.ports, truth.connections, truth.clientConnections, 2 * truth.clientConnections);
  const outbound = truth.server.clusterLinks.filter((l) => l.direction === 'to');
  check('bus connections (tshark) vs CLUSTER LINKS outbound links', truth.clusterBusConnections, outbound.length);
  if (outbound.some((l) => l.createTime >= truth.startedAt * 1000)) problems.push('a cluster link was (re)made during the capture');
  const clientConv = Object.fromEntries(Object.entries(byServer).filter(([ep]) => clientPorts.includes(Number(ep.split(':')[1]))));
  check('client conversations per node', clientConv, sorted(Object.fromEntries(Object.entries(truth.servers).map(([ep, s]) => [ep, s.connections]))));
  // Bus segments: a message starts with the signature "RCmb", then totlen u32, ver u16, port
  // u16, type u16 (0 PING, 1 PONG, 2 MEET, 3 FAIL, 4 PUBLISH, 5 FAILOVER_AUTH_REQUEST, ...).
  const segs = frames([], `(${anyPort(busPorts)}) && tcp.len>0`, 'tcp.payload');
  const types = {};
  let signed = 0;
  let example = null;
  for (const [hex] of segs) {
    if (!hex.startsWith('52436d62')) continue;
    signed++;
    const b = Buffer.from(hex.slice(0, 32), 'hex');
    bump(types, b.readUInt16BE(12));
    example ??= hex.slice(0, 32).replace(/(..)/g, '$1 ').trim();
  }
  evidence.busSegments = segs.length;
  evidence.busSegmentsStartingWithRCmb = signed;
  evidence.busMessageTypes = types;
  evidence.busFirstBytesExample = example;
  const resp = respRequests(clientPorts);
  evidence.respRequestsByPort = resp.byPort;
  for (const p of clientPorts) check(`RESP requests to ${p}`, resp.byPort[p] ?? {}, truth.nodes[p].commands);
  check('RESP requests', addAll(Object.values(resp.byPort)), truth.commands);
}

function twemproxy2() {
  const { proxyPort, backendPorts, hops } = truth;
  tcpBasics(truth.ports, truth.connections, truth.connections, 2 * truth.connections);
  const want = { [`127.0.0.1:${proxyPort}`]: hops.client.connections };
  for (const p of backendPorts) want[`127.0.0.1:${p}`] = hops.backend.byPort[p].connections;
  check('conversations per server', evidence.conversationsByServer, sorted(want));
  const resp = respRequests(truth.ports);
  evidence.respRequestsByPort = resp.byPort;
  evidence.commandSpellingsByPort = resp.spellings;
  check('RESP requests to the proxy', resp.byPort[proxyPort], hops.client.commands);
  for (const p of backendPorts) check(`RESP requests to backend ${p}`, resp.byPort[p], hops.backend.byPort[p].commands);
  // The truth's notes say nutcracker rebuilds every MGET it forwards as lower-case `mget`.
  for (const p of backendPorts) if ((resp.spellings[p]?.MGET ?? 0) > 0) problems.push(`backend ${p} got upper-case MGET: the notes are wrong`);
}

({ 'tls.pcap': tls, 'cluster.pcap': cluster, 'twemproxy2.pcap': twemproxy2 })[truth.capture]();
truth.tcpdump = { packets: tcpdumpPackets };
truth.tshark = evidence;
writeFileSync(truthPath, `${JSON.stringify(truth, null, 2)}\n`);
if (problems.length > 0) {
  console.error(`evidence ${truth.capture}:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`evidence ok ${truth.capture}: ${evidence.packets} packets, ${evidence.tcpConversations} connections`);
