# Shell helpers shared by the capture scripts (make-captures.sh, deployments/*.sh): start and
# stop redis-server on loopback, start and stop a capture tool. Expects WORK (a scratch folder)
# and CAP_PID to be set by the sourcing script.

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'make-captures: %s\n' "$*" >&2; exit 1; }

redis_pid() { cat "$WORK/redis-$1.pid" 2>/dev/null || true; }

start_redis() { # PORT [redis-server options...]
  local port=$1
  shift
  redis-server --port "$port" --bind '127.0.0.1 ::1' --save '' --appendonly no \
    --enable-debug-command yes --protected-mode no \
    --unixsocket "$WORK/redis-$port.sock" --unixsocketperm 700 \
    --daemonize yes --pidfile "$WORK/redis-$port.pid" --logfile "$WORK/redis-$port.log" \
    --dir "$WORK" "$@"
  for _ in $(seq 50); do
    [ -S "$WORK/redis-$port.sock" ] && [ -n "$(redis_pid "$port")" ] && return 0
    sleep 0.1
  done
  die "redis-server on $port did not start (see $WORK/redis-$port.log)"
}

stop_redis() { # PORT
  local pid
  pid=$(redis_pid "$1")
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$WORK/redis-$1.pid"
}

start_capture() { # 'command line' (tcpdump or dumpcap writing its file), eval'd for its quotes
  : >"$WORK/capture.err"
  # exec: $! is then the capture tool itself, which gets the SIGINT that ends it.
  eval "exec $1" 2>"$WORK/capture.err" &
  CAP_PID=$!
  for _ in $(seq 100); do
    grep -qE 'listening on|Capturing on' "$WORK/capture.err" && break
    kill -0 "$CAP_PID" 2>/dev/null || die "capture failed: $(cat "$WORK/capture.err")"
    sleep 0.05
  done
  sleep 0.5 # the kernel filter is attached before the banner; leave a margin anyway
}

stop_capture() {
  sleep 1.5 # let the last ACKs and FINs reach the file (dumpcap has no immediate mode)
  kill -INT "$CAP_PID"
  wait "$CAP_PID" || true
  CAP_PID=''
  grep -E 'captured|dropped|Packets' "$WORK/capture.err" >&2 || true
  # A capture that lost packets would not match the truth: fail rather than keep it.
  if grep -qE '^[1-9][0-9]* packets dropped by (kernel|interface)|/[1-9][0-9]* \(' "$WORK/capture.err"; then
    die "the capture dropped packets: $(cat "$WORK/capture.err")"
  fi
}

