# Sourced by the benchmarks that run as root against a redis-server of their own
# (bench/keep-up.sh, bench/monitor-impact.sh), after they set NAME (used in messages).

# A work directory ($WORK) that goes on exit with the processes listed in PIDS (KEEP=1 keeps it).
bench_workdir() {
  WORK=$(mktemp -d "/tmp/$NAME.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  # Gone before the next run starts: a redis-server still closing holds its port, and a run
  # right after on the same PORT found nothing listening.
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  done
  if [ -n "${KEEP:-}" ]; then echo "$NAME: observer outputs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}

need_tools() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$NAME: $tool is not installed" >&2; exit 2; }
  done
}

# $1: what needs root
need_root() {
  [ "$(id -u)" = 0 ] || { echo "$NAME: run as root ($1)" >&2; exit 2; }
}

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# user + system clock ticks of process $1, its threads included
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
peak_rss_mb() { awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# Returns once process $1 used at most one clock tick in half a second, or after 60 s (said).
wait_idle() {
  local prev now
  prev=$(cpu_ticks "$1")
  for _ in $(seq 120); do
    sleep 0.5
    now=$(cpu_ticks "$1")
    [ $((now - prev)) -le 1 ] && return
    prev=$now
  done
  echo "$NAME: process $1 still busy after 60 s" >&2
}
