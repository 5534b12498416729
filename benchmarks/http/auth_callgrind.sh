#!/usr/bin/env bash
# User-space instructions per authenticated request (callgrind), to see what the key check, the
# per-key rate limiter and the read-access audit cost on the hot path (issue #12). /healthz, which
# benchmarks/http/run.sh measures, is never limited, so it cannot show them.
# Usage: benchmarks/http/auth_callgrind.sh [ICMM_BINARY [SOURCE_TREE]]
#   default: this tree's release build; SOURCE_TREE gives the migrations and openapi.yaml of an
#   older build, to compare before and after side by side.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-"$(swift build -c release --show-bin-path)/icmm"}
TREE=${2:-.}
OUT=benchmarks/out; mkdir -p "$OUT"
DB=$(mktemp -d)
trap 'rm -rf "$DB"' EXIT
PORT=18098
objcopy --strip-debug "$BIN" "$OUT/icmm-auth-stripped"  # valgrind 3.19 cannot read Swift's debug info
"$BIN" migrate --db "$DB/a.sqlite" --migrations "$TREE/Migrations" >/dev/null
KEY=$("$BIN" keys create --site DEMO --role submitter --db "$DB/a.sqlite" --migrations "$TREE/Migrations" | python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')
"$BIN" demo --db "$DB/a.sqlite" --migrations "$TREE/Migrations" >/dev/null
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/cg.auth" "$OUT/icmm-auth-stripped" serve --port $PORT \
  --threads 2 --db "$DB/a.sqlite" --migrations "$TREE/Migrations" --openapi "$TREE/openapi.yaml" --log-level warning \
  >/dev/null 2>&1 & PID=$!
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
URL="http://127.0.0.1:$PORT/v1/cases/DEMO-001"
curl -fs -H "Authorization: Bearer $KEY" "$URL" >/dev/null
callgrind_control -i on $PID >/dev/null 2>&1
# Under the default limits (50/s per key) a flood is refused with 429 after the burst: 1 client,
# requests paced to stay within the limit, so every measured request is a 200.
n=0
for _ in $(seq 40); do
  for _ in $(seq 5); do curl -fs -o /dev/null -H "Authorization: Bearer $KEY" "$URL" && n=$((n + 1)); done
  sleep 0.12
done
callgrind_control -i off $PID >/dev/null 2>&1
kill -TERM $PID; wait $PID 2>/dev/null || true
total=$(cat "$OUT/cg.auth"* | awk '/^summary:|^totals:/ {s += $2} END {print s}')
# Inclusive cost of the parts issue #12 added, from the same profile (the symbols survive
# --strip-debug): the per-key limiter (TokenBuckets.take) and the whole credential check.
inclusive() { callgrind_annotate --inclusive=yes --threshold=100 "$OUT"/cg.auth* 2>/dev/null | awk -v pat="$1" '!found && $0 ~ pat {gsub(",", "", $1); print $1; found = 1}'; }
limiter=$(inclusive '12TokenBucketsC4take')
auth=$(inclusive 'ApplicationC12authenticate_')
rm -f "$OUT/cg.auth"*
echo "user-space instructions per authenticated GET /v1/cases/{external_id} (callgrind, $n requests): $(( total / n ))"
echo "  of which the per-key rate limiter (TokenBuckets.take, inclusive): $(( ${limiter:-0} / n )) ($(awk -v a="${limiter:-0}" -v t="$total" 'BEGIN {printf "%.2f", 100 * a / t}')%)"
echo "  of which authentication with the limiter (Application.authenticate, inclusive): $(( ${auth:-0} / n )) ($(awk -v a="${auth:-0}" -v t="$total" 'BEGIN {printf "%.2f", 100 * a / t}')%)"
