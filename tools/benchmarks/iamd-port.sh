# Sourced by the benchmark scripts: the port of a starting iamd, and stopping it.
#
#   port=$(iamd_port PID OUT ERR SECONDS)
#   stop_iamd PID
#
# iamd_port prints PORT of the `listening 127.0.0.1:PORT` line iamd (process PID) writes to OUT once it listens. Fails, with
# ERR on standard error, when the process ends first or SECONDS pass (checked every 0.1 s, so bounded).
iamd_port() {
  local pid=$1 out=$2 err=$3 seconds=$4 port=
  for _ in $(seq 1 $((seconds * 10))); do
    port=$(grep -o '^listening 127.0.0.1:[0-9]*' "$out" 2>/dev/null | cut -d: -f2 || true)
    [[ -n $port ]] && { echo "$port"; return 0; }
    kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; return 1; }
    sleep 0.1
  done
  echo "iamd (pid $pid) did not listen within $seconds s" >&2
  cat "$err" >&2
  return 1
}

# Stops iamd (process PID, if it still runs) with SIGTERM and waits for it; nothing for an empty PID.
stop_iamd() {
  local pid=$1
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" 2>/dev/null || true; fi
  return 0
}
