/**
 * Shared test drivers for the RESP decoders: push a byte stream in given chunks, collect
 * frames and violations, and check the byte accounting after every push.
 */
import { expect } from 'vitest';
import {
  ReplyDecoder,
  RequestDecoder,
  type ReplyFrame,
  type RequestFrame,
  type RespLimits,
  type Violation,
} from '../../src/resp/index.js';

export const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Encodes a multibulk request. */
export function mb(...args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join('');
}

/**
 * Pushes a copy of the chunk placed inside a larger buffer of '*' bytes, then overwrites it:
 * a decoder that reads outside off/len or keeps a reference to pushed bytes gets caught.
 */
function pushCopy(
  push: (d: Uint8Array, off: number, len: number, ts: number) => void,
  chunk: Uint8Array,
  ts: number,
): void {
  const host = new Uint8Array(chunk.length + 6).fill(0x2a);
  host.set(chunk, 3);
  push(host, 3, chunk.length, ts);
  host.fill(0x58);
}

export interface RequestRun {
  frames: RequestFrame[];
  violations: Violation[];
  unparsed: number;
  ignored: number;
}

export interface RequestOpts {
  limits?: Partial<RespLimits>;
  /** Call resync() before the first byte, as for a connection joined mid-stream. */
  resyncFirst?: boolean;
  /** Timestamp of push i (default 0). */
  ts?: (i: number) => number;
}

export function runRequests(chunks: Uint8Array[], opts: RequestOpts = {}): RequestRun {
  const out: RequestRun = { frames: [], violations: [], unparsed: 0, ignored: 0 };
  const dec = new RequestDecoder((f) => out.frames.push(f), (v) => out.violations.push(v), opts.limits);
  if (opts.resyncFirst === true) dec.resync();
  let total = 0;
  chunks.forEach((c, i) => {
    pushCopy((d, o, l, t) => dec.push(d, o, l, t), c, opts.ts?.(i) ?? 0);
    total += c.length;
    const framed = out.frames.reduce((n, f) => n + f.wireBytes, 0);
    expect(dec.streamOffset).toBe(total);
    expect(framed + dec.ignoredBytes + dec.unparsedBytes + dec.partialFrameBytes).toBe(total);
  });
  dec.end();
  expect(dec.partialFrameBytes).toBe(0);
  expect(dec.pendingBytes).toBe(0);
  out.unparsed = dec.unparsedBytes;
  out.ignored = dec.ignoredBytes;
  return out;
}

export interface ReplyRun {
  frames: ReplyFrame[];
  violations: Violation[];
  unparsed: number;
  discarding: boolean;
}

export interface ReplyOpts {
  limits?: Partial<RespLimits>;
  ts?: (i: number) => number;
  /** Pushed in one piece after the chunks and a resume(). */
  after?: Uint8Array;
}

export function runReplies(chunks: Uint8Array[], opts: ReplyOpts = {}): ReplyRun {
  const out: ReplyRun = { frames: [], violations: [], unparsed: 0, discarding: false };
  const dec = new ReplyDecoder((f) => out.frames.push(f), (v) => out.violations.push(v), opts.limits);
  let total = 0;
  chunks.forEach((c, i) => {
    pushCopy((d, o, l, t) => dec.push(d, o, l, t), c, opts.ts?.(i) ?? 0);
    total += c.length;
    const framed = out.frames.reduce((n, f) => n + f.wireBytes, 0);
    expect(dec.streamOffset).toBe(total);
    expect(framed + dec.unparsedBytes + dec.partialFrameBytes).toBe(total);
  });
  out.discarding = dec.discarding;
  if (opts.after !== undefined) {
    dec.resume();
    dec.push(opts.after, 0, opts.after.length, 0);
  }
  dec.end();
  expect(dec.partialFrameBytes).toBe(0);
  out.unparsed = dec.unparsedBytes;
  return out;
}

export function byteByByte(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; i++) out.push(b.subarray(i, i + 1));
  return out;
}

/**
 * Decodes b whole, byte by byte, and split in two at every offset; all must give the same
 * result. Returns the whole-buffer result.
 */
export function threeWays<R>(b: Uint8Array, run: (chunks: Uint8Array[]) => R): R {
  const whole = run([b]);
  expect(run(byteByByte(b)), 'byte by byte').toEqual(whole);
  for (let k = 1; k < b.length; k++) {
    expect(run([b.subarray(0, k), b.subarray(k)]), `split at ${k}`).toEqual(whole);
  }
  return whole;
}

/** Cuts b at the given offsets (any order, out-of-range ignored). */
export function cut(b: Uint8Array, at: number[]): Uint8Array[] {
  const points = [...new Set(at.filter((k) => k > 0 && k < b.length))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const k of points) {
    out.push(b.subarray(prev, k));
    prev = k;
  }
  out.push(b.subarray(prev));
  return out;
}
