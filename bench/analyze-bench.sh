#!/usr/bin/env bash
# Offline speed and memory: `analyze --json` on the captures made by bench/make-captures.sh,
# next to `tcpdump -r FILE -w /dev/null` on the same file. Best of RUNS (default 3).
#   bash bench/make-captures.sh && npm run build && bash bench/analyze-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
PORT=${PORT:-7450}
best() { sort -n | head -1; }
for name in unpipelined pipelined distinct5m; do
  f=bench/out/$name.pcap
  [ -f "$f" ] || { echo "missing $f: run bench/make-captures.sh"; continue; }
  port=$PORT
  td=$(for _ in $(seq "$RUNS"); do /usr/bin/time -f %e tcpdump -r "$f" -w /dev/null 2>&1 >/dev/null | tail -1; done | best)
  rows=()
  for _ in $(seq "$RUNS"); do
    rows+=("$( { /usr/bin/time -f '%e %M' node bin/redis-tap.js analyze "$f" -p "$port" --json > /tmp/redis-tap-bench.json; } 2>&1 | tail -1)")
  done
  secs=$(printf '%s\n' "${rows[@]}" | awk '{print $1}' | best)
  rss=$(printf '%s\n' "${rows[@]}" | awk '{print $2}' | sort -n | tail -1)
  node -e '
    const r = require("/tmp/redis-tap-bench.json");
    const [name, secs, rssKb, td, bytes] = process.argv.slice(1);
    const s = Number(secs), t = r.totals;
    const f = (n) => Math.round(n).toLocaleString("en-US");
    console.log(`${name}: ${f(t.packets)} packets, ${f(t.commands)} commands, ${(bytes / 1e6).toFixed(0)} MB`);
    console.log(`  analyze --json   ${s.toFixed(2)} s  ${f(t.packets / s)} packets/s  ${f(t.commands / s)} commands/s  ${(bytes / 1e6 / s).toFixed(0)} MB/s  peak RSS ${(rssKb / 1024).toFixed(0)} MB`);
    console.log(`  tcpdump -r       ${Number(td).toFixed(2)} s  -> analyze takes ${(s / Number(td)).toFixed(1)}x tcpdump -r`);
    console.log(`  check: unanswered ${t.unanswered}, gaps ${t.gaps}, violations ${t.violations}, hot keys exact ${r.hotKeysExact}`);
  ' "$name" "$secs" "$rss" "$td" "$(stat -c %s "$f")"
done
