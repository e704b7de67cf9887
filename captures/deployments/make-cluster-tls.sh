#!/usr/bin/env bash
# Remakes tls.pcap, cluster.pcap and twemproxy2.pcap (and their *.truth.json) in this folder,
# from real servers on loopback captured with tcpdump -i lo. Idempotent: each run replaces them.
#
#   sudo bash captures/deployments/make-cluster-tls.sh
#
# Needs: redis-server 7 built with TLS (+redis-cli), openssl, tcpdump, tshark, nutcracker,
# node >= 20. Ports (free, and apart from every other capture script):
#   6500 plain + 6501 TLS (tls.pcap); 7100-7102 and their cluster bus 17100-17102 (cluster.pcap);
#   6510 nutcracker, 6511/6512 its backends, 6519 its stats (twemproxy2.pcap).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CAPTURES=$(dirname "$HERE")
WORK=$(mktemp -d /tmp/redis-tap-cluster-tls.XXXXXX)
CAP_PID=''
NUT_PID=''
GEN_PID=''
REDIS_PORTS='6500 6511 6512 7100 7101 7102'

# log, die, start_redis, stop_redis, start_capture, stop_capture
. "$CAPTURES/lib/shell.sh"

for tool in redis-server redis-cli openssl tcpdump tshark nutcracker node; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ "$(id -u)" = 0 ] || die 'run as root (packet capture on lo)'
for port in 6500 6501 6510 6511 6512 6519 7100 7101 7102 17100 17101 17102; do
  if ss -ltnH "sport = :$port" | grep -q .; then die "port $port is in use"; fi
done

cleanup() {
  set +e
  if [ -n "$CAP_PID" ]; then kill -INT "$CAP_PID" 2>/dev/null; wait "$CAP_PID" 2>/dev/null; fi
  if [ -n "$GEN_PID" ]; then kill "$GEN_PID" 2>/dev/null; fi
  if [ -n "$NUT_PID" ]; then kill "$NUT_PID" 2>/dev/null; fi
  for port in $REDIS_PORTS; do stop_redis "$port"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Same flags as make-captures.sh: -B so bursts are not dropped, --immediate-mode so the last
# packets are written before tcpdump is stopped.
TCPDUMP="tcpdump -U --immediate-mode -Z root -B 65536"

traffic() { # SCENARIO PORTS [options...]
  local scenario=$1 ports=$2
  shift 2
  node "$HERE/cluster-tls-traffic.mjs" --scenario "$scenario" --out "$HERE/$scenario.truth.json" \
    --work "$WORK" --ports "$ports" "$@"
}

capture_start() { # NAME 'filter'
  local file="$HERE/$1.pcap"
  rm -f "$file" "$HERE/$1.truth.json"
  start_capture "$TCPDUMP -i lo -w $(printf %q "$file") $(printf %q "$2")"
}

capture_end() { # NAME 'filter'
  stop_capture
  chmod 644 "$HERE/$1.pcap"
  node "$HERE/cluster-tls-evidence.mjs" "$HERE/$1.pcap" --how "tcpdump -i lo -w $1.pcap '$2'"
}

# 1. TLS: one redis-server with a plain port and a TLS port, self-signed certificate made now.
log 'tls.pcap'
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=redis-tap-capture' \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
start_redis 6500 --tls-port 6501 --tls-cert-file "$WORK/tls.crt" --tls-key-file "$WORK/tls.key" \
  --tls-ca-cert-file "$WORK/tls.crt" --tls-auth-clients no
# The generator opens and uses one TLS connection before the capture starts (mid-stream).
traffic tls 6500,6501 --ready-file "$WORK/ready" --go-file "$WORK/go" &
GEN_PID=$!
for _ in $(seq 100); do [ -f "$WORK/ready" ] && break; sleep 0.1; done
[ -f "$WORK/ready" ] || die 'tls generator never got ready'
FILTER='tcp port 6500 or tcp port 6501'
capture_start tls "$FILTER"
touch "$WORK/go"
wait "$GEN_PID"
GEN_PID=''
capture_end tls "$FILTER"
stop_redis 6500

# 2. Redis Cluster: three masters, created before the capture; the bus is captured too.
log 'cluster.pcap'
for port in 7100 7101 7102; do
  # A short node timeout makes every node ping every other one at least once a second, so
  # each bus connection carries traffic inside the capture window.
  start_redis "$port" --cluster-enabled yes --cluster-config-file "$WORK/nodes-$port.conf" \
    --cluster-node-timeout 2000
done
redis-cli --cluster create 127.0.0.1:7100 127.0.0.1:7101 127.0.0.1:7102 --cluster-yes >"$WORK/cluster-create.log" \
  || die "redis-cli --cluster create failed: $(cat "$WORK/cluster-create.log")"
cluster_ready() {
  local port
  for port in 7100 7101 7102; do
    redis-cli -s "$WORK/redis-$port.sock" cluster info | grep -q '^cluster_state:ok' || return 1
    [ "$(redis-cli -s "$WORK/redis-$port.sock" cluster links | grep -c '^to$')" = 2 ] || return 1
  done
}
for _ in $(seq 100); do cluster_ready && break; sleep 0.1; done
cluster_ready || die 'the cluster never became ok'
sleep 2 # let the create's client connections close and the gossip settle before capturing
FILTER='tcp portrange 7100-7102 or tcp portrange 17100-17102'
capture_start cluster "$FILTER"
traffic cluster 7100,7101,7102
sleep 1.5 # a round of pings on every bus connection after the last command
capture_end cluster "$FILTER"
for port in 7100 7101 7102; do stop_redis "$port"; done

# 3. Twemproxy with two backends: MGETs over both are split by the proxy.
log 'twemproxy2.pcap'
start_redis 6511
start_redis 6512
nutcracker -c "$HERE/nutcracker-two.yml" -s 6519 -a 127.0.0.1 -o "$WORK/nutcracker.log" \
  -p "$WORK/nutcracker.pid" &
NUT_PID=$!
for _ in $(seq 50); do ss -ltnH 'sport = :6510' | grep -q . && break; sleep 0.1; done
ss -ltnH 'sport = :6510' | grep -q . || die "nutcracker did not start (see $WORK/nutcracker.log)"
FILTER='tcp port 6510 or tcp port 6511 or tcp port 6512'
capture_start twemproxy2 "$FILTER"
traffic twemproxy2 6510,6511,6512
# Stopped while capturing, so its backend connections close inside the file.
kill "$NUT_PID"
wait "$NUT_PID" 2>/dev/null || true
NUT_PID=''
capture_end twemproxy2 "$FILTER"
stop_redis 6511
stop_redis 6512

# Sizes: each file < 2 MB, all three < 5 MB.
total=0
for name in tls cluster twemproxy2; do
  size=$(stat -c %s "$HERE/$name.pcap")
  [ "$size" -lt 2000000 ] || die "$name.pcap is $size bytes (limit 2 MB)"
  total=$((total + size))
done
[ "$total" -lt 5000000 ] || die "the three captures are $total bytes (limit 5 MB)"
log "done: $total bytes"
