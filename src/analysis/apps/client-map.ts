/**
 * `--clients FILE`: who a client address belongs to. Either lines of `<ip|cidr|ip:port> <name>`
 * (`10.2.0.0/16  payments`, `#` starts a comment), or the JSON `kubectl get pods -A -o json`
 * prints (each pod IP -> `namespace/<app label or pod name>`). The longest prefix wins; an
 * `ip:port` entry beats any prefix.
 */
import { UserError } from '../../errors.js';

interface Prefix {
  v6: boolean;
  bits: bigint;
  len: number;
  name: string;
  /** The address or CIDR as written. */
  text: string;
}

/** An IPv4 or IPv6 address as a 32- or 128-bit number, or null if it is neither. */
export function parseIp(text: string): { v6: boolean; value: bigint } | null {
  const s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4 !== null) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((p) => p > 255)) return null;
    return { v6: false, value: parts.reduce((a, p) => (a << 8n) | BigInt(p), 0n) };
  }
  if (!s.includes(':') || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (g.includes('.')) {
        const tail = parseIp(g);
        if (tail === null || tail.v6) return null;
        out.push(Number(tail.value >> 16n), Number(tail.value & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || fill < 0) return null;
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  return { v6: true, value: all.reduce((a, g) => (a << 16n) | BigInt(g), 0n) };
}

export class ClientMap {
  private readonly prefixes: Prefix[] = [];
  private readonly endpoints = new Map<string, string>();
  private readonly endpointAddrs: Array<{ name: string; text: string }> = [];

  get size(): number {
    return this.prefixes.length + this.endpoints.size;
  }

  /** Adds `ip`, `cidr` or `ip:port` (`[v6]:port`); throws a UserError naming `where` when it is none. */
  add(target: string, name: string, where: string): void {
    const ep = /^(\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(target);
    if (ep !== null) {
      const ip = parseIp(ep[1]!);
      const port = Number(ep[2]);
      if (ip === null || port < 1 || port > 65535) throw new UserError(`${where}: '${target}' is not an address`);
      this.endpoints.set(`${ip.v6 ? 6 : 4}:${ip.value}:${port}`, name);
      this.endpointAddrs.push({ name, text: ep[1]!.replace(/^\[|\]$/g, '') });
      return;
    }
    const [addr, lenText] = target.split('/');
    const ip = parseIp(addr ?? '');
    const max = ip?.v6 === true ? 128 : 32;
    const len = lenText === undefined ? max : /^\d{1,3}$/.test(lenText) ? Number(lenText) : -1;
    if (ip === null || len < 0 || len > max) throw new UserError(`${where}: '${target}' is not an IP address, CIDR prefix or ip:port`);
    const shift = BigInt(max - len);
    this.prefixes.push({ v6: ip.v6, bits: (ip.value >> shift) << shift, len, name, text: target });
  }

  /**
   * The addresses and networks mapped to `name` (an ip:port entry gives its whole address):
   * what `--client <name>` selects packets by.
   */
  addressesOf(name: string): string[] {
    return [...new Set([...this.prefixes.filter((p) => p.name === name).map((p) => p.text), ...this.endpointAddrs.filter((e) => e.name === name).map((e) => e.text)])];
  }

  /** The name of a client address, or null. */
  lookup(ip: string, port: number): string | null {
    const a = parseIp(ip);
    if (a === null) return null;
    const ep = this.endpoints.get(`${a.v6 ? 6 : 4}:${a.value}:${port}`);
    if (ep !== undefined) return ep;
    const max = a.v6 ? 128 : 32;
    let best: Prefix | null = null;
    for (const p of this.prefixes) {
      if (p.v6 !== a.v6 || (best !== null && p.len <= best.len)) continue;
      const shift = BigInt(max - p.len);
      if ((a.value >> shift) << shift === p.bits) best = p;
    }
    return best?.name ?? null;
  }
}

/** Parses a mapping file's text: kubectl's pod list JSON, or lines of `<address> <name>`. */
export function parseClientMap(text: string, file: string): ClientMap {
  const map = new ClientMap();
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) return fromKubectl(trimmed, file, map);
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const m = /^(\S+)\s+(\S.*)$/.exec(line);
    if (m === null) throw new UserError(`${file} line ${i + 1}: expected '<ip|cidr|ip:port> <name>', got '${raw.trim().slice(0, 60)}'`);
    map.add(m[1]!, m[2]!.trim(), `${file} line ${i + 1}`);
  });
  return map;
}

interface Pod {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  status?: { podIP?: string; podIPs?: Array<{ ip?: string }> };
}

function fromKubectl(text: string, file: string, map: ClientMap): ClientMap {
  let doc: { items?: Pod[]; kind?: string };
  try {
    doc = JSON.parse(text) as { items?: Pod[] };
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!Array.isArray(doc.items)) throw new UserError(`${file}: JSON without 'items': expected the output of 'kubectl get pods -A -o json'`);
  doc.items.forEach((pod, i) => {
    const md = pod.metadata ?? {};
    const labels = md.labels ?? {};
    const app = labels['app'] ?? labels['app.kubernetes.io/name'] ?? md.name;
    if (app === undefined) return;
    const name = md.namespace === undefined ? app : `${md.namespace}/${app}`;
    const ips = new Set([pod.status?.podIP, ...(pod.status?.podIPs ?? []).map((p) => p.ip)].filter((x): x is string => typeof x === 'string' && x !== ''));
    for (const ip of ips) map.add(ip, name, `${file} item ${i}`);
  });
  return map;
}
