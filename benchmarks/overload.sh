#!/usr/bin/env bash
# Overload: the gateway under a small fd limit (a child process: ulimit -n FDS), WebSocket clients ramped to
# twice what the limit allows, every admitted tunnel echoing once a second. Shows admitted, refused and the
# admitted tunnels' p99 echo latency over time: admission refuses the excess and the admitted stay fast.
#
#   mvn -B -q -DskipTests install && bash benchmarks/overload.sh          # FDS=2000 SECONDS=30
#
# Writes benchmarks/results/overload-<date>.json and .png, prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
FDS=${FDS:-2000}
SECONDS_RUN=${SECONDS_RUN:-30}
[ -f benchmarks/target/classpath.txt ] && [ -f gateway/target/fourtuple.jar ] \
  || { echo "build first: mvn -B -q -DskipTests install" >&2; exit 1; }
CP="benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)"
out="benchmarks/results/overload-$(date -u +%Y-%m-%d)"
timeout 600 java -Djava.awt.headless=true -cp "$CP" dev.fourtuple.bench.OverloadScenario \
  --jar gateway/target/fourtuple.jar --fds "$FDS" --seconds "$SECONDS_RUN" --out "$out" | sed -n 's/^RESULT //p'
echo "chart: $out.png, data: $out.json"
