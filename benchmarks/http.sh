#!/usr/bin/env bash
# HTTP keep-alive GETs with wrk: straight to an echo backend, then through the gateway on each transport,
# all in one run so the ratios compare like with like on a shared, noisy machine.
#
#   bash benchmarks/http.sh            # needs gateway/target/fourtuple.jar (mvn -B -DskipTests package) and wrk
#   DURATION=20s CONNECTIONS=128 TRANSPORTS="epoll io_uring" bash benchmarks/http.sh
#
# Prints a Markdown table: requests/s, p99 latency, and the gateway's CPU-seconds per million requests
# (from /proc/PID/stat utime+stime), plus each transport's requests/s as a ratio of the direct run.
# Bounded: every process it starts is killed by pid on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

JAR=gateway/target/fourtuple.jar
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
TRANSPORTS=${TRANSPORTS:-"epoll io_uring nio"}
BACKEND_PORT=${BACKEND_PORT:-19001}
GATEWAY_PORT=${GATEWAY_PORT:-18080}
PATH_Q=${PATH_Q:-/status/200}
JAVA_OPTS=${JAVA_OPTS:-"-Xms256m -Xmx256m -XX:+UseG1GC"}

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
[ -f "$JAR" ] || { echo "$JAR is missing: mvn -B -DskipTests package" >&2; exit 1; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "port $1 did not open" >&2; return 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# wrk's summary → "requests/s p99"
run_wrk() {
  local url=$1 out
  wrk -t1 -c"$CONNECTIONS" -d3s "$url" >/dev/null 2>&1 || true   # warm-up (JIT, pools)
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$url")
  echo "$out" | awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} END {print rps, p99}'
}

java $JAVA_OPTS -jar "$JAR" echo-backend "127.0.0.1:$BACKEND_PORT" bench >/tmp/fourtuple-bench-backend.log 2>&1 &
pids+=($!)
wait_port "$BACKEND_PORT"

hz=$(getconf CLK_TCK)
read -r direct_rps direct_p99 < <(run_wrk "http://127.0.0.1:$BACKEND_PORT$PATH_Q")
rows="| direct to backend | $direct_rps | $direct_p99 | - | 1.00 |"

for transport in $TRANSPORTS; do
  conf=$(mktemp /tmp/fourtuple-bench-XXXX.conf)
  cat >"$conf" <<CONF
listen = "127.0.0.1:$GATEWAY_PORT"
transport = $transport
clusters { bench { backends = ["127.0.0.1:$BACKEND_PORT"] } }
routes = [ { path-prefix = "/", cluster = bench } ]
CONF
  java $JAVA_OPTS -jar "$JAR" run --config "$conf" >/tmp/fourtuple-bench-gateway-$transport.log 2>&1 &
  gw=$!
  pids+=($gw)
  wait_port "$GATEWAY_PORT"
  wrk -t1 -c"$CONNECTIONS" -d3s "http://127.0.0.1:$GATEWAY_PORT$PATH_Q" >/dev/null 2>&1 || true
  before=$(cpu_ticks "$gw")
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$GATEWAY_PORT$PATH_Q")
  after=$(cpu_ticks "$gw")
  read -r rps p99 < <(echo "$out" | awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} END {print rps, p99}')
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  cpu_per_m=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" 'BEGIN {printf "%.1f", (t / hz) / n * 1e6}')
  ratio=$(awk -v a="$rps" -v b="$direct_rps" 'BEGIN {printf "%.2f", a / b}')
  rows="$rows
| gateway, $transport | $rps | $p99 | $cpu_per_m | $ratio |"
  kill "$gw"; wait "$gw" 2>/dev/null || true
  rm -f "$conf"
done

echo
echo "wrk -t1 -c$CONNECTIONS -d$DURATION GET $PATH_Q, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), kernel $(uname -r)"
echo
echo "| path | requests/s | p99 | gateway CPU-s per 1M requests | requests/s vs direct |"
echo "|---|---|---|---|---|"
echo "$rows"
