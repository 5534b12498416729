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

# Issue 10: the whole process, side by side: Rscript reading the CSV and calling survfit +
# survdiff + coxph, against icmm analyze reading the same CSV and writing its whole JSON report
# (every curve point) to a file. Wall-clock seconds and peak RSS from /usr/bin/time.
echo "== whole process (wall clock, max RSS), one run each"
# CPU time (user + sys) too: on a shared, loaded machine the wall clock mostly measures the wait
# for a CPU, and CPU time is the figure that compares the work done.
/usr/bin/time -f "%e %M %U %S" -o "$out/r_whole.txt" Rscript "$here/r_timings.R" "$data" > /dev/null
/usr/bin/time -f "%e %M %U %S" -o "$out/swift_whole.txt" "$bin" analyze --csv "$data" --time time --event status --group group \
    --cox x1,x2 > "$out/swift_report_whole.json"
read -r r_s r_kb r_user r_sys < <(tail -1 "$out/r_whole.txt")
read -r s_s s_kb s_user s_sys < <(tail -1 "$out/swift_whole.txt")
awk -v r="$r_s" -v s="$s_s" -v rk="$r_kb" -v sk="$s_kb" -v rc="$(echo "$r_user $r_sys" | awk '{print $1 + $2}')" \
    -v sc="$(echo "$s_user $s_sys" | awk '{print $1 + $2}')" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" \
    -v bytes="$(stat -c %s "$out/swift_report_whole.json")" 'BEGIN {
    printf "Rscript (read.csv + survfit + survdiff + coxph): %.2f s wall, %.2f s CPU, max RSS %.0f MB\n", r, rc, rk / 1024
    printf "icmm analyze (CSV in, %.0f MB of JSON out):      %.2f s wall, %.2f s CPU, max RSS %.0f MB\n", bytes / 1048576, s, sc, sk / 1024
    printf "whole-process ratio R/icmm: %.1fx wall, %.1fx CPU (target >= 10x; load average %s); icmm peak memory %.0f MB (target < 400 MB)\n", r / s, rc / sc, load, sk / 1024
}' | tee -a "$out/summary.txt"
