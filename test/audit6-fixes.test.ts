/**
 * What the audit against redis-server 7.0 traffic (audit6) found misleading, each as a case:
 * cluster mode needs real evidence of a cluster.
 */
import { describe, expect, test } from 'vitest';
import { emptyCaptureStats } from '../src/capture/packet.js';
import { emptyFlowStats } from '../src/flow/flow-table.js';
import { buildReport } from '../src/output/report.js';
import { analyze, cmd, type Step } from './helpers/analyzer-run.js';

const DISABLED = '-ERR This instance has cluster support disabled\r\n';

describe('cluster mode is seen only from evidence of a cluster', () => {
  test.each([
    ['CLUSTER INFO refused by a standalone server', false, [['C', cmd('CLUSTER', 'INFO')], ['S', DISABLED], ['C', cmd('GET', 'k')], ['S', '$1\r\nv\r\n']]],
    ['READONLY and ASKING refused by a standalone server', false, [['C', cmd('READONLY') + cmd('ASKING')], ['S', DISABLED + DISABLED]]],
    ['CLUSTER INFO queued in MULTI, refused in EXEC', false, [['C', cmd('MULTI') + cmd('CLUSTER', 'INFO') + cmd('EXEC')], ['S', '+OK\r\n+QUEUED\r\n*1\r\n' + DISABLED]]],
    ['CLUSTER INFO answered', true, [['C', cmd('CLUSTER', 'INFO')], ['S', '$23\r\ncluster_state:ok\r\n12345\r\n']]],
    ['READONLY answered', true, [['C', cmd('READONLY')], ['S', '+OK\r\n']]],
    ['a MOVED redirection', true, [['C', cmd('GET', 'k')], ['S', '-MOVED 3999 127.0.0.1:6381\r\n']]],
  ] as [string, boolean, Step[]][])('%s -> cluster %s', (_name, cluster, steps) => {
    const a = analyze([steps]);
    const r = buildReport({
      analyzer: a, capture: emptyCaptureStats('pcap'), flow: emptyFlowStats(),
      source: { kind: 'file', name: 'x.pcap', format: 'pcap', ports: [6379], filter: null },
      top: 10, firstTsUs: null, lastTsUs: null, backwardsPackets: 0, maxBackwardsUs: 0,
    });
    expect(r.cluster).toBe(cluster);
    expect(r.hotSlots.length > 0).toBe(cluster && r.hotKeys.length > 0);
  });
});
