#!/usr/bin/env bash
# Remakes the deployment captures of captures/deployments/ and their ground truth, from real
# redis-server processes on loopback: replication links (disk and diskless full syncs, a link
# joined mid-stream), a sentinel's two connections to its master, and gaps inside large values.
# Idempotent: each run replaces the files (timings and replication ids differ, the truth follows).
#
#   sudo bash captures/deployments/make-replication.sh          (root: tcpdump on lo)
#
# Needs: redis-server 7 (with --sentinel), tcpdump, tshark, node >= 20. Uses ports 6401-6402,
# 6411-6412, 6421-6422, 6431-6432 and 6441: they must be free. About 90 seconds.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d /tmp/redis-tap-deploy.XXXXXX)
CAP_PID=''
GEN_PID=''
# Files of the capture being made: removed if the run fails half-way.
MAKING=()

# log, die, start_redis, stop_redis, start_capture, stop_capture
. "$HERE/../lib/shell.sh"

PORTS=(6401 6402 6411 6412 6421 6422 6431 6432 6441)
for tool in redis-server tcpdump tshark node; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ "$(id -u)" = 0 ] || die 'run as root (packet capture on lo)'
for port in "${PORTS[@]}"; do
  if ss -ltnH "sport = :$port" | grep -q .; then die "port $port is in use"; fi
done

stop_sentinel() {
  local pid
  pid=$(cat "$WORK/sentinel.pid" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$WORK/sentinel.pid"
}

cleanup() {
  local status=$?
  set +e
  if [ -n "$CAP_PID" ]; then kill -INT "$CAP_PID" 2>/dev/null; wait "$CAP_PID" 2>/dev/null; fi
  if [ -n "$GEN_PID" ]; then kill "$GEN_PID" 2>/dev/null; fi
  stop_sentinel
  for port in "${PORTS[@]}"; do stop_redis "$port"; done
  if [ "$status" != 0 ] && [ "${#MAKING[@]}" -gt 0 ]; then
    log "failed: removing ${MAKING[*]}"
    rm -f "${MAKING[@]}"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The flags of make-captures.sh: a 64 MiB kernel buffer, packets handed over at once.
TCPDUMP="tcpdump -U --immediate-mode -Z root -B 65536"

making() { # NAME...: the pcap and truth files this step writes
  MAKING=()
  for name in "$@"; do
    MAKING+=("$HERE/$name.pcap" "$HERE/$name.truth.json")
    rm -f "$HERE/$name.pcap" "$HERE/$name.truth.json"
  done
}

# generator STEP NAME [deploy-traffic.mjs options...]: runs in the background; it writes
# $WORK/ready when the capture may start and waits for $WORK/go (if it was given the files).
generator() {
  local step=$1 name=$2
  shift 2
  rm -f "$WORK/ready" "$WORK/go"
  node "$HERE/deploy-traffic.mjs" --step "$step" --out "$WORK/$name.facts.json" \
    --ready-file "$WORK/ready" --go-file "$WORK/go" "$@" &
  GEN_PID=$!
}

wait_ready() {
  for _ in $(seq 600); do
    [ -f "$WORK/ready" ] && return 0
    kill -0 "$GEN_PID" 2>/dev/null || die 'the generator stopped before it was ready'
    sleep 0.1
  done
  die 'the generator never got ready'
}

wait_generator() {
  local pid=$GEN_PID
  GEN_PID=''
  wait "$pid" || die "the generator failed"
}

capture_port() { # FILE PORT: tcpdump on lo, that port only
  start_capture "$TCPDUMP -i lo -w $(printf %q "$1") 'tcp port $2'"
}

truth() { # NAME PORT HOW [deploy-truth.mjs options...]
  local name=$1 port=$2 how=$3
  shift 3
  chmod 644 "$HERE/$name.pcap"
  node "$HERE/deploy-truth.mjs" --facts "$WORK/$name.facts.json" --pcap "$HERE/$name.pcap" \
    --ports "$port" --how "$how" "$@"
}

# 1-2. A full sync inside the capture: the replica starts after tcpdump, so the handshake, the
#      RDB transfer and the whole propagated stream are in the file; the link is closed inside
#      it too (REPLICAOF NO ONE on the replica) once the stream is still.
replica_capture() { # NAME MASTER_PORT REPLICA_PORT disk|diskless
  local name=$1 a=$2 b=$3 mode=$4
  log "$name.pcap (master $a, replica $b, $mode sync)"
  making "$name"
  local sync=(--repl-diskless-sync no --rdb-key-save-delay 500)
  local how="tcpdump -i lo 'tcp port $a'; master repl-diskless-sync no, rdb-key-save-delay 500 (the BGSAVE takes ~1.5 s, so the master sends newline keepalives)"
  if [ "$mode" = diskless ]; then
    sync=(--repl-diskless-sync yes --repl-diskless-sync-delay 0)
    how="tcpdump -i lo 'tcp port $a'; master repl-diskless-sync yes, repl-diskless-sync-delay 0"
  fi
  start_redis "$a" --repl-ping-replica-period 1 --dbfilename "dump-$a.rdb" "${sync[@]}"
  generator replica "$name" --master-port "$a" --master-unix "$WORK/redis-$a.sock" \
    --replica-unix "$WORK/redis-$b.sock" --replica-log "$WORK/redis-$b.log" \
    --replica-rdb "$WORK/dump-$b.rdb" --master-rdb "$WORK/dump-$a.rdb" --keys 3000
  wait_ready # 3000 keys preloaded over the unix socket, stats reset
  capture_port "$HERE/$name.pcap" "$a"
  start_redis "$b" --replicaof 127.0.0.1 "$a" --dbfilename "dump-$b.rdb"
  touch "$WORK/go"
  wait_generator
  stop_capture
  truth "$name" "$a" "$how, replica started with --replicaof 127.0.0.1 $a after the capture"
  stop_redis "$b"
  stop_redis "$a"
}

replica_capture replica-disk 6401 6402 disk
replica_capture replica-diskless 6411 6412 diskless

# 3. A link in sync before the capture starts: only its propagated stream and the replica's
#    REPLCONF ACKs are in the file.
log 'replica-midstream.pcap (master 6421, replica 6422, in sync before the capture)'
making replica-midstream
start_redis 6421 --repl-ping-replica-period 1 --dbfilename dump-6421.rdb
start_redis 6422 --replicaof 127.0.0.1 6421 --dbfilename dump-6422.rdb
generator midstream replica-midstream --master-port 6421 --master-unix "$WORK/redis-6421.sock" \
  --replica-unix "$WORK/redis-6422.sock" --replica-log "$WORK/redis-6422.log"
wait_ready # in sync, 300 keys propagated, the master's PINGs paused so the stream is still
capture_port "$HERE/replica-midstream.pcap" 6421
touch "$WORK/go"
wait_generator
stop_capture
truth replica-midstream 6421 "tcpdump -i lo 'tcp port 6421', started after the replica was in sync"
stop_redis 6422
stop_redis 6421

# 4. A sentinel monitoring a master: its command connection and its __sentinel__:hello
#    subscription are both open before the capture starts, and stay open after it.
log 'sentinel.pcap (master 6431, sentinel 6432)'
making sentinel
start_redis 6431
cat >"$WORK/sentinel.conf" <<EOF
port 6432
bind 127.0.0.1
dir $WORK
daemonize yes
pidfile $WORK/sentinel.pid
logfile $WORK/sentinel.log
sentinel monitor m 127.0.0.1 6431 1
sentinel down-after-milliseconds m 2000
EOF
redis-server "$WORK/sentinel.conf" --sentinel
generator sentinel sentinel --master-port 6431 --master-unix "$WORK/redis-6431.sock" --seconds 20
wait_ready # the sentinel's two connections are up and past their first burst
capture_port "$HERE/sentinel.pcap" 6431
touch "$WORK/go"
wait_generator
stop_capture
stop_sentinel
truth sentinel 6431 "tcpdump -i lo 'tcp port 6431' for ~20 s, started after the sentinel had connected"
stop_redis 6431

# 5. One ~1 MB SET and GET; the capture itself is not kept (2 MB), only the two files derived
#    from it, each without one segment from the middle of one value.
log 'gap-set.pcap, gap-get.pcap (from bigvalue.pcap, port 6441)'
making gap-set gap-get
start_redis 6441
rm -f "$WORK/ready" "$WORK/go"
capture_port "$WORK/bigvalue.pcap" 6441
node "$HERE/deploy-traffic.mjs" --step bigvalue --out "$WORK/bigvalue.facts.json" \
  --master-port 6441 --master-unix "$WORK/redis-6441.sock"
stop_capture
chmod 644 "$WORK/bigvalue.pcap"
node "$HERE/deploy-truth.mjs" --facts "$WORK/bigvalue.facts.json" --pcap "$WORK/bigvalue.pcap" \
  --ports 6441 --out "$WORK/bigvalue.truth.json" --how "tcpdump -i lo 'tcp port 6441'"
node "$HERE/cut-segment.mjs" "$WORK/bigvalue.pcap" "$WORK/bigvalue.truth.json" "$HERE"
stop_redis 6441
MAKING=()

cd "$HERE"
log "done: $(du -cb replica-disk.pcap replica-diskless.pcap replica-midstream.pcap sentinel.pcap gap-set.pcap gap-get.pcap | tail -1 | cut -f1) bytes of captures"
