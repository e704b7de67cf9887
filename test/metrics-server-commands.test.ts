import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { commandInfo } from '../src/analysis/command-info.js';
import { bucketOf, DURATION_BOUNDS_US, MAX_NAMES, MAX_SERVERS, OTHER, ServerCommands } from '../src/analysis/server-commands.js';
import type { Outcome, TrackedRequest } from '../src/analysis/tracked-request.js';
import type { TcpConn } from '../src/flow/types.js';

function req(server: string, name: string, latencyUs: number, outcome: Outcome = 'ok', wireBytes = 30, replyBytes = 5): TrackedRequest {
  const conn = { server } as TcpConn;
  return {
    conn, frame: { wireBytes } as TrackedRequest['frame'], info: commandInfo([name]), redacted: false, db: 0, expect: 0,
    outcome, reply: null, replyBytes, latencyUs, queued: null,
  };
}

describe('ServerCommands', () => {
  test.each([
    [0, 0], [25, 0], [26, 1], [50, 1], [51, 2], [1_000, 5], [1_001, 6], [10_000_000, 17], [10_000_001, 18], [1e12, 18],
  ])('a latency of %d us falls in bucket %d (le is inclusive)', (us, bucket) => {
    expect(bucketOf(us)).toBe(bucket);
    if (bucket < DURATION_BOUNDS_US.length) expect(us).toBeLessThanOrEqual(DURATION_BOUNDS_US[bucket]!);
  });

  test('counts, errors, bytes and buckets per server and command; unanswered requests are counted, not timed', () => {
    const sc = new ServerCommands();
    sc.add(req('10.0.0.1:6379', 'GET', 80));
    sc.add(req('10.0.0.1:6379', 'get', 300, 'error'));
    sc.add(req('10.0.0.1:6379', 'GET', -1, 'unanswered', 30, 0));
    sc.add(req('10.0.0.2:6380', 'SET', 20_000, 'ok', 100, 5));
    sc.addError('10.0.0.2:6380', 'SET');
    const rows = sc.snapshot().map((r) => ({ ...r, buckets: [...r.buckets].flatMap((n, i) => (n > 0 ? [[i, n]] : [])) }));
    expect(rows).toEqual([
      { server: '10.0.0.1:6379', cmd: 'GET', count: 3, errors: 1, requestBytes: 90, replyBytes: 10, buckets: [[2, 1], [4, 1]], sumUs: 380 },
      { server: '10.0.0.2:6380', cmd: 'SET', count: 1, errors: 1, requestBytes: 100, replyBytes: 5, buckets: [[9, 1]], sumUs: 20_000 },
    ]);
  });

  test('merging two halves gives the same rows as adding everything to one', () => {
    const item = fc.record({ s: fc.integer({ min: 0, max: 3 }), n: fc.constantFrom('GET', 'SET', 'HGET', 'DEL'), us: fc.integer({ min: 0, max: 20_000_000 }), err: fc.boolean() });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 200 }), fc.nat(), (items, cut) => {
        const whole = new ServerCommands();
        const a = new ServerCommands();
        const b = new ServerCommands();
        items.forEach((it, i) => {
          const r = req(`10.0.0.${it.s}:6379`, it.n, it.us, it.err ? 'error' : 'ok');
          whole.add(r);
          (i < cut % (items.length + 1) ? a : b).add(r);
        });
        a.merge(b);
        expect(a.snapshot()).toEqual(whole.snapshot());
      }),
    );
  });

  test('runs of one server and command, past both bounds, land in the rows a plain map model gives', () => {
    // The model: the first MAX_SERVERS endpoints and, per endpoint, the first MAX_NAMES names
    // get rows; later ones count under OTHER.
    const sc = new ServerCommands();
    const model = new Map<string, Map<string, number>>();
    const countIn = (server: string, name: string): void => {
      const s = model.has(server) || model.size < MAX_SERVERS ? server : OTHER;
      const t = model.get(s) ?? new Map<string, number>();
      model.set(s, t);
      const n = t.has(name) || t.size < MAX_NAMES ? name : OTHER;
      t.set(n, (t.get(n) ?? 0) + 1);
    };
    let x = 1;
    for (let i = 0; i < 20_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const server = `10.0.${x % (MAX_SERVERS + 8)}.1:6379`;
      const name = `CMD${(x >>> 8) % (MAX_NAMES + 40)}`;
      for (let run = (x >>> 20) % 4; run >= 0; run--) {
        sc.add(req(server, name, 10));
        countIn(server, name);
      }
    }
    const want = [...model].flatMap(([server, t]) => [...t].map(([cmd, count]) => `${server} ${cmd} ${count}`)).sort();
    expect(sc.snapshot().map((r) => `${r.server} ${r.cmd} ${r.count}`).sort()).toEqual(want);
  });

  test('a snapshot is a copy: later requests do not change it', () => {
    const sc = new ServerCommands();
    sc.add(req('s:1', 'GET', 10));
    const snap = sc.snapshot();
    sc.add(req('s:1', 'GET', 10));
    expect([snap[0]!.count, snap[0]!.buckets[0]]).toEqual([1, 1]);
  });

  test(`bounded: ${MAX_SERVERS} endpoints x ${MAX_NAMES} names, the rest counted as '${OTHER}'`, () => {
    const sc = new ServerCommands();
    let n = 0;
    for (let s = 0; s < 100; s++) {
      for (let c = 0; c < 300; c++) {
        sc.add(req(`10.0.${s}.1:6379`, `CMD${c}`, 10));
        n++;
      }
    }
    const rows = sc.snapshot();
    expect(rows.reduce((t, r) => t + r.count, 0)).toBe(n);
    expect(new Set(rows.map((r) => r.server)).size).toBe(MAX_SERVERS + 1);
    expect(sc.size).toBeLessThanOrEqual((MAX_SERVERS + 1) * (MAX_NAMES + 1));
    expect(rows.filter((r) => r.server === OTHER && r.cmd === OTHER)).toHaveLength(1);
  });
});
