#!/usr/bin/env bash
# Does the terminal view slow the capture down? The MONITOR benchmark's load
# (redis-benchmark -P 16 -n 1000000 -t get) with `redis-tap live` running (a) with --no-tui and
# (b) with the full-screen view open inside tmux (120x40), median ops/s of RUNS runs each, and
# the commands each observer decoded. As root:  bash bench/tui-impact.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
PORT=${PORT:-7470}
SESSION=redis-tap-tui-impact
redis-server --port "$PORT" --save '' --appendonly no --daemonize yes --pidfile /tmp/$SESSION.pid >/dev/null
cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; kill "$(cat /tmp/$SESSION.pid)" 2>/dev/null || true; }
trap cleanup EXIT
sleep 0.5
bench() { redis-benchmark -p "$PORT" -P 16 -n 1000000 -t get -q 2>&1 | tr '\r' '\n' | grep 'per second' | awk '{print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run_plain() {
  node bin/redis-tap.js live -i lo -p "$PORT" --json --no-tui > /tmp/$SESSION.json &
  local pid=$!
  sleep 1.5
  bench
  sleep 1
  kill -INT "$pid"; wait "$pid"
  node -e 'const r=require(process.argv[1]); console.error(`    plain: ${r.totals.commands} commands, ${r.totals.kernelDrops} drops, ${r.totals.shedFrames} shed`)' /tmp/$SESSION.json
}
run_tui() {
  tmux new-session -d -s "$SESSION" -x 120 -y 40 "node bin/redis-tap.js live -i lo -p $PORT --tui > /tmp/$SESSION.txt 2>&1"
  sleep 2
  bench
  sleep 1.5
  tmux capture-pane -p -t "$SESSION" > /tmp/$SESSION.screen
  tmux send-keys -t "$SESSION" q
  sleep 1.5
  echo "    view: $(grep -oE 'GET +[0-9,]+' /tmp/$SESSION.screen | head -1) on screen; report: $(grep -oE 'commands [0-9,]+' /tmp/$SESSION.txt | head -1), $(grep -oE 'kernel drops [0-9]+' /tmp/$SESSION.txt | head -1)" >&2
}
plain=(); tui=()
for _ in $(seq "$RUNS"); do
  plain+=("$(run_plain)")
  tui+=("$(run_tui)")
done
p=$(printf '%s\n' "${plain[@]}" | median); t=$(printf '%s\n' "${tui[@]}" | median)
echo "live --no-tui : median $p ops/s (runs: ${plain[*]})"
echo "live --tui    : median $t ops/s (runs: ${tui[*]})"
awk -v p="$p" -v t="$t" 'BEGIN { printf "view open / view closed: %.3f\n", t / p }'
