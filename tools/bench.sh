#!/usr/bin/env bash
# `make bench`: a throwaway cluster and database, then every benchmark in one table.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ensure_venv
apt_install_missing wrk  # the webhook intake load comes from a separate C process
WORK=$(mktemp -d /tmp/commerce_bench.XXXXXX)
PGPORT=$(free_port)
DB=cc_bench
cleanup() { stop_postgres "$WORK"; rm -rf "$WORK"; }
trap cleanup EXIT
start_postgres "$WORK" "$PGPORT"
write_odoo_config "$WORK" "$PGPORT" "$DB" "$(free_port)"
log "installing commerce_connector into a benchmark database"
odoo_bin -c "$WORK/odoo.cfg" -d "$DB" -i commerce_connector --stop-after-init --log-level=warn
mkdir -p "$REPO_DIR/bench/results"
cd "$WORK" && PYTHONPATH="$ODOO_SRC" "$PY" "$WORK/addons/commerce_connector/tools/odoo_module_entry.py" \
    "$WORK/addons" odoo.addons.commerce_connector.bench.run \
    --config "$WORK/odoo.cfg" --database "$DB" --output "$REPO_DIR/bench/results/bench.json" "$@"
