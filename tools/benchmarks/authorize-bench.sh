#!/usr/bin/env bash
# Issue 7 §8: the authorization path of a real iamd on SQLite, against Health/Ping in the same run (ratios
# matter on a noisy shared machine). For each size it seeds a fresh data folder with iam-seed, starts iamd
# on 127.0.0.1 port 0, measures start-up to the `listening` line and resident memory (/proc), then runs,
# RUNS times in alternation: Ping and Authorize at 1x1 and 4x64, and AuthorizeBatch of BATCH checks on one
# connection (4 calls in flight). Prints every run and a table of medians.
#
#   tools/benchmarks/authorize-bench.sh [runs=3] [seconds per load run=5] [sizes="small large"]
#
# SHAPES="1x1 4x64" (default) chooses the shapes Ping and Authorize run at; BATCH=0 leaves the batch runs out. Besides
# the medians of each workload it prints the median of the runs' paired figures (each run's Authorize against the
# Ping just before it): the p50 difference at 1 x 1 and the calls/s ratio at 4 x 64, which the machine's drift
# between runs moves less. So `SHAPES=1x1 BATCH=0 authorize-bench.sh 15 3 small` weighs the 1 x 1 target alone.
#
# small = 10 users, 4 groups, 8 policies; mid = 1,000 users, 200 groups, 100 policies (as many principals asked
# about as large, in a set 100 times smaller); large = 100,000 users, 20,000 groups, 10,000 policies
# (each user in 3 groups with 2 policies each, plus 1 direct policy). Every load loop is bounded in time
# (--duration, plus `timeout`) and in calls (--max-calls). Unless BIN is set, builds the binaries first with
# tools/scripts/build-release. The calls ask about up to PRINCIPALS (default 64) users spread over the set; with
# PRINCIPALS=10 both sizes ask about as many principals, so the large set's figures differ from the small set's by
# its size alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/benchmarks/iamd-port.sh
RUNS=${1:-3}
SECONDS_PER_RUN=${2:-5}
SIZES=${3:-small large}
BATCH=${BATCH:-100}
SHAPES=${SHAPES:-1x1 4x64}
BIN=${BIN:-}
PRINCIPALS=${PRINCIPALS:-64}
[[ -n $BIN ]] || BIN=$(tools/scripts/build-release iamd iam-loadtest iam-seed)
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
field() { grep -o "$1=[0-9.]*" | cut -d= -f2; }   # field NAME < runs: one value per run line

work=$(mktemp -d /tmp/authorize-bench.XXXXXX)
server_pid=
cleanup() {
  stop_iamd "$server_pid"
  rm -rf "$work"
}
trap cleanup EXIT

declare -A RESULT
for size in $SIZES; do
  case $size in
    small) users=10 groups=4 policies=8 ;;
    mid) users=1000 groups=200 policies=100 ;;
    large) users=100000 groups=20000 policies=10000 ;;
    *) echo "unknown size $size" >&2; exit 2 ;;
  esac
  data=$work/$size
  mkdir -p "$data"
  echo "== $size: seeding $users users, $groups groups, $policies policies" >&2
  seed_start=$(date +%s%N)
  (umask 077; timeout 1800 "$BIN/iam-seed" --data-dir "$data" --users "$users" --groups "$groups" \
    --policies "$policies" > "$data/checker.json")
  seed_ms=$(( ($(date +%s%N) - seed_start) / 1000000 ))
  # Up to PRINCIPALS principals spread over the users (the Authorize requests cycle through them).
  principals=()
  count=$(( users < PRINCIPALS ? users : PRINCIPALS ))
  for k in $(seq 0 $((count - 1))); do
    i=$(( k * (users / count) + (k * 7) % (users / count) ))
    principals+=(--principal-arn "$(printf 'arn:aws:iam::123456789012:user/dept-%d/user-%06d' $((i % 20)) "$i")")
  done

  start_ns=$(date +%s%N)
  "$BIN/iamd" --data-dir "$data" --port 0 --query-port off --log-level warning > "$data/iamd.out" 2> "$data/iamd.err" &
  server_pid=$!
  port=$(iamd_port "$server_pid" "$data/iamd.out" "$data/iamd.err" 120)
  startup_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
  rss_start_kib=$(awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status")
  echo "== $size: seeded in ${seed_ms} ms; iamd pid $server_pid port $port listening after ${startup_ms} ms, RSS $((rss_start_kib / 1024)) MiB" >&2

  common=(--port "$port" --server-pid "$server_pid" --trust "$data/tls/ca.pem" --credentials-file "$data/checker.json"
    --duration "$SECONDS_PER_RUN" --warmup 1 --max-calls 20000000)
  out=$work/$size.runs
  : > "$out"
  for run in $(seq "$RUNS"); do
    for shape in $SHAPES; do
      set -- ${shape/x/ }
      for workload in ping authorize; do
        line=$(timeout $((SECONDS_PER_RUN + 60)) "$BIN/iam-loadtest" run --workload "$workload" --connections "$1" \
          --in-flight "$2" "${principals[@]}" "${common[@]}" | tr '\n' ' ')
        echo "$size ${1}x${2} $workload run=$run $line" | tee -a "$out" >&2
      done
    done
    [[ $BATCH -gt 0 ]] || continue
    line=$(timeout $((SECONDS_PER_RUN + 60)) "$BIN/iam-loadtest" run --workload authorize-batch --batch "$BATCH" \
      --connections 1 --in-flight 4 "${principals[@]}" "${common[@]}" | tr '\n' ' ')
    echo "$size 1x4 batch$BATCH run=$run $line" | tee -a "$out" >&2
  done
  rss_end_kib=$(awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status")
  stop_iamd "$server_pid"
  server_pid=

  med() { grep "^$size $1 $2 " "$out" | field "$3" | median; }
  echo
  echo "## $size ($users users, $groups groups, $policies policies; checks ask about $count principals): seed ${seed_ms} ms, start-up to listening ${startup_ms} ms, RSS $((rss_start_kib / 1024)) MiB after start, $((rss_end_kib / 1024)) MiB after the runs; medians of $RUNS runs of ${SECONDS_PER_RUN} s"
  echo
  echo "| shape | workload | calls/s | p50 µs | p99 µs | server CPU µs/call | vs Ping calls/s |"
  echo "|---|---|---|---|---|---|---|"
  for shape in $SHAPES; do
    ping_rate=$(med "$shape" ping calls_per_s)
    for workload in ping authorize; do
      rate=$(med "$shape" "$workload" calls_per_s)
      ratio=$(awk -v a="$rate" -v b="$ping_rate" 'BEGIN {if (b > 0) printf "%.0f%%", 100 * a / b; else print "-"}')
      echo "| $shape | $workload | $rate | $(med "$shape" "$workload" p50) | $(med "$shape" "$workload" p99) | $(med "$shape" "$workload" server_cpu_us_per_call) | $ratio |"
    done
  done
  # Run by run: Authorize's p50 minus the Ping p50 of the same run, and its calls/s over that Ping's.
  paired() {
    paste <(grep "^$size $1 ping " "$out" | field "$2") <(grep "^$size $1 authorize " "$out" | field "$2")
  }
  echo
  for shape in $SHAPES; do
    echo "$shape paired, median of $RUNS runs: Authorize p50 - Ping p50 $(paired "$shape" p50 |
      awk '{printf "%.1f\n", $2 - $1}' | median) µs; Authorize calls/s / Ping's $(paired "$shape" calls_per_s |
      awk '{if ($1 > 0) printf "%.1f\n", 100 * $2 / $1}' | median)%"
  done
  echo
  if [[ $BATCH -gt 0 ]]; then
    echo "AuthorizeBatch of $BATCH, 1 connection x 4 in flight: checks/s $(med 1x4 "batch$BATCH" checks_per_s), p50 $(med 1x4 "batch$BATCH" p50) µs per call, server CPU $(med 1x4 "batch$BATCH" server_cpu_us_per_check) µs/check"
  fi
  echo "errors (all runs): $(grep "^$size " "$out" | grep -o 'errors=[0-9]*' | cut -d= -f2 | awk '{s += $1} END {print s + 0}')"
  echo
done
