#!/usr/bin/env bash
# Two builds side by side on the bench captures (bench/make-captures.sh): `analyze --json`,
# alternating A and B so the machine's noise falls on both. User CPU, wall time, peak RSS.
#   A=/path/to/other/checkout B=. RUNS=3 PORT=7450 bash bench/ab.sh
# TAP_ARGS: more options for both, e.g. TAP_ARGS='--threads 2'.
# Each checkout must be built (npx tsc -p tsconfig.json) and have node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
A=${A:?set A to the other build\'s checkout}
B=${B:-.}
RUNS=${RUNS:-3}
PORT=${PORT:-7450}
for name in ${CAPTURES:-pipelined unpipelined}; do
  f=$(pwd)/bench/out/$name.pcap
  [ -f "$f" ] || { echo "missing $f: run bench/make-captures.sh"; continue; }
  for _ in $(seq "$RUNS"); do
    for side in A B; do
      dir=${!side}
      /usr/bin/time -f "$name $side %U s user  %e s wall  %M KB" node "$dir/bin/redis-tap.js" analyze "$f" -p "$PORT" --json ${TAP_ARGS:-} >/dev/null
    done
  done 2>&1 | grep -v '^$'
done
