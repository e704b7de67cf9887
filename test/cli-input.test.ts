/**
 * `analyze` as tcpdump users type it (issue 13): -r FILE, '-' for stdin, several files or a
 * rotated set read as one capture in time order, gzip and zstd by their magic bytes, and bad
 * input as one line. The sets are cut from a shipped capture with editcap; every way of reading
 * them must give the report of the whole file (one connection stays one connection across files).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Report } from '../src/output/report.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'redis-tap.js');
const DEMO = join(ROOT, 'captures', 'demo.pcap');
const dir = mkdtempSync(join(tmpdir(), 'redis-tap-cli-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Packets per part: demo.pcap's 839 packets in 4 files, its connections running across them. */
const PER_PART = 250;

function run(args: string[], input?: Buffer) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: dir, input, maxBuffer: 1 << 28, encoding: 'buffer' });
}

function report(args: string[], input?: Buffer): Report {
  const r = run([...args, '--json'], input);
  expect(r.stderr.toString()).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout.toString()) as Report;
}

/** Everything but the source (which names what was read). */
function body(r: Report): Omit<Report, 'source'> {
  const { source: _source, ...rest } = r;
  return rest;
}

let plain: Report;

beforeAll(() => {
  plain = report(['analyze', DEMO]);
  // tcpdump -C names: x.pcap, x.pcap1, x.pcap2, x.pcap3.
  execFileSync('editcap', ['-F', 'pcap', '-c', String(PER_PART), DEMO, join(dir, 'part.pcap')]);
  const parts = readdirSync(dir).filter((f) => f.startsWith('part_')).sort();
  expect(parts).toHaveLength(4);
  parts.forEach((p, i) => renameSync(join(dir, p), join(dir, i === 0 ? 'x.pcap' : `x.pcap${i}`)));
});

describe('one capture from many inputs', () => {
  test('the whole file: 12 connections, 729 commands, no warning', () => {
    expect([plain.totals['connections'], plain.totals['commands'], plain.warnings]).toEqual([12, 729, []]);
  });

  test('a rotated set named in any order reads as the whole file, in time order', () => {
    const r = report(['analyze', 'x.pcap2', 'x.pcap', 'x.pcap3', 'x.pcap1']);
    expect(body(r)).toEqual(body(plain));
    expect(r.source.name).toBe('x.pcap (+3 files)');
    expect(r.source.files).toEqual(['x.pcap', 'x.pcap1', 'x.pcap2', 'x.pcap3']);
  });

  test('read apart, the parts break connections: the set is not just their sum', () => {
    const apart = ['x.pcap', 'x.pcap1', 'x.pcap2', 'x.pcap3'].map((f) => report(['analyze', f]));
    const conns = apart.reduce((n, r) => n + (r.totals['connections'] ?? 0), 0);
    expect(conns).toBeGreaterThan(12);
  });

  test('files named by time (tcpdump -G) are ordered by their first packet, not by name', () => {
    const names = ['z-part.pcap', 'm-part.pcap', 'c-part.pcap', 'a-part.pcap'];
    ['x.pcap', 'x.pcap1', 'x.pcap2', 'x.pcap3'].forEach((f, i) => writeFileSync(join(dir, names[i]!), readFileSync(join(dir, f))));
    const r = report(['analyze', ...[...names].sort()]);
    expect(body(r)).toEqual(body(plain));
    expect(r.source.files).toEqual(names);
  });

  test('a gzipped part is read by its magic bytes, whatever its name', () => {
    writeFileSync(join(dir, 'g.pcap'), readFileSync(join(dir, 'x.pcap')));
    writeFileSync(join(dir, 'g.pcap1'), gzipSync(readFileSync(join(dir, 'x.pcap1'))));
    writeFileSync(join(dir, 'g.pcap2'), readFileSync(join(dir, 'x.pcap2')));
    writeFileSync(join(dir, 'g.pcap3'), readFileSync(join(dir, 'x.pcap3')));
    expect(body(report(['analyze', 'g.pcap', 'g.pcap1', 'g.pcap2', 'g.pcap3']))).toEqual(body(plain));
  });

  test('-r FILE, as tcpdump takes it, with more files after it', () => {
    const r = report(['analyze', '-r', 'x.pcap', 'x.pcap1', '-r', 'x.pcap2', 'x.pcap3']);
    expect(body(r)).toEqual(body(plain));
  });

  test('naming only x.pcap of a rotated set reads only it, and says what was left', () => {
    const r = report(['analyze', 'x.pcap']);
    expect(r.totals['packets']).toBe(PER_PART);
    expect(r.warnings).toContain('x.pcap1, x.pcap2, x.pcap3 beside x.pcap look like more of its rotated set (tcpdump -C): only the files named were read (name them all, e.g. x.pcap*)');
  });
});

describe('stdin and compression', () => {
  const demo = readFileSync(DEMO);

  test.each([
    { name: 'analyze - < pipe', args: ['analyze', '-'], input: () => demo },
    { name: 'analyze -r -', args: ['analyze', '-r', '-'], input: () => demo },
    { name: 'gzip on stdin', args: ['analyze', '-'], input: () => gzipSync(demo) },
    { name: 'zstd on stdin', args: ['analyze', '-'], input: () => execFileSync('zstd', ['-q', '-c'], { input: demo, maxBuffer: 1 << 26 }) },
  ])('$name: the report of the file', ({ args, input }) => {
    const r = report(args, input());
    expect(body(r)).toEqual(body(plain));
    expect(r.source.name).toBe('stdin');
  });

  test('zstd and gzip files, several gzip members', () => {
    writeFileSync(join(dir, 'demo.zst'), execFileSync('zstd', ['-q', '-c', DEMO], { maxBuffer: 1 << 26 }));
    expect(body(report(['analyze', 'demo.zst']))).toEqual(body(plain));
    const half = demo.length >> 1;
    writeFileSync(join(dir, 'members.gz'), Buffer.concat([gzipSync(demo.subarray(0, half)), gzipSync(demo.subarray(half))]));
    expect(body(report(['analyze', 'members.gz']))).toEqual(body(plain));
  });

  test('a tcpdump pipe: tcpdump -r FILE -w - | redis-tap analyze -', () => {
    const piped = execFileSync('sh', ['-c', `tcpdump -r '${DEMO}' -w - 2>/dev/null | node '${BIN}' analyze - --json`], { maxBuffer: 1 << 28 });
    expect(body(JSON.parse(piped.toString()) as Report)).toEqual(body(plain));
  });
});

describe('Ctrl-C', () => {
  test('a pipe that stays open: Ctrl-C reports what was read, with a word that it was cut', async () => {
    const child = spawn(process.execPath, [BIN, 'analyze', '-', '--json'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.write(readFileSync(DEMO));
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(0);
    const r = JSON.parse(out) as Report;
    expect(body(r)).toEqual({ ...body(plain), warnings: [expect.stringMatching(/^interrupted \(Ctrl-C or SIGTERM\): reading stopped after 4143942 bytes in stdin; the report covers what was read$/)] });
  });

  test('producer | redis-tap analyze -: both take the Ctrl-C, and the report has what the producer wrote after it', async () => {
    // As tcpdump -w - does: on Ctrl-C it writes out what it holds, then closes the pipe.
    const sh = spawn('sh', ['-c', `(trap '' INT; sleep 2; cat '${DEMO}') | node '${BIN}' analyze - --json`], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Ctrl-C once redis-tap is surely up and waiting, before the slow stage delivers (at 2 s).
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(-sh.pid!, 'SIGINT'); // the whole pipeline, as a terminal's Ctrl-C does
    await new Promise((r) => sh.on('close', r)); // sh itself dies of it; its stdout closes when redis-tap is done
    expect(body(JSON.parse(out) as Report)).toEqual(body(plain));
  });
});

describe('damaged compressed data: what was read before stands', () => {
  const gz = gzipSync(readFileSync(DEMO), { level: 1 });

  test('gzip corrupt in the middle: a warning, the packets before it, exit 0', () => {
    const bad = Buffer.from(gz);
    bad.fill(0xff, gz.length >> 1, (gz.length >> 1) + 64);
    writeFileSync(join(dir, 'bad.pcap.gz'), bad);
    const r = report(['analyze', 'bad.pcap.gz']);
    expect(r.warnings.some((w) => /^bad\.pcap\.gz: gzip data is corrupt \(.+\) after \d+ bytes of capture; the rest of the file is skipped$/.test(w))).toBe(true);
    expect(r.totals['packets']).toBeGreaterThan(0);
    expect(r.totals['packets']).toBeLessThan(plain.totals['packets']!);
  });

  test('gzip cut short: said so, the packets before the cut', () => {
    writeFileSync(join(dir, 'cut.pcap.gz'), gz.subarray(0, gz.length >> 1));
    const r = report(['analyze', 'cut.pcap.gz']);
    expect(r.warnings[0]).toMatch(/^cut\.pcap\.gz: gzip data ends early \(unexpected end of file\) after \d+ bytes of capture: the file was cut$/);
    expect(r.totals['packets']).toBeGreaterThan(0);
  });

  test('zstd cut short: said so, the packets before the cut', () => {
    const zst = execFileSync('zstd', ['-q', '-c', DEMO], { maxBuffer: 1 << 26 });
    // demo.pcap's first zstd block is most of the first half of the file: cut past it.
    writeFileSync(join(dir, 'cut.zst'), zst.subarray(0, Math.floor(zst.length * 0.9)));
    const r = report(['analyze', 'cut.zst']);
    expect(r.warnings[0]).toMatch(/^cut\.zst: zstd data ends early after \d+ bytes of capture: the file was cut$/);
    expect(r.totals['packets']).toBeGreaterThan(0);
  });

  test('zstd damaged inside a block: fzstd does not check the content checksum, so the capture reader\'s checks catch it', () => {
    const zst = execFileSync('zstd', ['-q', '-c', DEMO], { maxBuffer: 1 << 26 });
    const bad = Buffer.from(zst);
    bad.fill(0x55, zst.length >> 1, (zst.length >> 1) + 64);
    writeFileSync(join(dir, 'bad.zst'), bad);
    const r = report(['analyze', 'bad.zst']);
    expect(r.warnings.length).toBeGreaterThan(0);
    expect(r.totals['packets']).toBeLessThan(plain.totals['packets']!);
  });
});

describe('bad input: one line, exit 2', () => {
  beforeAll(() => {
    writeFileSync(join(dir, 'notes.txt'), 'GET / HTTP/1.1\r\n');
    writeFileSync(join(dir, 'junk.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    writeFileSync(join(dir, 'text.gz'), gzipSync('hello\n'));
    writeFileSync(join(dir, 'empty.pcap'), '');
  });

  test.each([
    { name: 'a file of the set that is no capture', args: ['x.pcap', 'notes.txt'], err: 'notes.txt: not a pcap or pcapng capture file (starts with 47 45 54 20)' },
    { name: 'a missing file of the set', args: ['x.pcap', 'gone.pcap'], err: 'gone.pcap: cannot open: no such file or directory' },
    { name: 'a directory', args: [dir.split('/').slice(0, -1).join('/')], err: `${dir.split('/').slice(0, -1).join('/')}: is a directory, not a capture file` },
    { name: 'an empty file', args: ['empty.pcap'], err: 'empty.pcap: empty file' },
    { name: 'gzip corrupt from its start', args: ['junk.gz'], err: /^junk\.gz: gzip data is corrupt \(.+\) after 0 bytes of capture: no capture could be read$/ },
    { name: 'gzip of something else', args: ['text.gz'], err: 'text.gz: the gzip data holds no pcap or pcapng capture (it starts with 68 65 6c 6c)' },
    { name: 'the same file twice', args: ['x.pcap', 'x.pcap1', './x.pcap'], err: './x.pcap: named twice (as x.pcap too); each file is read once' },
    { name: 'stdin with files', args: ['x.pcap', '-'], err: "'-' (stdin) is read alone: it cannot be ordered with other files without reading it whole first" },
    { name: 'no file at all', args: [], err: 'analyze: no capture named: give files, -r FILE, or - for stdin (see --help)' },
    { name: 'an empty pipe', args: ['-'], err: 'stdin: no data (nothing was piped in)', input: Buffer.alloc(0) },
  ])('$name', ({ args, err, input }) => {
    const r = run(['analyze', ...args], input ?? Buffer.alloc(0));
    expect(r.status).toBe(2);
    expect(r.stdout.toString()).toBe('');
    const line = r.stderr.toString();
    expect(line.endsWith('\n') && line.indexOf('\n') === line.length - 1).toBe(true);
    if (typeof err === 'string') expect(line).toBe(`redis-tap: ${err}\n`);
    else expect(line.slice('redis-tap: '.length, -1)).toMatch(err);
  });
});

describe('--since, --until, --client narrow the analysis like a BPF filter', () => {
  const start = () => plain.span.startTs!;

  test('--since 0 and a window around the whole capture change nothing but the source', () => {
    const r = report(['analyze', DEMO, '--since', '0']);
    expect(body(r)).toEqual(body(plain));
    expect(r.source.filter).toBe('--since 0');
    const from = new Date(Math.floor(start() * 1000) - 1000).toISOString();
    const to = new Date(Math.ceil(plain.span.endTs! * 1000) + 1000).toISOString();
    expect(body(report(['analyze', DEMO, '--since', from, '--until', to]))).toEqual(body(plain));
  });

  test('a window: packets outside are counted as filtered, the span is the window\'s', () => {
    const r = report(['analyze', DEMO, '--since', '0.1', '--until', '0.3']);
    expect(r.totals['packets']).toBe(plain.totals['packets']);
    const kept = r.totals['packets']! - r.totals['filteredPackets']!;
    expect(kept).toBeGreaterThan(0);
    expect(r.totals['filteredPackets']).toBeGreaterThan(0);
    expect(r.span.startTs!).toBeGreaterThanOrEqual(start() + 0.1);
    expect(r.span.endTs!).toBeLessThan(start() + 0.3);
    expect(r.warnings).toContain(`${r.totals['filteredPackets']} of ${plain.totals['packets']} packets fell outside --since 0.1 --until 0.3 and were skipped (they count in packets and bytes, nowhere else)`);
  });

  test('the same window as ISO times (with a zone) and as seconds from the start agree', () => {
    const iso = (s: number) => new Date(Math.round((start() + s) * 1e6) / 1000).toISOString();
    const plus1 = (s: number) => iso(s).replace('Z', '+01:00').replace(/T(\d\d)/, (_, h: string) => `T${String(Number(h) + 1).padStart(2, '0')}`);
    const a = report(['analyze', DEMO, '--since', '0.2', '--until', '0.4']);
    const b = report(['analyze', DEMO, '--since', iso(0.2), '--until', plus1(0.4)]);
    expect(body(b).totals).toEqual(body(a).totals);
  });

  test('a window over a rotated set counts from the first file\'s first packet', () => {
    const set = report(['analyze', 'x.pcap3', 'x.pcap1', 'x.pcap', 'x.pcap2', '--since', '0.25']);
    const whole = report(['analyze', DEMO, '--since', '0.25']);
    expect(body(set)).toEqual(body(whole));
  });

  test('--client keeps one client\'s connections, whole', () => {
    const r = report(['analyze', DEMO, '--client', '127.0.0.3']);
    const want = plain.clients.find((c) => c.ip === '127.0.0.3')!;
    expect(r.clients).toEqual([{ ...want, share: 1 }]);
    expect(r.totals['commands']).toBe(want.commands);
    expect(r.source.filter).toBe('--client 127.0.0.3');
  });

  test('--client networks, repeated, and IPv6', () => {
    const r = report(['analyze', DEMO, '--client', '127.0.0.2/31', '--client', '127.0.0.6']);
    expect(r.clients.map((c) => c.ip).sort()).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.6']);
    const v6 = report(['analyze', join(ROOT, 'captures', 'ipv6.pcap'), '--client', '::1/128']);
    expect(v6.totals['commands']).toBeGreaterThan(0);
    expect(v6.totals['filteredPackets']).toBe(0);
  });

  test('nothing in the window: an empty report that says where the capture is', () => {
    const r = report(['analyze', DEMO, '--since', '2030-01-01']);
    expect(r.totals['commands']).toBe(0);
    expect(r.warnings[0]).toMatch(/^every packet \(839\) fell outside --since 2030-01-01: nothing was analysed \(the capture runs from 2026-11-22 02:19:14\.\d{3} UTC to 2026-11-22 02:19:14\.\d{3} UTC\)$/);
  });

  test.each([
    { args: ['--since', 'yesterday'], err: /argument 'yesterday' is invalid\. 'yesterday' is not an ISO time/ },
    { args: ['--since', '2026-02-30'], err: /'2026-02-30' is not an ISO time/ },
    { args: ['--until', '1e3'], err: /'1e3' is not an ISO time/ },
    { args: ['--since', '1969-12-31T23:00:00Z'], err: /is outside the times a capture can hold \(1970-2200\)/ },
    { args: ['--since', '2', '--until', '1'], err: /^redis-tap: --until 1 is not later than --since 2: no packet could be kept\n$/ },
    { args: ['--client', 'checkout-service'], err: /--client checkout-service: no --clients mapping was given/ },
    { args: ['--client', '10.0.0.0/33'], err: /'10\.0\.0\.0\/33' is not an IP address/ },
  ])('$args: one line, exit 2', ({ args, err }) => {
    const r = run(['analyze', DEMO, ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr.toString()).toMatch(err);
    expect(r.stderr.toString().trimEnd()).not.toContain('\n');
  });
});
