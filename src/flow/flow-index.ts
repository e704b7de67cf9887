/** Which followed connection a packet belongs to, and which way it goes. */
import type { TcpSegment } from './decode.js';
import type { FlowEntry } from './flow-entry.js';

/** The open connections by their 4-tuple (those closed lately: ./closed-flows.ts). */
export class FlowIndex {
  /** Set by find() and add(): whether the packet at hand goes from client to server. */
  fromClient = false;
  /** Connections by a direction-independent hash of their 4-tuple; collisions chain via `next`. */
  private readonly byHash = new Map<number, FlowEntry>();

  /** The open connection of segment s, whose 4-tuple hashes to `hash`, or null. */
  find(hash: number, s: TcpSegment): FlowEntry | null {
    const v6 = s.ipVersion === 6;
    for (let e = this.byHash.get(hash) ?? null; e !== null; e = e.next) {
      if (e.v6 !== v6) continue;
      if (e.cPort === s.srcPort && e.sPort === s.dstPort && e.c3 === s.s3 && e.s3 === s.d3 &&
          (!v6 || (e.c0 === s.s0 && e.c1 === s.s1 && e.c2 === s.s2 && e.s0 === s.d0 && e.s1 === s.d1 && e.s2 === s.d2))) {
        this.fromClient = true;
        return e;
      }
      if (e.sPort === s.srcPort && e.cPort === s.dstPort && e.s3 === s.s3 && e.c3 === s.d3 &&
          (!v6 || (e.s0 === s.s0 && e.s1 === s.s1 && e.s2 === s.s2 && e.c0 === s.d0 && e.c1 === s.d1 && e.c2 === s.d2))) {
        this.fromClient = false;
        return e;
      }
    }
    return null;
  }

  /** A new connection, opened by the packet at hand (from its client if fromClient). */
  add(e: FlowEntry, fromClient: boolean): void {
    e.next = this.byHash.get(e.hash) ?? null;
    this.byHash.set(e.hash, e);
    this.fromClient = fromClient;
  }

  /** e closed: it leaves the index. */
  remove(e: FlowEntry): void {
    this.unlink(e);
  }

  /** Every open connection, in the order they were first seen. */
  all(): FlowEntry[] {
    const all: FlowEntry[] = [];
    for (const head of this.byHash.values()) for (let e: FlowEntry | null = head; e !== null; e = e.next) all.push(e);
    return all;
  }

  private unlink(e: FlowEntry): void {
    const head = this.byHash.get(e.hash);
    if (head === e) {
      if (e.next === null) this.byHash.delete(e.hash);
      else this.byHash.set(e.hash, e.next);
      return;
    }
    for (let p = head ?? null; p !== null; p = p.next) {
      if (p.next === e) {
        p.next = e.next;
        return;
      }
    }
  }
}
