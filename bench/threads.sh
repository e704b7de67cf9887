#!/usr/bin/env bash
# Throughput by thread count on the bench captures (bench/make-captures.sh): `analyze --json
# --threads N` for each N in turn, round after round so the machine's noise falls on all.
# Prints wall time, user+sys CPU, peak RSS per run, and the CPU the rest of the machine used
# meanwhile (from /proc/stat: on a shared VM other work takes cores, and wall times with it);
# then per N the median wall time, commands/s (Node start included) and the speed-up over one
# thread, over all runs and over the quiet ones (others used under 0.3 s of CPU).
# TAP_DIR: the build to measure (another worktree, say), on this tree's captures.
#   THREADS='1 2 3 4' RUNS=3 PORT=7460 bash bench/threads.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
PORT=${PORT:-7450}
THREADS=${THREADS:-1 2}
TAP=${TAP_DIR:-.}/bin/redis-tap.js
log=$(mktemp)
one=$(mktemp)
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
for name in ${CAPTURES:-pipelined unpipelined}; do
  f=$(pwd)/bench/out/$name.pcap
  [ -f "$f" ] || { echo "missing $f: run bench/make-captures.sh"; continue; }
  cmds=$(node "$TAP" analyze "$f" -p "$PORT" --json --threads 1 | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).totals.commands))')
  for _ in $(seq "$RUNS"); do
    for t in $THREADS; do
      b0=$(busy)
      /usr/bin/time -o "$one" -f "%e %U %S %M" node "$TAP" analyze "$f" -p "$PORT" --json --threads "$t" >/dev/null
      b1=$(busy)
      read -r wall user sys kb <"$one"
      echo "$name $t $wall $user $sys $kb $((b1 - b0))" >>"$log"
      tail -1 "$log" | awk '{ cpu = $4 + $5; o = $7 / 100 - cpu; printf "%s threads=%s  %s s wall  %.2f s user+sys  %d MB  others %.1f s\n", $1, $2, $3, cpu, $6 / 1024, o < 0 ? 0 : o }'
    done
  done
  node -e '
    const [file, name, cmds] = process.argv.slice(1);
    const rows = require("fs").readFileSync(file, "utf8").trim().split("\n").map((l) => l.split(" ")).filter((r) => r[0] === name);
    const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
    const by = new Map();
    for (const [, t, wall, user, sys, kb, busy] of rows) {
      if (!by.has(t)) by.set(t, []);
      by.get(t).push({ wall: +wall, cpu: +user + +sys, kb: +kb, quiet: busy / 100 - user - sys < 0.3 });
    }
    const base = med(by.get("1")?.map((r) => r.wall) ?? [NaN]);
    const quietBase = med(by.get("1")?.filter((r) => r.quiet).map((r) => r.wall) ?? [NaN]);
    for (const [t, rs] of by) {
      const w = med(rs.map((r) => r.wall));
      const q = rs.filter((r) => r.quiet).map((r) => r.wall);
      const quiet = q.length === 0 ? "no quiet run" : `${q.length} quiet: median ${med(q).toFixed(2)} s, x${(quietBase / med(q)).toFixed(2)}`;
      console.log(`${name}: ${t} threads: median ${w.toFixed(2)} s wall (${(cmds / w / 1e6).toFixed(2)} M commands/s), user+sys ${med(rs.map((r) => r.cpu)).toFixed(2)} s, peak RSS ${Math.round(Math.max(...rs.map((r) => r.kb)) / 1024)} MB, x${(base / w).toFixed(2)} of 1 thread; ${quiet}`);
    }' "$log" "$name" "$cmds"
done
rm -f "$log" "$one"

# CPU=1: where each thread count's CPU goes (one run each, threads polled from /proc): the
# main thread (it reads the file as shard 0, then merges and reports), the other shards (the
# last-started busy threads), and the rest (V8's compiler and collector). On N free cores a
# run takes about the slowest of the main thread and the shards.
if [ "${CPU:-0}" = 1 ]; then
  for name in ${CAPTURES:-pipelined unpipelined}; do
    f=$(pwd)/bench/out/$name.pcap
    for t in $THREADS; do
      node "$TAP" analyze "$f" -p "$PORT" --json --threads "$t" >/dev/null & pid=$!
      declare -A cpu=()
      while kill -0 "$pid" 2>/dev/null; do
        for task in /proc/$pid/task/*; do
          v=$(awk '{split($0,a,") "); split(a[2],f," "); print f[12]+f[13]}' "$task/stat" 2>/dev/null) && cpu[$(basename "$task")]=$v
        done
        sleep 0.02
      done
      for k in "${!cpu[@]}"; do echo "$k ${cpu[$k]}"; done | sort -n | awk -v pid="$pid" -v t="$t" -v name="$name" '
        { tid[NR] = $1; c[NR] = $2 * 10 }
        END {
          shards = t - 1; max = 0; sum = 0; rest = 0; main = 0
          for (i = 1; i <= NR; i++) {
            if (tid[i] == pid) main = c[i]
            else if (i > NR - shards) { sum += c[i]; if (c[i] > max) max = c[i] }
            else rest += c[i]
          }
          printf "%s: %d threads: main (shard 0, merge, report) %d ms, other shards %d ms (slowest %d ms), compiler, collector and the rest %d ms\n", name, t, main, sum, max, rest
        }'
      unset cpu
    done
  done
fi
