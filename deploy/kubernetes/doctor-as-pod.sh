#!/usr/bin/env bash
# `fourtuple doctor` as one gateway pod of deployment.yaml sees its limits: the pod's memory limit (cgroup v2
# memory.max), the open-files limit the container gets (RLIMIT_NOFILE), its CPU limit (the JVM counts cores
# from it) and the ephemeral port range its securityContext.sysctls set; every other kernel setting as on this
# host (/proc/sys: a pod shares the rest with its node). It reads a copy of /proc with those three changed (doctor's
# --proc-root/--cgroup-root), so nothing on the host is touched. deployment.yaml's resources quote its output.
#   bash deploy/kubernetes/doctor-as-pod.sh [MEMORY_BYTES] [NOFILE] [CPUS] [PORT_RANGE]   (after mvn package)
set -euo pipefail
cd "$(dirname "$0")/../.."
memory=${1:-2147483648}   # resources.limits.memory: 2Gi
nofile=${2:-1048576}      # the container runtime's usual RLIMIT_NOFILE (containerd, CRI-O): see deployment.yaml
cpus=${3:-2}              # resources.limits.cpu
ports=${4:-"10240 65535"} # securityContext.sysctls net.ipv4.ip_local_port_range
jar=gateway/target/fourtuple.jar
[ -f "$jar" ] || { echo "no $jar: run mvn -B -q -DskipTests package first" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
proc=$root/proc
cgroup=$root/cgroup
mkdir -p "$proc/self" "$proc/sys/fs" "$proc/sys/net/core" "$proc/sys/net/ipv4" "$proc/net" "$cgroup/pod"
for f in sys/fs/nr_open sys/fs/file-nr sys/net/core/somaxconn sys/net/ipv4/tcp_mem sys/net/ipv4/ip_local_port_range \
         sys/net/ipv4/ip_local_reserved_ports meminfo net/sockstat; do
  cat "/proc/$f" > "$proc/$f"
done
sed -E "s/^(Max open files +)[0-9]+ +[0-9]+/\1$nofile $nofile/" /proc/self/limits > "$proc/self/limits"
echo "$ports" > "$proc/sys/net/ipv4/ip_local_port_range"
echo "0::/pod" > "$proc/self/cgroup"
echo "$memory" > "$cgroup/pod/memory.max"
echo 0 > "$cgroup/pod/memory.current"

java -XX:ActiveProcessorCount="$cpus" -jar "$jar" doctor --config deploy/kubernetes/gateway.conf \
  --proc-root "$proc" --cgroup-root "$cgroup" "${@:5}"
