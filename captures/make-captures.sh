#!/usr/bin/env bash
# Remakes every capture in captures/ and its ground truth, from real redis-server traffic on
# loopback. Idempotent: each run replaces the files (timings differ, the truth follows them).
#
#   sudo bash captures/make-captures.sh          (root: tcpdump/dumpcap on lo and any)
#
# Needs: redis-server 7 (+redis-cli), tcpdump, tshark/dumpcap/capinfos, nutcracker, node >= 20.
# Uses ports 6379 and 6380 (redis), 22121/22222 (nutcracker): they must be free.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d /tmp/redis-tap-captures.XXXXXX)
# The secret of demo.pcap: it is on the wire (AUTH, HELLO) and must never be printed.
PASSWORD='tap-s3cret-9f2c71'
CAP_PID=''
NUT_PID=''

# log, die, start_redis, stop_redis, start_capture, stop_capture
. "$HERE/lib/shell.sh"

for tool in redis-server redis-cli tcpdump tshark dumpcap capinfos nutcracker node; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ "$(id -u)" = 0 ] || die 'run as root (packet capture on lo/any)'
for port in 6379 6380 22121 22222; do
  if ss -ltnH "sport = :$port" | grep -q .; then die "port $port is in use"; fi
done

start_nutcracker() {
  nutcracker -c "$HERE/nutcracker.yml" -s 22222 -a 127.0.0.1 -o "$WORK/nutcracker.log" \
    -p "$WORK/nutcracker.pid" &
  NUT_PID=$!
  for _ in $(seq 50); do
    ss -ltnH 'sport = :22121' | grep -q . && return 0
    sleep 0.1
  done
  die "nutcracker did not start (see $WORK/nutcracker.log)"
}

cleanup() {
  set +e
  if [ -n "$CAP_PID" ]; then kill -INT "$CAP_PID" 2>/dev/null; fi
  if [ -n "$NUT_PID" ]; then kill "$NUT_PID" 2>/dev/null; fi
  for port in 6379 6380; do stop_redis "$port"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

traffic() { # SCENARIO NAME [traffic.mjs options...]
  local scenario=$1 name=$2
  shift 2
  node "$HERE/traffic.mjs" --scenario "$scenario" --out "$HERE/$name.truth.json" \
    --unix "$WORK/redis-6379.sock" "$@"
}

# capture NAME EXT SCENARIO 'capture command with @FILE@' [traffic options...]
capture() {
  local name=$1 ext=$2 scenario=$3 how=$4
  shift 4
  local file="$HERE/$name.$ext"
  log "$name.$ext ($scenario)"
  rm -f "$file" "$HERE/$name.truth.json"
  local qfile
  qfile=$(printf %q "$file")
  start_capture "${how//@FILE@/$qfile}"
  traffic "$scenario" "$name" "$@"
  if [ -n "${BEFORE_STOP:-}" ]; then "$BEFORE_STOP"; fi
  stop_capture
  chmod 644 "$file" # dumpcap creates its file 0600
  node "$HERE/crosscheck.mjs" "$file" "--how=${how//@FILE@/$name.$ext}" ${PORTS:+--ports "$PORTS"} \
    ${NOTE:+"--note=$NOTE"}
}

# -B: a 64 MiB kernel buffer, so the 2 MB transfers in demo.pcap are not dropped.
# --immediate-mode: without it libpcap hands packets over in blocks on a 1 s timeout, and the
# packets of the last block are lost (and not counted as dropped) when tcpdump is stopped.
TCPDUMP="tcpdump -U --immediate-mode -Z root -B 65536"
LO="$TCPDUMP -i lo -w @FILE@"

# 1. The main scenario, Ethernet link type on lo; a second redis on 6380 carries traffic that
#    the default -p 6379 must ignore.
start_redis 6379 --requirepass "$PASSWORD"
start_redis 6380
capture demo pcap demo "$LO 'tcp port 6379 or tcp port 6380'" --password "$PASSWORD" --noise-port 6380
stop_redis 6380
stop_redis 6379

# 2-5. The small scenario under other formats and link types.
small() { # NAME EXT SCENARIO 'capture command' [traffic options...]
  start_redis 6379
  capture "$@"
  stop_redis 6379
}
small nano pcap small "$TCPDUMP -i lo --time-stamp-precision nano -w @FILE@ 'tcp port 6379'"
NOTE='capturing on any, each loopback packet is seen once (same count as on lo)' \
  small any-sll2 pcap small "$TCPDUMP -i any -w @FILE@ 'tcp port 6379'"
NOTE='capturing on any, each loopback packet is seen once (same count as on lo)' \
  small any-sll pcap small "$TCPDUMP -i any -y LINUX_SLL -w @FILE@ 'tcp port 6379'"
# Two interfaces with different link types and disjoint per-interface filters (-f after -i):
# each packet is in the file once.
NOTE='interface 0 (lo, Ethernet) has the packets of 127.0.0.2, interface 1 (any, SLL2) the others: the filters are disjoint, so each packet is in the file once; without them every packet would be there twice, once per interface, and the counts would double' \
  small multi-if pcapng small "dumpcap -q -i lo -B 64 -f 'tcp port 6379 and host 127.0.0.2' -i any -B 64 -y LINUX_SLL2 -f 'tcp port 6379 and not host 127.0.0.2' -w @FILE@"
small ipv6 pcap small6 "$LO 'tcp port 6379'" --host ::1

# 6. twemproxy in front of redis: both legs are in the file.
start_redis 6379
start_nutcracker
stop_nutcracker() { # while capturing, so its connection to redis closes inside the file
  kill "$NUT_PID"
  wait "$NUT_PID" 2>/dev/null || true
  NUT_PID=''
}
PORTS=6379,22121 BEFORE_STOP=stop_nutcracker \
  capture twemproxy pcap twemproxy "$LO 'tcp port 6379 or tcp port 22121'" --port 22121
stop_redis 6379

# 7. Midstream: the generator connects and sends before the capture starts.
start_redis 6379
log 'midstream.pcap (midstream)'
rm -f "$HERE/midstream.pcap" "$HERE/midstream.truth.json"
traffic midstream midstream --ready-file "$WORK/ready" --go-file "$WORK/go" &
GEN_PID=$!
for _ in $(seq 100); do [ -f "$WORK/ready" ] && break; sleep 0.1; done
[ -f "$WORK/ready" ] || die 'midstream generator never got ready'
start_capture "$TCPDUMP -i lo -w $(printf %q "$HERE/midstream.pcap") 'tcp port 6379'"
touch "$WORK/go"
wait "$GEN_PID"
stop_capture
node "$HERE/crosscheck.mjs" "$HERE/midstream.pcap" --how 'tcpdump -i lo -U -w midstream.pcap tcp port 6379 (started after the connections)'
stop_redis 6379

# 8. The base of the derived captures, and the derivations.
small base pcap base "$LO 'tcp port 6379'"
log 'derived captures'
node "$HERE/derive.mjs" "$HERE/base.pcap" "$HERE/base.truth.json" "$HERE"
for f in bigendian duplicated dropped vlan null raw truncated; do
  node "$HERE/crosscheck.mjs" "$HERE/$f.pcap" --how "derive.mjs from base.pcap"
done
node "$HERE/crosscheck.mjs" "$HERE/reordered.pcap" --how "derive.mjs from base.pcap" --resp-diff-ok
node "$HERE/crosscheck.mjs" "$HERE/spb-nano.pcapng" --how "derive.mjs from base.pcap"

log "done: $(du -ch "$HERE"/*.pcap "$HERE"/*.pcapng | tail -1)"
