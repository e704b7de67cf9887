/**
 * A capture made with a snap length (`tcpdump -s 200`): each frame longer than it keeps only
 * its first bytes, so a big value loses its tail and its closing CRLF together, often with what
 * followed in the same segment. Requests and replies whose value was cut are still counted
 * and paired; what a cut took past a request's end (the next pipelined one) is lost, and the
 * replies after those to the requests before the cut can't be paired. A key whose name the cut
 * took part of is counted as a key whose name is unknown, never as the bytes left of it.
 */
import { describe, expect, test } from 'vitest';
import { Pipeline } from '../src/engine/pipeline.js';
import { analyzerOptions } from '../src/engine/options.js';
import { toPacket } from './helpers/flow-recorder.js';
import type { Frame } from './helpers/frame-build.js';
import { c, HS, s } from './helpers/tcp-conversation.js';

const mb = (...args: string[]): string => `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join('');
const bulk = (v: string): string => `$${v.length}\r\n${v}\r\n`;
const SNAP = 200;
const BIG = 'v'.repeat(1000);

/** The frame as a snap length leaves it: the first SNAP bytes kept, its wire length known. */
function snapped(f: Frame): Frame {
  return f.data.length > SNAP ? { ...f, capLen: SNAP, origLen: f.data.length } : f;
}

function run(frames: Frame[]) {
  const done: string[] = [];
  const pipe = new Pipeline(analyzerOptions({ slowMs: 10, maxKeys: 1000, top: 100 }), [6379], [{
    complete(r) {
      done.push(`${r.info.name} ${r.frame.args[1] ?? ''} -> ${r.outcome}${r.frame.missingBytes > 0 ? ' (request cut)' : ''}${r.reply !== null && r.reply.missingBytes > 0 ? ' (reply cut)' : ''}`);
    },
  }]);
  for (const f of frames) pipe.packet(toPacket(snapped(f)));
  pipe.finish();
  return { done, counters: pipe.analyzer.stats.counters, keys: pipe.analyzer.stats.keys.top(10) };
}

describe('a capture cut by a snap length', () => {
  test('a big SET and a big GET reply, a segment each: both counted, paired and partial', () => {
    const set = mb('SET', 'k', BIG);
    const get = mb('GET', 'k');
    const reply = bulk(BIG);
    const r = run([
      ...HS,
      c(10, 1000, set), s(20, 5000, '+OK\r\n'),
      c(30, 1000 + set.length, get), s(40, 5005, reply),
      c(50, 1000 + set.length + get.length, mb('GET', 'small')), s(60, 5005 + reply.length, '$1\r\nx\r\n'),
    ]);
    expect(r.done).toEqual(['SET k -> ok (request cut)', 'GET k -> ok (reply cut)', 'GET small -> ok']);
    expect(r.counters).toMatchObject({ commands: 3, replies: 3, unanswered: 0, partialValues: 2, requestBytes: set.length + get.length + mb('GET', 'small').length });
  });

  test('a cut that takes the next pipelined request too: the cut one is framed and paired, the lost one never seen', () => {
    const set = mb('SET', 'k', BIG);
    const both = set + mb('GET', 'k');
    const r = run([...HS, c(10, 1000, both), s(20, 5000, '+OK\r\n' + bulk(BIG)), c(30, 1000 + both.length, mb('PING')), s(40, 5000 + ('+OK\r\n' + bulk(BIG)).length, '+PONG\r\n')]);
    expect(r.done).toEqual(['SET k -> ok (request cut)', 'PING  -> ok']);
    // GET's reply (after SET's +OK) answers a request lost in the cut: skipped, not paired.
    expect(r.counters).toMatchObject({ commands: 2, unanswered: 0, unexpectedReplies: 0, replies: 2 });
  });

  test('a cut inside a pipelined key: the request is counted and paired, its key as one whose name is unknown', () => {
    // 39 bytes each; the frame's 54 header bytes leave 146 of payload: the fourth key (136..154) keeps 10 chars.
    const reqs = mb('INCR', 'counter:abcdefghij').repeat(4);
    const r = run([...HS, c(10, 1000, reqs), s(20, 5000, ':1\r\n:2\r\n:3\r\n:4\r\n')]);
    expect(r.done).toEqual([...Array(3).fill('INCR counter:abcdefghij -> ok'), 'INCR counter:ab -> ok (request cut)']);
    expect(r.keys.map((k) => [k.key, k.count])).toEqual([['counter:abcdefghij', 3]]);
    expect(r.counters).toMatchObject({ commands: 4, unanswered: 0, partialValues: 1, unnamedKeys: 1 });
  });
});
