/**
 * The CPU priority of a live capture. By default the analysis runs under Linux's SCHED_IDLE
 * policy: it gets a CPU only when Redis (and everything else) leaves one idle, and the kernel
 * ring (--buffer-mb) holds the packets meanwhile. Their timestamps are taken by the kernel as
 * the packets pass, so a late analysis measures the same latencies; what it can cost is drops
 * once the ring is full, and those are counted.
 *
 * Why SCHED_IDLE and not nice 19: on this project's 2-CPU machine a busy loop at nice 19 still
 * held a pipelined redis-benchmark to 0.51x of its throughput, one under SCHED_IDLE to 0.75x
 * (SCENARIOS='alone burn19 burnidle' bench/monitor-impact.sh, medians of 3). Lowering one's
 * own priority needs no privilege.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export type CpuPriority = 'idle' | 'normal';

export const CPU_PRIORITIES: readonly CpuPriority[] = ['idle', 'normal'];

/** sched(7) policy numbers as /proc/PID/stat shows them (field 41). */
const SCHED_IDLE = 5;

/** This process's scheduling policy number, or null where /proc does not say. */
export function schedPolicy(pid: number = process.pid): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const policy = Number(fields[41 - 3]);
    return Number.isInteger(policy) ? policy : null;
  } catch {
    return null;
  }
}

/**
 * Moves every thread of this process (V8's and libuv's included; threads started later inherit
 * it) to SCHED_IDLE with util-linux's chrt, as Node has no call for it. Returns null when done,
 * else why not, in a few words.
 */
export function enterIdlePriority(): string | null {
  if (process.platform !== 'linux') return 'SCHED_IDLE exists on Linux only';
  const r = spawnSync('chrt', ['--idle', '--all-tasks', '--pid', '0', String(process.pid)], { encoding: 'utf8', timeout: 5000 });
  if (r.error !== undefined) return `chrt: ${r.error.message}`;
  if (r.status !== 0) return `chrt: ${(r.stderr || `exit ${r.status}`).trim().split('\n')[0]}`;
  return schedPolicy() === SCHED_IDLE ? null : 'chrt ran but the policy did not change';
}
