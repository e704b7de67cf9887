/**
 * Drives the Analyzer directly, as the flow layer would, with scripted conversations: bytes
 * from the client (C) or the server (S) of one connection, or a gap in one direction.
 */
import { Analyzer } from '../../src/analysis/analyzer.js';
import { analyzerOptions } from '../../src/engine/options.js';
import type { TcpConn } from '../../src/flow/types.js';

export type Step = ['C' | 'S', string] | ['gapC' | 'gapS', number];

export const cmd = (...args: string[]): string => `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('');

export function testConn(id = 1, midstream = false, clientIp = '10.0.0.5', serverPort = 6379): TcpConn {
  const clientPort = 5000 + id;
  return {
    id, clientIp, clientPort, serverIp: '10.0.0.1', serverPort,
    client: `${clientIp}:${clientPort}`, server: `10.0.0.1:${serverPort}`, midstream, firstTsUs: 0, handlerState: null,
  } as TcpConn;
}

/** Runs each conversation on its own connection, in turn; returns the analyzer after closing them all. */
export function analyze(conversations: Step[][], opts: { midstream?: boolean; analyzer?: Analyzer } = {}): Analyzer {
  const a = opts.analyzer ?? new Analyzer(analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 100 }));
  let ts = 1_000_000;
  conversations.forEach((steps, i) => {
    const conn = testConn(i + 1, opts.midstream ?? false);
    a.onOpen(conn, ts);
    for (const st of steps) {
      ts += 100;
      if (st[0] === 'gapC' || st[0] === 'gapS') a.onGap(conn, st[0] === 'gapC', st[1], ts);
      else {
        const b = Buffer.from(st[1], 'latin1');
        a.onData(conn, st[0] === 'C', b, 0, b.length, ts);
      }
    }
    a.onClose(conn, ts, 'fin');
  });
  a.flushAggregates();
  return a;
}
