#!/usr/bin/env bash
# Remakes captures/deployments/apps.pcap and apps.truth.json: "who is calling". One redis-server
# on 6600; twelve client connections bound to 127.0.0.10-.40, some naming themselves (CLIENT
# SETNAME, HELLO 3 SETNAME, CLIENT SETINFO), one refused a name, one opened before the capture
# that names itself late, the others named only by apps.map / apps-pods.json (or by nothing).
# Idempotent: each run replaces the two files (ports and timings differ, the truth follows).
#
#   sudo bash captures/deployments/make-apps.sh          (root: tcpdump on lo; about 10 s)
#
# Needs: redis-server 7, tcpdump, tshark, node >= 20. Port 6600 must be free, and the client
# port 127.0.0.26:46026 that apps.map names.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d /tmp/redis-tap-apps.XXXXXX)
CAP_PID=''
GEN_PID=''
MAKING=("$HERE/apps.pcap" "$HERE/apps.truth.json")
PORT=6600

# log, die, start_redis, stop_redis, start_capture, stop_capture
. "$HERE/../lib/shell.sh"

for tool in redis-server tcpdump tshark node; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ "$(id -u)" = 0 ] || die 'run as root (packet capture on lo)'
if ss -ltnH "sport = :$PORT" | grep -q .; then die "port $PORT is in use"; fi
# (TIME-WAIT from a previous run is fine: node binds with SO_REUSEADDR, and Linux reuses it on lo.)
if ss -tanH "src 127.0.0.26:46026" | grep -v TIME-WAIT | grep -q .; then die "client port 127.0.0.26:46026 is in use"; fi

cleanup() {
  local status=$?
  set +e
  if [ -n "$CAP_PID" ]; then kill -INT "$CAP_PID" 2>/dev/null; wait "$CAP_PID" 2>/dev/null; fi
  if [ -n "$GEN_PID" ]; then kill "$GEN_PID" 2>/dev/null; fi
  stop_redis "$PORT"
  if [ "$status" != 0 ]; then
    log "failed: removing ${MAKING[*]}"
    rm -f "${MAKING[@]}"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The flags of make-captures.sh: a 64 MiB kernel buffer, packets handed over at once.
TCPDUMP="tcpdump -U --immediate-mode -Z root -B 65536"

log "apps.pcap (redis on $PORT, clients on 127.0.0.10-.40)"
rm -f "${MAKING[@]}"
start_redis "$PORT"
node "$HERE/apps-traffic.mjs" --step traffic --port "$PORT" --unix "$WORK/redis-$PORT.sock" \
  --out "$WORK/apps.facts.json" --ready-file "$WORK/ready" --go-file "$WORK/go" &
GEN_PID=$!
for _ in $(seq 300); do
  [ -f "$WORK/ready" ] && break
  kill -0 "$GEN_PID" 2>/dev/null || die 'the generator stopped before it was ready'
  sleep 0.1
done
[ -f "$WORK/ready" ] || die 'the generator never got ready'
# The late connection (127.0.0.15) is open and has worked: the capture joins it mid-stream.
start_capture "$TCPDUMP -i lo -w $(printf %q "$HERE/apps.pcap") 'tcp port $PORT'"
touch "$WORK/go"
pid=$GEN_PID
GEN_PID=''
wait "$pid" || die 'the generator failed'
stop_capture
stop_redis "$PORT"
chmod 644 "$HERE/apps.pcap"
node "$HERE/apps-traffic.mjs" --step truth --facts "$WORK/apps.facts.json" --pcap "$HERE/apps.pcap" \
  --port "$PORT" --how "tcpdump -i lo 'tcp port $PORT' (-U --immediate-mode -B 65536), started after 127.0.0.15 had connected and sent its first requests"
MAKING=()
log "done: apps.pcap $(stat -c %s "$HERE/apps.pcap") bytes, apps.truth.json"
