#!/usr/bin/env bash
# Runs a command with ICMM_TEST_POSTGRES_URL set: the caller's own cluster when it is set already
# (a developer's machine), else a throwaway cluster (postgres-cluster.sh) that is stopped and deleted
# when the command ends, whether it passed, failed or was interrupted.
#
#   Tests/support/with-postgres.sh swift test
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ -n "${ICMM_TEST_POSTGRES_URL:-}" ]; then
    echo "with-postgres: using the cluster of ICMM_TEST_POSTGRES_URL (not starting one)" >&2
    exec "$@"
fi

# The folder exists before the cluster does, so that the clean-up is in place from the first moment.
# Both the start and the command run in the background and are waited for, so that a signal to this
# script runs the clean-up at once: it stops the command, lets a start in progress finish (initdb and
# pg_ctl have their own deadlines; killing them half-way would leave a server or files behind), then
# stops the cluster and deletes the folder.
dir=$(mktemp -d "${TMPDIR:-/tmp}/icmm-pg.XXXXXX")
starter=""
child=""
cleanup() {
    trap '' INT TERM
    if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; fi
    if [ -n "$starter" ]; then wait "$starter" 2>/dev/null || true; fi
    if [ -f "$dir/.icmm-test-cluster" ]; then bash "$here/postgres-cluster.sh" stop "$dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash "$here/postgres-cluster.sh" start "$dir" >/dev/null &
starter=$!
wait "$starter"
starter=""
ICMM_TEST_POSTGRES_URL=$(cat "$dir/url")
ICMM_TEST_POSTGRES_DIR=$dir
export ICMM_TEST_POSTGRES_URL ICMM_TEST_POSTGRES_DIR

"$@" &
child=$!
status=0
wait "$child" || status=$?
child=""
exit "$status"
