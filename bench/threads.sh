#!/usr/bin/env bash
# Throughput by thread count on the bench captures (bench/make-captures.sh): `analyze --json
# --threads N` for each N in turn, round after round so the machine's noise falls on all.
# Prints wall time, user CPU, peak RSS per run, then per N the median wall time, commands/s
# (Node start included) and the speed-up over one thread.
#   THREADS='1 2 3 4' RUNS=3 PORT=7460 bash bench/threads.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
PORT=${PORT:-7450}
THREADS=${THREADS:-1 2}
log=$(mktemp)
for name in ${CAPTURES:-pipelined unpipelined}; do
  f=$(pwd)/bench/out/$name.pcap
  [ -f "$f" ] || { echo "missing $f: run bench/make-captures.sh"; continue; }
  cmds=$(node bin/redis-tap.js analyze "$f" -p "$PORT" --json --threads 1 | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).totals.commands))')
  for _ in $(seq "$RUNS"); do
    for t in $THREADS; do
      /usr/bin/time -f "$name $t %e %U %M" node bin/redis-tap.js analyze "$f" -p "$PORT" --json --threads "$t" 2>>"$log" >/dev/null
      tail -1 "$log" | awk '{printf "%s threads=%s  %s s wall  %s s user  %d MB\n", $1, $2, $3, $4, $5/1024}'
    done
  done
  node -e '
    const [file, name, cmds] = process.argv.slice(1);
    const rows = require("fs").readFileSync(file, "utf8").trim().split("\n").map((l) => l.split(" ")).filter((r) => r[0] === name);
    const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
    const by = new Map();
    for (const [, t, wall, user, kb] of rows) { if (!by.has(t)) by.set(t, []); by.get(t).push([+wall, +user, +kb]); }
    const base = med(by.get("1")?.map((r) => r[0]) ?? [NaN]);
    for (const [t, rs] of by) {
      const w = med(rs.map((r) => r[0]));
      console.log(`${name}: ${t} threads: median ${w.toFixed(2)} s wall (${(cmds / w / 1e6).toFixed(2)} M commands/s), user ${med(rs.map((r) => r[1])).toFixed(2)} s, peak RSS ${Math.round(Math.max(...rs.map((r) => r[2])) / 1024)} MB, x${(base / w).toFixed(2)} of 1 thread`);
    }' "$log" "$name" "$cmds"
done
rm -f "$log"

# CPU=1: where each thread count's CPU goes (one run each, threads polled from /proc): the
# reader (main thread), each shard (the last-started busy threads), and the rest (V8's
# collector). On N free cores a run takes about the reader's part plus its slowest shard.
if [ "${CPU:-0}" = 1 ]; then
  for name in ${CAPTURES:-pipelined unpipelined}; do
    f=$(pwd)/bench/out/$name.pcap
    for t in $THREADS; do
      node bin/redis-tap.js analyze "$f" -p "$PORT" --json --threads "$t" >/dev/null & pid=$!
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
          shards = (t == 1) ? 0 : t; max = 0; sum = 0; rest = 0; main = 0
          for (i = 1; i <= NR; i++) {
            if (tid[i] == pid) main = c[i]
            else if (i > NR - shards) { sum += c[i]; if (c[i] > max) max = c[i] }
            else rest += c[i]
          }
          printf "%s: %d threads: reader %d ms, shards %d ms (slowest %d ms), collector and the rest %d ms\n", name, t, main, sum, max, rest
        }'
      unset cpu
    done
  done
fi
