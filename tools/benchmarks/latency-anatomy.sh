#!/usr/bin/env bash
# Where a one-at-a-time call's time goes: Ping against Authorize at 1 connection x 1 in flight (issue 7 §8 asks
# Authorize's p50 to be within 10 µs of Ping's). iamd and iam-loadtest both run under an LD_PRELOAD recorder of
# read(2)/write(2) (latency-anatomy/timeline.c), so every call cuts into six parts on one clock: the client's write,
# the request's wake-up (end of the client's write to the end of the server's read), the server's turn (its read to
# its write: decode, authorize the call, check, encode, encrypt), the server's write, the answer's wake-up, and the
# client's turn (the answer's read to the next request's write). RUNS times, alternating Ping and Authorize, each on
# a fresh iamd over one small seeded folder; prints every run and the median of each part per workload.
#
#   tools/benchmarks/latency-anatomy.sh [runs=3] [calls per run=8000]
#
# Unless BIN is set, builds the binaries first with tools/scripts/build-release. The recorder adds two clock reads
# per read and write, to both workloads alike.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/benchmarks/iamd-port.sh
RUNS=${1:-3}
CALLS=${2:-8000}
BIN=${BIN:-}
[[ -n $BIN ]] || BIN=$(tools/scripts/build-release iamd iam-loadtest iam-seed)
work=$(mktemp -d /tmp/latency-anatomy.XXXXXX)
server_pid=
cleanup() {
  stop_iamd "$server_pid"
  rm -rf "$work"
}
trap cleanup EXIT
gcc -O2 -shared -fPIC -o "$work/timeline.so" tools/benchmarks/latency-anatomy/timeline.c -ldl
(umask 077; timeout 600 "$BIN/iam-seed" --data-dir "$work/seed" --users 10 --groups 4 --policies 8 > "$work/checker.json")

for run in $(seq "$RUNS"); do
  for workload in ping authorize; do
    data=$work/$run-$workload
    cp -r "$work/seed" "$data"
    TIMELINE_OUT=$data/server LD_PRELOAD=$work/timeline.so "$BIN/iamd" --data-dir "$data" --port 0 --query-port off \
      --log-level warning > "$data/iamd.out" 2> "$data/iamd.err" &
    server_pid=$!
    port=$(iamd_port "$server_pid" "$data/iamd.out" "$data/iamd.err" 30)
    load=$(timeout 120 env TIMELINE_OUT="$data/client" LD_PRELOAD="$work/timeline.so" "$BIN/iam-loadtest" run \
      --workload "$workload" --connections 1 --in-flight 1 \
      --principal-arn arn:aws:iam::123456789012:user/dept-0/user-000000 --port "$port" --trust "$data/tls/ca.pem" \
      --credentials-file "$work/checker.json" --duration 60 --warmup 0 --max-calls "$CALLS")
    stop_iamd "$server_pid"
    server_pid=
    p50=$(grep -o 'p50=[0-9.]*' <<< "$load" | head -1)
    parts=$(python3 tools/benchmarks/latency-anatomy/analyze.py "$data"/server.* "$data"/client.*)
    echo "$workload run=$run $p50 $parts" | tee -a "$work/runs"
  done
done

echo
echo "| part (µs, median of $RUNS runs) | ping | authorize | difference |"
echo "|---|---|---|---|"
for part in p50 client_write request_wakeup server_turn server_write answer_wakeup client_turn sum; do
  values=()
  for workload in ping authorize; do
    values+=("$(grep "^$workload " "$work/runs" | grep -o " $part=[0-9.]*" | cut -d= -f2 | sort -g \
      | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')")
  done
  awk -v p="$part" -v a="${values[0]}" -v b="${values[1]}" 'BEGIN {printf "| %s | %.1f | %.1f | %+.1f |\n", p, a, b, b - a}'
done
