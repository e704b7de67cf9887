/**
 * Several capture inputs read as one capture: `analyze a.pcap b.pcap`, or a rotated set
 * (`tcpdump -C 100 -w x.pcap` writes x.pcap, x.pcap1, x.pcap2 ...; `-G 60 -w 'x-%s.pcap'` names
 * files by time). They are read in the order of their first packets' stamps, whatever their
 * names, one after the other into one callback, so a connection goes on from file to file.
 * Only the files named are read; siblings that look like the rest of a rotated set are named in
 * a warning, never added.
 */
import { readdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { CaptureParser } from './capture-parser.js';
import * as captureParserMod from './capture-parser.js';
import * as byteOrderMod from './byte-order.js';
import { DecompressError, type CaptureInput, type Compression } from './input.js';
import * as inputMod from './input.js';
import type { CaptureStats, Packet } from './packet.js';
import * as packetMod from './packet.js';
import * as stepperMod from './stepper.js';

// Imports as module-private consts, which V8 folds into the code (README, "Design notes").
const { notACaptureError, sniffFormat, SNIFF_BYTES } = captureParserMod;
const { hexPrefix } = byteOrderMod;
const { openInput, STDIN_NAME } = inputMod;
const { emptyCaptureStats } = packetMod;
const { addWarning } = stepperMod;

/** Read size while looking for a file's first packet. */
const PEEK_CHUNK_BYTES = 64 * 1024;
/**
 * Read size: small enough that a chunk is still in the CPU's caches when the parser reads it
 * (it is copied there by the read). 8 MiB reads went out to memory and back: the pipelined bench
 * capture took 2.53-2.78 s against 1.95-2.63 s in 256 KiB reads, and 20 MB more resident.
 */
export const DEFAULT_SET_CHUNK_BYTES = 256 * 1024;
/**
 * A file starting this much (µs) before the previous one ends overlaps it: one capture's files
 * never do, but for the stamps' CPU disorder (the report's own threshold for that).
 */
const OVERLAP_SLACK_US = 10_000;

export interface SetMember {
  /** The argument as given ('-' for stdin). */
  readonly path: string;
  /** The name in messages and reports ('stdin' for '-'). */
  readonly name: string;
  readonly compression: Compression | null;
  /** Stamp of the file's first packet, null if it has none (or is not looked at: a single input). */
  readonly firstTsUs: number | null;
}

/** An input opened and checked: its first bytes read and known to be a capture. */
interface Opened {
  input: CaptureInput;
  head: Uint8Array[];
}

export class CaptureSet {
  /** Stats of the members already read. */
  private readonly done: CaptureStats[] = [];
  private next = 0;
  private current: { input: CaptureInput; parser: CaptureParser } | null = null;
  /** Stored bytes of the members already read. */
  private doneBytes = 0;
  /** Latest stamp read so far, for the overlap check. */
  private lastUs = -Infinity;
  private readonly extraWarnings: string[] = [];
  private readonly deliver: (p: Packet) => void;

  private constructor(
    /** In reading order. */
    readonly members: readonly SetMember[],
    /** Sum of stored sizes; 0 when any is unknown (stdin). */
    readonly totalBytes: number,
    private readonly onPacket: (p: Packet) => void,
    private readonly chunkBytes: number,
    private pending: Opened | null,
  ) {
    this.deliver = (p) => {
      if (p.tsUs > this.lastUs) this.lastUs = p.tsUs;
      this.onPacket(p);
    };
  }

  /**
   * Opens and checks every input, then orders them by first packet. Throws UserError, naming
   * the input, when one cannot be read, is empty or is not a capture.
   */
  static async open(names: readonly string[], onPacket: (p: Packet) => void, chunkBytes = DEFAULT_SET_CHUNK_BYTES): Promise<CaptureSet> {
    if (names.length === 0) throw new UserError('no capture to read: name a file, or - for stdin');
    if (names.length > 1 && names.includes(STDIN_NAME)) {
      throw new UserError("'-' (stdin) is read alone: it cannot be ordered with other files without reading it whole first");
    }
    checkNamedOnce(names);
    if (names.length === 1) {
      const opened = await openChecked(names[0]!, chunkBytes);
      const member = { path: names[0]!, name: opened.input.name, compression: opened.input.compression, firstTsUs: null };
      const set = new CaptureSet([member], opened.input.totalBytes, onPacket, chunkBytes, opened);
      set.extraWarnings.push(...rotatedSiblings(names));
      return set;
    }
    const members: SetMember[] = [];
    let total = 0;
    let known = true;
    for (const name of names) {
      const { member, totalBytes } = await peek(name);
      members.push(member);
      total += totalBytes;
      if (totalBytes === 0) known = false;
    }
    // Stable: files without packets keep their place among themselves, after the others.
    const order = members
      .map((m, i) => ({ m, i }))
      .sort((a, b) => (a.m.firstTsUs ?? Infinity) - (b.m.firstTsUs ?? Infinity) || a.i - b.i)
      .map((x) => x.m);
    const set = new CaptureSet(order, known ? total : 0, onPacket, chunkBytes, null);
    set.extraWarnings.push(...rotatedSiblings(names));
    return set;
  }

  /** Stored bytes read so far, over all members. */
  get bytesRead(): number {
    return this.doneBytes + (this.current?.input.bytesRead ?? 0);
  }

  /** Name for the report: the first file, and how many more. */
  get name(): string {
    const first = this.members[0]!.name;
    const more = this.members.length - 1;
    return more === 0 ? first : `${first} (+${more} file${more === 1 ? '' : 's'})`;
  }

  /** What the members read so far count, as one capture. */
  get stats(): CaptureStats {
    const all = this.current === null ? this.done : [...this.done, this.current.parser.stats];
    const merged = mergeStats(all);
    for (const w of this.extraWarnings) addWarning(merged, w);
    return merged;
  }

  /** Reads one chunk of the current member (opening the next when one ends); false when all are done. */
  async step(): Promise<boolean> {
    if (this.current === null && !(await this.openNext())) return false;
    const cur = this.current!;
    let chunk: Uint8Array | null;
    try {
      chunk = await cur.input.next();
    } catch (e) {
      if (!(e instanceof DecompressError)) throw e;
      addWarning(cur.parser.stats, `${cur.input.name}: ${e.message}`);
      chunk = null;
    }
    if (chunk === null) this.finishMember();
    else cur.parser.push(chunk);
    return true;
  }

  /**
   * Stops early (Ctrl-C): the file being read ends where it was, as a cut capture would, the
   * files after it are not read, and the report says so.
   */
  interrupt(why: string): void {
    const left = this.members.length - this.next;
    const where = this.current === null ? '' : ` in ${this.current.input.name}`;
    if (this.current !== null) this.finishMember(true);
    this.next = this.members.length;
    const rest = left > 0 ? ` and ${left} more file${left === 1 ? '' : 's'} not read` : '';
    this.extraWarnings.push(`${why}: reading stopped after ${this.bytesRead} bytes${where}${rest}; the report covers what was read`);
    this.close();
  }

  close(): void {
    this.current?.input.close();
    this.pending?.input.close();
    this.current = null;
    this.pending = null;
  }

  private async openNext(): Promise<boolean> {
    if (this.next >= this.members.length) return false;
    const member = this.members[this.next++]!;
    const opened = this.pending ?? (await openChecked(member.path, this.chunkBytes));
    this.pending = null;
    const parser = new CaptureParser(this.deliver, member.name);
    this.current = { input: opened.input, parser };
    const prevLast = this.lastUs;
    for (const c of opened.head) parser.push(c);
    if (member.firstTsUs !== null && prevLast > member.firstTsUs + OVERLAP_SLACK_US && this.next > 1) {
      const prev = this.members[this.next - 2]!.name;
      this.extraWarnings.push(
        `${member.name} starts ${((prevLast - member.firstTsUs) / 1e6).toFixed(3)} s before ${prev} ends: the files overlap in time ` +
          `(not one capture's files?); they are read one after the other, not merged packet by packet (mergecap does that)`,
      );
    }
    return true;
  }

  private finishMember(stopped = false): void {
    const cur = this.current!;
    cur.parser.end(stopped);
    this.doneBytes += cur.input.bytesRead;
    cur.input.close();
    this.done.push(cur.parser.stats);
    this.current = null;
  }
}

/** Opens an input and reads until its format is known; not a capture is a UserError. */
async function openChecked(name: string, chunkBytes: number): Promise<Opened> {
  const input = await openInput(name, chunkBytes);
  try {
    const head: Uint8Array[] = [];
    let n = 0;
    while (n < SNIFF_BYTES) {
      let c: Uint8Array | null;
      try {
        c = await input.next();
      } catch (e) {
        if (e instanceof DecompressError) throw new UserError(`${input.name}: ${e.message.replace(/;.*$/, '')}: no capture could be read`);
        throw e;
      }
      if (c === null) break;
      // The input may reuse its buffer for the next read: keep a copy of what is held (a Buffer
      // as the later chunks are, so the packets of all chunks come in one kind of array).
      head.push(Buffer.from(c));
      n += c.length;
    }
    const first = head.length === 1 ? head[0]! : Buffer.concat(head);
    if (sniffFormat(first) === null) throw notACapture(input, first);
    return { input, head };
  } catch (e) {
    input.close();
    throw e;
  }
}

function notACapture(input: CaptureInput, first: Uint8Array): UserError {
  if (input.compression === null) return notACaptureError(input.name, first);
  if (first.length === 0) return new UserError(`${input.name}: the ${input.compression} data holds nothing`);
  return new UserError(`${input.name}: the ${input.compression} data holds no pcap or pcapng capture (it starts with ${hexPrefix(first)})`);
}

/** Opens name, finds its first packet's stamp, closes it. */
async function peek(name: string): Promise<{ member: SetMember; totalBytes: number }> {
  const { input, head } = await openChecked(name, PEEK_CHUNK_BYTES);
  let first: number | null = null;
  const parser = new CaptureParser((p) => {
    if (first === null) first = p.tsUs;
  }, input.name);
  try {
    for (const c of head) parser.push(c);
    while (first === null) {
      const c = await input.next().catch((e: unknown) => {
        if (e instanceof DecompressError) return null; // reading it for real will say so
        throw e;
      });
      if (c === null) break;
      parser.push(c);
    }
    return { member: { path: name, name: input.name, compression: input.compression, firstTsUs: first }, totalBytes: input.totalBytes };
  } finally {
    input.close();
  }
}

/** The same file named twice would be counted twice. */
function checkNamedOnce(names: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const name of names) {
    if (name === STDIN_NAME) continue;
    let real = name;
    try {
      real = realpathSync(name);
    } catch {
      continue; // opening it will say what is wrong
    }
    const before = seen.get(real);
    if (before !== undefined) throw new UserError(`${name}: named twice${before === name ? '' : ` (as ${before} too)`}; each file is read once`);
    seen.set(real, name);
  }
}

/**
 * Files beside a named one that look like the rest of its `tcpdump -C` set (the name plus
 * digits: x.pcap, x.pcap1, x.pcap2) but were not named: one warning line per named stem.
 */
export function rotatedSiblings(names: readonly string[]): string[] {
  const named = new Set(names.map((n) => join(dirname(n), basename(n))));
  const stems = new Map<string, string>();
  for (const n of names) {
    if (n === STDIN_NAME) continue;
    const stem = join(dirname(n), basename(n).replace(/[0-9]+$/, ''));
    if (/\.[A-Za-z]+$/.test(stem)) stems.set(stem, n);
  }
  const out: string[] = [];
  const listings = new Map<string, string[]>();
  for (const [stem, example] of stems) {
    const dir = dirname(stem);
    let files = listings.get(dir);
    if (files === undefined) {
      try {
        files = readdirSync(dir);
      } catch {
        files = [];
      }
      listings.set(dir, files);
    }
    const base = basename(stem);
    const missed = files
      .filter((f) => f.startsWith(base) && /^[0-9]*$/.test(f.slice(base.length)))
      .map((f) => join(dir, f))
      .filter((p) => !named.has(p));
    if (missed.length === 0) continue;
    const list = missed.slice(0, 3).join(', ') + (missed.length > 3 ? ` and ${missed.length - 3} more` : '');
    out.push(`${list} beside ${example} look like more of its rotated set (tcpdump -C): only the files named were read (name them all, e.g. ${stem}*)`);
  }
  return out;
}

/**
 * Members' stats as one capture's. Drop counters are cumulative from the start of a capture
 * (dumpcap writes them so into each file of a ring buffer), so the set's are the largest seen.
 */
export function mergeStats(all: readonly CaptureStats[]): CaptureStats {
  if (all.length === 1) return { ...all[0]!, warnings: [...all[0]!.warnings] };
  const m = emptyCaptureStats([...new Set(all.map((s) => s.format))].join('+') || 'unknown');
  m.interfaces = 0;
  for (const s of all) {
    m.packets += s.packets;
    m.bytes += s.bytes;
    m.truncatedRecords += s.truncatedRecords;
    m.skippedBytes += s.skippedBytes;
    m.skippedBlocks += s.skippedBlocks;
    m.snappedPackets += s.snappedPackets;
    m.shedFrames += s.shedFrames;
    m.filteredPackets += s.filteredPackets;
    m.interfaces = Math.max(m.interfaces, s.interfaces);
    m.kernelDrops = maxOrNull(m.kernelDrops, s.kernelDrops);
    m.interfaceDrops = maxOrNull(m.interfaceDrops, s.interfaceDrops);
    for (const w of s.warnings) addWarning(m, w);
  }
  return m;
}

function maxOrNull(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}
