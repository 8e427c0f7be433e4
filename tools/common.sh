# Shared shell helpers for `make test`, `make run` and `make bench`.
# Sourced, not executed. Everything it creates lives outside the repository.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ODOO_SRC=${ODOO_SRC:-/opt/odoo/18.0}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
STATE_DIR=${COMMERCE_STATE_DIR:-$HOME/.cache/commerce_connector}
VENV=${COMMERCE_VENV:-$STATE_DIR/venv}
PY=$VENV/bin/python

log() { printf '[commerce_connector] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

require_odoo() {
    if [ ! -f "$ODOO_SRC/odoo-bin" ] || [ ! -d "$ODOO_SRC/odoo/addons/base" ]; then
        die "no Odoo 18 source tree at ODOO_SRC=$ODOO_SRC (odoo-bin not found). \
Set ODOO_SRC to an Odoo 18.0 checkout; see README.rst, Installation."
    fi
    grep -q "version_info = (18, 0" "$ODOO_SRC/odoo/release.py" \
        || die "ODOO_SRC=$ODOO_SRC is not Odoo 18.0 (odoo/release.py)"
}

apt_install_missing() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]} (install them as root)"
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
}

# pip, without the noise of find-links folders this machine's pip config names but lacks.
quiet_pip() {
    "$PY" -m pip "$@" -q --no-warn-script-location 2> >(grep -v "is neither a file nor a directory" >&2)
}

# The venv is created once and topped up when a requirements file changes. A lock keeps
# concurrent callers (CI steps, several checkouts on one machine) from building it at once,
# and it is never deleted under a running process.
ensure_venv() {
    require_odoo
    apt_install_missing libpq-dev libldap2-dev libsasl2-dev postgresql-15 gcc chromium  # chromium: browser tour
    local stamp_wanted
    stamp_wanted=$(cat "$ODOO_SRC/requirements.txt" "$REPO_DIR/requirements.txt" \
        "$REPO_DIR/requirements-test.txt" "$REPO_DIR/tools/odoo_requirements.py" | sha256sum | cut -c1-16)
    if [ -x "$PY" ] && grep -qx "$stamp_wanted" "$VENV/.stamps" 2>/dev/null; then
        return 0
    fi
    mkdir -p "$STATE_DIR"
    exec 9>"$STATE_DIR/venv.lock"
    flock 9
    if [ -x "$PY" ] && grep -qx "$stamp_wanted" "$VENV/.stamps" 2>/dev/null; then
        flock -u 9
        return 0
    fi
    if [ ! -x "$PY" ] || ! "$PY" -m pip --version >/dev/null 2>&1; then
        log "building the Python environment in $VENV (once)"
        rm -rf "$VENV"
        python3 -m venv "$VENV"
        quiet_pip install --upgrade pip wheel setuptools packaging
    else
        log "updating the Python environment in $VENV (a requirements file changed)"
    fi
    "$PY" "$REPO_DIR/tools/odoo_requirements.py" "$ODOO_SRC/requirements.txt" > "$VENV/odoo-requirements.txt"
    quiet_pip install -r "$VENV/odoo-requirements.txt" \
        -r "$REPO_DIR/requirements.txt" -r "$REPO_DIR/requirements-test.txt"
    echo "$stamp_wanted" >> "$VENV/.stamps"
    flock -u 9
}

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_postgres DIR PORT: a cluster owned by the postgres OS user (initdb refuses root),
# with a superuser role `odoo` (Odoo refuses the `postgres` role).
start_postgres() {
    local dir=$1 port=$2 as_user=()
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres "$dir"
        as_user=(su postgres -s /bin/sh -c)
    else
        as_user=(sh -c)
    fi
    if [ ! -f "$dir/pg/PG_VERSION" ]; then
        "${as_user[@]}" "$PG_BIN/initdb -D '$dir/pg' -A trust -U postgres >/dev/null"
    fi
    "${as_user[@]}" "$PG_BIN/pg_ctl -D '$dir/pg' -w -l '$dir/pg.log' -o \"-k '$dir' -c listen_addresses=127.0.0.1 -p $port -c fsync=off -c synchronous_commit=off -c full_page_writes=off\" start >/dev/null"
    "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtAc \
        "SELECT 1 FROM pg_roles WHERE rolname='odoo'" | grep -q 1 \
        || "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc \
            "CREATE ROLE odoo LOGIN SUPERUSER PASSWORD 'odoo'"
}

stop_postgres() {
    local dir=$1
    if [ "$(id -u)" -eq 0 ]; then
        su postgres -s /bin/sh -c "$PG_BIN/pg_ctl -D '$dir/pg' -m fast stop >/dev/null" || true
    else
        "$PG_BIN/pg_ctl" -D "$dir/pg" -m fast stop >/dev/null || true
    fi
}

# write_odoo_config WORKDIR PGPORT DBNAME HTTPPORT [CONFIG]: an addons dir where the repository
# is linked as `commerce_connector` (Odoo and pytest-odoo need the folder named after the module).
write_odoo_config() {
    local work=$1 pgport=$2 db=$3 http_port=$4 cfg=${5:-$1/odoo.cfg}
    mkdir -p "$work/addons" "$work/data"
    ln -sfn "$REPO_DIR" "$work/addons/commerce_connector"
    # The key that seals the connector's secrets at rest: one per cluster folder, kept with it.
    local keyfile=$work/commerce_connector.key
    [ -s "$keyfile" ] || "$PY" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' > "$keyfile"
    chmod 600 "$keyfile"
    cat > "$cfg" <<CFG
[options]
addons_path = $ODOO_SRC/addons,$work/addons
db_host = 127.0.0.1
db_port = $pgport
db_user = odoo
db_password = odoo
db_name = $db
dbfilter = ^$db\$
data_dir = $work/data
http_interface = 127.0.0.1
http_port = $http_port
list_db = False
without_demo = all
pg_path = $PG_BIN
commerce_connector_key = $(cat "$keyfile")
CFG
}

odoo_bin() {
    "$PY" "$ODOO_SRC/odoo-bin" "$@"
}
