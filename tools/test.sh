#!/usr/bin/env bash
# `make test`: a throwaway PostgreSQL cluster, a fresh database with the module installed,
# then the whole suite under pytest-odoo with the HTTP server on. Exit code is pytest's,
# except that "no tests ran" (5) is a failure too. COMMERCE_TEST_PATH (relative to the module,
# default tests; several separated by spaces) runs a part of the suite instead, e.g.
# "tests/test_chaos.py tests/test_runner_crash.py" for `make chaos`.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ensure_venv
WORK=$(mktemp -d /tmp/commerce_test.XXXXXX)
PGPORT=$(free_port)
HTTPPORT=$(free_port)
DB=cc_test
cleanup() { stop_postgres "$WORK"; rm -rf "$WORK"; }
trap cleanup EXIT

start_postgres "$WORK" "$PGPORT"
# tests/test_runner_crash.py restarts this throwaway cluster under a running job runner
# (pg_ctl restart keeps the options the cluster was started with).
pg_restart="$PG_BIN/pg_ctl -D '$WORK/pg' -w -m fast -l '$WORK/pg.log' restart >/dev/null"
if [ "$(id -u)" -eq 0 ]; then
    export COMMERCE_PG_RESTART="su postgres -s /bin/sh -c \"$pg_restart\""
else
    export COMMERCE_PG_RESTART="$pg_restart"
fi
write_odoo_config "$WORK" "$PGPORT" "$DB" "$HTTPPORT"
log "installing commerce_connector into a fresh database (about a minute)"
if ! odoo_bin -c "$WORK/odoo.cfg" -d "$DB" -i commerce_connector --stop-after-init \
        --log-level=warn --logfile="$WORK/install.log"; then
    cat "$WORK/install.log" >&2
    die "module installation failed"
fi
# A module that installs with errors still exits 0: the log decides. Our own warnings count too.
if grep -E " (ERROR|CRITICAL) | WARNING .*commerce_connector" "$WORK/install.log" >&2; then
    die "module installation logged errors or warnings (above)"
fi

log "running the test suite"
test_paths=()
for path in ${COMMERCE_TEST_PATH:-tests}; do
    test_paths+=("$WORK/addons/commerce_connector/$path")
done
set +e
(cd "$WORK" && ODOO_SRC="$ODOO_SRC" PYTHONPATH="$ODOO_SRC" "$PY" -m pytest \
    --odoo-config="$WORK/odoo.cfg" --odoo-database="$DB" --odoo-http \
    --odoo-log-level="${ODOO_TEST_LOG_LEVEL:-warn}" -p no:cacheprovider \
    "${test_paths[@]}" "$@")
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    log "no test ran: that is a failure"
    exit 1
fi
exit "$rc"
