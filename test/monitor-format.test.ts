import { describe, expect, test } from 'vitest';
import { commandInfo, redactSecrets } from '../src/analysis/command-info.js';
import type { TrackedRequest } from '../src/analysis/tracked-request.js';
import type { TcpConn } from '../src/flow/types.js';
import { monitorLine, replySuffix } from '../src/output/monitor.js';
import { reprQuoted } from '../src/output/strings.js';

const conn: TcpConn = {
  id: 1, clientIp: '10.0.0.5', clientPort: 51514, serverIp: '10.0.0.1', serverPort: 6379,
  client: '10.0.0.5:51514', server: '10.0.0.1:6379', midstream: false, firstTsUs: 0, handlerState: null,
};

function req(args: string[], db: number | null, tsUs = 1732237283123456, argLens?: number[]): TrackedRequest {
  return {
    conn, db, redacted: false, expect: 0, outcome: 'ok', reply: null, replyBytes: 0, latencyUs: -1, queued: null, info: commandInfo(args),
    frame: { argc: args.length, args, argLens: argLens ?? args.map((a) => a.length), wireBytes: 0, inline: false, missingBytes: 0, startTsUs: tsUs, endTsUs: tsUs },
  };
}

describe('MONITOR line format (redis-cli monitor, sdscatrepr quoting)', () => {
  test.each([
    [['SET', 'key:1', 'v'], 0, '1732237283.123456 [0 10.0.0.5:51514] "SET" "key:1" "v"'],
    [['set', 'a b', ''], 3, '1732237283.123456 [3 10.0.0.5:51514] "set" "a b" ""'],
    [['SET', 'q', 'say "hi"\\now'], 0, '1732237283.123456 [0 10.0.0.5:51514] "SET" "q" "say \\"hi\\"\\\\now"'],
    [['SET', 'b', '\x00\x01\r\n\t\x07\x08\x7f\xff'], 0, '1732237283.123456 [0 10.0.0.5:51514] "SET" "b" "\\x00\\x01\\r\\n\\t\\a\\b\\x7f\\xff"'],
    [['GET', 'k'], null, '1732237283.123456 [? 10.0.0.5:51514] "GET" "k"'],
  ])('%j db %s', (args, db, want) => {
    expect(monitorLine(req(args, db))).toBe(want);
  });

  test('microseconds are zero-padded', () => {
    expect(monitorLine(req(['PING'], 0, 1732237283000042))).toBe('1732237283.000042 [0 10.0.0.5:51514] "PING"');
  });

  test('a cut argument says its full size', () => {
    expect(monitorLine(req(['SET', 'k', 'abc'], 0, 1732237283000000, [3, 1, 1000]))).toBe(
      '1732237283.000000 [0 10.0.0.5:51514] "SET" "k" "abc"...(1000 bytes)',
    );
  });

  test('--with-replies suffix', () => {
    const r = req(['GET', 'k'], 0);
    r.reply = { type: 0x24, wireBytes: 9, error: null, count: 3, head: ['abc'], innerErrors: null, missingBytes: 0, startTsUs: 0, endTsUs: 0 };
    r.replyBytes = 9;
    r.latencyUs = 120;
    expect(replySuffix(r)).toBe(' -> blob-string 9B 120us');
    r.outcome = 'unanswered';
    expect(replySuffix(r)).toBe(' -> (unanswered)');
  });

  test('an error answering a redacted request keeps only its code (ACL SETUSER quotes the rule)', () => {
    const args = ['ACL', 'SETUSER', 'bob', '<S3cret'];
    const lens = args.map((a) => a.length);
    const r = { ...req(args, 0, 1732237283000000, lens), redacted: redactSecrets('ACL', args, lens) };
    const error = "ERR Error in ACL SETUSER modifier '<S3cret': The password you are trying to remove from the user does not exist";
    r.reply = { type: 0x2d, wireBytes: error.length + 3, error, count: 0, head: [], innerErrors: null, missingBytes: 0, startTsUs: 0, endTsUs: 0 };
    r.outcome = 'error';
    r.replyBytes = error.length + 3;
    r.latencyUs = 80;
    const line = monitorLine(r) + replySuffix(r);
    expect(line).not.toContain('S3cret');
    expect(line).toContain('"ACL" "SETUSER" "bob" "(redacted)" -> simple-error "ERR (redacted)"');
    // Errors of other requests are shown whole.
    const plain = { ...r, redacted: false, frame: { ...r.frame, args: ['GET', 'k'] } };
    expect(replySuffix(plain)).toContain(reprQuoted(error));
  });
});
