#!/usr/bin/env bash
# Does the agent hold its memory and CPU over a long run? Steady load on loopback for DURATION
# seconds; the agent's resident size and CPU time sampled every SAMPLE seconds, /metrics scraped
# at each sample, window files written and pruned all along.
#
#   redis-server on its own port
#   redis-tap agent -i lo -p PORT --window WINDOW --out DIR --keep KEEP --events FILE --metrics-listen 127.0.0.1:MPORT
#   redis-benchmark in rounds of one second: RATE commands per round (SET and GET of random keys
#   among KEYSPACE, CLIENTS new connections each round, unpipelined), then the rest of the second idle
#
# Prints RSS after the first minute and at the end and the difference in % (target: within 10%),
# CPU seconds per minute of the second minute and of the last, kernel drops, window files, and the
# commands the agent counted (sum of redis_tap_commands_total) against redis-server's INFO commandstats.
#
# usage (as root, by hand; not run in CI):  bash bench/agent-soak.sh
# env:  DURATION=660  RATE=20000  CLIENTS=20  KEYSPACE=1000000  SAMPLE=10  WINDOW=10  KEEP=2m
#       PORT=<free>  MPORT=<free>  SKIP_BUILD=1  KEEP_WORK=1 (keep the work directory)  TAP_ARGS=''
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

DURATION=${DURATION:-660}
RATE=${RATE:-20000}
CLIENTS=${CLIENTS:-20}
KEYSPACE=${KEYSPACE:-1000000}
SAMPLE=${SAMPLE:-10}
WINDOW=${WINDOW:-10}
KEEP=${KEEP:-2m}
TAP_ARGS=${TAP_ARGS:-}
WORK=$(mktemp -d /tmp/agent-soak.XXXXXX)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "${KEEP_WORK:-}" ]; then echo "agent-soak: outputs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

for tool in redis-server redis-cli redis-benchmark node curl; do
  command -v "$tool" >/dev/null || { echo "agent-soak: $tool is not installed" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "agent-soak: run as root (the live capture needs it)" >&2; exit 2; }
[ "$DURATION" -ge 180 ] || { echo "agent-soak: DURATION must be at least 180 s (the first minute is the baseline)" >&2; exit 2; }

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
PORT=${PORT:-$(free_port)}
MPORT=${MPORT:-$(free_port)}
if [ -z "${SKIP_BUILD:-}" ]; then
  npx tsc -p tsconfig.json >"$WORK/tsc.log" 2>&1 || { echo "agent-soak: tsc failed:" >&2; head -5 "$WORK/tsc.log" >&2; exit 2; }
fi

# INFO goes over a unix socket, so the capture never sees it.
SOCK="$WORK/redis.sock"
redis-server --port "$PORT" --bind 127.0.0.1 --unixsocket "$SOCK" --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do redis-cli -s "$SOCK" ping >/dev/null 2>&1 && break; sleep 0.05; done

# shellcheck disable=SC2086 # TAP_ARGS is a list of options
node bin/redis-tap.js agent -i lo -p "$PORT" --metrics-listen "127.0.0.1:$MPORT" --window "$WINDOW" \
  --out "$WORK/windows" --keep "$KEEP" --events "$WORK/events.ndjson" $TAP_ARGS >"$WORK/tap.out" 2>"$WORK/tap.err" &
TAP_PID=$!
PIDS+=("$TAP_PID")
T0=$(date +%s)
sleep 2 # the capture is open well within this
kill -0 "$TAP_PID" 2>/dev/null || { echo "agent-soak: redis-tap exited:" >&2; cat "$WORK/tap.err" >&2; exit 2; }
redis-cli -s "$SOCK" config resetstat >/dev/null

LOAD_END=$((T0 + DURATION - 5))
(
  while [ "$(date +%s)" -lt "$LOAD_END" ]; do
    next=$(($(date +%s%N) / 1000000 + 1000))
    redis-benchmark -p "$PORT" -c "$CLIENTS" -P 1 -n $((RATE / 2)) -r "$KEYSPACE" -t set,get -q >/dev/null 2>&1
    left=$((next - $(date +%s%N) / 1000000))
    [ "$left" -gt 0 ] && sleep "$(awk -v ms="$left" 'BEGIN {printf "%.3f", ms / 1000}')"
  done
) &
LOAD_PID=$!
PIDS+=("$LOAD_PID")

TICKS=$(getconf CLK_TCK)
# t, VmRSS MB, RssAnon MB, RssFile MB (the capture ring and code), CPU seconds so far
sample() {
  local cpu
  cpu=$(awk -v hz="$TICKS" '{s = $0; sub(/^.*\) /, "", s); split(s, f, " "); printf "%.2f", (f[12] + f[13]) / hz}' "/proc/$TAP_PID/stat")
  awk -v t="$1" -v cpu="$cpu" '/^VmRSS/ {r=$2} /^RssAnon/ {a=$2} /^RssFile/ {s=$2} END {printf "%d %.1f %.1f %.1f %s\n", t, r/1024, a/1024, s/1024, cpu}' "/proc/$TAP_PID/status"
}
echo "agent-soak: redis-tap pid $TAP_PID on port $PORT, metrics on $MPORT, ${DURATION} s, ~${RATE} commands/s, samples every ${SAMPLE} s" >&2
echo "  t(s)  rss(MB)    anon    file  cpu(s)  series  heap used(MB)" >&2
: >"$WORK/samples"
while kill -0 "$TAP_PID" 2>/dev/null; do
  t=$(($(date +%s) - T0))
  [ "$t" -le "$DURATION" ] || break
  s=$(sample "$t" 2>/dev/null) || break
  # A scrape as Prometheus makes it (10 s timeout); -1 series when it did not answer in time.
  curl -s -m 10 "http://127.0.0.1:$MPORT/metrics" >"$WORK/scrape" || : >"$WORK/scrape"
  series=$(grep -c '^redis_tap_' "$WORK/scrape" || true)
  [ -s "$WORK/scrape" ] || series=-1
  heap=$(awk '/^nodejs_heap_size_used_bytes / {printf "%.1f", $2 / 1048576}' "$WORK/scrape")
  echo "$s $series ${heap:--1}" >>"$WORK/samples"
  echo "$s $series ${heap:--1}" | awk '{printf "  %4d  %7.1f  %6.1f  %6.1f  %6.2f  %6d  %6.1f\n", $1, $2, $3, $4, $5, $6, $7}' >&2
  sleep "$SAMPLE"
done
peak=$(awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$TAP_PID/status" 2>/dev/null || echo '?')
wait "$LOAD_PID" 2>/dev/null || true
sleep 1
curl -s -m 30 "http://127.0.0.1:$MPORT/metrics" >"$WORK/metrics.txt"
kill -TERM "$TAP_PID"
wait "$TAP_PID" || { echo "agent-soak: redis-tap failed:" >&2; cat "$WORK/tap.err" >&2; exit 1; }

sent=$(redis-cli -s "$SOCK" info commandstats | tr -d '\r' |
  awk -F'[:=,]' '/^cmdstat_/ && $1 != "cmdstat_info" && $1 != "cmdstat_config|resetstat" {n += $3} END {print n + 0}')
files=$(find "$WORK/windows" -name 'redis-tap-*.json' | wc -l)
node -e '
const fs = require("fs");
const [samplesFile, metricsFile, sent, peak, duration, files, window, keep] = process.argv.slice(1);
const rows = fs.readFileSync(samplesFile, "utf8").trim().split("\n").map((l) => l.split(" ").map(Number));
const first = rows.find((r) => r[0] >= 60) ?? rows[0];
const last = rows[rows.length - 1];
const at = (t) => rows.find((r) => r[0] >= t) ?? last;
const cpuPerMin = (a, b) => ((b[4] - a[4]) / (b[0] - a[0])) * 60;
const m = fs.readFileSync(metricsFile, "utf8");
const sum = (re) => m.split("\n").filter((l) => re.test(l)).reduce((n, l) => n + Number(l.split(" ").pop()), 0);
const counted = sum(/^redis_tap_commands_total\{/);
const pct = ((last[1] - first[1]) / first[1]) * 100;
console.log(`agent-soak: ${duration} s, windows of ${window} s kept ${keep}: ${files} window files at the end`);
console.log(`  RSS after the first minute (t=${first[0]} s)  ${first[1].toFixed(1)} MB (anon ${first[2].toFixed(1)}, file ${first[3].toFixed(1)})`);
console.log(`  RSS at the end (t=${last[0]} s)              ${last[1].toFixed(1)} MB (anon ${last[2].toFixed(1)}, file ${last[3].toFixed(1)})`);
console.log(`  difference                               ${pct >= 0 ? "+" : ""}${pct.toFixed(1)}%   (peak RSS ${peak} MB)`);
// One sample lands anywhere on the GC sawtooth: medians over minutes say more.
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const second = rows.filter((r) => r[0] >= 60 && r[0] < 120).map((r) => r[1]);
const lastFive = rows.filter((r) => r[0] >= last[0] - 300).map((r) => r[1]);
const mPct = ((median(lastFive) - median(second)) / median(second)) * 100;
console.log(`  RSS median, second minute ${median(second).toFixed(1)} MB, last five minutes ${median(lastFive).toFixed(1)} MB (${mPct >= 0 ? "+" : ""}${mPct.toFixed(1)}%), range ${Math.min(...lastFive).toFixed(1)}-${Math.max(...lastFive).toFixed(1)}`);
const early = [at(60), at(120)], late = [at(last[0] - 60), last];
console.log(`  CPU: ${cpuPerMin(...early).toFixed(2)} s per minute in the second minute, ${cpuPerMin(...late).toFixed(2)} s in the last`);
console.log(`  series in /metrics: ${first[5]} after a minute, ${last[5]} at the end`);
console.log(`  kernel drops ${sum(/^redis_tap_kernel_drops_total /)}, gaps ${sum(/^redis_tap_gaps_total /)}, window write failures ${sum(/^redis_tap_window_write_failures_total /)}`);
console.log(`  commands counted (sum of redis_tap_commands_total) ${counted} of ${sent} in INFO commandstats (${sent > 0 ? ((counted / sent) * 100).toFixed(3) : "-"}%)`);
' "$WORK/samples" "$WORK/metrics.txt" "$sent" "$peak" "$DURATION" "$files" "$WINDOW" "$KEEP"
