// Wireshark's account of a capture, for the deployment truth files' cross-checks (the same
// evidence as crosscheck.mjs, as functions): packet and conversation counts, handshakes, FINs,
// TCP analysis flags, frames matching a display filter, and the requests of its RESP dissector.
import { execFileSync } from 'node:child_process';

const lines = (s) => s.split('\n').filter((l) => l.length > 0);

export function tsharkOf(file, ports) {
  const decodeAs = ports.filter((p) => p !== 6379).flatMap((p) => ['-d', `tcp.port==${p},resp`]);
  const run = (...args) =>
    execFileSync('tshark', ['-r', file, ...decodeAs, ...args], { encoding: 'latin1', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
  const frames = (filter) => lines(run('-Y', filter, '-T', 'fields', '-e', 'frame.number')).length;
  const watched = ports.map((p) => `tcp.port==${p}`).join(' || ');
  return {
    frames,
    packets: () => lines(run('-T', 'fields', '-e', 'frame.number')).length,
    /** TCP conversations with a watched port, by `-z conv,tcp`. */
    conversations() {
      let n = 0;
      for (const l of lines(run('-q', '-z', 'conv,tcp'))) {
        const m = /^(\S+)\s+<->\s+(\S+)\s/.exec(l);
        if (m !== null && [m[1], m[2]].some((e) => ports.includes(Number(e.slice(e.lastIndexOf(':') + 1))))) n++;
      }
      return n;
    },
    handshakes: () => frames(`tcp.flags.syn==1 && tcp.flags.ack==0 && (${watched})`),
    finPackets: () => frames(`tcp.flags.fin==1 && (${watched})`),
    lostSegments: () => frames('tcp.analysis.lost_segment'),
    retransmissions: () => frames('tcp.analysis.retransmission'),
    /** Requests per upper-cased name that the RESP dissector finds in frames matching `filter`. */
    respRequests(filter) {
      const out = run('-Y', `resp && !resp.reassembled_in_next_frame && (${filter})`, '-T', 'fields', '-E', 'aggregator=;',
        '-e', 'resp.array.length', '-e', 'resp.bulk_string.value');
      const commands = {};
      for (const l of lines(out)) {
        const [lens, vals] = l.split('\t');
        const v = (vals ?? '').split(';');
        let at = 0;
        for (const n of (lens ?? '').split(';').filter((x) => x !== '').map(Number)) {
          const name = Buffer.from(v[at] ?? '', 'hex').toString('latin1').toUpperCase();
          commands[name] = (commands[name] ?? 0) + 1;
          at += n;
        }
      }
      return Object.fromEntries(Object.entries(commands).sort());
    },
  };
}

/** A display-filter byte string for `contains`: "2a:33:0d:0a". */
export const hexBytes = (s) => [...Buffer.from(s, 'latin1')].map((b) => b.toString(16).padStart(2, '0')).join(':');
