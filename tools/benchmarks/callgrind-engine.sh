#!/usr/bin/env bash
# Instructions and allocations per decide() on an `iam policy evaluate` case file, counted by callgrind (exact and
# repeatable whatever else the machine runs).
# Usage: tools/benchmarks/callgrind-engine.sh CASES.json [N] [MODE]   (runs N and 2N checks; N defaults to 24000)
# MODE decide (default): the bare decide(); server: what iamd adds per Authorize check around the engine (the
# caller's context from pairs, layered over a principal's and the clock's, the request, evaluate()).
# Prints: instructions per check = (total(2N) - total(N)) / N, and allocation calls per check the same way.
set -euo pipefail
cases=$1
n=${2:-24000}
mode=${3:-decide}
root=$(cd "$(dirname "$0")/../.." && pwd)
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
mkdir "$t/src"
cp "$root"/Sources/IAMPolicy/*.swift "$root"/Sources/IAMPolicyVectors/*.swift "$t/src/"
# One module: the cross-module imports go.
sed -i -E 's/^(package |public )?import IAMPolicy$//' "$t"/src/*.swift
swiftc -O -swift-version 6 -package-name engine "$t"/src/*.swift "$root/tools/benchmarks/callgrind/main.swift" \
    -o "$t/harness"
count() { # checks -> "instructions allocations"
    valgrind --tool=callgrind --callgrind-out-file="$t/cg.$1" "$t/harness" "$1" "$cases" "$mode" >/dev/null 2>&1
    local ir allocs
    ir=$(grep -a '^totals:\|^summary:' "$t/cg.$1" | head -1 | awk '{print $2}')
    # Calls into malloc, summed over its callers in the call tree (every Swift allocation ends there).
    allocs=$(callgrind_annotate --tree=caller --threshold=100 "$t/cg.$1" 2>/dev/null | python3 -c '
import re, sys
lines = sys.stdin.read().split("\n")
total = 0
for i, line in enumerate(lines):
    if re.search(r"\*  \S*:malloc ", line):
        j = i - 1
        while j >= 0 and "<" in lines[j]:
            m = re.search(r"\(([0-9,]+)x\)", lines[j])
            total += int(m.group(1).replace(",", "")) if m else 0
            j -= 1
print(total)')
    echo "$ir $allocs"
}
read -r ir1 al1 < <(count "$n")
read -r ir2 al2 < <(count $((2 * n)))
echo "instructions/check $(( (ir2 - ir1) / n ))  malloc calls: $al1 for $n checks, $al2 for $((2 * n)) ($(basename "$cases"))"
