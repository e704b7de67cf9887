/** A FlowHandler that writes down everything, and a runner feeding frames to a FlowTable. */
import type { Packet } from '../../src/capture/packet.js';
import { FlowTable } from '../../src/flow/flow-table.js';
import type { FlowLimits } from '../../src/flow/limits.js';
import type { FlowHandler, TcpConn } from '../../src/flow/types.js';
import type { Frame } from './frame-build.js';

export class Recorder implements FlowHandler {
  readonly events: string[] = [];
  readonly conns: TcpConn[] = [];
  /** Delivered bytes per connection id and direction (latin1). */
  readonly streams = new Map<number, { c: string; s: string }>();
  readonly dataTs: number[] = [];

  onOpen(conn: TcpConn, tsUs: number): void {
    this.conns.push(conn);
    this.streams.set(conn.id, { c: '', s: '' });
    this.events.push(`open ${conn.id} ${conn.client} > ${conn.server}${conn.midstream ? ' midstream' : ''} @${tsUs}`);
  }

  onData(conn: TcpConn, fromClient: boolean, data: Uint8Array, off: number, len: number, tsUs: number): void {
    const text = Buffer.from(data.subarray(off, off + len)).toString('latin1');
    const st = this.streams.get(conn.id)!;
    if (fromClient) st.c += text;
    else st.s += text;
    this.dataTs.push(tsUs);
    this.events.push(`data ${conn.id} ${fromClient ? 'c' : 's'} ${text}`);
  }

  onGap(conn: TcpConn, fromClient: boolean, missingBytes: number, tsUs: number): void {
    this.events.push(`gap ${conn.id} ${fromClient ? 'c' : 's'} ${missingBytes} @${tsUs}`);
  }

  onClose(conn: TcpConn, tsUs: number, how: 'fin' | 'rst' | 'end'): void {
    this.events.push(`close ${conn.id} ${how} @${tsUs}`);
  }

  /** Events without timestamps. */
  plain(): string[] {
    return this.events.map((e) => e.replace(/ @\S+$/, ''));
  }
}

/** A Packet whose frame sits inside a bigger buffer, so offset mistakes show. */
export function toPacket(f: Frame): Packet {
  const lead = 7;
  const buf = new Uint8Array(lead + f.data.length + 5).fill(0x5a);
  buf.set(f.data, lead);
  const capLen = f.capLen ?? f.data.length;
  return { tsUs: f.tsUs, linkType: f.linkType, data: buf, offset: lead, capLen, origLen: f.origLen ?? f.data.length };
}

export function runFrames(
  frames: readonly Frame[],
  ports: readonly number[] = [6379],
  limits: Partial<FlowLimits> = {},
  finishTs: number | null = 999,
): { rec: Recorder; table: FlowTable } {
  const rec = new Recorder();
  const table = new FlowTable({ serverPorts: new Set(ports), limits }, rec);
  for (const f of frames) table.packet(toPacket(f));
  if (finishTs !== null) table.finish(finishTs);
  return { rec, table };
}
