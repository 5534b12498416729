#!/usr/bin/env bash
# Competing risks: cumulative incidence + Gray's test, and Fine-Gray for both causes, in the Swift
# engine (CompetingBench) and in cmprsk 2.2-11, on the same generated data, side by side in one run.
# Sizes: 10,000 subjects (cmprsk's full crr) and 100,000 (cmprsk's crr is O(n^2) per evaluation
# and its variance worse, so at 100,000 its time is measured as a lower bound; see
# cmprsk_timing.R). Both sides time their computation only (not the CSV read).
# Usage: benchmarks/competing/run.sh   (from the repo root)
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZES=${SIZES:-"10000 100000"}
OUT=benchmarks/out; mkdir -p "$OUT"
swift build -c release --product CompetingBench > /dev/null
BIN="$(swift build -c release --show-bin-path)/CompetingBench"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

ratio() { awk -v r="$1" -v s="$2" 'BEGIN { printf "%.0fx", r / (s > 0 ? s : 1e-9) }'; }
field() { grep "$1" "$2" | sed -E 's/.*: (>= )?([0-9.]+) s.*/\2/'; }
for n in $SIZES; do
  Rscript benchmarks/competing/generate.R "$n" "$WORK/data.csv"
  mode=""; [ "$n" -gt 20000 ] && mode="lower-bound"
  echo "== $n subjects"
  "$BIN" "$WORK/data.csv" | tee "$WORK/icmm.txt"
  Rscript benchmarks/competing/cmprsk_timing.R "$WORK/data.csv" $mode | tee "$WORK/r.txt"
  echo "ratio cuminc+gray: $(ratio "$(field 'cuminc+gray' "$WORK/r.txt")" "$(field 'cuminc+gray' "$WORK/icmm.txt")")" \
       " crr: ${mode:+>= }$(ratio "$(field 'crr' "$WORK/r.txt")" "$(field 'crr' "$WORK/icmm.txt")")" \
       " total: ${mode:+>= }$(ratio "$(field 'total' "$WORK/r.txt")" "$(field 'total' "$WORK/icmm.txt")")  (target >= 10x)"
done | tee "$OUT/competing.txt"
