#!/usr/bin/env bash
# SQLite vs PostgreSQL, side by side in one run, release build, default settings and log level
# (issue 13). PostgreSQL is a throwaway cluster on this machine (Tests/support/postgres-cluster.sh:
# its defaults, fsync and synchronous_commit on), unless ICMM_BENCH_POSTGRES_URL names a cluster
# whose role may create databases.
#  (a) POST /v1/cases at 32 connections: one SQLite instance (wrk -t2 -c32) against two instances
#      over one PostgreSQL database (two wrk -t1 -c16 at once, one per instance), same body
#      generator as benchmarks/registry; then every acknowledged (201) case must be stored.
#      Target: PostgreSQL >= 0.8x SQLite. SQLite is measured before and after, and the mean is used.
#  (b) uncached GET /v1/cohorts/survival?group_by=localization on the same 100,000 cases
#      (benchmarks/registry/make_cases.py, loaded with `icmm import` into SQLite and moved with
#      `icmm copy` into PostgreSQL; both answers must be equal), ROUNDS rounds alternating which
#      goes first; medians. Target: PostgreSQL <= 2x SQLite.
# Usage: benchmarks/postgres/run.sh   (from the repo root, after `swift build -c release`)
#        PARTS=b benchmarks/postgres/run.sh   runs only part (b) (PARTS=a only part (a); default: both)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s}
N=${N:-100000}
ROUNDS=${ROUNDS:-5}
PARTS=${PARTS:-ab}
ratio_a=""; ratio_b=""   # stay empty for a part not run
OUT=benchmarks/out; mkdir -p "$OUT"
BIN="${BIN:-$(swift build -c release --show-bin-path)/icmm}"
[ -x "$BIN" ] || swift build -c release --product icmm
WORK=$(mktemp -d)
# Servers are started inside command substitutions (subshells): their ids go to a file.
PIDS="$WORK/servers.pid"; : >"$PIDS"
stop_servers() {  # SIGTERM (graceful), then wait for each to exit, with a deadline
  local pid
  while read -r pid; do
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done <"$PIDS"
  : >"$PIDS"
}
cleanup() {
  stop_servers
  if [ -n "${PG_DIR:-}" ]; then bash Tests/support/postgres-cluster.sh stop "$PG_DIR" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
key_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'; }
# serve DB LOG [options...]: starts `icmm serve` on a free port, waits for /healthz, prints the port.
serve() {
  local db=$1 log=$2 port; shift 2
  port=$(free_port)
  "$BIN" serve --port "$port" --db "$db" "$@" >"$log" 2>&1 &
  echo $! >>"$PIDS"
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && { echo "$port"; return; }; sleep 0.1; done
  echo "icmm serve on $db did not start: $(tail -5 "$log")" >&2; return 1
}

if [ -n "${ICMM_BENCH_POSTGRES_URL:-}" ]; then
  PG_ADMIN=$ICMM_BENCH_POSTGRES_URL
else
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/icmm-pg.XXXXXX")
  bash Tests/support/postgres-cluster.sh start "$PG_DIR" >/dev/null
  PG_ADMIN=$(cat "$PG_DIR/url")
fi
PSQL="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n | tail -1)/psql"
[ -x "$PSQL" ] || PSQL=psql
# A new database on the cluster: prints its URL (the admin URL with another database name).
new_database() {
  local name="icmm_bench_$1_$$"
  PGOPTIONS="-c client_min_messages=warning" "$PSQL" -q -v ON_ERROR_STOP=1 "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
  echo "${PG_ADMIN%/*}/$name"
}
pg_count() { "$PSQL" -qAt "$1" -c "SELECT count(*) FROM cases"; }
sqlite_count() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM cases').fetchone()[0])" "$1"; }
LIFT=(--rate-limit 1000000/s --burst 1000000)   # one key at 32 connections: durable writes, not the per-key limiter

echo "machine: $(nproc) cores; load: $(uptime | sed 's/.*load average/load average/')"
echo "PostgreSQL: $("$PSQL" -qAt "$PG_ADMIN" -c 'SELECT version()' | cut -d, -f1); fsync $("$PSQL" -qAt "$PG_ADMIN" -c 'SHOW fsync'), synchronous_commit $("$PSQL" -qAt "$PG_ADMIN" -c 'SHOW synchronous_commit')"

# --- (a) durable writes -----------------------------------------------------------------------------
# CPU seconds (user + system) of processes, from /proc/PID/stat (fields 14-17); with their reaped children's when asked
# (the postmaster's: the CPU of backends that have exited).
cpu_of() {  # [--children] PID...
  local fields='$12 + $13'; [ "$1" = --children ] && { fields='$12 + $13 + $14 + $15'; shift; }
  local pid total=0
  for pid in "$@"; do
    total=$((total + $(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk "{ print $fields - 0 }" || echo 0)))
  done
  awk -v t="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
servers_cpu() { mapfile -t pids <"$PIDS"; cpu_of "${pids[@]}"; }
# All of PostgreSQL's CPU so far (throwaway cluster only): postmaster, live children, exited backends.
postgres_cpu() {
  [ -n "${PG_DIR:-}" ] || { echo 0; return; }
  local postmaster; postmaster=$(head -1 "$PG_DIR/data/postmaster.pid")
  local a b; a=$(cpu_of --children "$postmaster"); b=$(cpu_of $(cat /proc/"$postmaster"/task/*/children))
  awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a + b }'
}
pg_stat() { "$PSQL" -qAt "$1" -c "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) || ' ' || (SELECT wal_sync FROM pg_stat_wal)"; }
wrk_sqlite() {  # $1: label; one SQLite instance, 32 connections; prints req/s
  local db="$WORK/writes-$1.sqlite" port acked stored rps
  "$BIN" migrate --db "$db" >/dev/null 2>&1
  export ICMM_KEY=$("$BIN" keys create --site BENCH --role submitter --db "$db" | key_of)
  port=$(serve "$db" "$OUT/postgres-serve-sqlite-$1.log" "${LIFT[@]}")
  ICMM_ID_PREFIX="S$1" wrk -t2 -c32 -d"$DURATION" -s benchmarks/registry/post_case.lua "http://127.0.0.1:$port" >"$OUT/postgres-wrk-sqlite-$1.txt"
  local cpu; cpu=$(servers_cpu)
  stop_servers
  acked=$(awk '/acknowledged_201/ {print $2}' "$OUT/postgres-wrk-sqlite-$1.txt")
  stored=$(sqlite_count "$db")
  rps=$(awk '/Requests\/sec/ {print $2}' "$OUT/postgres-wrk-sqlite-$1.txt")
  echo "SQLite ($1), 1 instance, wrk -t2 -c32: $rps req/s; acknowledged $acked, stored $stored" >&2
  echo "  CPU: icmm $cpu s, $(awk -v c="$cpu" -v n="$acked" 'BEGIN { printf "%.0f", 1e6 * c / n }') us per acknowledged case" >&2
  [ "$stored" -ge "$acked" ] || { echo "LOST CASES (SQLite)" >&2; exit 1; }
  echo "$rps"
}

wrk_postgres() {  # two instances over one database, 16 connections each at the same time; prints total req/s
  local url port1 port2 acked stored rps1 rps2
  url=$(new_database writes)
  "$BIN" migrate --db "$url" >/dev/null 2>&1
  export ICMM_KEY=$("$BIN" keys create --site BENCH --role submitter --db "$url" | key_of)
  local pg_cpu0 stat0; pg_cpu0=$(postgres_cpu); stat0=$(pg_stat "$url")
  port1=$(serve "$url" "$OUT/postgres-serve-pg-1.log" "${LIFT[@]}")
  port2=$(serve "$url" "$OUT/postgres-serve-pg-2.log" "${LIFT[@]}")
  ICMM_ID_PREFIX=A wrk -t1 -c16 -d"$DURATION" -s benchmarks/registry/post_case.lua "http://127.0.0.1:$port1" >"$OUT/postgres-wrk-pg-1.txt" &
  local w1=$!
  ICMM_ID_PREFIX=B wrk -t1 -c16 -d"$DURATION" -s benchmarks/registry/post_case.lua "http://127.0.0.1:$port2" >"$OUT/postgres-wrk-pg-2.txt" &
  local w2=$!
  wait $w1 $w2
  local cpu stat1; cpu=$(servers_cpu); stat1=$(pg_stat "$url")
  stop_servers
  acked=$(cat "$OUT"/postgres-wrk-pg-[12].txt | awk '/acknowledged_201/ {s += $2} END {print s}')
  local pg_cpu; pg_cpu=$(awk -v a="$pg_cpu0" -v b="$(postgres_cpu)" 'BEGIN { printf "%.2f", b - a }')
  echo "  CPU: icmm $cpu s + PostgreSQL $pg_cpu s, $(awk -v c="$cpu" -v p="$pg_cpu" -v n="$acked" 'BEGIN { printf "%.0f + %.0f", 1e6 * c / n, 1e6 * p / n }') us per acknowledged case; commits, WAL fsyncs: $stat0 -> $stat1" >&2
  stored=$(pg_count "$url")
  rps1=$(awk '/Requests\/sec/ {print $2}' "$OUT/postgres-wrk-pg-1.txt")
  rps2=$(awk '/Requests\/sec/ {print $2}' "$OUT/postgres-wrk-pg-2.txt")
  echo "PostgreSQL, 2 instances, wrk -t1 -c16 each at once: $rps1 + $rps2 req/s; acknowledged $acked, stored $stored" >&2
  [ "$stored" -ge "$acked" ] || { echo "LOST CASES (PostgreSQL)" >&2; exit 1; }
  awk -v a="$rps1" -v b="$rps2" 'BEGIN { printf "%.2f", a + b }'
}

if [[ $PARTS == *a* ]]; then
echo "== (a) POST /v1/cases, 32 connections, -d$DURATION, default durability"
s1=$(wrk_sqlite before)
p=$(wrk_postgres)
s2=$(wrk_sqlite after)
ratio_a=$(awk -v p="$p" -v a="$s1" -v b="$s2" 'BEGIN { printf "%.2f", p / ((a + b) / 2) }')
echo "POST /v1/cases: SQLite $s1 / $s2 req/s (before/after), PostgreSQL over 2 instances $p req/s"
echo "ratio PostgreSQL/SQLite: ${ratio_a}x (target >= 0.8)"
fi

# --- (b) uncached cohort survival on the same 100,000 cases -------------------------------------------
if [[ $PARTS == *b* ]]; then
echo "== (b) uncached GET /v1/cohorts/survival?group_by=localization, $N cases, $ROUNDS rounds"
python3 benchmarks/registry/make_cases.py "$N" >"$WORK/cases.ndjson"
"$BIN" import --site BENCH --db "$WORK/cohort.sqlite" "$WORK/cases.ndjson" >/dev/null
# The same rows in PostgreSQL: `icmm copy` (ids, versions and classifications identical).
PG_COHORT=$(new_database cohort)
copy_start=$(date +%s.%N)
"$BIN" copy --from "$WORK/cohort.sqlite" --to "$PG_COHORT" >"$OUT/postgres-copy.json" 2>&1 || { cat "$OUT/postgres-copy.json"; exit 1; }
echo "icmm copy of the SQLite registry into PostgreSQL: $(awk -v a="$copy_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s: $(cat "$OUT/postgres-copy.json")"
echo "loaded: SQLite $(sqlite_count "$WORK/cohort.sqlite") cases, PostgreSQL $(pg_count "$PG_COHORT") cases"
SQ_KEY=$("$BIN" keys create --site ANALYSIS --role analyst --db "$WORK/cohort.sqlite" | key_of)
PG_KEY=$("$BIN" keys create --site ANALYSIS --role analyst --db "$PG_COHORT" | key_of)
sq_port=$(serve "$WORK/cohort.sqlite" "$OUT/postgres-serve-cohort-sqlite.log")
pg_port=$(serve "$PG_COHORT" "$OUT/postgres-serve-cohort-pg.log")
# Each round asks a tau never asked before (the same on both backends, each with its own cache),
# so that no request is answered from the cohort cache.
survival() {  # port key tau -> seconds
  local out
  out=$(curl -s -o "$WORK/survival-$1.json" -w '%{http_code} %{time_total}' \
    "http://127.0.0.1:$1/v1/cohorts/survival?group_by=localization&tau=$3" -H "Authorization: Bearer $2")
  [ "${out%% *}" = 200 ] || { echo "cohort query on port $1: HTTP ${out%% *}" >&2; exit 1; }
  echo "${out#* }"
}
survival "$sq_port" "$SQ_KEY" 99.5 >/dev/null; survival "$pg_port" "$PG_KEY" 99.5 >/dev/null   # first touch of each (page cache, pool)
n_sq=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['n'])" "$WORK/survival-$sq_port.json")
n_pg=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['n'])" "$WORK/survival-$pg_port.json")
[ "$n_sq" = "$n_pg" ] && [ "$n_sq" = "$N" ] || { echo "the two backends answer different n: $n_sq vs $n_pg" >&2; exit 1; }
canonical() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d.pop('data_version', None); print(json.dumps(d, sort_keys=True))" "$1"; }
if cmp -s <(canonical "$WORK/survival-$sq_port.json") <(canonical "$WORK/survival-$pg_port.json"); then
  echo "same answer from both backends (apart from data_version)"
else
  cp "$WORK/survival-$sq_port.json" "$OUT/postgres-survival-sqlite.json"; cp "$WORK/survival-$pg_port.json" "$OUT/postgres-survival-pg.json"
  echo "THE BACKENDS ANSWER DIFFERENTLY: $OUT/postgres-survival-sqlite.json vs $OUT/postgres-survival-pg.json" >&2; exit 1
fi
sq_times=(); pg_times=()
for r in $(seq "$ROUNDS"); do
  tau="$((100 + r)).$RANDOM"
  if [ $((r % 2)) = 1 ]; then
    sq_times+=("$(survival "$sq_port" "$SQ_KEY" "$tau")"); pg_times+=("$(survival "$pg_port" "$PG_KEY" "$tau")")
  else
    pg_times+=("$(survival "$pg_port" "$PG_KEY" "$tau")"); sq_times+=("$(survival "$sq_port" "$SQ_KEY" "$tau")")
  fi
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
sq_med=$(median "${sq_times[@]}"); pg_med=$(median "${pg_times[@]}")
echo "SQLite:     ${sq_times[*]} s  median $sq_med s"
echo "PostgreSQL: ${pg_times[*]} s  median $pg_med s"
ratio_b=$(awk -v p="$pg_med" -v s="$sq_med" 'BEGIN { printf "%.2f", p / s }')
echo "ratio PostgreSQL/SQLite: ${ratio_b}x (target <= 2)"
fi
echo "== summary: writes ${ratio_a:-(not run) }x (>= 0.8), uncached survival ${ratio_b:-(not run) }x (<= 2); command: DURATION=$DURATION N=$N ROUNDS=$ROUNDS PARTS=$PARTS benchmarks/postgres/run.sh"
