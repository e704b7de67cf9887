/** Cross-check against Wireshark's readers: same packets, timestamps and lengths. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { readCaptureFile } from '../src/capture/file-reader.js';
import { tcpFrame } from './helpers/frame-build.js';
import { buildPcap, type PcapRecord } from './helpers/pcap-build.js';

function has(tool: string): boolean {
  try {
    execFileSync(tool, ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const HAVE_TSHARK = has('tshark');
const HAVE_EDITCAP = has('editcap');
if (!HAVE_TSHARK) console.warn('capture-tools: tshark not installed, cross-check skipped');
if (!HAVE_EDITCAP) console.warn('capture-tools: editcap not installed, pcapng conversion check skipped');

const dir = mkdtempSync(join(tmpdir(), 'redis-tap-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Row {
  /** Whole microseconds and the nanoseconds within them. */
  us: number;
  ns: number;
  len: number;
  capLen: number;
}

function records(ns: boolean): PcapRecord[] {
  const out: PcapRecord[] = [];
  for (let i = 0; i < 40; i++) {
    const f = tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000 + i, dport: 6379, seq: i, ack: 1, payload: 'x'.repeat(i * 13) });
    const sec = 1700000000 + i * 3601;
    const frac = ns ? (i * 123456789) % 1e9 : (i * 654321) % 1e6;
    const capLen = i % 7 === 3 ? 40 : f.data.length;
    out.push({ sec, frac, data: f.data.subarray(0, capLen), origLen: f.data.length });
  }
  return out;
}

function ours(path: string): Row[] {
  const rows: Row[] = [];
  readCaptureFile(path, (p) => {
    const us = Math.floor(p.tsUs);
    rows.push({ us, ns: Math.round((p.tsUs - us) * 1000), len: p.origLen, capLen: p.capLen });
  });
  return rows;
}

function tshark(path: string): Row[] {
  const out = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'frame.cap_len'], {
    encoding: 'utf8',
  });
  return out.trim().split('\n').map((line) => {
    const [epoch, len, capLen] = line.split('\t') as [string, string, string];
    const [sec, frac = ''] = epoch.split('.') as [string, string?];
    const nanos = Number(frac.padEnd(9, '0').slice(0, 9));
    return { us: Number(sec) * 1e6 + Math.floor(nanos / 1000), ns: nanos % 1000, len: Number(len), capLen: Number(capLen) };
  });
}

/** Nanoseconds may differ by the double's precision (0.25 us near 2023): compare to 250 ns. */
function sameRows(a: Row[], b: Row[]): void {
  expect(a.map((r) => [r.len, r.capLen])).toEqual(b.map((r) => [r.len, r.capLen]));
  a.forEach((r, i) => {
    const d = (r.us - b[i]!.us) * 1000 + (r.ns - b[i]!.ns);
    expect(Math.abs(d), `packet ${i}: ${JSON.stringify(r)} vs ${JSON.stringify(b[i])}`).toBeLessThanOrEqual(250);
  });
}

describe('cross-check with Wireshark tools', () => {
  for (const ns of [false, true]) {
    for (const le of [true, false]) {
      const name = `pcap ${ns ? 'ns' : 'us'} ${le ? 'little' : 'big'}-endian`;
      const path = join(dir, `${ns ? 'ns' : 'us'}-${le ? 'le' : 'be'}.pcap`);
      writeFileSync(path, buildPcap({ le, ns }, records(ns)));

      test.skipIf(!HAVE_TSHARK)(`${name}: timestamps and lengths as tshark reads them`, () => {
        const mine = ours(path);
        expect(mine).toHaveLength(40);
        sameRows(mine, tshark(path));
        if (!ns) expect(mine.every((r) => r.ns === 0)).toBe(true);
      });

      test.skipIf(!HAVE_EDITCAP)(`${name}: editcap -F pcapng gives the same packets`, () => {
        const ng = `${path}ng`;
        execFileSync('editcap', ['-F', 'pcapng', path, ng]);
        const packets = (p: string): string[] => {
          const list: string[] = [];
          readCaptureFile(p, (k) => list.push(`${k.linkType} ${k.origLen} ${Buffer.from(k.data.subarray(k.offset, k.offset + k.capLen)).toString('hex')}`));
          return list;
        };
        const stats = readCaptureFile(ng, () => {});
        expect(stats.format).toBe('pcapng');
        expect(packets(ng)).toEqual(packets(path));
        sameRows(ours(ng), ours(path));
      });
    }
  }
});
