#!/usr/bin/env bash
# Live handover under load: the gateway (epoll, handover.socket set) holds IDLE plaintext WebSocket tunnels to
# an echo backend (its own process); every tunnel sends a small numbered frame every PERIOD_MS throughout.
# After a warm-up, a baseline window with no handover, then a window of the same length (longer if the handover
# outlasts it) in which `fourtuple upgrade` (METHOD=upgrade, the default) or SIGUSR2 (METHOD=signal) makes the
# gateway start its successor, which takes over the listening sockets and every tunnel; then a second baseline
# as long as the handover window, the successor alone. Measures the phases' wall time (the gateways' log
# lines), each process's CPU-seconds (/proc/PID/stat), per tunnel the longest gap between consecutive echoes in
# each window (p50 / p99 / max over tunnels, handover against both baselines), and checks that no frame was
# lost, duplicated or reordered and no tunnel closed (dev.fourtuple.bench.HandoverScenario).
#
#   mvn -B -q -DskipTests install && bash benchmarks/handover.sh     # IDLE=8000: 3 to 6 minutes on 2 cores
#   IDLE=2000 WINDOW_SECONDS=10 bash benchmarks/handover.sh          # a quick look
#   PERIOD_MS=1000 bash benchmarks/handover.sh                        # what 2 cores keep up with
#   JAR=/tmp/other.jar bash benchmarks/handover.sh                    # another build of the gateway
#
# 8,000 tunnels x 100 ms is 80,000 echoes a second: more than client, backend and gateway together relay on
# 2 cores, and the report then says the baseline is saturated (its pauses are queueing, not the handover's).
#
# Gateway, successor, backend and this client are separate processes: 8,000 tunnels are 16,000 fds in the
# gateway (the old one and the new one each hold them in turn), 8,000 in the client and 8,000 in the backend,
# so every child gets `ulimit -n 20000` (FDS=). Prints a Markdown section and appends it to
# benchmarks/results/handover-DATE.md (OUT= to change), with the command. Bounded: each process it started
# (backend, gateway, the successor the gateway started) is stopped by pid at the end; no sysctl is changed.
set -euo pipefail
cd "$(dirname "$0")/.."
IDLE=${IDLE:-8000}
PERIOD_MS=${PERIOD_MS:-100}
WINDOW_SECONDS=${WINDOW_SECONDS:-20}
WARMUP_SECONDS=${WARMUP_SECONDS:-10}
METHOD=${METHOD:-upgrade}
FDS=${FDS:-20000}
JAR=${JAR:-gateway/target/fourtuple.jar}
JAVA_OPTS=${JAVA_OPTS:-@config/jvm.options}
OUT=${OUT:-benchmarks/results/handover-$(date -u +%Y-%m-%d).md}
[ -f benchmarks/target/classpath.txt ] && [ -f "$JAR" ] \
  || { echo "build first: mvn -B -q -DskipTests install" >&2; exit 1; }
[ "$(uname)" = Linux ] || { echo "needs Linux (epoll, /proc)" >&2; exit 1; }
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$FDS" ]; then
  echo "the hard limit of open files is $hard, below FDS=$FDS" >&2
  exit 1
fi
ulimit -n "$FDS"   # inherited by the backend, the gateway and (through it) its successor
CP="benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)"
command="IDLE=$IDLE PERIOD_MS=$PERIOD_MS WINDOW_SECONDS=$WINDOW_SECONDS WARMUP_SECONDS=$WARMUP_SECONDS METHOD=$METHOD"
[ "$JAR" = gateway/target/fourtuple.jar ] || command="$command JAR=$JAR"
[ "$JAVA_OPTS" = @config/jvm.options ] || command="$command JAVA_OPTS='$JAVA_OPTS'"
command="$command bash benchmarks/handover.sh"
# Bounded: 3 to 6 minutes at the defaults on 2 cores; 10 leave room for a slow machine, not for a hang.
exec timeout 600 java -Xms256m -Xmx1g -cp "$CP" dev.fourtuple.bench.HandoverScenario \
  --jar "$JAR" --idle "$IDLE" --period-ms "$PERIOD_MS" --window-seconds "$WINDOW_SECONDS" \
  --warmup-seconds "$WARMUP_SECONDS" --method "$METHOD" --jvm "$JAVA_OPTS" --out "$OUT" --command "$command"
