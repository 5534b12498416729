#!/usr/bin/env bash
# Instruction counts of the FHIR ingest against the NDJSON import, in one server under callgrind:
# the machine is shared and noisy, instruction counts are not. N cases (default 500) posted in batches
# of PER (default 100) to POST /v1/fhir, then the same cases to POST /v1/imports, after one warm-up
# request of each; the counters are zeroed and dumped around each method.
# Usage: benchmarks/fhir/callgrind.sh   (from the repo root, after `swift build -c release`)
# Needs valgrind. A copy of the binary without debug info is profiled: valgrind 3.19 cannot read
# Swift 6's DWARF (symbols stay).
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-500}
PER=${PER:-100}
PORT=${PORT:-18411}
BIN=${BIN:-"$(swift build -c release --show-bin-path)/icmm"}
OUT=benchmarks/out; mkdir -p "$OUT"
WORK=$(mktemp -d)
VG=""
trap '[ -n "$VG" ] && kill $VG 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
cp "$BIN" "$WORK/icmm" && strip --strip-debug "$WORK/icmm"
python3 benchmarks/fhir/make_data.py "$N" "$PER" "$WORK/data" >/dev/null
python3 benchmarks/fhir/make_data.py "$PER" "$PER" "$WORK/warm" >/dev/null
"$WORK/icmm" migrate --db "$WORK/db.sqlite" >/dev/null 2>&1
export ICMM_KEY=$("$WORK/icmm" keys create --site CENTRAL --role admin --db "$WORK/db.sqlite" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.%p" "$WORK/icmm" serve --port "$PORT" --db "$WORK/db.sqlite" \
  >"$WORK/serve.log" 2>&1 & VG=$!
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
post() { python3 benchmarks/fhir/post_all.py "$PORT" "$1" "$2" "$3" >/dev/null; }
post "/v1/fhir?site=WARM-F" application/fhir+json "$WORK/warm/fhir"
post "/v1/imports?site=WARM-N" application/x-ndjson "$WORK/warm/ndjson"
callgrind_control -z $VG >/dev/null 2>&1
post "/v1/fhir?site=F" application/fhir+json "$WORK/data/fhir"
callgrind_control -d fhir $VG >/dev/null 2>&1
callgrind_control -z $VG >/dev/null 2>&1
post "/v1/imports?site=N" application/x-ndjson "$WORK/data/ndjson"
callgrind_control -d ndjson $VG >/dev/null 2>&1
kill $VG; wait $VG 2>/dev/null || true; VG=""
fhir=$(grep -h '^summary:' "$WORK"/callgrind.*.1 | awk '{print $2}')
ndjson=$(grep -h '^summary:' "$WORK"/callgrind.*.2 | awk '{print $2}')
cp "$WORK"/callgrind.*.1 "$OUT/callgrind-fhir.out"; cp "$WORK"/callgrind.*.2 "$OUT/callgrind-ndjson.out"
python3 - "$N" "$fhir" "$ndjson" <<'PY'
import sys
n, fhir, ndjson = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
print(f"{n} cases: FHIR {fhir:,} Ir ({fhir // n:,} per case), NDJSON {ndjson:,} Ir ({ndjson // n:,} per case), NDJSON/FHIR {ndjson / fhir:.3f}")
PY
echo "profiles: $OUT/callgrind-fhir.out $OUT/callgrind-ndjson.out (callgrind_annotate --inclusive=yes FILE)"
