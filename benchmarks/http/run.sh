#!/usr/bin/env bash
# GET /healthz throughput: icmm serve at its DEFAULT settings (access log on, to stderr, which is
# redirected to a file here as a service manager would) vs a bare C libmicrohttpd server with the
# same flags, side by side in one run (this machine is shared: compare the ratio, not absolute
# numbers). Then the same GET /healthz while 1,100 slow-header clients hold connections from another
# address (SLOW=0 skips it).
# Usage: benchmarks/http/run.sh [rounds]   (from the repo root, after `swift build -c release`)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-${ROUNDS:-8}}
DURATION=${DURATION:-10s}
OUT=benchmarks/out; mkdir -p "$OUT"
BIN="$(swift build -c release --show-bin-path)/icmm"
[ -x "$BIN" ] || swift build -c release --product icmm
cc -O2 -o "$OUT/bare_server" benchmarks/http/bare_server.c $(pkg-config --cflags --libs libmicrohttpd)
THREADS=$(nproc)
DBDIR=$(mktemp -d)
"$OUT/bare_server" 18091 "$THREADS" & BARE=$!
"$BIN" serve --port 18092 --threads "$THREADS" --db "$DBDIR/bench.sqlite" >"$OUT/icmm-serve.log" 2>&1 & ICMM=$!
# Every step may fail harmlessly (the servers already stopped): under set -e a failing step would
# end the trap early, with exit status 1 and the folder left behind.
trap 'kill $BARE $ICMM 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DBDIR"' EXIT
for _ in $(seq 50); do curl -fs http://127.0.0.1:18092/healthz >/dev/null && curl -fs http://127.0.0.1:18091/healthz >/dev/null && break; sleep 0.1; done

rps() { wrk -t2 -c64 -d"$DURATION" "$1" | awk '/Requests\/sec/ {print $2}'; }
echo "round  bare_c_rps  icmm_rps  ratio"
ratios=()
for round in $(seq "$ROUNDS"); do
  # Alternate which server goes first: the machine drifts within a round.
  if [ $((round % 2)) -eq 1 ]; then
    bare=$(rps http://127.0.0.1:18091/healthz); icmm=$(rps http://127.0.0.1:18092/healthz)
  else
    icmm=$(rps http://127.0.0.1:18092/healthz); bare=$(rps http://127.0.0.1:18091/healthz)
  fi
  ratio=$(awk -v a="$icmm" -v b="$bare" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$ratio")
  printf "%5s  %10s  %8s  %5s\n" "$round" "$bare" "$icmm" "$ratio"
done
median=$(printf "%s\n" "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "median ratio icmm/bare_c: $median (target >= 0.90; default settings: access log on, $(grep -c ' /healthz 200 ' "$OUT/icmm-serve.log") lines written to $OUT/icmm-serve.log)"

if [ "${SLOW:-1}" = 1 ]; then
  # 1,100 connections from 127.0.0.2, each sending one header byte per second; GET /healthz from
  # 8 connections of 127.0.0.1 must keep at least half the throughput it has without them.
  good() { wrk -t2 -c8 -d"$DURATION" http://127.0.0.1:18092/healthz | awk '/Requests\/sec/ {print $2}'; }
  alone=$(good)
  SLOW_SECONDS=$(( ${DURATION%s} + 20 ))
  python3 benchmarks/http/slow_clients.py 127.0.0.1 18092 127.0.0.2 1100 "$SLOW_SECONDS" > "$OUT/slow_clients.txt" & SLOWPID=$!
  sleep 8
  attacked=$(good)
  healthz=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:18092/healthz || true)
  metrics=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:18092/metrics || true)
  wait $SLOWPID || true
  echo "GET /healthz from 8 connections: alone $alone req/s, with 1,100 slow-header connections from another address $attacked req/s, ratio $(awk -v a="$attacked" -v b="$alone" 'BEGIN { printf "%.3f", a / b }') (target >= 0.5); /healthz $healthz, /metrics $metrics during the attack"
  cat "$OUT/slow_clients.txt"
fi
kill $BARE $ICMM 2>/dev/null; wait 2>/dev/null || true

if [ "${TLS:-1}" = 1 ]; then
  # GET /healthz over TLS with keep-alive, both servers with the same self-signed certificate.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
    -keyout "$DBDIR/key.pem" -out "$DBDIR/cert.pem" 2>/dev/null
  "$OUT/bare_server" 18093 "$THREADS" "$DBDIR/cert.pem" "$DBDIR/key.pem" & BARE=$!
  "$BIN" serve --port 18094 --threads "$THREADS" --db "$DBDIR/tls.sqlite" --tls-cert "$DBDIR/cert.pem" --tls-key "$DBDIR/key.pem" \
    >"$OUT/icmm-serve-tls.log" 2>&1 & ICMM=$!
  for _ in $(seq 50); do curl -fsk https://127.0.0.1:18094/healthz >/dev/null && curl -fsk https://127.0.0.1:18093/healthz >/dev/null && break; sleep 0.1; done
  tls_ratios=()
  for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then
      bare=$(rps https://127.0.0.1:18093/healthz); icmm=$(rps https://127.0.0.1:18094/healthz)
    else
      icmm=$(rps https://127.0.0.1:18094/healthz); bare=$(rps https://127.0.0.1:18093/healthz)
    fi
    tls_ratios+=("$(awk -v a="$icmm" -v b="$bare" 'BEGIN { printf "%.3f", a / b }')")
    printf "tls %3s  %10s  %8s  %5s\n" "$round" "$bare" "$icmm" "${tls_ratios[-1]}"
  done
  echo "median ratio over TLS icmm/bare_c: $(printf "%s\n" "${tls_ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }') (target >= 0.80)"
  kill $BARE $ICMM 2>/dev/null; wait 2>/dev/null || true
fi

# A repeatable figure beside the noisy one: user-space instructions per request under callgrind
# (the kernel's share, the same for both servers, is not counted).
if command -v valgrind >/dev/null && command -v callgrind_control >/dev/null; then
  objcopy --strip-debug "$BIN" "$OUT/icmm-stripped"  # valgrind 3.19 cannot read Swift's debug info
  instructions() {
    local name=$1; shift
    rm -f "$OUT/cg.$name"*
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/cg.$name" "$@" >/dev/null 2>&1 & local pid=$!
    for _ in $(seq 200); do curl -fs http://127.0.0.1:18099/healthz >/dev/null && break; sleep 0.2; done
    callgrind_control -i on $pid >/dev/null 2>&1
    local n=$(wrk -t1 -c8 -d4s http://127.0.0.1:18099/healthz | awk '/requests in/ {print $1}')
    callgrind_control -i off $pid >/dev/null 2>&1
    kill -TERM $pid; wait $pid 2>/dev/null || true
    local total=$(cat "$OUT/cg.$name"* | awk '/^summary:|^totals:/ {s += $2} END {print s}')
    echo $(( total / n ))
  }
  bare_i=$(instructions bare "$OUT/bare_server" 18099 "$THREADS")
  icmm_i=$(instructions icmm "$OUT/icmm-stripped" serve --port 18099 --threads "$THREADS" --db "$DBDIR/cg.sqlite" --openapi openapi.yaml)
  echo "user-space instructions per GET /healthz (callgrind): bare_c $bare_i, icmm $icmm_i, ratio $(awk -v a="$icmm_i" -v b="$bare_i" 'BEGIN { printf "%.2f", a / b }')"
fi

# The key check, the per-key rate limiter and the read-access audit on an authenticated read.
if command -v valgrind >/dev/null && command -v callgrind_control >/dev/null; then
  bash benchmarks/http/auth_callgrind.sh "$BIN"
fi
