/**
 * Which application a client connection belongs to, by precedence: the name the connection
 * gives itself (CLIENT SETNAME, HELLO ... SETNAME), then the --clients mapping, then reverse DNS
 * (--resolve), then its IP.
 */
import type { ClientMap } from './client-map.js';
import type { ReverseResolver } from './resolver.js';

export type NameSource = 'setname' | 'map' | 'dns' | 'ip';

export interface AppName {
  name: string;
  source: NameSource;
}

export class AppNamer {
  constructor(
    readonly map: ClientMap | null,
    readonly resolver: ReverseResolver | null,
  ) {}

  /** A client address was seen: starts its reverse lookup if one may be needed. */
  seen(ip: string, port: number): void {
    if (this.resolver !== null && this.map?.lookup(ip, port) == null) this.resolver.name(ip);
  }

  name(ip: string, port: number, selfName: string | null): AppName {
    if (selfName !== null && selfName !== '') return { name: selfName, source: 'setname' };
    const mapped = this.map?.lookup(ip, port) ?? null;
    if (mapped !== null) return { name: mapped, source: 'map' };
    const dns = this.resolver?.name(ip) ?? null;
    if (dns !== null) return { name: dns, source: 'dns' };
    return { name: ip, source: 'ip' };
  }
}
