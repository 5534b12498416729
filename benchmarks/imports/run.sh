#!/usr/bin/env bash
# Imports: time and server memory of POST /v1/imports at default settings.
# - one 100,000-case NDJSON import (target < 5 s) and one as a JSON array;
# - where the time goes, stage by stage (`icmm import --timings` on the same file);
# - server RSS (from /proc/PID/status: VmHWM peak during each import, VmRSS after) over ten
#   100,000-case imports in a row and five rejected ones (targets: < 300 MB, no growth).
#   After each import the RSS is split: anonymous vs file-backed (the binary, its libraries and
#   the mapped -shm index of the WAL); SQLite's allocations and their page-cache share, and the
#   allocator's bytes in use and free (from /metrics); the size of the WAL file.
#   What a successful import leaves: the writer's page cache, full at its cap (writerCacheKiB,
#   32 MiB: "page cache 32.9"); a rejected import's rollback drops it. Besides, each of the 32
#   worker threads keeps a small per-thread malloc cache (glibc's tcache) once an import ran on it:
#   "malloc in use" grows by ~50 KB for each of the first 32 imports, then stays.
# Usage: benchmarks/imports/run.sh   (from the repo root; IMPORT_N=100000 ROUNDS=10 REJECTED=5)
# BASELINE=/path/to/an/older/icmm adds the same single import against that binary, in the same run.
set -euo pipefail
cd "$(dirname "$0")/../.."
IMPORT_N=${IMPORT_N:-100000}
ROUNDS=${ROUNDS:-10}
REJECTED=${REJECTED:-5}
PORT=${PORT:-18731}
OUT=benchmarks/out; mkdir -p "$OUT"
BIN="$(swift build -c release --show-bin-path)/icmm"
[ -x "$BIN" ] || swift build -c release --product icmm
WORK=$(mktemp -d)
SERVER=""
trap '{ [ -n "$SERVER" ] && kill $SERVER; } 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

python3 benchmarks/registry/make_cases.py "$IMPORT_N" > "$WORK/cases.ndjson"
python3 - "$WORK/cases.ndjson" "$WORK/cases.json" "$WORK/rejected.ndjson" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
open(sys.argv[2], "w").write("[" + ",\n".join(l.replace('"IMP-', '"ARR-') for l in lines) + "]\n")
# The last record is invalid: the whole import is refused after everything else was processed.
bad = [l.replace('"IMP-', '"REJ-') for l in lines]
bad[-1] = bad[-1].replace('"sex":"female"', '"sex":"x"').replace('"sex":"male"', '"sex":"x"')
open(sys.argv[3], "w").write("\n".join(bad) + "\n")
PY
awk '{ n += length($0) + 1 } END { printf "file: %d cases, %.1f MB NDJSON\n", NR, n / 1e6 }' "$WORK/cases.ndjson"

"$BIN" migrate --db "$WORK/bench.sqlite" >/dev/null
KEY=$("$BIN" keys create --site ADMIN --role admin --db "$WORK/bench.sqlite" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
# Default settings (log level info, synchronous=FULL), as `make run` serves.
DB="$WORK/bench.sqlite"
"$BIN" serve --port "$PORT" --db "$DB" >"$OUT/imports-serve.log" 2>&1 & SERVER=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
kill -0 $SERVER 2>/dev/null || { echo "the server did not start:"; tail -3 "$OUT/imports-serve.log"; exit 1; }

mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
# A gauge of the last scrape of /metrics (METRICS) in MiB ("-" when the server has none, as an older BASELINE).
metric_mb() {
  awk -v m="$1" '$1 == m { v = $2 } END { if (v == "") print "-"; else printf "%.1f", v / 1048576 }' <<<"$METRICS"
}
server_cpu() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$SERVER/stat"; }
status_kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$SERVER/status"; }
# Runs one import; prints seconds, HTTP status, peak RSS during it and RSS after it.
import_once() {  # site file content-type label
  echo 5 > "/proc/$SERVER/clear_refs"  # resets VmHWM to the current RSS
  local start end status cpu
  cpu=$(server_cpu)
  start=$(date +%s.%N)
  status=$(curl -s -o "$OUT/imports-response.json" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/v1/imports?site=$1" \
    -H "Authorization: Bearer $KEY" -H "Content-Type: $3" --data-binary @"$2")
  end=$(date +%s.%N)
  local rss anon file
  rss=$(status_kb VmRSS) anon=$(status_kb RssAnon) file=$(( $(status_kb RssFile) + $(status_kb RssShmem) ))
  METRICS=$(curl -s "http://127.0.0.1:$PORT/metrics" -H "Authorization: Bearer $KEY")
  printf "%-14s status %s  %6.2f s (server CPU %5.2f s)  peak RSS %4s MB  after: RSS %3s MB = anon %3s + file %2s; SQLite %s MB (page cache %s); malloc in use %s MB, free %s MB; WAL %4s MB\n" \
    "$4" "$status" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" \
    "$(awk -v a="$cpu" -v b="$(server_cpu)" 'BEGIN { print b - a }')" "$(mb "$(status_kb VmHWM)")" \
    "$(mb "$rss")" "$(mb "$anon")" "$(mb "$file")" \
    "$(metric_mb sqlite_memory_bytes)" "$(metric_mb sqlite_page_cache_bytes)" \
    "$(metric_mb process_heap_in_use_bytes)" "$(metric_mb process_heap_free_bytes)" "$(( $(stat -c %s "$DB-wal" 2>/dev/null || echo 0) / 1048576 ))"
}

echo "server RSS at start: $(mb "$(status_kb VmRSS)") MB"
echo "== one import of $IMPORT_N cases (target < 5 s, RSS < 300 MB)"
cpu0=$(server_cpu)
import_once FIRST "$WORK/cases.ndjson" application/x-ndjson "NDJSON"
echo "   server CPU time for it: $(awk -v a="$cpu0" -v b="$(server_cpu)" 'BEGIN { printf "%.2f", b - a }') s (user + system)"
import_once ARRAY "$WORK/cases.json" application/json "JSON array"
echo "== $ROUNDS imports of $IMPORT_N cases in a row (RSS must not grow)"
for i in $(seq "$ROUNDS"); do import_once "ROUND$i" "$WORK/cases.ndjson" application/x-ndjson "import $i"; done
echo "== $REJECTED rejected imports (last record invalid)"
for i in $(seq "$REJECTED"); do import_once "REJECT$i" "$WORK/rejected.ndjson" application/x-ndjson "rejected $i"; done
stored=$(python3 -c "import sqlite3; print(sqlite3.connect('file:$WORK/bench.sqlite?mode=ro', uri=True).execute('SELECT count(*) FROM cases').fetchone()[0])")
echo "cases stored: $stored (expected $(( (ROUNDS + 2) * IMPORT_N )))"
[ "$stored" -eq $(( (ROUNDS + 2) * IMPORT_N )) ] || { echo "WRONG COUNT"; exit 1; }
kill $SERVER; wait $SERVER 2>/dev/null || true; SERVER=""

if [ -n "${BASELINE:-}" ]; then
  echo "== the same import against BASELINE=$BASELINE"
  "$BASELINE" migrate --db "$WORK/base.sqlite" >/dev/null 2>&1
  KEY=$("$BASELINE" keys create --site ADMIN --role admin --db "$WORK/base.sqlite" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
  DB="$WORK/base.sqlite"
  "$BASELINE" serve --port "$PORT" --db "$DB" >"$OUT/imports-serve-baseline.log" 2>&1 & SERVER=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  cpu0=$(server_cpu)
  import_once FIRST "$WORK/cases.ndjson" application/x-ndjson "baseline NDJSON"
  echo "   server CPU time for it: $(awk -v a="$cpu0" -v b="$(server_cpu)" 'BEGIN { printf "%.2f", b - a }') s (user + system)"
  kill $SERVER; wait $SERVER 2>/dev/null || true; SERVER=""
fi

echo "== where the time goes: icmm import --timings, $IMPORT_N cases into a fresh database"
"$BIN" migrate --db "$WORK/cli.sqlite" >/dev/null
start=$(date +%s.%N)
"$BIN" import --timings --site CLI --db "$WORK/cli.sqlite" "$WORK/cases.ndjson" 2>"$OUT/imports-stages.txt" >/dev/null
end=$(date +%s.%N)
cat "$OUT/imports-stages.txt"
echo "icmm import wall time (with reading the file, opening and migrating): $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s"
