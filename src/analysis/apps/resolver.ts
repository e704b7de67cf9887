/**
 * `--resolve`: reverse DNS for client IPs that have no other name. Lookups run in the
 * background, a few at a time, each bounded in time, at most MAX_LOOKUPS per run, and cached;
 * the analysis never waits for one. A failure (or no PTR record) falls back to the IP.
 */
import { Resolver } from 'node:dns/promises';

/** Distinct IPs looked up per run; further ones keep their IP. */
export const MAX_LOOKUPS = 1000;
/** Lookups in flight at once. */
const CONCURRENCY = 8;
/** One lookup's bound, in ms (the resolver's own timeout, one try). */
export const LOOKUP_TIMEOUT_MS = 2000;

export type ReverseLookup = (ip: string) => Promise<string[]>;

export class ReverseResolver {
  /** IP -> name, or null once the lookup failed. */
  private readonly cache = new Map<string, string | null>();
  private readonly queue: string[] = [];
  private inFlight = 0;
  private readonly idle: Array<() => void> = [];

  constructor(private readonly reverse: ReverseLookup = defaultReverse()) {}

  /** The name found for ip so far, or null; the first call for an IP starts its lookup. */
  name(ip: string): string | null {
    const hit = this.cache.get(ip);
    if (hit !== undefined) return hit;
    if (this.cache.size < MAX_LOOKUPS) {
      this.cache.set(ip, null);
      this.queue.push(ip);
      this.pump();
    }
    return null;
  }

  /** Resolves once every started lookup has ended, or after `ms`, whichever is first. */
  settle(ms: number): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private pump(): void {
    while (this.inFlight < CONCURRENCY && this.queue.length > 0) {
      const ip = this.queue.shift()!;
      this.inFlight++;
      this.reverse(ip)
        .then((names) => {
          const n = names.find((x) => x !== '');
          if (n !== undefined) this.cache.set(ip, n.replace(/\.$/, ''));
        })
        .catch(() => undefined)
        .finally(() => {
          this.inFlight--;
          this.pump();
          if (this.inFlight === 0 && this.queue.length === 0) for (const f of this.idle.splice(0)) f();
        });
    }
  }
}

function defaultReverse(): ReverseLookup {
  const r = new Resolver({ timeout: LOOKUP_TIMEOUT_MS, tries: 1 });
  return (ip) => r.reverse(ip);
}
