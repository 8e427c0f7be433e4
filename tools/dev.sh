#!/usr/bin/env bash
# Developer loop on a persistent cluster and database (kept in /var/tmp/commerce_connector/dev,
# where the postgres OS user can reach it):
#   tools/dev.sh install          create/refresh the database with the module (-i / -u)
#   tools/dev.sh test [ARGS]      run pytest-odoo on it (ARGS: test paths or -k ...)
#   tools/dev.sh stop             stop the cluster
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DEV=${COMMERCE_RUN_DIR:-/var/tmp/commerce_connector}/dev
DEV_PGPORT=${DEV_PGPORT:-55433}
DEV_DB=${DEV_DB:-cc_dev}  # one database per developer or helper: DEV_DB=cc_me tools/dev.sh ...
CFG=$DEV/odoo-$DEV_DB.cfg
ensure_venv
ensure_dev_cluster() {
    if ! "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$DEV_PGPORT"; then
        start_postgres "$DEV" "$DEV_PGPORT"
    fi
    write_odoo_config "$DEV" "$DEV_PGPORT" "$DEV_DB" "$(free_port)" "$CFG"
}
case "${1:-}" in
    install)
        ensure_dev_cluster
        if "$PG_BIN/psql" -h 127.0.0.1 -p "$DEV_PGPORT" -U odoo -d postgres -qtAc \
                "SELECT 1 FROM pg_database WHERE datname='$DEV_DB'" | grep -q 1; then
            mode=-u
        else
            mode=-i
        fi
        odoo_bin -c "$CFG" -d "$DEV_DB" "$mode" commerce_connector --stop-after-init --log-level=warn
        ;;
    test)
        shift
        ensure_dev_cluster
        [ $# -gt 0 ] || set -- "$DEV/addons/commerce_connector/tests"
        cd "$DEV" && PYTHONPATH="$ODOO_SRC" "$PY" -m pytest --odoo-config="$CFG" \
            --odoo-database="$DEV_DB" --odoo-http --odoo-log-level=warn -p no:cacheprovider "$@"
        ;;
    stop)
        stop_postgres "$DEV"
        ;;
    *)
        echo "usage: tools/dev.sh install|test [pytest args]|stop" >&2; exit 2;;
esac
