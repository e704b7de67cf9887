/** Which connections close although their close was never captured. */
import type { FlowEntry } from './flow-entry.js';
import type { FlowLimits } from './limits.js';

/**
 * Every half of the shorter timeout in capture time: connections without a packet for
 * idleTimeoutUs (halfClosedTimeoutUs once a FIN was seen), give or take a sweep, are closed as
 * at the end of a capture, their pending requests unanswered: their FIN or RST was never
 * captured. Counting sweeps rather than comparing stamps keeps connections of a merged
 * capture whose stamps run behind the latest one (or a single wild stamp far ahead) from
 * looking idle: only capture time passing, with packets of other connections or without any,
 * ages them. A packet sets its connection's count back to 0.
 */
export class IdleSweep {
  /** Capture time of the next sweep. */
  nextTs = -Infinity;

  constructor(private readonly limits: FlowLimits) {}

  /** Sweeps at capture time nowTs: ages each of `open` by one sweep; returns those to close. */
  expired(open: FlowEntry[], nowTs: number): FlowEntry[] {
    const { idleTimeoutUs, halfClosedTimeoutUs } = this.limits;
    const period = Math.min(idleTimeoutUs, halfClosedTimeoutUs) / 2;
    // On a steady cadence while time flows; from now after a jump (a wild stamp sweeps once).
    this.nextTs = nowTs - this.nextTs < period ? this.nextTs + period : nowTs + period;
    const idle = Math.ceil(idleTimeoutUs / period);
    const halfClosed = Math.ceil(halfClosedTimeoutUs / period);
    const out: FlowEntry[] = [];
    for (const e of open) {
      const sweeps = ++e.idleSweeps;
      const limit = e.toServer.finSeen || e.toClient.finSeen ? halfClosed : idle;
      if (sweeps > limit) out.push(e);
    }
    return out;
  }
}

/**
 * Over the limit (a SYN flood, FINs never captured in a long run): the idlest tenth of the
 * open connections but `keep` are closed as at the end of a capture, so their pending requests
 * become unanswered. A tenth at a time keeps the sort rare.
 */
export function idlestTenth(open: FlowEntry[], keep: FlowEntry): FlowEntry[] {
  const all = open.filter((e) => e !== keep);
  all.sort((a, b) => a.lastTsUs - b.lastTsUs);
  return all.slice(0, Math.max(1, Math.floor(all.length / 10)));
}
