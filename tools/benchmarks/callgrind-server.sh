#!/usr/bin/env bash
# Instructions a real iamd spends per Authorize call or per AuthorizeBatch check, counted by callgrind: every
# instruction of the server process from the first call on (TLS, framing, decode, authorization of the call, the
# checks, encode), none of the load generator's. Counts do not move with the machine's load, so this is the A/B
# for changes to the check path on a shared machine (wall-clock figures come from authorize-bench.sh).
#
#   tools/benchmarks/callgrind-server.sh [workload=authorize-batch] [calls=200] [IAMD...]
#
# workload: ping (Health/Ping, the floor: TLS, framing, the Authorizer's key check), authorize (one check a call) or
# authorize-batch (100 checks a call). CALLGRIND_KEEP=DIR keeps each binary's callgrind output there for
# callgrind_annotate. Each IAMD (default: the release build) gets a fresh copy of one small seeded data folder
# (by default 10 users, 4 groups, 8 policies), runs under callgrind with instrumentation off until it listens, then serves
# `calls` calls from one connection, one at a time, for 10 principals in turn. Prints instructions per call and
# per check for each binary. valgrind 3.19 cannot read the DWARF 5 of a static Swift build, so each binary is run
# from a copy stripped of debug info (symbols stay).
set -euo pipefail
cd "$(dirname "$0")/../.."
workload=${1:-authorize-batch}
calls=${2:-200}
shift $(( $# >= 2 ? 2 : $# )) || true
BIN=${BIN:-.build-rel/release}
# The data set, and how many of its users (spread over it as authorize-bench.sh spreads them) the calls ask about
# in turn. authorize-bench.sh's large set is SEED_USERS=100000 SEED_GROUPS=20000 SEED_POLICIES=10000 PRINCIPALS=64.
SEED_USERS=${SEED_USERS:-10} SEED_GROUPS=${SEED_GROUPS:-4} SEED_POLICIES=${SEED_POLICIES:-8}
PRINCIPALS=${PRINCIPALS:-10}
binaries=("$@")
[[ ${#binaries[@]} -gt 0 ]] || binaries=("$BIN/iamd")
case $workload in
  authorize | ping) per_call=1 ;;
  authorize-batch) per_call=100 ;;
  *) echo "workload must be ping, authorize or authorize-batch" >&2; exit 2 ;;
esac
for tool in valgrind callgrind_control strip; do
  command -v "$tool" > /dev/null || { echo "needs $tool" >&2; exit 2; }
done
work=$(mktemp -d /tmp/callgrind-server.XXXXXX)
pid=   # the server under callgrind, while one runs
trap '[[ -z $pid ]] || kill "$pid" 2> /dev/null || true; rm -rf "$work"' EXIT

(umask 077; timeout 1200 "$BIN/iam-seed" --data-dir "$work/seed" --users "$SEED_USERS" \
  --groups "$SEED_GROUPS" --policies "$SEED_POLICIES" \
  > "$work/checker.json")
principals=()
spread=$((SEED_USERS / PRINCIPALS))
for k in $(seq 0 $((PRINCIPALS - 1))); do
  i=$((k * spread + (k * 7) % spread))
  principals+=(--principal-arn "$(printf 'arn:aws:iam::123456789012:user/dept-%d/user-%06d' $((i % 20)) "$i")")
done

for iamd in "${binaries[@]}"; do
  cp "$iamd" "$work/iamd" && strip --strip-debug "$work/iamd"
  rm -rf "$work/data" && cp -r "$work/seed" "$work/data"
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" --instr-atstart=no "$work/iamd" \
    --data-dir "$work/data" --port 0 --query-port off --log-level warning > "$work/out" 2> "$work/err" &
  pid=$!
  for _ in $(seq 1 3000); do   # bounded: 600 s (a large data set starts slowly under valgrind)
    grep -q '^listening' "$work/out" 2> /dev/null && break
    kill -0 "$pid" 2> /dev/null || { cat "$work/err" >&2; exit 1; }
    sleep 0.2
  done
  port=$(awk '/^listening/ {split($2, a, ":"); print a[2]}' "$work/out")
  [[ -n $port ]] || { echo "$iamd did not listen within 600 s" >&2; exit 1; }
  callgrind_control -i on "$pid" > /dev/null 2>&1
  served=$(timeout 600 "$BIN/iam-loadtest" run --workload "$workload" --batch 100 --connections 1 --in-flight 1 \
    "${principals[@]}" --port "$port" --trust "$work/data/tls/ca.pem" --credentials-file "$work/checker.json" \
    --duration 300 --warmup 0 --max-calls "$calls" | grep -o 'calls=[0-9]*' | head -1 | cut -d= -f2)
  # Counting stops before the shutdown, whose one-off work (flushing noted key uses, closing the store) would
  # otherwise land in one run's count and not another's.
  callgrind_control -i off "$pid" > /dev/null 2>&1
  kill "$pid"; wait "$pid" 2> /dev/null || true
  pid=
  [[ -z ${CALLGRIND_KEEP:-} ]] || cp "$work/cg.out" "$CALLGRIND_KEEP/callgrind.$workload.$(basename "$iamd").out"
  # The last part's totals (counting switched off before the shutdown leaves a `summary: 0` before them).
  total=$(awk '/^totals:/ {t = $2} END {print t + 0}' "$work/cg.out")
  awk -v t="$total" -v c="$served" -v k="$per_call" -v b="$iamd" -v w="$workload" 'BEGIN {
    printf "%s %s: %d calls, %.0f instructions per call, %.0f per check\n", b, w, c, t / c, t / c / k }'
done
