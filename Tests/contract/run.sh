#!/usr/bin/env bash
# Contract fuzzing (issue #12): schemathesis, pinned, against openapi.yaml, once with each role's
# key, on a real server over loopback with the demo cohort loaded. Every check must pass.
# Usage: Tests/contract/run.sh   (from anywhere; `make test` runs it)
#   MAX_EXAMPLES=N   examples per operation and phase (default 5: about 2-3 minutes on 2 cores)
#   SCHEMATHESIS=... the schemathesis executable (default: the Makefile's private virtualenv)
# A fixed seed, one worker and no example database: the same cases on every machine and run.
set -euo pipefail
cd "$(dirname "$0")/../.."
MAX_EXAMPLES=${MAX_EXAMPLES:-5}
SCHEMATHESIS=${SCHEMATHESIS:-.build-schemathesis/bin/schemathesis}
[ -x "$SCHEMATHESIS" ] || { echo "schemathesis not found at $SCHEMATHESIS (make contract installs it)"; exit 1; }

swift build --product icmm >/dev/null
BIN="$(swift build --show-bin-path)/icmm"
WORK=$(mktemp -d)
DB="$WORK/contract.sqlite"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

"$BIN" migrate --db "$DB" >/dev/null
key() { "$BIN" keys create --site "$1" --role "$2" --db "$DB" | python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])'; }
SUBMITTER=$(key DEMO submitter)
ANALYST=$(key ANALYSIS analyst)
ADMIN=$(key OPS admin)
"$BIN" demo --db "$DB" >/dev/null

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Rate limits out of the way: the fuzzer is one client sending as fast as it can, and it sends
# thousands of requests without a key on purpose (the failed-auth limit would answer 429 to them).
"$BIN" serve --host 127.0.0.1 --port "$PORT" --db "$DB" --rate-limit 100000/s --burst 100000 --failed-auth-limit 100000/s --failed-auth-burst 100000 --log-level error \
  >"$WORK/serve.log" 2>&1 & SERVER=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "the server did not start:"; cat "$WORK/serve.log"; exit 1; }

status=0
for role in submitter analyst admin; do
  case $role in
    submitter) KEY=$SUBMITTER ;;
    analyst) KEY=$ANALYST ;;
    admin) KEY=$ADMIN ;;
  esac
  echo "== schemathesis as $role"
  PYTHONPATH=Tests/contract SCHEMATHESIS_HOOKS=contract_hooks "$SCHEMATHESIS" --config-file Tests/contract/schemathesis.toml run openapi.yaml --url "http://127.0.0.1:$PORT" \
    -H "Authorization: Bearer $KEY" \
    --checks all --max-examples "$MAX_EXAMPLES" --seed 12 --workers 1 --generation-database none \
    --request-timeout 30 --no-color \
    --report junit --report-dir "${REPORT_DIR:-$WORK}/reports-$role" || status=1
done
exit $status
