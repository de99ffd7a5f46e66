#!/usr/bin/env bash
# What a connection costs iamd to hold (issue 12): resident memory per idle authenticated connection and
# per accepted-but-silent TCP connection, from VmRSS in /proc/PID/status.
#
# Per run, two fresh iamd processes (fresh data folders, development certificates, port 0):
#   1. at rest, then 1,000 and then 10,000 authenticated connections held idle, each after one
#      Health/Ping (conn-client.py auth, in several client processes);
#   2. at rest, then 2,000 TCP connections that never send a byte (conn-client.py silent), measured as
#      soon as iamd has accepted them all (before its handshake timeout clears them), and meanwhile one
#      well-behaved client's whole connect + TLS + SCRAM + Ping (conn-client.py ping).
# Per-connection figures are (RSS with N connections - RSS at rest) / N, N counted from iamd's open file
# descriptors. Prints every run and the medians.
#
# Usage (from the package root, after `swift build -c release --product iamd`):
#   tools/benchmarks/conn-memory.sh [path/to/iamd] [runs] [idle connections] [silent connections]
# Extra iamd flags go in IAMD_FLAGS (e.g. IAMD_FLAGS="--max-connections 20000").
set -euo pipefail
IAMD=${1:-.build/release/iamd}
RUNS=${2:-3}
IDLE=${3:-10000}
SILENT=${4:-2000}
FIRST=1000
PROCS=${CLIENT_PROCESSES:-5}
here=$(cd "$(dirname "$0")" && pwd)
client="$here/conn-client.py"
# 10,000 connections need more descriptors than the usual soft limit; iamd and the clients inherit this.
ulimit -n "$(ulimit -Hn)"
t=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$t"
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
per_conn() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {printf "%.1f", (b - a) / n}'; }

start_iamd() {  # $1 = name; sets server_pid, port, data
  data="$t/$1"
  mkdir -p "$data"
  # shellcheck disable=SC2086
  "$IAMD" --data-dir "$data" --port 0 --query-port off --log-level warning ${IAMD_FLAGS:-} > "$data.out" 2> "$data.err" &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 300); do grep -q '^listening' "$data.out" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$data.out")
  [ -n "$port" ] || { echo "iamd did not start:"; cat "$data.err"; exit 1; }
}

stop_iamd() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}

wait_ready() {  # $1 = client output file; fails unless every connection opened
  for _ in $(seq 1200); do grep -q '^READY' "$1" 2>/dev/null && break; sleep 0.1; done
  grep -q '^READY ok=[0-9]* failed=0$' "$1" || { echo "client failed: $(cat "$1")"; exit 1; }
}

# Clients hold their connections until this fifo's writer (fd 3) closes.
mkfifo "$t/hold"

for run in $(seq "$RUNS"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  # 1. Idle authenticated connections.
  exec 3<> "$t/hold"
  start_iamd "idle-$run"
  sleep 1
  rest=$(rss_kib "$server_pid")
  base_fds=$(fds "$server_pid")
  creds=(--port "$port" --ca "$data/tls/ca.pem" --credentials "$data/root-credentials.json")
  python3 "$client" auth "$FIRST" "${creds[@]}" < "$t/hold" > "$t/c-$run-0" 2>&1 &
  pids+=($!)
  wait_ready "$t/c-$run-0"
  sleep 1
  rss1=$(rss_kib "$server_pid")
  open1=$(( $(fds "$server_pid") - base_fds ))
  rest_of=$(( (IDLE - FIRST) / PROCS ))
  for i in $(seq "$PROCS"); do
    n=$rest_of
    [ "$i" -eq "$PROCS" ] && n=$(( IDLE - FIRST - rest_of * (PROCS - 1) ))
    python3 "$client" auth "$n" "${creds[@]}" < "$t/hold" > "$t/c-$run-$i" 2>&1 &
    pids+=($!)
  done
  for i in $(seq "$PROCS"); do wait_ready "$t/c-$run-$i"; done
  sleep 1
  rss2=$(rss_kib "$server_pid")
  # Counted, not assumed: on a slow machine the first connections can reach iamd's 300 s idle timeout
  # before the last ones are open.
  open2=$(( $(fds "$server_pid") - base_fds ))
  exec 3>&-  # clients see EOF on stdin and exit
  stop_iamd

  # 2. Silent TCP connections, on a fresh server.
  exec 3<> "$t/hold"
  start_iamd "silent-$run"
  sleep 1
  rest_s=$(rss_kib "$server_pid")
  base_fds=$(fds "$server_pid")
  python3 "$client" silent "$SILENT" --port "$port" --parallel 256 < "$t/hold" > "$t/s-$run" 2>&1 &
  pids+=($!)
  # Sampled while they arrive: RSS when iamd holds the most of them (all, unless the machine is so slow
  # that its handshake timeout clears the first before the last arrive; then fewer are counted).
  accepted=0
  rss_s=$rest_s
  for _ in $(seq 600); do
    open_now=$(( $(fds "$server_pid") - base_fds ))
    if [ "$open_now" -gt "$accepted" ]; then accepted=$open_now; rss_s=$(rss_kib "$server_pid"); fi
    [ "$accepted" -ge "$SILENT" ] && break
    sleep 0.05
  done
  wait_ready "$t/s-$run"
  ping=$(python3 "$client" ping 3 --port "$port" --ca "$data/tls/ca.pem" \
    --credentials "$data/root-credentials.json" | sed -n 's/^PING_MEDIAN ms=//p')
  exec 3>&-
  stop_iamd

  idle1=$(per_conn "$rest" "$rss1" "$open1")
  idle2=$(per_conn "$rest" "$rss2" "$open2")
  silent=$(per_conn "$rest_s" "$rss_s" "$accepted")
  echo "run $run (load $load): rest=${rest}KiB ${FIRST}idle=${rss1}KiB (${idle1} KiB/conn, $open1 open)" \
    "${IDLE}idle=${rss2}KiB (${idle2} KiB/conn, $open2 open)" \
    "${SILENT}silent=${rss_s}KiB over ${rest_s}KiB (${silent} KiB/conn, $accepted accepted) ping_during_silent=${ping}ms"
  echo "$rest $rss1 $idle1 $rss2 $idle2 $rss_s $silent $ping" >> "$t/runs"
done
col() { awk -v c="$1" '{print $c}' "$t/runs" | median; }
echo "MEDIAN of $RUNS: rest=$(col 1)KiB; ${FIRST} idle: RSS $(col 2)KiB, $(col 3) KiB/conn;" \
  "${IDLE} idle: RSS $(col 4)KiB, $(col 5) KiB/conn; ${SILENT} silent: RSS $(col 6)KiB, $(col 7) KiB/conn;" \
  "well-behaved client during the silent flood: $(col 8) ms"
