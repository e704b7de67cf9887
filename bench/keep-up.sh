#!/usr/bin/env bash
# Does `redis-tap live` keep up with a busy Redis (issue 11)? On loopback, against a
# redis-server of its own:
#  (i)   observer CPU per command against Redis's own CPU per command, for
#          pipelined:   redis-benchmark -P 16 -n 1000000 -t get           (target <= 0.5x)
#          unpipelined: redis-benchmark -n 500000 -c 50 -r 100000 -t set,get (target <= 0.25x)
#  (ii)  sustained: the pipelined load three times back to back under one observer: kernel
#        drops, commands decoded against commands Redis counted (INFO commandstats), and
#        Redis's throughput against the same three runs with no observer
#        (target: 0 drops, every command, >= 0.9x)
#  (iii) the observer's peak RSS (VmHWM)
# CPU is user+system time from /proc/PID/stat as in bench/monitor-impact.sh: the observer's from
# the load's start until it has worked through its backlog and idles, Redis's over the load.
# Medians of RUNS rounds; within a round the scenarios take turns so drifting load blurs all alike.
#
# usage (as root):  bench/keep-up.sh
# env:  RUNS=3  PORT=<free port>
#       TAP_DIR=<dir with bin/redis-tap.js and a built dist/>   default: this script's checkout
#       TAP_ARGS='--threads 2'   extra options for the observer, after its default settings
#       GET_N=1000000  SETGET_N=500000  PIPELINE=16  SUSTAIN=3 (runs back to back in (ii))
#       PARTS='pipelined unpipelined sustained'   a subset
#       BUILD=1   npx tsc -p tsconfig.json in TAP_DIR first;  KEEP=1 keeps the observers' output
#       WARM=1    (i) measures a second load under the same observer, after a first one unmeasured:
#                 the cost per command once the JIT has compiled the hot code (a long-running
#                 observer's), rather than a first burst's, which includes compiling it
# The observer is `node bin/redis-tap.js live -i lo -p PORT --json $TAP_ARGS`, run from TAP_DIR;
# its threads are counted in its /proc/PID/stat, processes it would spawn are not.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
TAP_DIR=$(cd "${TAP_DIR:-$HERE}" && pwd)
export LC_ALL=C

RUNS=${RUNS:-3}
GET_N=${GET_N:-1000000}
SETGET_N=${SETGET_N:-500000}
PIPELINE=${PIPELINE:-16}
SUSTAIN=${SUSTAIN:-3}
PARTS=${PARTS:-pipelined unpipelined sustained}
WARM=${WARM:-0}
TAP_ARGS=${TAP_ARGS:-}
HZ=$(getconf CLK_TCK)
NAME=keep-up
# shellcheck source=bench/lib/root-bench.sh
. "$HERE/bench/lib/root-bench.sh"
bench_workdir
need_tools redis-server redis-cli redis-benchmark node jq
need_root 'the live capture needs it'
if [ -n "${BUILD:-}" ]; then
  (cd "$TAP_DIR" && npx tsc -p tsconfig.json) || { echo "keep-up: build failed in $TAP_DIR" >&2; exit 2; }
fi
[ -f "$TAP_DIR/dist/cli/live.js" ] || { echo "keep-up: $TAP_DIR/dist/cli/live.js missing: build first (or BUILD=1)" >&2; exit 2; }

if [ -z "${PORT:-}" ]; then
  PORT=$(free_port)
fi

redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -p "$PORT" ping >/dev/null 2>&1 || { echo "keep-up: redis-server did not start on port $PORT: $(tail -1 "$WORK/redis.log")" >&2; exit 1; }
redis-cli -p "$PORT" set key:__rand_int__ xxx >/dev/null # what the pipelined GETs read

median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# Commands Redis executed so far, INFO itself left out (this script's own probes).
redis_calls() {
  redis-cli -p "$PORT" info commandstats | tr -d '\r' |
    awk -F'[:=,]' '/^cmdstat_/ && $1 != "cmdstat_info" {s += $3} END {print s + 0}'
}

start_observer() { # $1: output prefix; sets OBS
  # shellcheck disable=SC2086 # TAP_ARGS is a list of options
  (cd "$TAP_DIR" && exec node bin/redis-tap.js live -i lo -p "$PORT" --json $TAP_ARGS) >"$1.json" 2>"$1.err" &
  OBS=$!
  PIDS+=("$OBS")
  sleep 1
  kill -0 "$OBS" 2>/dev/null || { echo "keep-up: the observer exited early:" >&2; cat "$1.err" >&2; exit 1; }
  wait_idle "$OBS" # node started and the capture open: what follows is the load's cost
}

stop_observer() { # $1: pid; SIGINT prints the report
  kill -INT "$1" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# "decoded kernelDrops interfaceDrops shedFrames gaps" from the observer's final report, INFO left out
report_fields() {
  jq -r '[(.totals.commands - ([.commands[] | select((.name | ascii_upcase) == "INFO") | .count] | add // 0)),
          (.totals.kernelDrops // "null"), (.totals.interfaceDrops // "null"), (.totals.shedFrames // 0), .totals.gaps] | map(tostring) | join(" ")' "$1" 2>/dev/null ||
    { echo "keep-up: no report in $1:" >&2; tail -3 "${1%.json}.err" >&2; echo "nan nan nan nan nan"; }
}

# sum of "requests per second" over the tests of one redis-benchmark run
rps() { tr '\r' '\n' | grep -o '[0-9.]* requests per second' | awk '{s += $1} END {print s + 0}'; }

bench_get() { redis-benchmark -p "$PORT" -P "$PIPELINE" -n "$GET_N" -t get -q 2>&1 | rps; }
bench_setget() { redis-benchmark -p "$PORT" -n "$SETGET_N" -c 50 -r 100000 -t set,get -q 2>&1 | rps; }

# (i): one load under a fresh observer (WARM=1: after a first, unmeasured); appends "sent
# redis_ticks obs_ticks rss decoded drops ifdrops shed gaps sent_in_all" to NAME.runs, where
# sent is the measured load's commands and decoded and sent_in_all count both loads
cost_once() {
  local name=$1 load=$2 out="$WORK/$1.$3" c0 c1 cw r0 r1 o0 o1 rss
  c0=$(redis_calls)
  start_observer "$out"
  if [ "$WARM" = 1 ]; then
    $load >/dev/null
    wait_idle "$OBS"
  fi
  cw=$(redis_calls)
  r0=$(cpu_ticks "$REDIS_PID")
  o0=$(cpu_ticks "$OBS")
  $load >/dev/null
  r1=$(cpu_ticks "$REDIS_PID")
  wait_idle "$OBS"
  o1=$(cpu_ticks "$OBS")
  rss=$(peak_rss_mb "$OBS")
  stop_observer "$OBS"
  c1=$(redis_calls)
  echo "$((c1 - cw)) $((r1 - r0)) $((o1 - o0)) $rss $(report_fields "$out.json") $((c1 - c0))" >>"$WORK/$name.runs"
}

# (ii): SUSTAIN pipelined loads back to back, with or without an observer; appends
# "mean_rps sent decoded drops ifdrops shed gaps rss" to sustain-NAME.runs
sustain_once() {
  local name=$1 out="$WORK/sustain-$1.$2" c0 c1 total=0 r fields="- - - - -" rss="-"
  c0=$(redis_calls)
  [ "$name" = tap ] && start_observer "$out"
  for _ in $(seq "$SUSTAIN"); do
    r=$(bench_get)
    total=$(awk -v a="$total" -v b="$r" 'BEGIN {print a + b}')
  done
  if [ "$name" = tap ]; then
    wait_idle "$OBS"
    rss=$(peak_rss_mb "$OBS")
    stop_observer "$OBS"
    fields=$(report_fields "$out.json")
  fi
  c1=$(redis_calls)
  echo "$(awk -v t="$total" -v n="$SUSTAIN" 'BEGIN {print t / n}') $((c1 - c0)) $fields $rss" >>"$WORK/sustain-$name.runs"
}

col() { awk -v c="$1" '{print $c}' "$WORK/$2.runs"; }
has() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

LOAD=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD" 'BEGIN {exit !(l > 0.5)}'; then
  echo "keep-up: load average is $LOAD before starting: other work will blur the figures" >&2
fi
echo "keep-up: $RUNS rounds; $(nproc) CPUs; redis $(redis-server --version | grep -o 'v=[0-9.]*'); port $PORT"
echo "observer: (cd $TAP_DIR && node bin/redis-tap.js live -i lo -p $PORT --json $TAP_ARGS)   [$(git -C "$TAP_DIR" log -1 --format='%h %s' 2>/dev/null | cut -c1-60)$(git -C "$TAP_DIR" status --porcelain 2>/dev/null | grep -qv '^??' && echo ', uncommitted changes')]"

for i in $(seq "$RUNS"); do
  has pipelined && cost_once pipelined bench_get "$i"
  has unpipelined && cost_once unpipelined bench_setget "$i"
  if has sustained; then
    # which goes first alternates, so neither always follows the other
    if [ $((i % 2)) = 1 ]; then sustain_once alone "$i"; sustain_once tap "$i"; else sustain_once tap "$i"; sustain_once alone "$i"; fi
  fi
  echo "keep-up: round $i/$RUNS done" >&2
done

ns_per() { awk -v t="$1" -v hz="$HZ" -v n="$2" 'BEGIN {if (n > 0) printf "%.0f", t / hz * 1e9 / n; else print "nan"}'; }
list() { paste -sd, -; }

echo
echo "(i) CPU per command, observer against Redis (medians of $RUNS; drops and decoded/sent per run)$([ "$WARM" = 1 ] && echo '; the second of two loads under one observer')"
printf '%-12s %-48s %10s %10s %10s %6s %7s  %-14s %s\n' load command "sent" "redis ns" "tap ns" ratio target "kernel drops" "decoded/sent"
for name in pipelined unpipelined; do
  has "$name" || continue
  if [ "$name" = pipelined ]; then cmd="redis-benchmark -P $PIPELINE -n $GET_N -t get"; target=0.5; else cmd="redis-benchmark -n $SETGET_N -c 50 -r 100000 -t set,get"; target=0.25; fi
  # per run: ns per command of each, then the ratio of that run
  awk -v hz="$HZ" '{r = $2 / hz * 1e9 / $1; o = $3 / hz * 1e9 / $1; print r, o, o / r}' "$WORK/$name.runs" >"$WORK/$name.ns"
  sent=$(col 1 "$name" | median)
  rns=$(awk '{print $1}' "$WORK/$name.ns" | median)
  ons=$(awk '{print $2}' "$WORK/$name.ns" | median)
  ratio=$(awk '{print $3}' "$WORK/$name.ns" | median)
  printf '%-12s %-48s %10.0f %10.0f %10.0f %5.2fx %6s  %-14s %s\n' "$name" "$cmd" "$sent" "$rns" "$ons" "$ratio" "<=${target}x" \
    "$(col 6 "$name" | list)" "$(awk '{print $5 "/" $10}' "$WORK/$name.runs" | list)"
done

if has sustained; then
  echo
  echo "(ii) sustained: $SUSTAIN x redis-benchmark -P $PIPELINE -n $GET_N -t get back to back (target: 0 drops, every command, >= 0.9x)"
  alone=$(col 1 sustain-alone | median)
  tap=$(col 1 sustain-tap | median)
  printf '  Redis throughput: alone %.0f ops/s, with redis-tap %.0f ops/s: %.3fx (per run: alone %s; tap %s)\n' "$alone" "$tap" \
    "$(awk -v a="$tap" -v b="$alone" 'BEGIN {print a / b}')" "$(col 1 sustain-alone | awk '{printf "%.0f\n", $1}' | list)" "$(col 1 sustain-tap | awk '{printf "%.0f\n", $1}' | list)"
  echo "  kernel drops per run: $(col 4 sustain-tap | list)   interface drops: $(col 5 sustain-tap | list)   shed frames: $(col 6 sustain-tap | list)   gaps: $(col 7 sustain-tap | list)"
  echo "  commands decoded/sent per run: $(awk '{printf "%s/%s (%s)\n", $3, $2, ($2 > 0 && $3 != "nan" ? sprintf("%.4f", $3 / $2) : "?")}' "$WORK/sustain-tap.runs" | list)"
fi

echo
printf '(iii) observer peak RSS (VmHWM, MB), max over runs:'
for name in pipelined unpipelined; do has "$name" && printf '  %s %s' "$name" "$(col 4 "$name" | sort -g | tail -1)"; done
has sustained && printf '  sustained %s' "$(col 8 sustain-tap | sort -g | tail -1)"
echo
echo "sent: commands Redis counted (INFO commandstats, INFO left out) while the observer ran; redis ns: Redis's CPU over"
echo "the load per command sent; tap ns: the observer's from the load's start until it idled; ratio: median of per-run ratios."
echo "CPU comes in ${HZ} Hz ticks: with a small GET_N/SETGET_N the per-command figures are coarse."
