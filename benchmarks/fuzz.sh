#!/usr/bin/env bash
# Longer coverage-guided fuzzing of the HTTP head paths (gateway/src/test/.../inbound/HeadPathFuzzTest):
# the same target `mvn verify` fuzzes for 30 s, for as long as you like.
#
#   bash benchmarks/fuzz.sh            # 10 minutes
#   bash benchmarks/fuzz.sh 2h         # any Jazzer duration: 90s, 30m, 2h
#
# The corpus grows in gateway/.cifuzz-corpus/ (git-ignored) and is reused by the next run. A finding fails
# the run and is written to gateway/src/test/resources/dev/fourtuple/gateway/inbound/HeadPathFuzzTestInputs/fuzz/
# as crash-<sha1>: commit it with the fix, it is a regression input from then on. libFuzzer prints its
# progress (executions, coverage) as it goes; the last "Done N runs in S second(s)" line is the total.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10m}"
mvn -B -q -pl gateway test-compile
exec mvn -B -pl gateway surefire:test@fuzz -Dfuzz.duration="$duration"
