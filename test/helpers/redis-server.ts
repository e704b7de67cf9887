import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';

/** True when redis-server is installed (tests that need it skip with a message otherwise). */
export const haveRedis = spawnSync('redis-server', ['--version']).status === 0;

/** A free TCP port on loopback, picked by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface RedisServer {
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a throwaway redis-server on its own loopback port; resolves once it accepts connections. */
/** Protected mode is off so clients can bind other loopback addresses (127.0.0.2 ...); the server listens on loopback only. */
export async function startRedis(extra: string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1 ::1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...extra], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    if (await canConnect(port)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    proc,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** RESP-encodes a request. */
export function encodeCommand(args: ReadonlyArray<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Sends one command with redis-cli-free plumbing and returns the raw reply text (RESP2). */
export function rawCommand(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (complete(buf)) {
        s.destroy();
        resolve(buf);
      }
    });
    s.on('error', reject);
    s.write(encodeCommand(args));
  });
}

/** Whether a RESP2 text holds one whole reply (enough for short control replies). */
function complete(text: string): boolean {
  let pos = 0;
  const value = (): boolean => {
    const eol = text.indexOf('\r\n', pos);
    if (eol < 0) return false;
    const t = text[pos];
    const n = Number(text.slice(pos + 1, eol));
    pos = eol + 2;
    if (t === '$') {
      if (n < 0) return true;
      if (text.length < pos + n + 2) return false;
      pos += n + 2;
      return true;
    }
    if (t === '*') {
      for (let i = 0; i < n; i++) if (!value()) return false;
    }
    return true;
  };
  return value();
}

/** Parses a RESP2 array-of-bulk reply into strings (for COMMAND GETKEYS and the like). */
export function bulkArray(text: string): string[] | null {
  if (text.startsWith('-')) return null;
  const out: string[] = [];
  const re = /\$(\d+)\r\n/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const len = Number(m[1]);
    out.push(text.slice(re.lastIndex, re.lastIndex + len));
    re.lastIndex += len + 2;
  }
  return out;
}

/** One client connection from `localAddress`: each command sent once the previous one's reply came. */
export async function session(port: number, commands: Array<Array<string | Buffer>>, localAddress: string): Promise<void> {
  const sock = net.connect({ port, host: '127.0.0.1', localAddress });
  await new Promise((r) => sock.once('connect', r));
  for (const c of commands) {
    sock.write(encodeCommand(c));
    await new Promise((r) => sock.once('data', r));
  }
  sock.end();
  await new Promise((r) => sock.once('close', r));
}
