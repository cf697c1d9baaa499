#!/usr/bin/env bash
# The four-tuple arithmetic as data: for S source IPs x B backend addresses, how many WebSocket tunnels the
# gateway holds when the ephemeral range has P ports, inside a network namespace of our own (root needed;
# the machine's own sysctls are not touched).
#
#   mvn -B -q -DskipTests install && sudo bash benchmarks/ports.sh        # P=100 by default
#   PORTS=1000 bash benchmarks/ports.sh
#
# Prints a Markdown table and writes benchmarks/results/ports-<date>.json.
set -euo pipefail
cd "$(dirname "$0")/.."

P=${PORTS:-100}
LOW=40000
HIGH=$((LOW + P - 1))
CLASSPATH_FILE=benchmarks/target/classpath.txt
[ -f "$CLASSPATH_FILE" ] || { echo "build first: mvn -B -q -DskipTests install" >&2; exit 1; }
CP="benchmarks/target/classes:$(cat "$CLASSPATH_FILE")"
NS="ft-ports-$$"

cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT

scenario() {
  cleanup
  ip netns add "$NS"
  ip netns exec "$NS" ip link set lo up
  ip netns exec "$NS" sh -c "echo '$LOW $HIGH' > /proc/sys/net/ipv4/ip_local_port_range"
  timeout 300 ip netns exec "$NS" java -Xmx512m -cp "$CP" dev.fourtuple.bench.PortsScenario "$@" \
    | sed -n 's/^RESULT //p'
}

sources_of() { seq -s, -f "127.0.0.%g" 2 $(( $1 + 1 )); }

results=()
rows=""
for s in 1 2 4; do
  for b in 1 2; do
    tunnels=$(( s * b * P + 20 ))
    json=$(scenario --sources "$(sources_of $s)" --backends $b --tunnels $tunnels)
    results+=("$json")
    rows="$rows
$(echo "$json" | python3 -c '
import json,sys
r=json.load(sys.stdin)
cap=r["sources"]*r["backends"]*r["ports"]
ref=sum(r["refused"].values())
print("| %d x %d | %d | %d | %d | %d | %d | %d |" % (r["sources"], r["backends"], cap, r["attempted"], r["held"], ref, r["errors"], r["echoed"]))')"
  done
done

# TIME_WAIT: close half of 4P tunnels from the client side, count TIME_WAIT on the gateway's upstream tuples,
# and open as many again. Clients leave with a reset (they vanished) or a FIN (they may still read: the FIN is
# relayed, so the gateway closes first upstream). epoll resets an acknowledged upstream; nio cannot tell.
tw_rows=""
for combo in "epoll reset" "epoll fin" "nio reset"; do
  set -- $combo
  json=$(scenario --sources "$(sources_of 2)" --backends 2 --tunnels $(( 4 * P )) --close-half --transport "$1" --close-with "$2")
  results+=("$json")
  tw_rows="$tw_rows
$(echo "$json" | TRANSPORT=$1 python3 -c '
import json,os,sys
r=json.load(sys.stdin)
tw=r["timeWaitAfterClose"]
print("| %s | %s | %d | %d | %d | %d | %d |" % (os.environ["TRANSPORT"], r["closedWith"], r["held"], r["closed"], tw["gatewayUpstream"], tw["total"], r["reopened"]))')"
done

mkdir -p benchmarks/results
out="benchmarks/results/ports-p$P-$(date -u +%Y-%m-%d).json"
printf '%s\n' "${results[@]}" | python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in sys.stdin], indent=1))' > "$out"

echo
echo "ip_local_port_range $LOW-$HIGH (P = $P) in namespace $NS, kernel $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| source IPs x backends | S x B x P | tunnels tried | held | refused (503) | errors | held tunnels echoing |"
echo "|---|---|---|---|---|---|---|"
echo "$rows" | sed '/^$/d'
echo
echo "| transport | clients leave with | held | closed by clients | TIME_WAIT on gateway upstream tuples | TIME_WAIT in namespace | reopened at once |"
echo "|---|---|---|---|---|---|---|"
echo "$tw_rows" | sed '/^$/d'
echo
echo "JSON: $out"
