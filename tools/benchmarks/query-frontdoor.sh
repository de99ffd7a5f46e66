#!/usr/bin/env bash
# The AWS front door next to the binary protocol, same iamd, same run: GetUser and SimulatePrincipalPolicy,
# one connection with keep-alive, one call at a time (calls/s and p50), then the SigV4 verification cost with
# the derived-key cache. Prints one line per figure; run it several times and take medians.
#
#   tools/benchmarks/query-frontdoor.sh [release|debug]   (default release; builds iamd, iam-loadtest and iam-sigv4-bench)
#   CALLS=5000 DURATION=10 SCRATCH=.build-rel tools/benchmarks/query-frontdoor.sh   (SCRATCH: swift build --scratch-path)
#   BIN=.build-rel/release tools/benchmarks/query-frontdoor.sh   (use binaries already built there, e.g. static ones)
#
# The front door's client is curl (one process, sequential transfers on one kept-alive TLS connection,
# `-w %{time_total}` per call) replaying one request signed with botocore, which the server verifies each
# time exactly as a fresh one; the binary protocol's client is iam-loadtest (--connections 1 --in-flight 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
config="${1:-release}"
calls="${CALLS:-5000}"
duration="${DURATION:-10}"
scratch=(--scratch-path "${SCRATCH:-.build}")
if [[ -n ${BIN:-} ]]; then
    bin="$BIN"
else
    for product in iamd iam-loadtest iam-sigv4-bench; do swift build -c "$config" "${scratch[@]}" --product "$product" >&2; done
    bin="$(swift build -c "$config" "${scratch[@]}" --show-bin-path)"
fi
work="$(mktemp -d)"
pid=""
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
"$bin/iamd" --port 0 --query-port 0 --data-dir "$work/data" --log-level warning >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 600); do grep -q '^query listening' "$work/out" 2>/dev/null && break; sleep 0.2; done
binary_port="$(sed -n 's/^listening 127.0.0.1:\(.*\)$/\1/p' "$work/out")"
query="$(sed -n 's/^query listening \(.*\)$/\1/p' "$work/out")"
ca="$work/data/tls/ca.pem"
root="$work/data/root-credentials.json"

python3 - "$query" "$ca" "$root" "$work" "$calls" <<'PY'
import json, sys, urllib.parse, boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
endpoint, ca, root, work, calls = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3])), sys.argv[4], int(sys.argv[5])
iam = boto3.client("iam", endpoint_url="https://" + endpoint, verify=ca, region_name="us-east-1",
                   aws_access_key_id=root["accessKeyId"], aws_secret_access_key=root["secretAccessKey"])
iam.create_user(UserName="alice")
iam.put_user_policy(UserName="alice", PolicyName="s3", PolicyDocument=json.dumps({"Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*"}]}))
# The same requests iam-loadtest sends below (--principal-arn alice --action s3:GetObject --resource photos/cat.jpg,
# with its three context entries), so the two protocols answer identical questions.
simulate = urllib.parse.urlencode([
    ("Action", "SimulatePrincipalPolicy"), ("Version", "2010-05-08"),
    ("PolicySourceArn", "arn:aws:iam::123456789012:user/alice"), ("ActionNames.member.1", "s3:GetObject"),
    ("ResourceArns.member.1", "arn:aws:s3:::photos/cat.jpg"),
    ("ContextEntries.member.1.ContextKeyName", "aws:SourceIp"),
    ("ContextEntries.member.1.ContextKeyValues.member.1", "203.0.113.9"),
    ("ContextEntries.member.1.ContextKeyType", "ip"),
    ("ContextEntries.member.2.ContextKeyName", "aws:RequestedRegion"),
    ("ContextEntries.member.2.ContextKeyValues.member.1", "us-east-1"),
    ("ContextEntries.member.2.ContextKeyType", "string"),
    ("ContextEntries.member.3.ContextKeyName", "aws:SecureTransport"),
    ("ContextEntries.member.3.ContextKeyValues.member.1", "true"),
    ("ContextEntries.member.3.ContextKeyType", "boolean")])
bodies = {"get-user": "Action=GetUser&Version=2010-05-08&UserName=alice", "simulate": simulate}
for name, body in bodies.items():
    req = AWSRequest(method="POST", url="https://" + endpoint + "/", data=body.encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(root["accessKeyId"], root["secretAccessKey"]), "iam", "us-east-1").add_auth(req)
    p = req.prepare()
    with open(f"{work}/{name}.curl", "w") as f:
        for i in range(calls):
            if i:
                f.write("next\n")
            # Every option again in each block: curl starts each `next` transfer from defaults, so a
            # command-line --cacert or -w would apply to the first call only (the later ones failed
            # certificate verification, exit 60, which is why this script once printed nothing).
            f.write(f'url = "https://{endpoint}/"\ncacert = "{ca}"\nsilent\n')
            for k, v in p.headers.items():
                if k.lower() not in ("content-length",):
                    f.write(f'header = "{k}: {v}"\n')
            f.write(f'data-binary = "{body}"\n')
            f.write('output = "/dev/null"\n')
            f.write('write-out = "%{http_code} %{time_total} %{num_connects}\\n"\n')
PY

# iamd's CPU time so far (user + system), in clock ticks.
server_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

report_curl() { # name
    local start end cpu0 cpu1
    cpu0=$(server_ticks)
    start=$(date +%s.%N)
    curl -K "$work/$1.curl" >"$work/$1.times"
    end=$(date +%s.%N)
    cpu1=$(server_ticks)
    python3 - "$work/$1.times" "$start" "$end" "$1" "$((cpu1 - cpu0))" "$(getconf CLK_TCK)" <<'PY'
import sys
lines = [l.split() for l in open(sys.argv[1]) if l.strip()]
bad = [l for l in lines if l[0] != "200"]
if bad:
    sys.exit(f"{len(bad)} calls failed: {bad[:3]}")
# Keep-alive: one TLS connection for the whole run (num_connects is 1 on the first call, 0 after).
connects = sum(int(l[2]) for l in lines)
if connects != 1:
    sys.exit(f"{connects} connections for {len(lines)} calls: keep-alive did not hold")
# time_total includes the first call's TLS handshake; the median is unaffected.
t = sorted(float(l[1]) for l in lines)
wall = float(sys.argv[3]) - float(sys.argv[2])
cpu_us = int(sys.argv[5]) / int(sys.argv[6]) * 1e6 / len(t)
print(f"query {sys.argv[4]}: calls={len(t)} calls_per_s={len(t)/wall:.0f} p50_us={t[len(t)//2]*1e6:.0f}"
      f" server_cpu_us_per_call={cpu_us:.1f}")
PY
}
report_curl get-user
report_curl simulate
for workload in get-user simulate; do
    "$bin/iam-loadtest" run --workload "$workload" --port "$binary_port" --trust "$ca" --credentials-file "$root" \
        --principal-arn arn:aws:iam::123456789012:user/alice --action s3:GetObject --resource arn:aws:s3:::photos/cat.jpg \
        --connections 1 --in-flight 1 --duration "$duration" --server-pid "$pid" 2>&1 |
        grep -E 'calls_per_s|p50|calls/s|cpu' | sed "s/^/binary $workload: /"
done
"$bin/iam-sigv4-bench" --iterations 200000 --runs 5
