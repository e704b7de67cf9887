/**
 * `monitor --with-replies` writes a line when its request's reply (or its loss) is known, and
 * in the order the requests were decoded on their connection: a request that gets no reply
 * (CLIENT REPLY OFF or SKIP) completes at once but waits for the requests before it.
 */
import { describe, expect, test } from 'vitest';
import { Analyzer } from '../src/analysis/analyzer.js';
import { analyzerOptions } from '../src/engine/options.js';
import { monitorListener } from '../src/output/monitor.js';
import { analyze, cmd } from './helpers/analyzer-run.js';

/** The commands of the lines written, in order, with what answered them. */
function lines(conversations: Parameters<typeof analyze>[0]): string[] {
  const out: string[] = [];
  const listener = monitorListener({ write: (l) => out.push(l) }, true);
  analyze(conversations, { analyzer: new Analyzer(analyzerOptions({ slowMs: 10, maxKeys: 100, top: 10 }), [listener]) });
  return out.map((l) => {
    const m = /\] (.*?) -> (\S+)/.exec(l)!;
    return `${m[1]} -> ${m[2]}`;
  });
}

describe('monitor --with-replies: lines in request order per connection', () => {
  test.each<[string, Parameters<typeof analyze>[0], string[]]>([
    ['r-noreply-line-order: a skipped GET after a slow one waits for it',
      [[['C', cmd('DEBUG', 'SLEEP', '0.05') + cmd('CLIENT', 'REPLY', 'SKIP') + cmd('GET', 'k') + cmd('PING')], ['S', '+OK\r\n+PONG\r\n']]],
      ['"DEBUG" "SLEEP" "0.05" -> simple-string', '"CLIENT" "REPLY" "SKIP" -> (no', '"GET" "k" -> (no', '"PING" -> simple-string']],
    ['OFF behind pending requests, then ON',
      [[['C', cmd('GET', 'a') + cmd('CLIENT', 'REPLY', 'OFF') + cmd('SET', 'b', '1')], ['C', cmd('CLIENT', 'REPLY', 'ON')], ['S', '$-1\r\n+OK\r\n']]],
      ['"GET" "a" -> blob-string', '"CLIENT" "REPLY" "OFF" -> (no', '"SET" "b" "1" -> (no', '"CLIENT" "REPLY" "ON" -> simple-string']],
    ['two connections: each in its own order, each as soon as it can',
      [[['C', cmd('GET', 'x') + cmd('CLIENT', 'REPLY', 'SKIP') + cmd('SET', 'y', '1')], ['S', '$1\r\nv\r\n']], [['C', cmd('PING')], ['S', '+PONG\r\n']]],
      ['"GET" "x" -> blob-string', '"CLIENT" "REPLY" "SKIP" -> (no', '"SET" "y" "1" -> (no', '"PING" -> simple-string']],
    ['requests left pending at the close come out in order, unanswered',
      [[['C', cmd('GET', 'a') + cmd('CLIENT', 'REPLY', 'SKIP') + cmd('GET', 'b') + cmd('GET', 'c')]]],
      ['"GET" "a" -> (unanswered)', '"CLIENT" "REPLY" "SKIP" -> (no', '"GET" "b" -> (no', '"GET" "c" -> (unanswered)']],
  ])('%s', (_name, conversations, expected) => {
    expect(lines(conversations)).toEqual(expected);
  });
});
