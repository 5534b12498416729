#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (issue 13): initdb in a temporary folder as an
# unprivileged user, pg_ctl start on a free port of 127.0.0.1, and everything removed at `stop`.
#
#   Tests/support/postgres-cluster.sh start [DIR]  # prints ICMM_TEST_POSTGRES_DIR=... and ICMM_TEST_POSTGRES_URL=...
#                                                  # (DIR: an empty folder to use, else a new mktemp one)
#   Tests/support/postgres-cluster.sh env DIR      # prints ICMM_TEST_POSTGRES_URL=... of a running cluster
#   Tests/support/postgres-cluster.sh stop DIR     # stops it and deletes DIR
#
# Only `start` prints on stdout (KEY=VALUE lines meant for `eval` or `export`); progress goes to stderr.
# Authentication is `trust`, but only on the folder's own socket and on 127.0.0.1, so only local users
# reach it. fsync and synchronous_commit stay ON (the defaults): the durability tests need them.
set -euo pipefail

die() { echo "postgres-cluster: $*" >&2; exit 1; }
say() { echo "postgres-cluster: $*" >&2; }

# The newest PostgreSQL installed (Debian keeps the binaries out of PATH, one folder per major version).
find_bindir() {
    if [ -n "${ICMM_PG_BINDIR:-}" ]; then echo "$ICMM_PG_BINDIR"; return; fi
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n | tail -1 || true)
    if [ -z "$dir" ] && command -v initdb >/dev/null 2>&1; then dir=$(dirname "$(command -v initdb)"); fi
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] ||
        die "no PostgreSQL server binaries (initdb, pg_ctl) found: sudo apt-get install -y postgresql"
    echo "$dir"
}

# initdb refuses to run as root: as root the cluster belongs to an unprivileged account (Debian's
# `postgres` when the package made one, else a system account `icmm-test` created here).
cluster_user() {
    if [ "$(id -u)" != 0 ]; then id -un; return; fi
    if id postgres >/dev/null 2>&1; then echo postgres; return; fi
    if ! id icmm-test >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin icmm-test >/dev/null 2>&1 ||
            id icmm-test >/dev/null 2>&1 || die "could not create the unprivileged user icmm-test"
    fi
    echo icmm-test
}

as_user() {
    local user=$1; shift
    if [ "$(id -un)" = "$user" ]; then "$@"; else setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"; fi
}

# A port nobody listens on now; start() retries with another one if it is taken meanwhile.
candidate_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
    else
        echo $(( 20000 + RANDOM % 40000 ))
    fi
}

start() {
    local bindir user dir port url attempt deadline
    bindir=$(find_bindir)
    user=$(cluster_user)
    dir=${1:-}
    if [ -n "$dir" ]; then
        [ -d "$dir" ] && [ -z "$(ls -A "$dir")" ] || die "$dir must be an existing empty folder"
    else
        dir=$(mktemp -d "${TMPDIR:-/tmp}/icmm-pg.XXXXXX")
    fi
    touch "$dir/.icmm-test-cluster"          # stop() deletes only folders carrying this mark
    chmod 700 "$dir"
    [ "$(id -u)" = 0 ] && chown -R "$user:" "$dir"
    say "initdb in $dir as $user ($bindir)"
    as_user "$user" "$bindir/initdb" --pgdata="$dir/data" --username=icmm --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 --no-instructions >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
    # Sized for the parallel test suites on a small machine: each test database, two servers and a
    # pool each; PostgreSQL's default of 100 is too few when suites run at once.
    cat >>"$dir/data/postgresql.conf" <<CONF
# icmm throwaway test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 128MB
log_min_messages = warning
CONF
    for attempt in 1 2 3 4 5; do
        port=$(candidate_port)
        if as_user "$user" "$bindir/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" \
            --options="-p $port" --wait --timeout=60 start >/dev/null 2>&1; then
            break
        fi
        if grep -q "Address already in use\|could not create any TCP/IP sockets" "$dir/server.log" 2>/dev/null; then
            say "port $port was taken, trying another"; port=""; continue
        fi
        cat "$dir/server.log" >&2 2>/dev/null || true
        rm -rf "$dir"; die "pg_ctl start failed"
    done
    [ -n "$port" ] || { rm -rf "$dir"; die "no free port after 5 attempts"; }
    deadline=$(( $(date +%s) + 30 ))
    until "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -U icmm; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            stop_dir "$dir"; die "the cluster on port $port was not ready within 30 s"
        fi
        sleep 0.2
    done
    url="postgresql://icmm@127.0.0.1:$port/postgres"
    echo "$url" >"$dir/url"
    echo "$port" >"$dir/port"
    say "ready on 127.0.0.1:$port (max_connections 200, fsync on)"
    echo "ICMM_TEST_POSTGRES_DIR=$dir"
    echo "ICMM_TEST_POSTGRES_URL=$url"
}

stop_dir() {
    local dir=$1 bindir user
    [ -f "$dir/.icmm-test-cluster" ] || die "$dir is not a throwaway test cluster; not touching it"
    bindir=$(find_bindir)
    user=$(stat -c %U "$dir")
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_user "$user" "$bindir/pg_ctl" --pgdata="$dir/data" --mode=fast --wait --timeout=30 stop >/dev/null 2>&1 ||
            as_user "$user" "$bindir/pg_ctl" --pgdata="$dir/data" --mode=immediate --wait --timeout=30 stop >/dev/null 2>&1 ||
            say "pg_ctl stop failed (see $dir/server.log)"
    fi
    rm -rf "$dir"
    say "stopped and removed $dir"
}

case "${1:-}" in
    start) start "${2:-}" ;;
    stop) [ -n "${2:-${ICMM_TEST_POSTGRES_DIR:-}}" ] || die "usage: $0 stop DIR"; stop_dir "${2:-$ICMM_TEST_POSTGRES_DIR}" ;;
    env)
        dir=${2:-${ICMM_TEST_POSTGRES_DIR:-}}
        [ -n "$dir" ] && [ -f "$dir/url" ] || die "usage: $0 env DIR (a folder printed by start)"
        echo "ICMM_TEST_POSTGRES_URL=$(cat "$dir/url")" ;;
    *) echo "usage: $0 start [DIR] | env DIR | stop DIR" >&2; exit 2 ;;
esac
