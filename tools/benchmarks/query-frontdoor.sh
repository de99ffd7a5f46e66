#!/usr/bin/env bash
# The AWS front door next to the binary protocol, same iamd, same run: GetUser and SimulatePrincipalPolicy,
# one connection with keep-alive, one call at a time (calls/s and p50), then the SigV4 verification cost with
# the derived-key cache. Prints one line per figure; run it several times and take medians.
#
#   tools/benchmarks/query-frontdoor.sh [release|debug]   (default release; builds iamd and iam-loadtest)
#   CALLS=5000 DURATION=10 tools/benchmarks/query-frontdoor.sh
#
# The front door's client is curl (one process, sequential transfers on one kept-alive TLS connection,
# `-w %{time_total}` per call) replaying one request signed with botocore, which the server verifies each
# time exactly as a fresh one; the binary protocol's client is iam-loadtest (--connections 1 --in-flight 1).
# STATUS: written but not yet run to completion: in its one attempt (debug build, load average ~19) the curl
# replay produced no answer within 10 minutes and was stopped; find out why before trusting it.
set -euo pipefail
cd "$(dirname "$0")/../.."
config="${1:-release}"
calls="${CALLS:-5000}"
duration="${DURATION:-10}"
swift build -c "$config" --product iamd >&2
swift build -c "$config" --product iam-loadtest >&2
bin="$(swift build -c "$config" --show-bin-path)"
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
import json, sys, boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
endpoint, ca, root, work, calls = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3])), sys.argv[4], int(sys.argv[5])
iam = boto3.client("iam", endpoint_url="https://" + endpoint, verify=ca, region_name="us-east-1",
                   aws_access_key_id=root["accessKeyId"], aws_secret_access_key=root["secretAccessKey"])
iam.create_user(UserName="alice")
iam.put_user_policy(UserName="alice", PolicyName="s3", PolicyDocument=json.dumps({"Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*"}]}))
bodies = {"get-user": "Action=GetUser&Version=2010-05-08&UserName=alice",
          "simulate": "Action=SimulatePrincipalPolicy&Version=2010-05-08&PolicySourceArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Falice&ActionNames.member.1=s3%3AGetObject"}
for name, body in bodies.items():
    req = AWSRequest(method="POST", url="https://" + endpoint + "/", data=body.encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(root["accessKeyId"], root["secretAccessKey"]), "iam", "us-east-1").add_auth(req)
    p = req.prepare()
    with open(f"{work}/{name}.curl", "w") as f:
        for i in range(calls):
            if i:
                f.write("next\n")
            f.write(f'url = "https://{endpoint}/"\n')
            for k, v in p.headers.items():
                if k.lower() not in ("content-length",):
                    f.write(f'header = "{k}: {v}"\n')
            f.write(f'data-binary = "{body}"\n')
            f.write('output = "/dev/null"\n')
PY

report_curl() { # name
    local start end
    start=$(date +%s.%N)
    curl -s --cacert "$ca" -w '%{http_code} %{time_total}\n' -K "$work/$1.curl" >"$work/$1.times"
    end=$(date +%s.%N)
    python3 - "$work/$1.times" "$start" "$end" "$1" <<'PY'
import sys
lines = [l.split() for l in open(sys.argv[1]) if l.strip()]
bad = [l for l in lines if l[0] != "200"]
if bad:
    sys.exit(f"{len(bad)} calls failed: {bad[:3]}")
# time_total includes the first call's TLS handshake; the median is unaffected.
t = sorted(float(l[1]) for l in lines)
wall = float(sys.argv[3]) - float(sys.argv[2])
print(f"query {sys.argv[4]}: calls={len(t)} calls_per_s={len(t)/wall:.0f} p50_us={t[len(t)//2]*1e6:.0f}")
PY
}
report_curl get-user
report_curl simulate
for workload in get-user simulate-principal-policy; do
    "$bin/iam-loadtest" run --workload "$workload" --port "$binary_port" --trust "$ca" --credentials-file "$root" \
        --principal-arn arn:aws:iam::123456789012:user/alice --action s3:GetObject --user-name alice \
        --connections 1 --in-flight 1 --duration "$duration" --server-pid "$pid" 2>&1 |
        grep -E 'calls_per_s|p50|calls/s' | sed "s/^/binary $workload: /"
done
"$bin/iam-loadtest" sigv4 --iterations 200000 --runs 5
