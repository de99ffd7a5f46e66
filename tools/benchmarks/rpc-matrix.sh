#!/usr/bin/env bash
# Runs the benchmark matrix of issue 3: 1x1 and 4x64, payload 0 and 1024, compression off and on, 3 runs
# each, and prints every run plus the median of each figure. Usage:
#   tools/benchmarks/rpc-matrix.sh [path/to/iam-loadtest] [seconds per run]
# Build first: swift build -c release --product iamd && swift build -c release --product iam-loadtest
# (each run starts the iamd next to the load tester on a temporary data folder).
set -euo pipefail
BIN=${1:-.build/release/iam-loadtest}
SECONDS_PER_RUN=${2:-5}
RUNS=3
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for shape in "1 1" "4 64"; do
  set -- $shape
  for payload in 0 1024; do
    for compression in off on; do
      out=$(mktemp)
      for run in $(seq $RUNS); do
        "$BIN" run --connections "$1" --in-flight "$2" --payload "$payload" --compression "$compression" \
          --duration "$SECONDS_PER_RUN" --warmup 1 | tee -a "$out" | sed "s/^/  run $run: /"
      done
      rate=$(grep -o 'calls_per_s=[0-9.]*' "$out" | cut -d= -f2 | median)
      p50=$(grep -o 'p50=[0-9.]*' "$out" | cut -d= -f2 | median)
      p99=$(grep -o ' p99=[0-9.]*' "$out" | cut -d= -f2 | median)
      p999=$(grep -o 'p99.9=[0-9.]*' "$out" | cut -d= -f2 | median)
      cpu=$(grep -o 'server_cpu_us_per_call=[0-9.]*' "$out" | cut -d= -f2 | median)
      echo "MEDIAN ${1}x${2} payload=$payload compression=$compression: calls/s=$rate p50=${p50}us p99=${p99}us p99.9=${p999}us server_cpu=${cpu}us/call"
      rm -f "$out"
    done
  done
done
