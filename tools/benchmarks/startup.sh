#!/usr/bin/env bash
# Start-up of iamd on an existing data folder (issue 7: 100,000 users, 20,000 groups, 10,000 policies in 3 s),
# from exec to its `listening` line, and its RSS then. Several binaries alternate run by run on the same data
# folder, so that a before/after comparison sees the same page cache and the same machine load.
#
#   tools/benchmarks/startup.sh DATA RUNS IAMD [IAMD...]
#
# Make DATA once with `iam-seed --data-dir DATA --users 100000 --groups 20000 --policies 10000` (about two
# minutes). Prints one line per run and then each binary's median. Every wait is bounded (120 s a start).
set -euo pipefail
data=$1 runs=$2
shift 2
[[ -f $data/iam.sqlite ]] || { echo "no iamd data folder at $data" >&2; exit 2; }
out=$(mktemp -d /tmp/iam-startup.XXXXXX)
pid=
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$out"' EXIT
for run in $(seq "$runs"); do
  for iamd in "$@"; do
    start=$(date +%s%N)
    "$iamd" --data-dir "$data" --port 0 --query-port off --log-level warning > "$out/stdout" 2> "$out/stderr" &
    pid=$!
    for _ in $(seq 1 2400); do
      grep -q '^listening' "$out/stdout" 2>/dev/null && break
      kill -0 "$pid" 2>/dev/null || { cat "$out/stderr" >&2; exit 1; }
      sleep 0.05
    done
    grep -q '^listening' "$out/stdout" || { echo "$iamd did not listen within 120 s" >&2; exit 1; }
    end=$(date +%s%N)
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
    echo "run=$run iamd=$iamd startup_ms=$(((end - start) / 1000000)) rss_mib=$((rss / 1024))" | tee -a "$out/runs"
  done
done
echo
for iamd in "$@"; do
  median=$(grep " iamd=$iamd " "$out/runs" | grep -o 'startup_ms=[0-9]*' | cut -d= -f2 | sort -n |
    awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$iamd: median startup_ms=$median over $runs runs"
done
