#!/usr/bin/env node
// Derives gap-set.pcap and gap-get.pcap from bigvalue.pcap: each loses ONE TCP segment that lies
// wholly inside a large value (the SET's value from the client, the GET reply's value from the
// server), so the value's `$<len>\r\n` header and its final CRLF stay in the file. The truth is
// bigvalue's, plus the gap: which frame went and how many payload bytes it carried.
//
//   node cut-segment.mjs bigvalue.pcap bigvalue.truth.json OUT_DIR
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPcap, writePcap } from '../lib/pcap.mjs';
import { tcpStreams } from '../lib/tcp-streams.mjs';
import { tsharkOf } from '../lib/tshark.mjs';
import { BIG_BYTES, BIG_KEY } from '../scenarios/bigvalue.mjs';

const [pcapPath, truthPath, outDir] = process.argv.slice(2);
const base = readPcap(readFileSync(pcapPath));
const baseTruth = JSON.parse(readFileSync(truthPath, 'utf8'));
const ports = baseTruth.ports;
const conns = tcpStreams(pcapPath, ports);
if (conns.length !== 1) throw new Error(`${conns.length} connections in ${pcapPath}, expected 1`);
const [conn] = conns;

/** The value of `header` in a stream: its byte range and the data segments wholly inside it. */
function valueIn(stream, header, what) {
  const at = stream.bytes.indexOf(header);
  if (at < 0 || stream.bytes.indexOf(header, at + 1) >= 0) throw new Error(`${what}: header not found exactly once`);
  const start = at + header.length;
  const end = start + BIG_BYTES;
  if (stream.bytes.toString('latin1', end, end + 2) !== '\r\n') throw new Error(`${what}: no CRLF after the value`);
  const inside = stream.segments.filter((s) => s.offset >= start && s.offset + s.length <= end);
  const touching = stream.segments.filter((s) => s.offset < end && s.offset + s.length > start);
  return { start, end, inside, touching };
}

function derive(name, stream, header, what, direction) {
  const v = valueIn(stream, header, what);
  // Not the first or last segment of the value: those carry its header and its CRLF.
  if (v.inside.length < 3) throw new Error(`${what}: only ${v.inside.length} segments wholly inside the value`);
  const cut = v.inside[Math.floor(v.inside.length / 2)];
  const packets = base.packets.filter((_, i) => i + 1 !== cut.frame);
  const file = join(outDir, name);
  writeFileSync(file, writePcap({ le: base.le, nano: base.nano, snaplen: base.snaplen, linkType: base.linkType }, packets));

  const [after] = tcpStreams(file, ports);
  const holes = direction === 'client -> server' ? after.toServer.holes : after.toClient.holes;
  const other = direction === 'client -> server' ? after.toClient.holes : after.toServer.holes;
  const checks = {};
  const problems = [];
  const check = (label, a, b) => {
    const ok = JSON.stringify(a) === JSON.stringify(b);
    checks[label] = ok ? 'ok' : { truth: a, evidence: b };
    if (!ok) problems.push(`${label}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  };
  check('one hole, where the segment was', [{ offset: cut.offset, length: cut.length }], holes);
  check('no hole the other way', [], other);
  const tshark = tsharkOf(file, ports);
  check('packets: own reader == tshark', packets.length, tshark.packets());
  // tshark flags the segment after the hole ("previous segment not captured").
  check('tshark: one lost segment', 1, tshark.lostSegments());
  const respDiff = tshark.respRequests('ip.src==127.0.0.2');

  const truth = {
    ...structuredClone(baseTruth),
    capture: name,
    derivedFrom: 'bigvalue.pcap (not shipped: 2 MB)',
    derivation: `frame ${cut.frame} removed: ${cut.length} payload bytes, ${direction}, bytes ${cut.offset - v.start}..${cut.offset - v.start + cut.length - 1} of the ${BIG_BYTES}-byte value of ${BIG_KEY} (segment ${v.touching.findIndex((s) => s.frame === cut.frame) + 1} of the ${v.touching.length} that carry it)`,
    removedFrame: {
      frame: cut.frame,
      direction,
      payloadBytes: cut.length,
      streamOffset: cut.offset,
      valueOffset: cut.offset - v.start,
      valueBytes: BIG_BYTES,
      valueSegments: v.touching.length,
    },
    packets: packets.length,
    gaps: 1,
    gapBytes: cut.length,
    partialValues: 1,
    unanswered: 0,
    expectWarning: 'gap',
    crossChecks: { ...baseTruth.crossChecks, derived: checks, tsharkRespRequestsAfterCut: respDiff },
    notes: [
      ...baseTruth.notes,
      `the hole is wholly inside the value of a known length (${BIG_BYTES}): the request and its reply are still framed, paired and timed, so nothing is unanswered; the value counts as one partial value`,
    ],
  };
  if (problems.length > 0) throw new Error(`${name}: ${problems.join('; ')}`);
  writeFileSync(file.replace(/\.pcap$/, '.truth.json'), `${JSON.stringify(truth, null, 2)}\n`);
  console.log(`cut-segment ok ${name}: frame ${cut.frame} (${cut.length} bytes) removed`);
}

const len = `$${BIG_BYTES}\r\n`;
derive('gap-set.pcap', conn.toServer, Buffer.from(`$3\r\nSET\r\n$${BIG_KEY.length}\r\n${BIG_KEY}\r\n${len}`), 'SET value', 'client -> server');
derive('gap-get.pcap', conn.toClient, Buffer.from(len), 'GET reply', 'server -> client');
