#!/usr/bin/env bash
# User-space instructions per request (callgrind) of a dashboard poll answered 304 with
# If-None-Match and of GET /healthz, side by side on one build: the repeatable figure behind the
# wall-clock ratio of run.sh, which a shared machine makes noisy. Also the poll path's own part
# (Application.cohortPoll, inclusive) and the instructions without libmicrohttpd's memset of the
# connection's memory pool (valgrind counts a `rep stosb` per byte, so it looks far larger than
# it costs). Per-second work (the data version re-read on a worker once a second, a key re-read
# every 2 s, the access log's writer) is spread over the few hundred requests a second valgrind
# serves, so it weighs far more here than at full speed, and more the busier the machine: the
# figures count the event-loop threads only (each thread profiled apart; an event loop is a
# thread that ran libmicrohttpd's access handler).
# Usage: benchmarks/cohorts/poll_callgrind.sh [ICMM_BINARY]   (from the repo root, after `swift build -c release`)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-"$(swift build -c release --show-bin-path)/icmm"}
D=${D:-6s}
OUT=benchmarks/out; mkdir -p "$OUT"
WORK=$(mktemp -d)
# measure runs in a subshell: the server's pid is kept in a file for this trap.
trap '[ ! -s "$WORK/pid" ] || kill "$(cat "$WORK/pid")" 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=18099
objcopy --strip-debug "$BIN" "$WORK/icmm-stripped"  # valgrind 3.19 cannot read Swift's debug info
"$BIN" demo --db "$WORK/db.sqlite" >/dev/null
KEY=$("$BIN" keys create --site ANALYSIS --role analyst --db "$WORK/db.sqlite" | python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')
URL="http://127.0.0.1:$PORT/v1/cohorts/survival?group_by=localization"
measure() {  # MODE: healthz or 304; prints "requests total without_memset poll_path"
  rm -f "$WORK"/cg.*
  [ -z "${KEEP:-}" ] || mkdir -p "$KEEP/$1"
  # Default settings but the per-key rate limit (the poll is one key from 8 connections).
  valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes --callgrind-out-file="$WORK/cg.out" "$WORK/icmm-stripped" serve --port $PORT \
    --db "$WORK/db.sqlite" --rate-limit 1000000/s --burst 1000000 >/dev/null 2>&1 & PID=$!
  echo $PID > "$WORK/pid"
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
  local args=("http://127.0.0.1:$PORT/healthz")
  if [ "$1" = 304 ]; then
    local etag
    etag=$(curl -s -o /dev/null -D - "$URL" -H "Authorization: Bearer $KEY" | awk 'tolower($1) == "etag:" {print $2}' | tr -d '\r')
    [ -n "$etag" ] || { echo "no ETag from $URL" >&2; exit 1; }
    curl -s -o /dev/null "$URL" -H "Authorization: Bearer $KEY" -H "If-None-Match: $etag"
    args=(-H "Authorization: Bearer $KEY" -H "If-None-Match: $etag" "$URL")
  fi
  callgrind_control -i on $PID >/dev/null 2>&1
  local n
  n=$(wrk -t1 -c8 -d"$D" "${args[@]}" | awk '/requests in/ {print $1}')
  callgrind_control -i off $PID >/dev/null 2>&1
  kill -TERM $PID; wait $PID 2>/dev/null || true; : > "$WORK/pid"
  [ -z "${KEEP:-}" ] || cp "$WORK"/cg.out* "$KEEP/$1"/ 2>/dev/null || true
  local loops total=0 memset=0 poll=0 file t m c
  loops=$(grep -l 'HTTPServer13accessHandler' "$WORK"/cg.out* || true)
  [ -n "$loops" ] || { echo "no event-loop thread in the profile" >&2; exit 1; }
  for file in $loops; do  # one file per thread: callgrind_annotate reads one at a time
    read -r t m < <(callgrind_annotate --threshold=100 "$file" 2>/dev/null | awk '
      function num(s) { gsub(",", "", s); return s + 0 }
      /PROGRAM TOTALS/ { total = num($1) } /__memset_/ { memset += num($1) } END { print total + 0, memset + 0 }')
    c=$(callgrind_annotate --inclusive=yes --threshold=100 "$file" 2>/dev/null | awk '
      !found && /ApplicationC10cohortPoll15extraParameters/ { gsub(",", "", $1); print $1; found = 1 } END { if (!found) print 0 }')
    total=$((total + t)); memset=$((memset + m)); poll=$((poll + c))
  done
  echo "$n $((total / n)) $(((total - memset) / n)) $((poll / n))"
}
read -r hn htotal hrest _ < <(measure healthz)
read -r pn ptotal prest ppath < <(measure 304)
echo "callgrind, instructions per request on the event loops (wrk -t1 -c8 -d$D under valgrind):"
echo "  GET /healthz ($hn requests): $htotal; without memset $hrest"
echo "  304 poll with If-None-Match ($pn requests): $ptotal; without memset $prest; of which the poll path (Application.cohortPoll, inclusive) $ppath"
echo "  ratio healthz/poll: $(awk -v a="$htotal" -v b="$ptotal" 'BEGIN {printf "%.3f", a / b}'); without memset $(awk -v a="$hrest" -v b="$prest" 'BEGIN {printf "%.3f", a / b}')"
