#!/usr/bin/env bash
# Does a long live capture hold its memory? Steady moderate load on loopback for DURATION
# seconds, the observer's resident size sampled every SAMPLE seconds.
#
#   redis-server on its own port
#   redis-tap live -i lo -p PORT --json --duration DURATION
#   redis-benchmark in rounds of one second: RATE commands per round (SET and GET of random keys
#   among KEYSPACE, CLIENTS connections, unpipelined), then the rest of the second idle
#
# Prints RSS after the first minute and at the end of the window, the difference in %, kernel
# drops, and the commands redis-tap decoded against redis-server's own INFO commandstats.
# The target: the two RSS figures within 10%.
#
# usage (as root, by hand; not run in CI):  bash bench/soak.sh
# env:  DURATION=660  RATE=25000  CLIENTS=20  KEYSPACE=1000000  SAMPLE=10  PORT=<free port>
#       SKIP_BUILD=1  KEEP=1 (keep the work directory: report, samples, logs)
#       TAP_ARGS='--buffer-mb 192'   extra options for the observer
#       NODE_OPTIONS is passed on (e.g. --heapsnapshot-signal=SIGUSR2 to look inside)
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

DURATION=${DURATION:-660}
RATE=${RATE:-25000}
CLIENTS=${CLIENTS:-20}
KEYSPACE=${KEYSPACE:-1000000}
SAMPLE=${SAMPLE:-10}
TAP_ARGS=${TAP_ARGS:-}
WORK=$(mktemp -d /tmp/soak.XXXXXX)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "${KEEP:-}" ]; then echo "soak: outputs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

for tool in redis-server redis-cli redis-benchmark node; do
  command -v "$tool" >/dev/null || { echo "soak: $tool is not installed" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "soak: run as root (the live capture needs it)" >&2; exit 2; }
[ "$DURATION" -ge 120 ] || { echo "soak: DURATION must be at least 120 s (the first minute is the baseline)" >&2; exit 2; }

if [ -z "${PORT:-}" ]; then
  PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
fi
if [ -z "${SKIP_BUILD:-}" ]; then
  npx tsc -p tsconfig.json >"$WORK/tsc.log" 2>&1 || { echo "soak: tsc failed:" >&2; head -5 "$WORK/tsc.log" >&2; exit 2; }
fi

# INFO goes over a unix socket, so the capture never sees it.
SOCK="$WORK/redis.sock"
redis-server --port "$PORT" --bind 127.0.0.1 --unixsocket "$SOCK" --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do redis-cli -s "$SOCK" ping >/dev/null 2>&1 && break; sleep 0.05; done

# shellcheck disable=SC2086 # TAP_ARGS is a list of options
node bin/redis-tap.js live -i lo -p "$PORT" --json --duration "$DURATION" $TAP_ARGS >"$WORK/report.json" 2>"$WORK/tap.err" &
TAP_PID=$!
PIDS+=("$TAP_PID")
T0=$(date +%s)
sleep 2 # the capture is open well within this
kill -0 "$TAP_PID" 2>/dev/null || { echo "soak: redis-tap exited:" >&2; cat "$WORK/tap.err" >&2; exit 2; }
redis-cli -s "$SOCK" config resetstat >/dev/null

# Load until 10 s before the window ends, so every command sent is inside it.
LOAD_END=$((T0 + DURATION - 10))
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

# t, VmRSS, RssAnon (the heap), RssFile (the capture ring, mapped from its socket, and code), in MB
sample() { awk -v t="$1" '/^VmRSS/ {r=$2} /^RssAnon/ {a=$2} /^RssFile/ {s=$2} END {printf "%d %.1f %.1f %.1f\n", t, r/1024, a/1024, s/1024}' "/proc/$TAP_PID/status"; }
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "soak: redis-tap pid $TAP_PID on port $PORT, ${DURATION} s, ~${RATE} commands/s, samples every ${SAMPLE} s; load average $LOAD0" >&2
echo "  t(s)  rss(MB)    anon    file(ring, code)" >&2
: >"$WORK/samples"
peak='?'
while kill -0 "$TAP_PID" 2>/dev/null; do
  t=$(($(date +%s) - T0))
  [ "$t" -le "$DURATION" ] || break # past the window: the final report is being built
  s=$(sample "$t" 2>/dev/null) || break
  echo "$s" >>"$WORK/samples"
  peak=$(awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$TAP_PID/status" 2>/dev/null || echo "$peak")
  echo "$s" | awk '{printf "  %4d  %7.1f  %6.1f  %6.1f\n", $1, $2, $3, $4}' >&2
  sleep "$SAMPLE"
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
wait "$LOAD_PID" 2>/dev/null || true
wait "$TAP_PID" || { echo "soak: redis-tap failed:" >&2; cat "$WORK/tap.err" >&2; exit 1; }

sent=$(redis-cli -s "$SOCK" info commandstats | tr -d '\r' |
  awk -F'[:=,]' '/^cmdstat_/ && $1 != "cmdstat_info" && $1 != "cmdstat_config|resetstat" {n += $3} END {print n + 0}')
node -e '
const [samplesFile, reportFile, sent, peak, duration, load0, load1] = process.argv.slice(1);
const rows = require("fs").readFileSync(samplesFile, "utf8").trim().split("\n").map((l) => l.split(" ").map(Number));
const first = rows.find((r) => r[0] >= 60) ?? rows[0];
const last = rows[rows.length - 1];
const r = JSON.parse(require("fs").readFileSync(reportFile, "utf8"));
const t = r.totals;
const pct = ((last[1] - first[1]) / first[1]) * 100;
console.log(`soak: ${duration} s, ${Math.round(sent / (duration - 12))} commands/s sent on average; load average ${load0} at the start, ${load1} at the end`);
console.log(`  RSS after the first minute (t=${first[0]} s)  ${first[1].toFixed(1)} MB (anon ${first[2].toFixed(1)}, file ${first[3].toFixed(1)})`);
console.log(`  RSS at the end (t=${last[0]} s)              ${last[1].toFixed(1)} MB (anon ${last[2].toFixed(1)}, file ${last[3].toFixed(1)})`);
console.log(`  difference                               ${pct >= 0 ? "+" : ""}${pct.toFixed(1)}%   (peak RSS ${peak} MB)`);
console.log(`  kernel drops ${t.kernelDrops}, shed ${t.shedFrames}, gaps ${t.gaps}`);
console.log(`  commands decoded ${t.commands} of ${sent} in INFO commandstats (${sent > 0 ? ((t.commands / sent) * 100).toFixed(3) : "-"}%), unanswered ${t.unanswered}, connections ${t.connections} (${t.expiredConnections ?? 0} closed by the idle sweep)`);
' "$WORK/samples" "$WORK/report.json" "$sent" "$peak" "$DURATION" "$LOAD0" "$LOAD1"
