#!/usr/bin/env bash
# Our RPC stack against a C + OpenSSL peer doing the same framing (c-echo/iam_echo.c), side by side in
# one run: Health/Ping, 1 connection x 1 call in flight, TLS 1.3 on loopback, compression off.
# The runs alternate (C, Swift, C, Swift, ...) so both see the same machine load; prints every run, the
# median p50 and server CPU per call of each, and the ratio of the p50s.
# The Swift side is the iamd next to the load tester (started per run on a temporary data folder).
# Usage (from the package root, after `swift build -c release --product iamd` and `--product iam-loadtest`):
#   tools/benchmarks/rpc-vs-c.sh [path/to/iam-loadtest] [seconds per run] [runs] [payload bytes]
#   BASELINE=old/build/iam-loadtest tools/benchmarks/rpc-vs-c.sh ...   (also an older build, with its own iamd,
#     in every round: C, baseline, Swift; the C echo's p50 moves by a third between sittings on these machines
#     as their idle states change, so a before/after is only fair within one run)
set -euo pipefail
BIN=${1:-.build/release/iam-loadtest}
SECONDS_PER_RUN=${2:-5}
RUNS=${3:-3}
PAYLOAD=${4:-226}
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$t"
}
trap cleanup EXIT
cc -O2 -Wall -o "$t/iam_echo" "$here/c-echo/iam_echo.c" -lssl -lcrypto -lpthread
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/key.pem" -out "$t/cert.pem" \
  -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
"$t/iam_echo" server "$t/cert.pem" "$t/key.pem" > "$t/server.out" &
server_pid=$!
for _ in $(seq 50); do grep -q '^PORT ' "$t/server.out" 2>/dev/null && break; sleep 0.1; done
port=$(awk '/^PORT /{print $2}' "$t/server.out")
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for run in $(seq "$RUNS"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  "$t/iam_echo" client "$port" --payload "$PAYLOAD" --duration "$SECONDS_PER_RUN" --warmup 1 --server-pid "$server_pid" \
    | tee -a "$t/c.txt" | grep -E 'latency|server_cpu' | tr '\n' ' ' | sed "s/^/run $run C     (load $load): /"
  echo
  if [[ -n ${BASELINE:-} ]]; then
    load=$(cut -d' ' -f1 /proc/loadavg)
    "$BASELINE" run --connections 1 --in-flight 1 --payload "$PAYLOAD" --compression off --duration "$SECONDS_PER_RUN" \
      --warmup 1 | tee -a "$t/base.txt" | grep -E 'latency|server_cpu' | tr '\n' ' ' | sed "s/^/run $run base  (load $load): /"
    echo
  fi
  load=$(cut -d' ' -f1 /proc/loadavg)
  "$BIN" run --connections 1 --in-flight 1 --payload "$PAYLOAD" --compression off --duration "$SECONDS_PER_RUN" \
    --warmup 1 | tee -a "$t/swift.txt" | grep -E 'latency|server_cpu' | tr '\n' ' ' | sed "s/^/run $run Swift (load $load): /"
  echo
done
c50=$(grep -o 'p50=[0-9.]*' "$t/c.txt" | cut -d= -f2 | median)
s50=$(grep -o 'p50=[0-9.]*' "$t/swift.txt" | cut -d= -f2 | median)
ccpu=$(grep -o 'server_cpu_us_per_call=[0-9.]*' "$t/c.txt" | cut -d= -f2 | median)
scpu=$(grep -o 'server_cpu_us_per_call=[0-9.]*' "$t/swift.txt" | cut -d= -f2 | median)
crate=$(grep -o 'calls_per_s=[0-9.]*' "$t/c.txt" | cut -d= -f2 | median)
srate=$(grep -o 'calls_per_s=[0-9.]*' "$t/swift.txt" | cut -d= -f2 | median)
python3 -c "print(f'MEDIAN 1x1 payload=$PAYLOAD: C echo p50=${c50}us ({float($crate):.0f} calls/s, server {float($ccpu):.1f}us CPU/call); swift-iam p50=${s50}us ({float($srate):.0f} calls/s, server {float($scpu):.1f}us CPU/call); ratio {float($s50)/float($c50):.2f}x')"
if [[ -n ${BASELINE:-} ]]; then
  b50=$(grep -o 'p50=[0-9.]*' "$t/base.txt" | cut -d= -f2 | median)
  bcpu=$(grep -o 'server_cpu_us_per_call=[0-9.]*' "$t/base.txt" | cut -d= -f2 | median)
  python3 -c "print(f'MEDIAN baseline p50=${b50}us (server {float($bcpu):.1f}us CPU/call); ratio {float($b50)/float($c50):.2f}x; Swift against baseline p50 {float($s50)/float($b50):.3f}')"
fi
