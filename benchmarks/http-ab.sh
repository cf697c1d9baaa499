#!/usr/bin/env bash
# Before vs after on the HTTP path: two builds of the gateway, the same echo backend, wrk keep-alive GETs,
# alternating A and B in rounds so that both see the same machine (ratios within one run are what count).
#
#   git worktree add /tmp/before <commit> && (cd /tmp/before && mvn -B -q -DskipTests package -pl gateway -am)
#   mvn -B -q -DskipTests package -pl gateway -am
#   bash benchmarks/http-ab.sh /tmp/before/gateway/target/fourtuple.jar gateway/target/fourtuple.jar [ROUNDS]
#
# Prints one line per round and build: requests/s, p99, and the gateway's CPU-seconds per million requests
# (utime + stime from /proc). One event loop, 64 connections, 15 s measured after 15 s of warm-up.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1; B=$2; ROUNDS=${3:-3}
BP=${BACKEND_PORT:-19001}; GP=${GATEWAY_PORT:-18080}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
java -Xms256m -Xmx256m -jar "$B" echo-backend "127.0.0.1:$BP" bench >/tmp/fourtuple-ab-backend.log 2>&1 & pids+=($!)
wait_port "$BP"
conf=$(mktemp /tmp/fourtuple-ab-XXXX.conf)
cat > "$conf" <<CONF
listen = "127.0.0.1:$GP"
transport = epoll
event-loops = 1
clusters { bench { backends = ["127.0.0.1:$BP"] } }
routes = [ { path-prefix = "/", cluster = bench } ]
CONF
hz=$(getconf CLK_TCK)
for round in $(seq 1 "$ROUNDS"); do
  for label in A B; do
    jar=$A; [ "$label" = B ] && jar=$B
    java @config/jvm.options -jar "$jar" run --config "$conf" >/tmp/fourtuple-ab-$label.log 2>&1 & gw=$!; pids+=($gw)
    wait_port "$GP"
    wrk -t1 -c64 -d15s "http://127.0.0.1:$GP/status/200" >/dev/null 2>&1 || true
    before=$(awk '{print $14 + $15}' "/proc/$gw/stat")
    out=$(wrk -t1 -c64 -d15s --latency "http://127.0.0.1:$GP/status/200")
    after=$(awk '{print $14 + $15}' "/proc/$gw/stat")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}'); p99=$(echo "$out" | awk '/^ +99%/ {print $2}')
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$n" 'BEGIN {printf "%.1f", (t / hz) / n * 1e6}')
    echo "round $round $label rps=$rps p99=$p99 cpu_s_per_1M=$cpu"
    kill "$gw"; wait "$gw" 2>/dev/null || true
  done
done
rm -f "$conf"
