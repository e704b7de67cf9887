/**
 * One client/server TCP conversation for flow tests: frames built from sequence numbers, with
 * the client's ISN 999 and the server's 4999 (so data starts at 1000 and 5000).
 */
import { Pipeline } from '../../src/engine/pipeline.js';
import { analyzerOptions } from '../../src/engine/options.js';
import { toPacket } from './flow-recorder.js';
import { F, tcpFrame, type Frame } from './frame-build.js';

export const CLIENT = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 6379 };
export const SERVER = { src: '10.0.0.2', dst: '10.0.0.1', sport: 6379, dport: 40000 };
export const DATA = F.ACK | F.PSH;

/** Client segment; ack defaults to the server's ISN + 1 (5000). */
export function c(tsUs: number, seq: number, payload = '', flags = DATA, ack = 5000): Frame {
  return tcpFrame({ ...CLIENT, seq, ack, flags, payload }, tsUs);
}

/** Server segment; ack defaults to the client's ISN + 1 (1000). */
export function s(tsUs: number, seq: number, payload = '', flags = DATA, ack = 1000): Frame {
  return tcpFrame({ ...SERVER, seq, ack, flags, payload }, tsUs);
}

/** Three-way handshake: client ISN 999, server ISN 4999. */
export const HS: Frame[] = [c(1, 999, '', F.SYN, 0), s(2, 4999, '', F.SYN | F.ACK, 1000), c(3, 1000, '', F.ACK)];

/** A recorder's events without the opens and timestamps. */
export const body = (r: { plain(): string[] }): string[] => r.plain().filter((e) => !e.startsWith('open'));

/** The frames through the whole pipeline: each request's arguments and how it ended. */
export function pairs(frames: readonly Frame[]): string[] {
  const out: string[] = [];
  const pipe = new Pipeline(analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 100 }), [6379], [{
    complete(r) {
      out.push(`${r.frame.args.join(' ')} -> ${r.outcome}`);
    },
  }]);
  for (const f of frames) pipe.packet(toPacket(f));
  pipe.finish();
  return out;
}
