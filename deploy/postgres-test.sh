#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the test suite.
#
#   deploy/postgres-test.sh start    # init (first time) + start; prints the SQLAlchemy URL
#   deploy/postgres-test.sh stop     # stop the server (data kept)
#   deploy/postgres-test.sh destroy  # stop and delete the cluster directory
#   deploy/postgres-test.sh status   # exit 0 when running
#   deploy/postgres-test.sh url      # print the URL only
#
# Environment: PNYX_PG_DIR (default /tmp/pnyx-pg), PNYX_PG_PORT (default 55432).
# Only the URL goes to stdout; everything else goes to stderr, so
#   export PNYX_TEST_PG_URL="$(deploy/postgres-test.sh start)"
# works. The cluster trusts every local connection: never use it for anything real.
# initdb/postgres refuse to run as root; as root the server runs as Debian's `postgres` user.
set -euo pipefail

DIR="${PNYX_PG_DIR:-/tmp/pnyx-pg}"
PORT="${PNYX_PG_PORT:-55432}"
DB="pnyx_test"
PGUSER_NAME="postgres"
DATA="$DIR/data"
LOG="$DIR/postgres.log"
[[ "$DIR" != *[[:space:]]* ]] || { echo "postgres-test: PNYX_PG_DIR must not contain spaces" >&2; exit 1; }
URL="postgresql+psycopg://${PGUSER_NAME}@127.0.0.1:${PORT}/${DB}"

log() { echo "postgres-test: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# Locate a PostgreSQL binary: PATH first, else the newest /usr/lib/postgresql/*/bin.
PGBIN=""
find_bin() {
    local name="$1" found
    if found="$(command -v "$name" 2>/dev/null)"; then
        echo "$found"
        return
    fi
    if [[ -z "$PGBIN" ]]; then
        PGBIN="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null \
            | sort -V | tail -n 1 || true)"
    fi
    if [[ -n "$PGBIN" && -x "$PGBIN/$name" ]]; then
        echo "$PGBIN/$name"
        return
    fi
    die "'$name' not found on PATH nor in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
}

# initdb and postgres refuse root: run server-side commands as the postgres system user then.
AS=()
if [[ "$(id -u)" == 0 ]]; then
    id -u "$PGUSER_NAME" >/dev/null 2>&1 \
        || die "running as root but there is no '$PGUSER_NAME' system user (apt-get install postgresql)"
    AS=(runuser -u "$PGUSER_NAME" --)
fi

# Run as the server's owner, from a directory that user can enter (initdb warns otherwise).
as_owner() { (cd "$DIR" && "${AS[@]}" env LC_ALL=C.UTF-8 LANG=C.UTF-8 "$@"); }

is_running() {
    [[ -f "$DATA/PG_VERSION" ]] || return 1
    local pg_ctl
    pg_ctl="$(find_bin pg_ctl)"
    as_owner "$pg_ctl" status -D "$DATA" >/dev/null 2>&1  # pg_ctl refuses root, even for status
}

ensure_dir() {
    mkdir -p "$DIR"
    if ((${#AS[@]})); then
        chown "$PGUSER_NAME": "$DIR"
    elif [[ ! -O "$DIR" ]]; then
        die "$DIR belongs to another user (a run as root?); remove it or set PNYX_PG_DIR"
    fi
    chmod 0700 "$DIR"
    as_owner test -w "$DIR" \
        || die "$DIR is not usable by the server's user (owned by someone else?); remove it or set PNYX_PG_DIR"
}

cmd_start() {
    if is_running; then
        local running_port
        running_port="$(sed -n 4p "$DATA/postmaster.pid" 2>/dev/null || true)"
        [[ -z "$running_port" || "$running_port" == "$PORT" ]] \
            || die "the cluster in $DATA is running on port $running_port, not $PORT; stop it first"
        log "already running in $DATA (port $PORT)"
        create_db
        echo "$URL"
        return
    fi
    ensure_dir
    if [[ ! -f "$DATA/PG_VERSION" ]]; then
        log "initdb in $DATA"
        rm -rf "$DATA"
        as_owner "$(find_bin initdb)" -D "$DATA" -A trust --no-sync -U "$PGUSER_NAME" \
            -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
            || {
                cat "$DIR/initdb.log" >&2
                die "initdb failed"
            }
    fi
    log "starting on 127.0.0.1:$PORT (socket dir $DIR, log $LOG)"
    if ! as_owner "$(find_bin pg_ctl)" -D "$DATA" -l "$LOG" -w -t 60 start \
        -o "-p $PORT -k $DIR -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c listen_addresses=127.0.0.1 -c max_connections=200" \
        >&2; then
        tail -n 20 "$LOG" >&2 || true
        die "pg_ctl start failed (port $PORT already in use? set PNYX_PG_PORT)"
    fi
    create_db
    echo "$URL"
}

create_db() {
    local psql
    psql="$(find_bin psql)"
    local exists
    exists="$("$psql" -h "$DIR" -p "$PORT" -U "$PGUSER_NAME" -d postgres -XtAq \
        -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")"
    if [[ "$exists" != 1 ]]; then
        log "creating database $DB"
        "$psql" -h "$DIR" -p "$PORT" -U "$PGUSER_NAME" -d postgres -Xq \
            -c "CREATE DATABASE $DB" >&2
    fi
}

cmd_stop() {
    if is_running; then
        log "stopping $DATA"
        as_owner "$(find_bin pg_ctl)" -D "$DATA" -m fast -w stop >&2
    else
        log "not running"
    fi
}

cmd_destroy() {
    cmd_stop
    if [[ -d "$DIR" ]]; then
        log "removing $DIR"
        rm -rf "$DIR"
    fi
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    destroy) cmd_destroy ;;
    status)
        if is_running; then
            log "running: $URL"
        else
            log "not running"
            exit 3
        fi
        ;;
    url) echo "$URL" ;;
    *)
        echo "usage: $0 start|stop|destroy|status|url" >&2
        exit 2
        ;;
esac
