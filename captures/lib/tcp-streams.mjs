// TCP byte streams of a classic Ethernet pcap (tcpdump -i lo), for the deployment captures'
// own cross-checks: each connection to a watched port as two byte streams with their holes.
// Independent of src/ on purpose (it checks the analyzer, it is not a copy of it).
import { readFileSync } from 'node:fs';
import { decodeEthTcp, LINKTYPE, readPcap } from './pcap.mjs';

const SYN = 0x02;
const FIN = 0x01;

/** Sequence distance a - b modulo 2^32, as a signed number. */
const seqDiff = (a, b) => ((a - b) | 0);

function newDirection() {
  return { isn: null, segments: [], packets: 0 };
}

/**
 * Reads `file` and returns its connections to `ports`:
 * [{ client: 'ip:port', server: 'ip:port', syn, fin, frames: [frame numbers],
 *    toServer: Stream, toClient: Stream }],
 * Stream = { bytes: Buffer (holes zero-filled), holes: [{ offset, length }],
 *            segments: [{ frame, offset, length }] }  (offsets from the first byte seen).
 */
export function tcpStreams(file, ports) {
  const pcap = readPcap(readFileSync(file));
  if (pcap.linkType !== LINKTYPE.ETHERNET) throw new Error(`${file}: link type ${pcap.linkType}, expected Ethernet`);
  const conns = new Map();
  pcap.packets.forEach((p, i) => {
    const t = decodeEthTcp(p.data);
    if (t === null) return;
    const toServer = ports.includes(t.dport);
    if (!toServer && !ports.includes(t.sport)) return;
    const client = toServer ? `${t.src}:${t.sport}` : `${t.dst}:${t.dport}`;
    const server = toServer ? `${t.dst}:${t.dport}` : `${t.src}:${t.sport}`;
    const key = `${client}>${server}`;
    let c = conns.get(key);
    if (c === undefined) {
      c = { client, server, syn: false, fin: 0, frames: [], dirs: { toServer: newDirection(), toClient: newDirection() } };
      conns.set(key, c);
    }
    c.frames.push(i + 1);
    const d = toServer ? c.dirs.toServer : c.dirs.toClient;
    d.packets++;
    if (t.flags & SYN) {
      if (toServer) c.syn = true;
      d.isn = (t.seq + 1) >>> 0;
    }
    if (t.flags & FIN) c.fin++;
    if (t.payloadLen > 0) {
      d.segments.push({ frame: i + 1, seq: t.seq, data: p.data.subarray(t.payloadOff, t.payloadOff + t.payloadLen) });
    }
  });
  return [...conns.values()].map((c) => ({
    client: c.client,
    server: c.server,
    syn: c.syn,
    fin: c.fin,
    frames: c.frames,
    toServer: assemble(c.dirs.toServer),
    toClient: assemble(c.dirs.toClient),
  }));
}

/** Lays the segments of one direction out by sequence number; copies of bytes count once. */
function assemble(d) {
  if (d.segments.length === 0) return { bytes: Buffer.alloc(0), holes: [], segments: [] };
  const base = d.isn ?? d.segments.reduce((m, s) => (seqDiff(s.seq, m) < 0 ? s.seq : m), d.segments[0].seq);
  const placed = d.segments
    .map((s) => ({ frame: s.frame, offset: seqDiff(s.seq, base), length: s.data.length, data: s.data }))
    .sort((a, b) => a.offset - b.offset || a.frame - b.frame);
  const end = placed.reduce((m, s) => Math.max(m, s.offset + s.length), 0);
  const bytes = Buffer.alloc(end);
  const holes = [];
  let covered = 0;
  for (const s of placed) {
    if (s.offset > covered) holes.push({ offset: covered, length: s.offset - covered });
    s.data.copy(bytes, s.offset);
    covered = Math.max(covered, s.offset + s.length);
  }
  return { bytes, holes, segments: placed.map(({ frame, offset, length }) => ({ frame, offset, length })) };
}
