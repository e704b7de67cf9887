import type { CaptureStats, Packet } from './packet.js';

/** Largest frame a record may claim; larger means the record header is damaged (libpcap's own cap). */
export const MAX_PACKET_BYTES = 256 * 1024;

/** What the format readers share with the parser that drives them. */
export interface StepContext {
  readonly stats: CaptureStats;
  /** The one Packet handed to every callback; its fields are overwritten per record. */
  readonly packet: Packet;
  readonly onPacket: (p: Packet) => void;
  /** Name used in warnings (the file path or "input"). */
  readonly source: string;
  /** Absolute input offset of b[0] for the buffer passed to the current step() call. */
  base: number;
}

/**
 * A reader for one capture format, fed by CaptureParser. step() consumes whole units (file
 * header, records, blocks, or skipped bytes) from b[off, end) and returns how many bytes it
 * consumed; 0 means it needs at least `need` bytes from `off` (need > end - off).
 */
export interface FormatStepper {
  readonly need: number;
  step(b: Uint8Array, off: number, end: number): number;
  /** The input ended with b[0, pending) not consumed (a unit cut short). */
  finish(b: Uint8Array, pending: number): void;
}

/** Warnings kept per capture; a damaged file must not grow the report without bound. */
export const MAX_WARNINGS = 20;

/** Adds a warning line unless it is already there or the list is full. */
export function addWarning(stats: CaptureStats, line: string): void {
  const w = stats.warnings;
  if (w.includes(line)) return;
  if (w.length < MAX_WARNINGS) w.push(line);
  else if (w.length === MAX_WARNINGS) w.push('further capture warnings not shown');
}
