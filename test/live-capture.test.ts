import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PCAP_MODULE_MISSING } from '../src/capture/interfaces.js';
import { buildLiveFilter, openLiveCapture, type LiveCapture } from '../src/capture/live.js';
import type { Packet } from '../src/capture/packet.js';
import { UserError } from '../src/errors.js';
import { haveRedis, startRedis, type RedisServer } from './helpers/redis-server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const IS_ROOT = process.getuid?.() === 0;

/** Why live capture cannot run here, or null when it can (probed by opening lo for real). */
async function captureUnavailable(): Promise<string | null> {
  try {
    const c = await openLiveCapture({ iface: 'lo', ports: [9], bufferMb: 1 }, () => {});
    c.close();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
const NO_CAPTURE = await captureUnavailable();
const NO_PCAP_MODULE = NO_CAPTURE === PCAP_MODULE_MISSING;
if (NO_CAPTURE) console.warn(`live-capture: skipping the capture tests: ${NO_CAPTURE}`);
if (!haveRedis) console.warn('live-capture: skipping the capture tests: redis-server is not installed');
if (!IS_ROOT) console.warn('live-capture: skipping the unprivileged-user test: it needs root to drop to uid 65534');

test.each([
  { ports: [6379], extra: undefined, bpf: 'tcp port 6379' },
  { ports: [6379, 6380], extra: undefined, bpf: 'tcp port 6379 or tcp port 6380' },
  { ports: [6379], extra: '  ', bpf: 'tcp port 6379' },
  { ports: [6379], extra: 'host 10.0.0.1', bpf: 'tcp port 6379 and (host 10.0.0.1)' },
  { ports: [1, 2], extra: 'not host 10.0.0.1', bpf: '(tcp port 1 or tcp port 2) and (not host 10.0.0.1)' },
])('BPF filter for $ports and "$extra"', ({ ports, extra, bpf }) => {
  expect(buildLiveFilter(ports, extra)).toBe(bpf);
});

test.each([
  { opts: { ports: [], bufferMb: 8 }, message: /capture ports must be integers 1-65535/ },
  { opts: { ports: [70000], bufferMb: 8 }, message: /capture ports must be integers 1-65535, got '70000'/ },
  { opts: { ports: [6379], bufferMb: 0 }, message: /--buffer-mb must be more than 0/ },
  { opts: { ports: [6379], bufferMb: 8, snaplen: 10 }, message: /snap length must be an integer 64-262144/ },
])('bad options are a UserError: $message', async ({ opts, message }) => {
  await expect(openLiveCapture(opts, () => {})).rejects.toThrow(message);
});

/** One TCP segment as the test sees it: ports and a copy of the payload. */
interface Segment {
  tsUs: number;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

/** Link header length by LINKTYPE, and where its EtherType-like protocol field is. */
const LINK = {
  1: { header: 14, proto: 12 }, // Ethernet
  113: { header: 16, proto: 14 }, // Linux cooked (SLL)
  276: { header: 20, proto: 0 }, // Linux cooked v2 (SLL2)
} as Record<number, { header: number; proto: number }>;

/** Minimal Ethernet/SLL + IPv4 + TCP decode; the payload is copied because the capture reuses its buffer. */
function segmentOf(p: Packet): Segment | null {
  const link = LINK[p.linkType];
  if (!link) throw new Error(`test does not decode link type ${p.linkType}`);
  const d = Buffer.from(p.data.buffer, p.data.byteOffset + p.offset, p.capLen);
  if (d.readUInt16BE(link.proto) !== 0x0800) return null;
  const ip = link.header;
  const ihl = (d[ip]! & 0x0f) * 4;
  const ipEnd = ip + d.readUInt16BE(ip + 2);
  if (d[ip + 9] !== 6) return null;
  const tcp = ip + ihl;
  const dataOffset = (d[tcp + 12]! >> 4) * 4;
  return {
    tsUs: p.tsUs,
    srcPort: d.readUInt16BE(tcp),
    dstPort: d.readUInt16BE(tcp + 2),
    payload: Buffer.from(d.subarray(tcp + dataOffset, ipEnd)),
  };
}

function resp(...args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(20);
}

/** A raw RESP client that sends whole batches and waits for `+OK` per request. */
class RawClient {
  private replies = 0;
  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (b: Buffer) => {
      this.replies += b.toString('latin1').split('+OK\r\n').length - 1;
    });
  }
  static async connect(port: number): Promise<RawClient> {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    return new RawClient(sock);
  }
  async send(requests: string, count: number): Promise<void> {
    const want = this.replies + count;
    this.sock.write(requests);
    await until(() => this.replies >= want, 5000);
    expect(this.replies).toBe(want);
  }
  end(): void {
    this.sock.destroy();
  }
}

describe.skipIf(!!NO_CAPTURE || !haveRedis)('live capture against a real redis-server', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  test.each([
    { iface: 'lo', linkTypes: [1] },
    { iface: 'any', linkTypes: [113, 276] },
  ])('on $iface: every request and reply, kernel timestamps, no drops, close stops delivery', async ({ iface, linkTypes }) => {
    const N = 1000;
    const segments: Segment[] = [];
    const stamps: number[] = [];
    let worstSkewUs = 0;
    let delivered = 0;
    const cap: LiveCapture = await openLiveCapture({ iface, ports: [redis.port], bufferMb: 8 }, (p) => {
      delivered++;
      stamps.push(p.tsUs);
      worstSkewUs = Math.max(worstSkewUs, Math.abs(Date.now() * 1000 - p.tsUs));
      const seg = segmentOf(p);
      if (seg) segments.push(seg);
    });
    expect(cap.iface).toBe(iface);
    expect(linkTypes).toContain(cap.linkType);
    expect(cap.filter).toBe(`tcp port ${redis.port}`);

    const client = await RawClient.connect(redis.port);
    const sent = Array.from({ length: N }, (_, i) => resp('SET', `key:${i}`, `value-${i}`)).join('');
    const beforeSend = Date.now();
    await client.send(sent, N);
    const afterReplies = Date.now();
    const toServer = () => Buffer.concat(segments.filter((s) => s.dstPort === redis.port).map((s) => s.payload));
    const toClient = () => Buffer.concat(segments.filter((s) => s.srcPort === redis.port).map((s) => s.payload));
    await until(() => toServer().length >= sent.length && toClient().length >= 5 * N, 5000);

    // the client->server byte stream is exactly what was sent: N SETs, nothing lost or doubled
    const requests = toServer().toString('latin1');
    expect(requests.split(resp('SET', 'key:0', 'value-0').slice(0, 13)).length - 1).toBe(N);
    expect(requests).toBe(sent);
    expect(toClient().toString('latin1')).toBe('+OK\r\n'.repeat(N));
    // kernel capture times: recent, in order, and taken while the exchange ran (not at delivery)
    expect(worstSkewUs).toBeLessThan(1e6);
    const payloadStamps = segments.filter((s) => s.payload.length > 0).map((s) => s.tsUs);
    expect(Math.min(...payloadStamps)).toBeGreaterThanOrEqual((beforeSend - 1) * 1000);
    expect(Math.max(...payloadStamps)).toBeLessThanOrEqual((afterReplies + 1) * 1000);
    expect(stamps.every((t, i) => i === 0 || t >= stamps[i - 1]!)).toBe(true);
    expect(stamps.every((t) => Number.isInteger(t))).toBe(true);

    const stats = cap.stats();
    expect(stats).toEqual({ received: delivered, kernelDrops: 0, interfaceDrops: expect.any(Number), shedFrames: 0 });

    cap.close();
    const atClose = delivered;
    await client.send(resp('SET', 'after', 'close').repeat(100), 100);
    await sleep(300);
    client.end();
    expect(delivered).toBe(atClose);
    expect(cap.stats().received).toBe(atClose);
    cap.close(); // idempotent
  });
  test('a consumer slower than the traffic blocks the event loop at most maxStallMs, then frames are shed', async () => {
    const spin = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    const maxStallMs = 300;
    const cap = await openLiveCapture({ iface: 'lo', ports: [redis.port], bufferMb: 8, maxStallMs }, () => spin(1));
    let last = performance.now();
    let worstGapMs = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      worstGapMs = Math.max(worstGapMs, now - last);
      last = now;
    }, 10);
    // another process sends ~20k frames/s while this one takes 1 ms per frame
    const load = spawn('redis-benchmark', ['-p', String(redis.port), '-c', '1', '-n', '1000000', '-t', 'set', '-q'], { stdio: 'ignore' });
    await sleep(3000);
    // The load may have finished on its own already: then 'exit' has been emitted.
    if (load.exitCode === null && load.signalCode === null) {
      const exited = new Promise((resolve) => load.once('exit', resolve));
      load.kill();
      await exited;
    }
    clearInterval(ticker);
    const stats = cap.stats();
    cap.close();
    expect(stats.received).toBeGreaterThan(500);
    expect(stats.shedFrames).toBeGreaterThan(1000);
    // the budget was used, and kept: it counts this process's CPU time, so a busy machine may
    // stretch it in wall time; without it the event loop waits for the whole load (many seconds)
    expect(worstGapMs).toBeGreaterThan(maxStallMs);
    expect(worstGapMs).toBeLessThan(2000);
  });
});

describe('live capture errors', () => {
  test.skipIf(NO_PCAP_MODULE)('an unknown interface lists the interfaces', async () => {
    const err = await openLiveCapture({ iface: 'nosuch0', ports: [6379], bufferMb: 1 }, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).exitCode).toBe(2);
    expect((err as UserError).message).toMatch(/^no interface 'nosuch0'; interfaces: (\S+, )*lo(, \S+)*$/);
    expect((err as UserError).message).toContain('any');
  });

  test.skipIf(!!NO_CAPTURE).each([
    ['tcp prot 1', "can't parse filter expression: syntax error"],
    ['host 127.0.0.999', expect.stringMatching(/invalid/i)],
  ])('a bad BPF filter (%s) gives libpcap’s message', async (filter, reason) => {
    const err = await openLiveCapture({ iface: 'lo', ports: [6379], bufferMb: 1, filter }, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    const m = /^bad capture filter '(.*)': (.*)$/.exec((err as UserError).message);
    expect(m?.slice(1)).toEqual([filter, reason]);
  });

  describe('from a separate node process', () => {
    let dir: string;
    beforeAll(() => {
      dir = transpileForChild();
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test.skipIf(!IS_ROOT || NO_PCAP_MODULE)('an unprivileged user gets the permission message and exit 2', () => {
      const r = spawnSync(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(dir, 'open-lo.mjs')],
        { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', NODE_PATH: join(ROOT, 'node_modules') } },
      );
      expect(r.stderr).toBe(
        'capture on lo needs root or CAP_NET_RAW: run as root, or ' +
          '`sudo setcap cap_net_raw,cap_net_admin=eip $(readlink -f $(which node))`\n',
      );
      expect(r.status).toBe(2);
    });

    test.skipIf(!!NO_CAPTURE)('a process that closed an idle capture exits at once', () => {
      const started = Date.now();
      const r = spawnSync(process.execPath, [join(dir, 'open-lo.mjs')], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', NODE_PATH: join(ROOT, 'node_modules') },
        timeout: 10_000,
      });
      expect([r.stdout, r.stderr, r.status]).toEqual(['opened\n', '', 0]);
      expect(Date.now() - started).toBeLessThan(5000);
    });

    test('without the pcap module: one line naming the fix, exit 2', () => {
      // the copy lives outside the project, so require.resolve('pcap') finds nothing
      const r = spawnSync(process.execPath, [join(dir, 'open-lo.mjs')], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
      expect(r.stderr).toBe(PCAP_MODULE_MISSING + '\n');
      expect(r.status).toBe(2);
    });
  });
});

/**
 * Node 20 cannot run TypeScript, so the capture files and errors.ts are transpiled into a temporary
 * folder outside the project, with a script that opens lo and reports like the CLI does.
 */
function transpileForChild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'live-capture-child-'));
  chmodSync(dir, 0o755); // readable by uid 65534
  mkdirSync(join(dir, 'capture'));
  for (const file of ['capture/live.ts', 'capture/live-ring.ts', 'capture/interfaces.ts', 'errors.ts']) {
    const source = readFileSync(join(ROOT, 'src', file), 'utf8');
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    writeFileSync(join(dir, file.replace(/\.ts$/, '.js')), js);
  }
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(
    join(dir, 'open-lo.mjs'),
    `import { openLiveCapture } from './capture/live.js';
try {
  const c = await openLiveCapture({ iface: 'lo', ports: [9], bufferMb: 1 }, () => {});
  c.close();
  console.log('opened');
} catch (err) {
  process.stderr.write(err.message + '\\n');
  process.exit(err.exitCode ?? 1);
}
`,
  );
  return dir;
}
