#!/usr/bin/env bash
# `make run`: Odoo with the module on http://127.0.0.1:8069, database `commerce`,
# login admin / admin. Data persists in $RUN_DIR between runs; Ctrl-C stops what it started.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUN_DIR=${COMMERCE_RUN_DIR:-/var/tmp/commerce_connector}/run
RUN_PGPORT=${RUN_PGPORT:-55434}
RUN_DB=${RUN_DB:-commerce}
HTTP_PORT=${HTTP_PORT:-8069}

ensure_venv
started_pg=0
if ! "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$RUN_PGPORT"; then
    start_postgres "$RUN_DIR" "$RUN_PGPORT"
    started_pg=1
fi
cleanup() { [ "$started_pg" = 1 ] && stop_postgres "$RUN_DIR"; }
trap cleanup EXIT
write_odoo_config "$RUN_DIR" "$RUN_PGPORT" "$RUN_DB" "$HTTP_PORT"

if "$PG_BIN/psql" -h 127.0.0.1 -p "$RUN_PGPORT" -U odoo -d postgres -qtAc \
        "SELECT 1 FROM pg_database WHERE datname='$RUN_DB'" | grep -q 1; then
    log "updating commerce_connector in database $RUN_DB"
    odoo_bin -c "$RUN_DIR/odoo.cfg" -d "$RUN_DB" -u commerce_connector --stop-after-init --log-level=warn
else
    log "creating database $RUN_DB with commerce_connector (about a minute)"
    odoo_bin -c "$RUN_DIR/odoo.cfg" -d "$RUN_DB" -i commerce_connector --stop-after-init --log-level=warn
fi
log "Odoo on http://127.0.0.1:$HTTP_PORT (login admin / admin); Ctrl-C stops it"
odoo_bin -c "$RUN_DIR/odoo.cfg" -d "$RUN_DB" --log-level=info
