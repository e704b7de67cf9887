/**
 * The agent's HTTP endpoint: a plain node:http server that hands each request to the handler
 * registered for the longest matching path prefix (`/metrics` is served by the agent; a web
 * view can register its own prefixes with route()). Anything else is a 404.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UserError } from '../errors.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface ListenAddress {
  host: string;
  port: number;
}

/** `host:port`, `[v6]:port` or `:port` (every interface). */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || !(port >= 1 && port <= 65535)) throw new UserError(`'${text}' is not a listen address (host:port, [ipv6]:port or :port)`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export class HttpServer {
  private readonly routes: Array<{ prefix: string; handler: RouteHandler }> = [];
  private readonly server = http.createServer((req, res) => this.dispatch(req, res));
  /** Requests whose handler threw (answered 500). */
  failures = 0;

  constructor(private readonly onError: (message: string) => void = () => undefined) {
    // Scrapers keep connections open; none of them may hold the process at exit.
    this.server.keepAliveTimeout = 5_000;
  }

  /** Serves paths equal to `prefix` or under it (`prefix/...`, `prefix?...`); the longest prefix wins. */
  route(prefix: string, handler: RouteHandler): this {
    this.routes.push({ prefix, handler });
    this.routes.sort((a, b) => b.prefix.length - a.prefix.length);
    return this;
  }

  listen(addr: ListenAddress): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      const fail = (e: NodeJS.ErrnoException) => reject(new UserError(`cannot listen on ${addr.host}:${addr.port}: ${e.code ?? e.message}`));
      this.server.once('error', fail);
      this.server.listen(addr.port, addr.host, () => {
        this.server.off('error', fail);
        this.server.on('error', (e) => this.onError(`http server: ${e.message}`));
        const a = this.server.address() as AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handlerFor(path: string): RouteHandler | null {
    for (const r of this.routes) {
      if (!path.startsWith(r.prefix)) continue;
      const next = path.charAt(r.prefix.length);
      if (next === '' || next === '/' || next === '?' || r.prefix.endsWith('/')) return r.handler;
    }
    return null;
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const handler = this.handlerFor(req.url ?? '/');
    if (handler === null) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: redis-tap serves /metrics\n');
      return;
    }
    const failed = (e: unknown) => {
      this.failures++;
      this.onError(`${req.url}: ${e instanceof Error ? e.message : String(e)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    };
    try {
      const done = handler(req, res);
      if (done instanceof Promise) done.catch(failed);
    } catch (e) {
      failed(e);
    }
  }
}
