#!/usr/bin/env bash
# Survival engine benchmark: 1,000,000 subjects in 3 groups, Swift (icmm analyze, release build)
# against R's survfit / survdiff / coxph on the same CSV, in one run. Called by `make bench`
# from the repository root; writes its data and outputs under benchmarks/out/survival/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/benchmarks/out/survival"
n="${SURVIVAL_BENCH_N:-1000000}"
mkdir -p "$out"
cd "$root"

echo "== building icmm (release)"
swift build -c release --product icmm >/dev/null
bin="$(swift build -c release --show-bin-path)/icmm"

data="$out/subjects_$n.csv"
if [ ! -s "$data" ]; then
    echo "== generating $n subjects"
    Rscript "$here/generate.R" "$data" "$n"
fi

echo "== R (survival)"
Rscript "$here/r_timings.R" "$data" > "$out/r.json"

echo "== Swift (icmm analyze --timings)"
timev=()
if [ -x /usr/bin/time ]; then timev=(/usr/bin/time -v -o "$out/time_v.txt"); fi
"${timev[@]}" "$bin" analyze --csv "$data" --time time --event status --group group \
    --cox x1,x2 --timings > "$out/swift_report.json" 2> "$out/swift.json"

Rscript "$here/report.R" "$out/r.json" "$out/swift.json" "$out/swift_report.json" "$out/time_v.txt" \
    | tee "$out/summary.txt"
