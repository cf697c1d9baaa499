#!/usr/bin/env bash
# Fourtuple, HAProxy and nginx side by side, in one run on this machine, plus the same load with no proxy, every
# proxy balancing over the same 4 echo backends (Fourtuple's upstream from 4 source IPs, 127.0.0.11-14):
# WebSocket connects/s and proxy CPU-seconds per 1,000 connects, cold (right after the start) and warm; memory
# per idle WebSocket tunnel; echo messages per proxy CPU-second and latency; HTTP requests per proxy CPU-second
# with wrk -t2 -c200 (the users' shape) and -t1 -c64; then (TLS=1, the default) each proxy again with TLS 1.3
# from the client (one ECDSA P-256 certificate made for the run): memory per idle wss tunnel, full and resumed
# handshakes per second and proxy CPU-seconds per 1,000, wss echo and https CPU-seconds per million
# (dev.fourtuple.bench.compare.Comparison has the method).
#
#   bash benchmarks/run.sh            # about 20 minutes (10 with TLS=0); as root on a fresh machine it
#                                     # installs what it needs
#   RUNS=3 TLS=0 bash benchmarks/run.sh   # the whole comparison 3 times (about 30 minutes): each figure as a
#                                     # range min-max over the runs
#   IDLE=2000 ECHO_SECONDS=5 HTTP_SECONDS=3 WARMUP_SECONDS=10 HANDSHAKE_SECONDS=5 CONNECTS=2000 bash benchmarks/run.sh  # a quick look
#   TLS=0 bash benchmarks/run.sh      # the plaintext rows only
#   PROXIES=direct,fourtuple,haproxy bash benchmarks/run.sh -- \
#       --variant "zgc|/usr/lib/jvm/temurin-25-jdk-amd64/bin/java|@config/jvm.options -XX:+UseZGC" \
#       --variant "io_uring|java|@config/jvm.options|transport = io_uring"
#
# Prints the Markdown tables (the goals' figures; memory; echo; HTTP; connects; TLS) and writes
# benchmarks/results/compare-tls-DATE.{md,json,png} (compare-DATE with TLS=0, -runsN added with RUNS>1; OUT= to
# change the folder). The gateway runs with the JVM options of config/jvm.options, as the service does.
# Bounded: every process it starts is stopped by pid when its part ends.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v haproxy >/dev/null || missing+=(haproxy)
command -v nginx >/dev/null || missing+=(nginx-light)
command -v wrk >/dev/null || missing+=(wrk)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "needs ${missing[*]}: apt-get install -y ${missing[*]} (as root)" >&2
    exit 1
  fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v jcmd >/dev/null || { echo "needs jcmd (a JDK, not a JRE)" >&2; exit 1; }

if [ "${BUILD:-1}" = 1 ] || [ ! -f gateway/target/fourtuple.jar ] || [ ! -f benchmarks/target/classpath.txt ]; then
  mvn -B -q -DskipTests install
fi

# The gateway runs with the service's JVM options: the argument file config/jvm.options.
JAVA_OPTS=${JAVA_OPTS:-@config/jvm.options}

ulimit -n "$(ulimit -Hn)"   # the proxies and the load generator each hold up to 2 fds per tunnel
CP="benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)"
args=(--jar gateway/target/fourtuple.jar --out "${OUT:-benchmarks/results}"
      --proxies "${PROXIES:-direct,fourtuple,haproxy,nginx}"
      --idle "${IDLE:-8000}" --echo-connections "${ECHO_CONNECTIONS:-1000}"
      --echo-seconds "${ECHO_SECONDS:-20}" --http-seconds "${HTTP_SECONDS:-10}"
      --warmup-seconds "${WARMUP_SECONDS:-30}" --jvm "$JAVA_OPTS"
      --tls "$([ "${TLS:-1}" = 0 ] && echo off || echo on)" --handshake-seconds "${HANDSHAKE_SECONDS:-10}"
      --runs "${RUNS:-1}" --backends "${BACKENDS:-4}" --connects "${CONNECTS:-8000}")
[ "${1:-}" = "--" ] && shift
# Bounded: a default run takes about 20 minutes; 30 per run leaves room for a slow machine, not for a hang.
exec timeout $((1800 * ${RUNS:-1})) java -Xms512m -Xmx1g -cp "$CP" dev.fourtuple.bench.compare.Comparison "${args[@]}" "$@"
