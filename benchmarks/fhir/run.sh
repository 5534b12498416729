#!/usr/bin/env bash
# FHIR ingest: N cases (default 10,000) as FHIR R4 transaction Bundles (~16 resources per case) through
# POST /v1/fhir, against the same cases as NDJSON through POST /v1/imports, in the same run, on the same
# server, with the same batching (PER cases per request), at default settings (log level, durability).
# Target: FHIR at least half the NDJSON rate (cases/s). Then checks that both sites hold the same cases.
# Usage: benchmarks/fhir/run.sh   (from the repo root, after `swift build -c release`)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-10000}
PER=${PER:-100}
PORT=${PORT:-18097}
OUT=benchmarks/out; mkdir -p "$OUT"
BIN=${BIN:-"$(swift build -c release --show-bin-path)/icmm"}
[ -x "$BIN" ] || swift build -c release --product icmm
WORK=$(mktemp -d)
SERVER=""
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

python3 benchmarks/fhir/make_data.py "$N" "$PER" "$WORK/data"
du -sh "$WORK/data/ndjson" "$WORK/data/fhir" | awk '{print "data:", $2, $1}'
"$BIN" migrate --db "$WORK/bench.sqlite" >/dev/null
export ICMM_KEY=$("$BIN" keys create --site CENTRAL --role admin --db "$WORK/bench.sqlite" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
"$BIN" serve --port "$PORT" --db "$WORK/bench.sqlite" >"$OUT/fhir-serve.log" 2>&1 & SERVER=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

ndjson=$(python3 benchmarks/fhir/post_all.py "$PORT" "/v1/imports?site=NDJSON" application/x-ndjson "$WORK/data/ndjson")
fhir=$(python3 benchmarks/fhir/post_all.py "$PORT" "/v1/fhir?site=FHIR" application/fhir+json "$WORK/data/fhir")
python3 - "$N" "$PER" "$ndjson" "$fhir" <<'PY' | tee "$OUT/fhir.txt"
import sys
n, per, ndjson, fhir = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print(f"POST /v1/imports (NDJSON):           {n} cases in {n // per} requests: {ndjson:.2f} s, {n / ndjson:,.0f} cases/s")
print(f"POST /v1/fhir (transaction Bundles): {n} cases in {n // per} requests: {fhir:.2f} s, {n / fhir:,.0f} cases/s")
ratio = ndjson / fhir
print(f"FHIR rate / NDJSON rate: {ratio:.2f} (target >= 0.50): {'met' if ratio >= 0.5 else 'NOT MET'}")
PY
kill $SERVER; wait $SERVER 2>/dev/null || true; SERVER=""
# The same cases, field by field, whichever way they came in.
python3 - "$WORK/bench.sqlite" "$N" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = lambda site: dict(db.execute("SELECT external_id, data FROM cases WHERE site = ?", (site,)).fetchall())
a, b = rows("NDJSON"), rows("FHIR")
assert len(a) == len(b) == int(sys.argv[2]), (len(a), len(b))
different = [k for k in a if a[k] != b.get(k)]
print(f"stored: {len(a)} NDJSON, {len(b)} FHIR; cases that differ: {len(different)}")
sys.exit(1 if different else 0)
PY
