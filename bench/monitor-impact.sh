#!/usr/bin/env bash
# What does watching Redis cost Redis? Throughput of a pipelined GET load on loopback,
#   (a) alone, (b) with `redis-cli monitor` attached, (c) with tcpdump writing a capture,
#   (d) with a redis-tap live capture running,
# median of RUNS runs each, plus each observer's CPU time per million commands, peak RSS and
# kernel drops, and redis-server's own CPU per million commands.
#
# usage (as root, from anywhere):  bench/monitor-impact.sh
# env:  RUNS=3  N=1000000  PIPELINE=16  PORT=<free port>  SKIP_BUILD=1
#       SCENARIOS='alone monitor tcpdump tap' (alone is the baseline of the ratios; keep it)
#         also: burn19, burnidle: a busy loop at nice 19 / under SCHED_IDLE, what any CPU use at
#         that priority costs Redis here (why redis-tap defaults to --cpu-priority idle)
#       KEEP=1 keeps the observers' outputs
#       TAP_ARGS='--threads 2'   extra options for the default observer of (d) (the CLI's live command)
#       TAP_CMD='node bench/live-load.mjs --iface lo --port $PORT'   observer for (d); $PORT is
#       expanded when it starts. It must stop on SIGINT and print kernelDrops (JSON "kernelDrops":N
#       or kernelDrops=N) to stdout or stderr. Default: the CLI's live command once
#       dist/cli/live.js exists, else bench/live-load.mjs (capture that only counts frames).
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

RUNS=${RUNS:-3}
SCENARIOS=${SCENARIOS:-alone monitor tcpdump tap}
N=${N:-1000000}
PIPELINE=${PIPELINE:-16}
HZ=$(getconf CLK_TCK)
NAME=monitor-impact
# shellcheck source=bench/lib/root-bench.sh
. bench/lib/root-bench.sh
bench_workdir
chmod 755 "$WORK" # tcpdump writes its file after dropping to its own user
need_tools redis-server redis-cli redis-benchmark tcpdump node
need_root 'tcpdump and the live capture need it'

if [ -z "${PORT:-}" ]; then
  PORT=$(free_port)
fi
export PORT

if [ -z "${SKIP_BUILD:-}" ]; then
  # other layers may not type-check yet; what matters is that the capture code was emitted
  npx tsc -p tsconfig.json >"$WORK/tsc.log" 2>&1 || echo "monitor-impact: tsc reported errors (see below); using what it emitted" >&2
  grep -q "error" "$WORK/tsc.log" && grep "error" "$WORK/tsc.log" | head -5 >&2 || true
fi
if [ -z "${TAP_CMD:-}" ]; then
  if [ -f dist/cli/live.js ]; then
    TAP_CMD="node bin/redis-tap.js live --interface lo --port \$PORT --json ${TAP_ARGS:-}"
  else
    TAP_CMD='node bench/live-load.mjs --iface lo --port $PORT'
  fi
fi
[ -f dist/capture/live.js ] || { echo "monitor-impact: dist/capture/live.js missing: build first" >&2; exit 2; }

redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -p "$PORT" set key:__rand_int__ xxx >/dev/null # redis-benchmark's GET key

per_million() { awk -v t="$1" -v hz="$HZ" -v n="$N" 'BEGIN {printf "%.3f", t / hz / (n / 1e6)}'; }
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# one benchmark run; prints "ops/s redis_cpu_ticks"
bench_once() {
  local before after ops
  before=$(cpu_ticks "$REDIS_PID")
  ops=$(redis-benchmark -p "$PORT" -P "$PIPELINE" -n "$N" -t get -q 2>&1 | tr '\r' '\n' |
    grep -o '[0-9.]* requests per second' | tail -1 | awk '{print $1}')
  after=$(cpu_ticks "$REDIS_PID")
  echo "$ops $((after - before))"
}

# SIGINT first (tcpdump and node print their counters on it); redis-cli started from a script
# inherits SIGINT ignored, so SIGTERM after 3 s
stop_observer() {
  kill -INT "$1" 2>/dev/null || true
  for _ in $(seq 30); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# run_once NAME OBSERVER-COMMAND|"" : one benchmark run with a fresh observer; appends a line to NAME.runs
run_once() {
  local name=$1 cmd=$2 i=$3 obs="" out="$WORK/$1.$3" ops rticks oticks0 oticks="-" rss="-" drops="-" frames="-"
  if [ -n "$cmd" ]; then
    bash -c "exec $cmd" >"$out.out" 2>"$out.err" &
    obs=$!
    PIDS+=("$obs")
    sleep 1
    kill -0 "$obs" 2>/dev/null || { echo "monitor-impact: observer for $name exited early:" >&2; cat "$out.err" >&2; exit 1; }
    oticks0=$(cpu_ticks "$obs")
  fi
  read -r ops rticks < <(bench_once)
  if [ -n "$obs" ]; then
    case $name in burn*) ;; *) wait_idle "$obs" ;; esac # an observer slower than the load works through its backlog first
    oticks=$(($(cpu_ticks "$obs") - oticks0))
    rss=$(peak_rss_mb "$obs")
    stop_observer "$obs"
    drops=$(cat "$out.out" "$out.err" | grep -oE '([0-9]+ packets dropped by kernel|"?kernelDrops"?[=:] ?[0-9]+)' |
      grep -oE '[0-9]+' | tail -1 || true)
    frames=$(cat "$out.out" "$out.err" | grep -oE '([0-9]+ packets captured|"packets": ?[0-9]+)' |
      grep -oE '[0-9]+' | head -1 || true)
    [ "$name" = monitor ] || [ "${name#burn}" != "$name" ] && drops="-" && frames="-"
    drops=${drops:-?}
    frames=${frames:-?}
  fi
  echo "$ops $rticks $oticks $rss $drops $frames" >>"$WORK/$name.runs"
}

col() { awk -v c="$1" '{print $c}' "$WORK/$2.runs"; }

LOAD=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD" 'BEGIN {exit !(l > 0.5)}'; then
  echo "monitor-impact: load average is $LOAD before starting: other work will blur the figures" >&2
fi
echo "redis-benchmark -P $PIPELINE -n $N -t get -p $PORT -q; $RUNS rounds of (a)-(d); $(nproc) CPUs; $(redis-server --version | grep -o 'v=[0-9.]*')"
echo "(d) observer: $TAP_CMD"
# scenarios take turns within each round, so drifting background load blurs them alike
for i in $(seq "$RUNS"); do
  for name in $SCENARIOS; do
    case $name in
      alone) run_once alone "" "$i" ;;
      monitor) run_once monitor 'redis-cli -p $PORT monitor' "$i" ;;
      tcpdump) run_once tcpdump "tcpdump -i lo -w $WORK/x.pcap 'tcp port $PORT'" "$i" ;;
      tap) run_once tap "$TAP_CMD" "$i" ;;
      burn19) run_once burn19 "nice -n 19 sh -c 'while :; do :; done'" "$i" ;;
      burnidle) run_once burnidle "chrt --idle 0 sh -c 'while :; do :; done'" "$i" ;;
      *) echo "monitor-impact: unknown scenario '$name'" >&2; exit 2 ;;
    esac
  done
done

BASE=$(col 1 alone | median)
printf '\n%-16s %12s %6s %13s %13s %9s  %-20s %s\n' scenario "median ops/s" ratio "redis cpu s/M" "observer s/M" "peak RSS" "kernel drops" "frames seen"
for name in $SCENARIOS; do
  ops=$(col 1 "$name" | median)
  rcpu=$(per_million "$(col 2 "$name" | median)")
  if [ "$name" = alone ]; then ocpu="-" rss="-" drops="-" frames="-"; else
    ocpu=$(per_million "$(col 3 "$name" | median)")
    rss="$(col 4 "$name" | sort -g | tail -1) MB"
    drops=$(col 5 "$name" | paste -sd, -)
    frames=$(col 6 "$name" | paste -sd, -)
  fi
  label=$name
  case $name in alone) label="(a) alone" ;; monitor) label="(b) MONITOR" ;; tcpdump) label="(c) tcpdump -w" ;; tap) label="(d) redis-tap" ;; burn19) label="busy loop nice 19" ;; burnidle) label="busy loop idle" ;; esac
  printf '%-16s %12.0f %6.3f %13s %13s %9s  %-20s %s\n' "$label" "$ops" "$(awk -v a="$ops" -v b="$BASE" 'BEGIN {print a / b}')" \
    "$rcpu" "$ocpu" "$rss" "$drops" "$frames"
done
echo
echo "ops/s per run:"
for name in $SCENARIOS; do printf '  %-8s %s\n' "$name" "$(col 1 "$name" | paste -sd' ' -)"; done
echo "last run's observers said:"
[ -f "$WORK/tcpdump.$RUNS.err" ] && echo "  (c) $(grep -h 'packets' "$WORK/tcpdump.$RUNS.err" | paste -sd';' -)"
[ -f "$WORK/tap.$RUNS.out" ] && echo "  (d) $(cat "$WORK/tap.$RUNS.out" "$WORK/tap.$RUNS.err" |
  grep -oE '"?(packets|commands|kernelDrops|shedFrames|gaps)"?[=:] ?[0-9]+' | head -5 | paste -sd' ' -)"
echo "observer CPU is the median over runs of user+system time from the benchmark's start until the observer idles;"
echo "drops and frames list each run as the observer reported them (MONITOR does not drop); frames below"
echo "tcpdump's count were lost before analysis, by the kernel or by the observer itself"
