#!/usr/bin/env bash
# Registry writes: POST /v1/cases from 32 concurrent connections (wrk + post_case.lua) with the
# default durability (WAL, synchronous=FULL, group commit), then a check that every acknowledged
# case is in the database; and a 100,000-case import over HTTP and through `icmm import`.
# Usage: benchmarks/registry/run.sh   (from the repo root, after `swift build -c release`)
# BASELINE=/path/to/an/older/icmm first runs the same POST /v1/cases load against that binary.
# STAGES=1 serves at --log-level debug, where the server logs each import's stage seconds (the
# same figures as `icmm import --timings`), and prints them under each HTTP import.
# BASELINE_MIGRATIONS=/path/to/its/Migrations: that build's migrations, when this tree has newer
# ones (an older binary refuses a database that has migrations it does not know).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s}
IMPORT_N=${IMPORT_N:-100000}
OUT=benchmarks/out; mkdir -p "$OUT"
BIN="$(swift build -c release --show-bin-path)/icmm"
[ -x "$BIN" ] || swift build -c release --product icmm
WORK=$(mktemp -d); SERVER=""
LOG_ARGS=(); [ -z "${STAGES:-}" ] || LOG_ARGS=(--log-level debug)
trap '[ -z "$SERVER" ] || kill $SERVER 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

if [ "$IMPORT_N" -gt 0 ]; then python3 benchmarks/registry/make_cases.py "$IMPORT_N" > "$WORK/cases.ndjson"; fi
# CPU seconds of the server process (user + system, from /proc): steadier than wall time on a busy machine.
server_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' /proc/$SERVER/stat; }
# One POST /v1/imports of the whole file to the server on port 18094; prints wall, server CPU and RSS.
# Arguments: label, the server's log (for STAGES=1), a suffix of the saved answer's file name.
http_import() {
  local label=$1 cpu_before cpu_after start end status
  cpu_before=$(server_cpu)
  start=$(date +%s.%N)
  status=$(curl -s -o "$OUT/import-response${3:-}.json" -w '%{http_code}' -X POST "http://127.0.0.1:18094/v1/imports?site=BENCH" \
    -H "Authorization: Bearer $ICMM_KEY" -H 'Content-Type: application/x-ndjson' --data-binary @"$WORK/cases.ndjson")
  end=$(date +%s.%N)
  cpu_after=$(server_cpu)
  local log=$2
  echo "HTTP POST /v1/imports$label: status $status, $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s (target < 5 s, issue 11); server CPU $(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.2f", b - a }') s; RSS after $(awk '/VmRSS/ { printf "%.0f MB", $2 / 1024 }' /proc/$SERVER/status) ($(uptime | sed 's/.*load/load/'))"
  if [ -n "${STAGES:-}" ]; then grep "import stages" "$log" | tail -1 | sed 's/.*import stages: /  stages: /'; fi
}

if [ -n "${BASELINE:-}" ]; then
  BASELINE_ARGS=()
  [ -z "${BASELINE_MIGRATIONS:-}" ] || BASELINE_ARGS=(--migrations "$BASELINE_MIGRATIONS")
  "$BASELINE" migrate "${BASELINE_ARGS[@]}" --db "$WORK/base.sqlite" >/dev/null 2>&1
  export ICMM_KEY=$("$BASELINE" keys create "${BASELINE_ARGS[@]}" --site BENCH --role submitter --db "$WORK/base.sqlite" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
  # The same settings as below: default log, per-key limit lifted.
  "$BASELINE" serve "${BASELINE_ARGS[@]}" --port 18094 --db "$WORK/base.sqlite" --rate-limit 1000000/s --burst 1000000 >"$OUT/registry-serve-baseline.log" 2>&1 & SERVER=$!
  for _ in $(seq 50); do curl -fs http://127.0.0.1:18094/healthz >/dev/null && break; sleep 0.1; done
  echo "== BASELINE: POST /v1/cases, wrk -t2 -c32 -d$DURATION, synchronous=FULL ($(uptime))"
  wrk -t2 -c32 -d"$DURATION" -s benchmarks/registry/post_case.lua http://127.0.0.1:18094 | tee "$OUT/registry-wrk-baseline.txt" | grep -E "Requests/sec|acknowledged_201|other_status"
  if [ "$IMPORT_N" -gt 0 ]; then http_import " (BASELINE)" "$OUT/registry-serve-baseline.log" -baseline; fi
  kill $SERVER; wait $SERVER 2>/dev/null || true
fi

"$BIN" migrate --db "$WORK/bench.sqlite" >/dev/null
export ICMM_KEY=$("$BIN" keys create --site BENCH --role submitter --db "$WORK/bench.sqlite" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
# Durable-write throughput, not the limiter: one key at 32 connections would be held to the
# default per-key rate (50/s), so the limit is lifted here; the access log stays at its default.
"$BIN" serve --port 18094 --db "$WORK/bench.sqlite" --rate-limit 1000000/s --burst 1000000 "${LOG_ARGS[@]}" >"$OUT/registry-serve.log" 2>&1 & SERVER=$!
for _ in $(seq 50); do curl -fs http://127.0.0.1:18094/healthz >/dev/null && break; sleep 0.1; done

echo "== POST /v1/cases, wrk -t2 -c32 -d$DURATION, synchronous=FULL ($(uptime))"
wrk -t2 -c32 -d"$DURATION" -s benchmarks/registry/post_case.lua http://127.0.0.1:18094 | tee "$OUT/registry-wrk.txt" | grep -E "Requests/sec|Latency|acknowledged_201|other_status|Non-2xx"
acked=$(awk '/acknowledged_201/ {print $2}' "$OUT/registry-wrk.txt")
stored=$(sqlite3 "$WORK/bench.sqlite" "SELECT count(*) FROM cases" 2>/dev/null || python3 -c "import sqlite3; print(sqlite3.connect('$WORK/bench.sqlite').execute('SELECT count(*) FROM cases').fetchone()[0])")
echo "acknowledged: $acked  stored: $stored  (every acknowledged case must be stored)"
[ "$stored" -ge "$acked" ] || { echo "LOST CASES"; exit 1; }

[ "$IMPORT_N" -gt 0 ] || exit 0  # IMPORT_N=0: the POST figures only
echo "== import of $IMPORT_N cases"
ls -la "$WORK/cases.ndjson" | awk '{printf "file: %.1f MB\n", $5 / 1e6}'
http_import " after the POST flood" "$OUT/registry-serve.log"
kill $SERVER; wait $SERVER 2>/dev/null || true
# The same import into a fresh registry, same settings, same run: what the flood before it cost
# the import (issue 11 measured 4.5-5.05 s after the flood against 3.41 s in benchmarks/imports).
"$BIN" migrate --db "$WORK/fresh.sqlite" >/dev/null
FLOOD_KEY=$ICMM_KEY
export ICMM_KEY=$("$BIN" keys create --site BENCH --role submitter --db "$WORK/fresh.sqlite" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
"$BIN" serve --port 18094 --db "$WORK/fresh.sqlite" --rate-limit 1000000/s --burst 1000000 "${LOG_ARGS[@]}" >"$OUT/registry-serve-fresh.log" 2>&1 & SERVER=$!
for _ in $(seq 50); do curl -fs http://127.0.0.1:18094/healthz >/dev/null && break; sleep 0.1; done
http_import " into a fresh registry" "$OUT/registry-serve-fresh.log" -fresh
kill $SERVER; wait $SERVER 2>/dev/null || true; SERVER=""; rm -f "$WORK"/fresh.sqlite*
export ICMM_KEY=$FLOOD_KEY
start=$(date +%s.%N)
"$BIN" import --site BENCH2 --db "$WORK/bench.sqlite" --timings "$WORK/cases.ndjson" > "$OUT/import-cli.json" 2> "$OUT/import-cli-stages.txt"
end=$(date +%s.%N)
echo "icmm import (CLI): $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s; $(python3 -c "import json; d=json.load(open('$OUT/import-cli.json')); print(d['created'], 'created')")"
# Where the time goes, per stage (the same import code as the HTTP route; two threads, so the
# stages of each thread add up to about the wall time, not the two together).
echo "stages of the CLI import (seconds per thread; CPU figures last):"
sed 's/^/  /' "$OUT/import-cli-stages.txt"
