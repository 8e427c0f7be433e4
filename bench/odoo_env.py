"""Open an Odoo registry from a config file, outside odoo-bin, or run an odoo-bin server
(for benchmark processes)."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import requests

import odoo
from odoo.modules.registry import Registry


_PARSED_CONFIGS = set()


def open_registry(config_path, database):
    # Odoo 18's config cannot be parsed twice in one process (KeyError in _parse_config), and
    # every benchmark of `make bench` opens the registry: parse once per config file.
    if config_path not in _PARSED_CONFIGS:
        odoo.tools.config.parse_config(["-c", config_path, "--log-level=warn"])
        odoo.netsvc.init_logger()
        _PARSED_CONFIGS.add(config_path)
    return Registry(database)


@contextmanager
def odoo_server(config_path, database, port, cron_threads=0, startup_seconds=120, workers=0):
    """A real ``odoo-bin`` serving ``database`` on ``port`` until the block ends; yields its base
    URL once /web/health answers. ``workers`` 0: Odoo's threaded server (``cron_threads`` cron
    threads); more: its prefork server, as Odoo is deployed in production, with that many HTTP
    worker processes (its websocket port is ``port + 1``)."""
    mode = ["--workers", str(workers)] + (["--gevent-port", str(port + 1)] if workers else [])
    log = tempfile.NamedTemporaryFile(prefix="bench_odoo_", suffix=".log", delete=False)
    server = subprocess.Popen(
        [sys.executable, os.path.join(os.environ["ODOO_SRC"], "odoo-bin"), "-c", config_path, "-d", database,
         "--http-port", str(port), "--max-cron-threads", str(cron_threads), *mode, "--log-level", "warn"],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            try:
                if requests.get(f"{base}/web/health", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass  # not listening yet: wait below and try again
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"odoo-bin did not start on port {port}")
            time.sleep(0.5)
        yield base
    finally:
        _stop(server, log)


def _stop(server, log):
    """Stop the server; one that does not stop in 30 s dumps its threads' stacks in its log
    (Odoo's SIGQUIT handler) and is killed, so a benchmark never hangs on it."""
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.send_signal(signal.SIGQUIT)
        time.sleep(2)
        server.kill()
        server.wait(30)
        log.close()
        # What it measured stands: only its shutdown hung. Say so, with where to look.
        print(f"warning: odoo-bin did not stop within 30 s and was killed; its log and thread stacks: {log.name}",
              file=sys.stderr, flush=True)
        return
    log.close()
    os.unlink(log.name)
