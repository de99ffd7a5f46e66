#!/usr/bin/env bash
# Issue 11's speed figures: iamd replicas over one PostgreSQL (a throwaway cluster from
# tools/scripts/pg-cluster, fsync on), all on this machine. RUNS runs of each, printed as they go, then
# a table of medians:
#   - CreateUser/s through PostgreSQL with 16 concurrent writers (closed loop, on replica A; 4,000 users,
#     deleted again after each run, as IAM allows 5,000 users per account);
#   - propagation: from a write's acknowledgement on A to B's snapshot having it, p50/p99, under 200 writes/s
#     (TagUser over 100 users: a revision, a change-log row and a snapshot update like any write, without
#     running into the users quota), observed two ways: an Authorize on B carrying the write's revision as
#     min_revision right after the acknowledgement (read-your-writes as a client sees it: B catches up at once
#     for such a call, whatever its follower's spacing), and B's Health revision polled back to back (the
#     follower alone, but the poller takes a core from PostgreSQL and the replicas), and the same every 1 ms
#     (the follower alone at a few percent of a core, each figure up to 1 ms late);
#   - Authorize calls/s on B (iam-loadtest, 1 connection x 64 in flight) while A takes 500 writes/s,
#     against the same with no writes, alternating;
#   - catch-up of a new replica after 100,000 changes (4,000 users made, then TagUser writes over them):
#     from starting iamd-pg C to its listening line, its snapshot then at the database's revision (it loads
#     the tables at start; checked through Health).
#
#   tools/benchmarks/replicas.sh [runs=3] [seconds per load run=10]
#   CATCHUP=0 tools/benchmarks/replicas.sh ...   (skip the catch-up figures and their 100,000 changes of seeding)
#   FOLLOW_MS=20 tools/benchmarks/replicas.sh ... (replicas catch up at least 20 ms apart instead of 10)
#   PIN=1 tools/benchmarks/replicas.sh ...       (two machines' worth of isolation on one: replica B and the
#                                                 Authorize client on CPU 0, PostgreSQL, replica A and the
#                                                 writers on CPU 1, so the Authorize comparison measures what
#                                                 following the writes costs B rather than A's and PostgreSQL's
#                                                 share of the same two cores; it then also measures B with
#                                                 no writes while a busy loop keeps CPU 1 as busy as the
#                                                 writes do, because a busy CPU 1 alone slows CPU 0 here)
#
# Builds release binaries first unless BIN (iam-loadtest, iam-replica-bench) and PG_BIN (iamd-pg, from
# Packages/IAMPostgres, scratch path .build-pg) are set. Every loop is bounded (timeout, --duration).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/benchmarks/iamd-port.sh
# B's side (the replica whose checks are measured, and their client); everything else runs where the script does.
ON_B=()
if [[ ${PIN:-0} == 1 ]]; then
  if [[ -z ${PINNED:-} ]]; then PINNED=1 exec taskset -c 1 "$0" "$@"; fi
  ON_B=(taskset -c 0)
fi
RUNS=${1:-3}
SECS=${2:-10}
BIN=${BIN:-}
PG_BIN=${PG_BIN:-}
[[ -n $BIN ]] || BIN=$(tools/scripts/build-release iam-loadtest iam-replica-bench)
[[ -n $PG_BIN ]] || PG_BIN=$(SCRATCH="$PWD/.build-pg" tools/scripts/build-release iamd-pg -- --package-path Packages/IAMPostgres)
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
field() { grep -o "$1=[0-9.]*" | cut -d= -f2; }

work=$(mktemp -d /tmp/replicas-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

eval "$(tools/scripts/pg-cluster start --owner-pid $$)"
export PGPASSWORD
PGPASSWORD=$(cat "$IAM_TEST_POSTGRES_PASSWORD_FILE")
psql "$IAM_TEST_POSTGRES_URL" -qc "CREATE DATABASE iam_bench"
STORE=${IAM_TEST_POSTGRES_URL%/*}/iam_bench
# The replicas' store URL: FOLLOW_MS sets their least time between catch-ups (follow_spacing_ms, default 10).
IAMD_STORE=$STORE${FOLLOW_MS:+?follow_spacing_ms=$FOLLOW_MS}
echo "== PostgreSQL at $STORE (cluster $IAM_TEST_POSTGRES_DIR)" >&2

# start_replica NAME: starts iamd-pg on its own data folder (copies of A's root verifier and KEK), waits for
# its listening line, sets PORT and PID.
start_replica() {
  local name=$1 data=$work/$1
  mkdir -p "$data"
  if [[ $name != a ]]; then cp "$work/a/credentials.json" "$work/a/kek" "$data/"; fi
  local on=()
  if [[ $name == b ]]; then on=("${ON_B[@]}"); fi
  "${on[@]}" "$PG_BIN/iamd-pg" --data-dir "$data" --port 0 --query-port off --log-level warning --store "$IAMD_STORE" \
    --tls-cert "$work/a/tls/server.pem" --tls-key "$work/a/tls/server.key" \
    > "$data/iamd.out" 2> "$data/iamd.err" &
  PID=$!
  pids+=("$PID")
  PORT=$(iamd_port "$PID" "$data/iamd.out" "$data/iamd.err" 300)
}

# A makes the root key, the KEK and a development certificate; the others use A's.
mkdir -p "$work/a"
"$PG_BIN/iamd-pg" --data-dir "$work/a" --port 0 --query-port off --log-level warning --store "$IAMD_STORE" \
  > "$work/a/iamd.out" 2> "$work/a/iamd.err" &
PID=$!
pids+=("$PID")
for _ in $(seq 1 3000); do
  A_PORT=$(grep -o 'listening 127.0.0.1:[0-9]*' "$work/a/iamd.out" 2>/dev/null | cut -d: -f2 || true)
  [[ -n ${A_PORT:-} ]] && break
  kill -0 "$PID" 2>/dev/null || { cat "$work/a/iamd.err" >&2; exit 1; }
  sleep 0.1
done
A_PID=$PID
start_replica b
B_PORT=$PORT B_PID=$PID
echo "== replicas: A 127.0.0.1:$A_PORT (pid $A_PID), B 127.0.0.1:$B_PORT (pid $B_PID)" >&2

CA=$work/a/tls/ca.pem
CRED=$work/a/root-credentials.json
bench() { timeout 900 "$BIN/iam-replica-bench" "$@" --ca "$CA" --credentials "$CRED"; }
out=$work/runs
: > "$out"

# A user for B's Authorize load.
bench create-users --endpoint "127.0.0.1:$A_PORT" --count 1 --concurrency 1 --prefix checker > /dev/null
CHECK=(--endpoint "127.0.0.1:$B_PORT" --ca-file "$CA" --credentials-file "$CRED" --server-pid "$B_PID"
  --principal-arn arn:aws:iam::123456789012:user/checker-0 --duration "$SECS" --warmup 1 --max-calls 50000000)

for run in $(seq "$RUNS"); do
  line=$(bench create-users --endpoint "127.0.0.1:$A_PORT" --count 4000 --concurrency 16 --prefix "c$run")
  echo "create16 run=$run $line" | tee -a "$out" >&2
  bench delete-users --endpoint "127.0.0.1:$A_PORT" --count 4000 --concurrency 16 --prefix "c$run" >&2
  line=$(bench propagation --writer "127.0.0.1:$A_PORT" --reader "127.0.0.1:$B_PORT" --rate 200 \
    --duration "$SECS" --prefix "p$run" --probe wait)
  echo "propagation run=$run $line" | tee -a "$out" >&2
  line=$(bench propagation --writer "127.0.0.1:$A_PORT" --reader "127.0.0.1:$B_PORT" --rate 200 \
    --duration "$SECS" --prefix "q$run" --probe poll)
  echo "propagation-poll run=$run $line" | tee -a "$out" >&2
  line=$(bench propagation --writer "127.0.0.1:$A_PORT" --reader "127.0.0.1:$B_PORT" --rate 200 \
    --duration "$SECS" --prefix "r$run" --probe poll --poll-every-ms 1)
  echo "propagation-paced run=$run $line" | tee -a "$out" >&2
  line=$(timeout $((SECS + 60)) "${ON_B[@]}" "$BIN/iam-loadtest" run --workload authorize --connections 1 --in-flight 64 \
    "${CHECK[@]}" | tr '\n' ' ')
  echo "authorize-quiet run=$run $line" | tee -a "$out" >&2
  if [[ ${PIN:-0} == 1 ]]; then
    # The same with nothing written but CPU 1 kept busy, as PostgreSQL, A and the writer keep it (97-98% busy
    # at 500 writes/s): on this VM a busy CPU 1 alone slows CPU 0, so this, not the idle run, is what the
    # writes run differs from only by B following them.
    timeout $((SECS + 10)) sh -c 'while :; do :; done' &
    hog=$!
    line=$(timeout $((SECS + 60)) "${ON_B[@]}" "$BIN/iam-loadtest" run --workload authorize --connections 1 \
      --in-flight 64 "${CHECK[@]}" | tr '\n' ' ')
    kill "$hog" 2>/dev/null || true
    wait "$hog" 2>/dev/null || true
    echo "authorize-neighbour run=$run $line" | tee -a "$out" >&2
  fi
  bench write-load --endpoint "127.0.0.1:$A_PORT" --rate 500 --duration $((SECS + 3)) --prefix "w$run" \
    > "$work/write-load.$run" &
  writer=$!
  sleep 1
  line=$(timeout $((SECS + 60)) "${ON_B[@]}" "$BIN/iam-loadtest" run --workload authorize --connections 1 --in-flight 64 \
    "${CHECK[@]}" | tr '\n' ' ')
  wait "$writer"
  echo "authorize-writes run=$run $line $(cat "$work/write-load.$run")" | tee -a "$out" >&2
done

# Catch-up: fill the database to 100,000 changes, then start new replicas and time them to its revision.
revision() { psql "$STORE" -Atc "SELECT value FROM meta WHERE key = 'revision'"; }
have=$(revision)
[[ ${CATCHUP:-1} == 0 ]] && RUNS_CATCHUP=0 || RUNS_CATCHUP=$RUNS
if (( RUNS_CATCHUP > 0 && have < 100000 )); then
  echo "== seeding $((100000 - have)) changes through A: 4,000 users, then TagUser writes over them" >&2
  bench create-users --endpoint "127.0.0.1:$A_PORT" --count 4000 --concurrency 16 --prefix seed >&2
  have=$(revision)
  bench tag-writes --endpoint "127.0.0.1:$A_PORT" --count $((100000 - have)) --concurrency 16 --users 4000 \
    --prefix seed >&2
fi
target=$(revision)
for run in $(seq "$RUNS_CATCHUP"); do
  start_ns=$(date +%s%N)
  start_replica "c$run"
  listen_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
  # Nothing is written meanwhile, so the snapshot it loaded at start must already be at the target.
  rev=$(bench revision --endpoint "127.0.0.1:$PORT" | field revision)
  [[ $rev -ge $target ]] || { echo "replica c$run started at revision $rev, below $target" >&2; exit 1; }
  caught_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
  echo "catchup run=$run changes=$target listening_ms=$listen_ms caught_up_ms=$caught_ms" | tee -a "$out" >&2
  stop_iamd "$PID"
done

med() { grep "^$1 " "$out" | field "$2" | median; }
# The median over runs of one run's calls/s with writes divided by its calls/s in run kind $1: each run's pair is
# measured minutes apart, where this shared machine drifts by a fifth between runs.
paired() {
  for run in $(seq "$RUNS"); do
    a=$(grep "^authorize-writes run=$run " "$out" | field calls_per_s)
    b=$(grep "^$1 run=$run " "$out" | field calls_per_s)
    awk -v a="$a" -v b="$b" 'BEGIN {if (b > 0) printf "%.3f\n", a / b}'
  done | median
}
echo
echo "## iamd replicas over PostgreSQL 15 (one machine, fsync on): medians of $RUNS runs of ${SECS} s"
echo
echo "| figure | median |"
echo "|---|---|"
echo "| CreateUser/s, 16 concurrent writers on A | $(med create16 creates_per_s) |"
echo "| propagation A -> B at 200 writes/s, probe wait (Authorize with min_revision): p50 ms | $(med propagation p50_ms) |"
echo "| propagation A -> B at 200 writes/s, probe wait (Authorize with min_revision): p99 ms | $(med propagation p99_ms) |"
echo "| propagation A -> B at 200 writes/s, probe poll (Health back to back): p50 ms | $(med propagation-poll p50_ms) |"
echo "| propagation A -> B at 200 writes/s, probe poll (Health back to back): p99 ms | $(med propagation-poll p99_ms) |"
echo "| propagation A -> B at 200 writes/s, probe poll (Health every 1 ms): p50 ms | $(med propagation-paced p50_ms) |"
echo "| propagation A -> B at 200 writes/s, probe poll (Health every 1 ms): p99 ms | $(med propagation-paced p99_ms) |"
quiet=$(med authorize-quiet calls_per_s)
loaded=$(med authorize-writes calls_per_s)
echo "| Authorize calls/s on B, no writes | $quiet |"
echo "| Authorize calls/s on B, A taking 500 writes/s (achieved: $(med authorize-writes writes_per_s)/s) | $loaded ($(awk -v a="$loaded" -v b="$quiet" 'BEGIN {if (b > 0) printf "%.0f%%", 100 * a / b}')) |"
echo "| the same, median of each run's own ratio to its run with no writes (the comparison to read) | $(paired authorize-quiet) |"
if [[ ${PIN:-0} == 1 ]]; then
  busy=$(med authorize-neighbour calls_per_s)
  echo "| Authorize calls/s on B, no writes, CPU 1 kept busy | $busy ($(awk -v a="$busy" -v b="$quiet" 'BEGIN {if (b > 0) printf "%.0f%%", 100 * a / b}') of no writes) |"
  echo "| Authorize with writes against no writes with CPU 1 kept busy | $(awk -v a="$loaded" -v b="$busy" 'BEGIN {if (b > 0) printf "%.0f%%", 100 * a / b}') (median of each run's ratio $(paired authorize-neighbour)) |"
fi
echo "| new replica after $target changes: start to listening, ms | $(med catchup listening_ms) |"
echo "| new replica after $target changes: start to Health at the revision, ms | $(med catchup caught_up_ms) |"
echo "errors: $(grep -o 'errors=[0-9]*' "$out" | cut -d= -f2 | awk '{s += $1} END {print s + 0}')"
