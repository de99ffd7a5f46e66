#!/usr/bin/env bash
# AuthorizeBatch of 100 on a real iamd in four shapes (connections x calls in flight: 1x1, 1x4, 1x16, 4x4), for
# one or more iamd binaries alternated round by round on copies of one seeded data folder (10 users, 4 groups,
# 8 policies; the checks cycle through 10 principals), so every binary sees the same data and the same machine.
# Prints every run and, per binary and shape, the checks/s of each round sorted, and their median.
#
#   tools/benchmarks/batch-shapes.sh [rounds=3] [seconds per run=4] [IAMD...]
#
# IAMD defaults to the release build; pass an older one first to compare (its own iam-loadtest is not needed:
# the load tester of BIN drives every binary). Every run is bounded in time (--duration, plus `timeout`).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-4}
shift $(( $# >= 2 ? 2 : $# )) || true
BIN=${BIN:-.build-rel/release}
binaries=("$@")
[[ ${#binaries[@]} -gt 0 ]] || binaries=("$BIN/iamd")
SHAPES=${SHAPES:-1x1 1x4 1x16 4x4}

work=$(mktemp -d /tmp/batch-shapes.XXXXXX)
pid=
trap '[[ -z $pid ]] || kill "$pid" 2> /dev/null || true; rm -rf "$work"' EXIT
(umask 077; timeout 300 "$BIN/iam-seed" --data-dir "$work/seed" --users 10 --groups 4 --policies 8 \
  > "$work/checker.json" 2> /dev/null)
principals=()
for i in $(seq 0 9); do
  principals+=(--principal-arn "$(printf 'arn:aws:iam::123456789012:user/dept-%d/user-%06d' $((i % 20)) "$i")")
done

for round in $(seq "$ROUNDS"); do
  for index in "${!binaries[@]}"; do
    rm -rf "$work/data" && cp -r "$work/seed" "$work/data"
    "${binaries[$index]}" --data-dir "$work/data" --port 0 --query-port off --log-level warning \
      > "$work/out" 2> "$work/err" &
    pid=$!
    for _ in $(seq 1 100); do   # bounded: 10 s
      grep -q '^listening' "$work/out" 2> /dev/null && break
      sleep 0.1
    done
    port=$(awk '/^listening/ {split($2, a, ":"); print a[2]}' "$work/out")
    [[ -n $port ]] || { cat "$work/err" >&2; exit 1; }
    for shape in $SHAPES; do
      line=$(timeout $((SECONDS_PER_RUN + 60)) "$BIN/iam-loadtest" run --workload authorize-batch --batch 100 \
        --connections "${shape%x*}" --in-flight "${shape#*x}" "${principals[@]}" --port "$port" \
        --ca-file "$work/data/tls/ca.pem" --credentials-file "$work/checker.json" --duration "$SECONDS_PER_RUN" \
        --warmup 1 --server-pid "$pid" | tr '\n' ' ')
      echo "round=$round binary=$index shape=$shape $(grep -o 'errors=[0-9]*\|checks_per_s=[0-9]*\|server_cpu_us_per_check=[0-9.]*\|p50=[0-9.]*' <<< "$line" | tr '\n' ' ')load=$(cut -d' ' -f1 /proc/loadavg)" \
        | tee -a "$work/runs"
    done
    kill "$pid"; wait "$pid" 2> /dev/null || true
    pid=
  done
done

echo
for index in "${!binaries[@]}"; do
  echo "binary $index: ${binaries[$index]}"
  for shape in $SHAPES; do
    values=$(grep "binary=$index shape=$shape " "$work/runs" | grep -o 'checks_per_s=[0-9]*' | cut -d= -f2 | sort -n)
    median=$(awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}' <<< "$values")
    echo "  $shape checks/s: $(tr '\n' ' ' <<< "$values")-> median $median"
  done
done
