#!/usr/bin/env bash
# Issue 8: the load tester must not be the bottleneck. Runs Ping at 4 connections x 64 in flight against an
# iamd the load tester starts (so both CPU figures are measured: the client's by getrusage, the server's from
# /proc/PID/stat), RUNS times, and prints every run and the medians of client and server CPU per call.
#   tools/benchmarks/loadtest-overhead.sh [path/to/iam-loadtest] [seconds per run=10] [runs=3]
# Build first: swift build -c release --product iamd && swift build -c release --product iam-loadtest
set -euo pipefail
BIN=${1:-.build/release/iam-loadtest}
SECONDS_PER_RUN=${2:-10}
RUNS=${3:-3}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for run in $(seq "$RUNS"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  "$BIN" run --scenario ping --connections 4 --in-flight 64 --duration "$SECONDS_PER_RUN" --warmup 2 --progress off \
    | tee -a "$out" | grep -E 'calls_per_s|cpu_us_per_call' | tr '\n' ' ' | sed "s/^/run $run (load $load): /"
  echo
done
client=$(grep -o 'client_cpu_us_per_call=[0-9.]*' "$out" | cut -d= -f2 | median)
server=$(grep -o 'server_cpu_us_per_call=[0-9.]*' "$out" | cut -d= -f2 | median)
rate=$(grep -o 'calls_per_s=[0-9.]*' "$out" | cut -d= -f2 | median)
echo "MEDIAN 4x64 Ping over $RUNS runs: calls/s=$rate client_cpu=${client}us/call server_cpu=${server}us/call"
