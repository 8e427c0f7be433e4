#!/usr/bin/env bash
# `make run`: the sandbox. Odoo with the module on http://127.0.0.1:8069 (database `commerce`,
# login admin / admin), a Clarity and an SP-API simulator on free loopback ports streaming
# orders, a demo Clarity store and Amazon seller account wired to them (tools/sandbox_seed.py)
# and a warehouse that ships what is reserved (tools/sandbox_warehouse.py). Data persists in $RUN_DIR between runs; Ctrl-C stops everything
# this script started.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUN_DIR=${COMMERCE_RUN_DIR:-/var/tmp/commerce_connector}/run
RUN_PGPORT=${RUN_PGPORT:-55434}
RUN_DB=${RUN_DB:-commerce}
HTTP_PORT=${HTTP_PORT:-8069}
CLARITY_STREAM_SECONDS=${CLARITY_STREAM_SECONDS:-20}  # a new Clarity order every ... seconds
AMAZON_STREAM_SECONDS=${AMAZON_STREAM_SECONDS:-30}  # one or two new Amazon orders every ... seconds
WAREHOUSE_SECONDS=${WAREHOUSE_SECONDS:-30}  # the sandbox warehouse ships ready deliveries every ... seconds

children=()
odoo_pid=
interrupted=0
started_pg=0
cleanup() {
    trap - EXIT INT TERM
    local pid waited=0
    # Ctrl-C reached Odoo too (it handles SIGINT): let it finish its shutdown, as a second
    # signal would force it.
    if [ "$interrupted" = 1 ] && [ -n "$odoo_pid" ]; then
        while kill -0 "$odoo_pid" 2>/dev/null && [ "$waited" -lt 100 ]; do
            sleep 0.2
            waited=$((waited + 1))
        done
    fi
    for pid in "${children[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${children[@]}"; do
        waited=0
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 100 ]; do
            sleep 0.2
            waited=$((waited + 1))
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "$started_pg" = 1 ]; then
        stop_postgres "$RUN_DIR"
    fi
    log "sandbox stopped"
}
trap cleanup EXIT
trap 'interrupted=1; exit 130' INT
trap 'exit 143' TERM

port_in_use() {
    "$PY" -c 'import socket, sys; s = socket.socket(); sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))) != 0)' "$1"
}

# wait_for_port PORT PID WHAT: until something listens on PORT, while PID lives (60 s at most)
wait_for_port() {
    local tries=0
    until port_in_use "$1"; do
        kill -0 "$2" 2>/dev/null || die "$3 exited before listening on port $1"
        tries=$((tries + 1))
        [ "$tries" -lt 300 ] || die "$3 is not listening on port $1 after 60 s"
        sleep 0.2
    done
}

ensure_venv
if port_in_use "$HTTP_PORT"; then
    die "port $HTTP_PORT is taken (another Odoo?): stop it or run HTTP_PORT=8070 make run"
fi
if ! "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$RUN_PGPORT"; then
    start_postgres "$RUN_DIR" "$RUN_PGPORT"
    started_pg=1
fi
write_odoo_config "$RUN_DIR" "$RUN_PGPORT" "$RUN_DB" "$HTTP_PORT"

if "$PG_BIN/psql" -h 127.0.0.1 -p "$RUN_PGPORT" -U odoo -d postgres -qtAc \
        "SELECT 1 FROM pg_database WHERE datname='$RUN_DB'" | grep -q 1; then
    log "updating commerce_connector in database $RUN_DB"
    odoo_bin -c "$RUN_DIR/odoo.cfg" -d "$RUN_DB" -u commerce_connector --stop-after-init --log-level=warn
else
    log "creating database $RUN_DB with commerce_connector (about a minute)"
    odoo_bin -c "$RUN_DIR/odoo.cfg" -d "$RUN_DB" -i commerce_connector --stop-after-init --log-level=warn
fi

started_at=$(date -u '+%Y-%m-%d %H:%M:%S')  # the warehouse ships only this run's deliveries
CLARITY_PORT=$(free_port)
SPAPI_PORT=$(free_port)
while [ "$SPAPI_PORT" = "$CLARITY_PORT" ]; do SPAPI_PORT=$(free_port); done
CLARITY_URL=http://127.0.0.1:$CLARITY_PORT
SPAPI_URL=http://127.0.0.1:$SPAPI_PORT
ODOO_URL=http://127.0.0.1:$HTTP_PORT

log "seeding the demo backends, products, stock and offers (tools/sandbox_seed.py)"
seed_output=$(SANDBOX_CLARITY_URL=$CLARITY_URL SANDBOX_SPAPI_URL=$SPAPI_URL SANDBOX_ODOO_URL=$ODOO_URL \
    odoo_bin shell -c "$RUN_DIR/odoo.cfg" -d "$RUN_DB" --log-level=warn < "$REPO_DIR/tools/sandbox_seed.py")
webhook_url=$(sed -n 's/^SANDBOX_WEBHOOK_URL=//p' <<<"$seed_output")
clarity_location=$(sed -n 's/^SANDBOX_CLARITY_LOCATION=//p' <<<"$seed_output")
[ -n "$webhook_url" ] && [ -n "$clarity_location" ] || die "the sandbox seed printed no webhook URL: $seed_output"

# The simulators run from the repository root (python -m simulators.<name>); exec keeps $! the
# simulator's own pid, which cleanup stops.
(cd "$REPO_DIR" && exec "$PY" -m simulators.clarity --port "$CLARITY_PORT" --location "$clarity_location" \
    --stream "$CLARITY_STREAM_SECONDS" --webhook-url "$webhook_url") &
children+=($!)
clarity_pid=$!
# A new seed each run: order ids never repeat those an earlier run already imported. Amazon's
# two-minute search delay is shortened to 30 s so that new orders show up sooner.
(cd "$REPO_DIR" && exec "$PY" -m simulators.spapi --port "$SPAPI_PORT" --seed "$(date +%s)" \
    --search-settle-seconds 30 --stream "$AMAZON_STREAM_SECONDS") &
children+=($!)
spapi_pid=$!
wait_for_port "$CLARITY_PORT" "$clarity_pid" "the Clarity simulator"
wait_for_port "$SPAPI_PORT" "$spapi_pid" "the SP-API simulator"

"$PY" "$ODOO_SRC/odoo-bin" -c "$RUN_DIR/odoo.cfg" -d "$RUN_DB" --log-level=info &
children+=($!)
odoo_pid=$!
wait_for_port "$HTTP_PORT" "$odoo_pid" "Odoo"
"$PY" "$REPO_DIR/tools/sandbox_connect.py" --url "$ODOO_URL" --db "$RUN_DB" \
    || log "Test Connection of the demo backends failed: press it on each backend"
# The sandbox's warehouse: validates reserved deliveries, so shipments reach the channels.
"$PY" "$REPO_DIR/tools/sandbox_warehouse.py" --url "$ODOO_URL" --db "$RUN_DB" --every "$WAREHOUSE_SECONDS" \
    --since "$started_at" &
children+=($!)
log "sandbox ready:
    Odoo                $ODOO_URL   (login admin / admin, database $RUN_DB)
    Clarity simulator   $CLARITY_URL  (webhooks to $webhook_url)
    SP-API simulator    $SPAPI_URL
  Orders arrive in Sales > Orders within about two minutes; Commerce > Jobs shows every sync.
  Ctrl-C stops everything."
wait "$odoo_pid"
