#!/usr/bin/env bash
# Makes the large benchmark captures the way users would: a redis-server on loopback and
# redis-benchmark traffic written by `tcpdump -i lo -w`. Output goes to bench/out/ (not committed).
#   unpipelined.pcap  redis-benchmark -n 500000 -c 50 -r 100000 -t set,get   (1 M requests)
#   pipelined.pcap    redis-benchmark -P 16 -n 1000000 -c 50 -r 100000 -t set,get (2 M requests)
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p out
PORT=${PORT:-7450}
redis-server --port "$PORT" --save '' --appendonly no --daemonize yes --pidfile /tmp/redis-tap-bench.pid >/dev/null
trap 'kill "$(cat /tmp/redis-tap-bench.pid)" 2>/dev/null || true' EXIT
sleep 0.5
capture() {
  local name=$1; shift
  tcpdump -i lo -U -B 262144 -w "out/$name.pcap" "tcp port $PORT" 2>"out/$name.tcpdump.log" &
  local tpid=$!
  sleep 1
  redis-benchmark -p "$PORT" "$@" -q 2>&1 | tr "\r" "\n" | grep "requests per second"
  sleep 1
  kill -INT "$tpid"; wait "$tpid" || true
  grep -E 'captured|dropped' "out/$name.tcpdump.log" || true
}
capture unpipelined -n 500000 -c 50 -r 100000 -t set,get
capture pipelined -P 16 -n 1000000 -c 50 -r 100000 -t set,get
ls -la out/*.pcap
# 5 M distinct keys, for the memory bound (peak RSS must not grow with the number of keys).
tcpdump -i lo -U -B 262144 -w out/distinct5m.pcap "tcp port $PORT" 2>out/distinct5m.tcpdump.log &
tpid=$!
sleep 1
node distinct-keys.mjs "$PORT" 5000000 4
sleep 1
kill -INT "$tpid"; wait "$tpid" || true
grep -E 'captured|dropped' out/distinct5m.tcpdump.log || true
ls -la out/distinct5m.pcap
