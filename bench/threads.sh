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
