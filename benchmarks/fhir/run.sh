#!/usr/bin/env bash
# FHIR ingest: N cases (default 10,000) as FHIR R4 transaction Bundles (~16 resources per case) through
# POST /v1/fhir, against the same cases as NDJSON through POST /v1/imports, in the same run, on the same
# server, with the same batching (PER cases per request), at default settings (log level, durability).
# Target: FHIR at least half the NDJSON rate (cases/s), median of ROUNDS alternating rounds. Then checks
# that the two sites of round 1 hold the same cases field by field.
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
# ROUNDS rounds (default 3), alternating which goes first; each round into its own pair of sites.
ROUNDS=${ROUNDS:-3}
# One admin key per method and round: the default per-key rate limit (50 requests/s, burst 200)
# would otherwise refuse requests with 429 after a few fast rounds; each post_all.py run needs
# N/PER requests, within one key's burst.
declare -a KEYS
for i in $(seq $((2 * ROUNDS))); do
  KEYS[$i]=$("$BIN" keys create --site CENTRAL --role admin --db "$WORK/bench.sqlite" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
done
"$BIN" serve --port "$PORT" --db "$WORK/bench.sqlite" >"$OUT/fhir-serve.log" 2>&1 & SERVER=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

: > "$OUT/fhir.txt"
for round in $(seq "$ROUNDS"); do
  NDJSON_KEY=${KEYS[$((2 * round - 1))]}; FHIR_KEY=${KEYS[$((2 * round))]}
  if [ $((round % 2)) = 1 ]; then
    ndjson=$(ICMM_KEY=$NDJSON_KEY python3 benchmarks/fhir/post_all.py "$PORT" "/v1/imports?site=NDJSON-$round" application/x-ndjson "$WORK/data/ndjson")
    fhir=$(ICMM_KEY=$FHIR_KEY python3 benchmarks/fhir/post_all.py "$PORT" "/v1/fhir?site=FHIR-$round" application/fhir+json "$WORK/data/fhir")
  else
    fhir=$(ICMM_KEY=$FHIR_KEY python3 benchmarks/fhir/post_all.py "$PORT" "/v1/fhir?site=FHIR-$round" application/fhir+json "$WORK/data/fhir")
    ndjson=$(ICMM_KEY=$NDJSON_KEY python3 benchmarks/fhir/post_all.py "$PORT" "/v1/imports?site=NDJSON-$round" application/x-ndjson "$WORK/data/ndjson")
  fi
  echo "$round $ndjson $fhir" >> "$OUT/fhir.txt"
done
python3 - "$N" "$PER" "$OUT/fhir.txt" <<'PY'
import statistics, sys
n, per = int(sys.argv[1]), int(sys.argv[2])
rows = [line.split() for line in open(sys.argv[3]) if line.strip()]
ratios = []
for round_, ndjson, fhir in rows:
    ndjson, fhir = float(ndjson), float(fhir)
    ratios.append(ndjson / fhir)
    print(f"round {round_}: NDJSON {n / ndjson:,.0f} cases/s ({ndjson:.2f} s), FHIR {n / fhir:,.0f} cases/s ({fhir:.2f} s), FHIR/NDJSON {ndjson / fhir:.2f}")
median = statistics.median(ratios)
print(f"{n} cases in {n // per} requests per method and round; median FHIR rate / NDJSON rate: {median:.2f} (target >= 0.50): {'met' if median >= 0.5 else 'NOT MET'}")
PY
kill $SERVER; wait $SERVER 2>/dev/null || true; SERVER=""
# The same cases, field by field, whichever way they came in.
python3 - "$WORK/bench.sqlite" "$N" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = lambda site: dict(db.execute("SELECT external_id, data FROM cases WHERE site = ?", (site,)).fetchall())
a, b = rows("NDJSON-1"), rows("FHIR-1")
assert len(a) == len(b) == int(sys.argv[2]), (len(a), len(b))
different = [k for k in a if a[k] != b.get(k)]
print(f"stored (round 1): {len(a)} NDJSON, {len(b)} FHIR; cases that differ: {len(different)}")
sys.exit(1 if different else 0)
PY
