"""Helpers of the runner-crash tests (tests/test_runner_crash.py): a real ``odoo-bin`` process
running the job runner cron on the test database, committed test data created and removed
through short-lived cursors of their own, and a Clarity simulator whose order reads are slow
enough for a runner to be caught in the middle of a batch.

Nothing here keeps a database connection open between two calls: the database-restart test
restarts PostgreSQL under it.
"""

import collections
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta

import odoo
import psycopg2
from odoo import SUPERUSER_ID, api, fields
from odoo.modules.registry import Registry

from ..simulators.clarity import ClarityDataGenerator, ClaritySimulator
from .common import NO_MAIL

RUNNER_CRON_XMLID = "commerce_connector.ir_cron_job_runner"
PARAM = "commerce_connector."
CLIENT_SECRET = "runner-crash-client-secret"
BACKEND_PREFIX = "Runner crash "


class SlowOrderReadSimulator(ClaritySimulator):
    """Clarity with ``GET /api/v1/orders/<id>`` answering after ``latency`` seconds.

    Every read is noted when it *starts* (``started_reads``), so a test can act while one is in
    flight; ``on_read_start(count)`` is called with the number of reads started so far.
    """

    def __init__(self, *args, latency=0.3, **kwargs):
        super().__init__(*args, **kwargs)
        self.latency = latency
        self.started_reads = []
        self.on_read_start = None
        self._read_lock = threading.Lock()

    def inject_fault(self, request, operation):
        if operation == "get_order":
            with self._read_lock:
                self.started_reads.append(request.params.get("order_id"))
                count = len(self.started_reads)
            if self.on_read_start:
                self.on_read_start(count)
            time.sleep(self.latency)
        return super().inject_fault(request, operation)

    def reads_per_order(self):
        """Completed reads per order ID (a read whose client died is recorded too)."""
        calls = self.recorder.calls(path_prefix="/api/v1/orders/", method="GET")
        return collections.Counter(call.path.rsplit("/", 1)[-1] for call in calls)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def odoo_source_dir():
    return os.environ.get("ODOO_SRC") or os.path.dirname(odoo.tools.config["root_path"])


class OdooProcess:
    """One ``odoo-bin`` server on the test database, with one cron thread (``workers=0``) or in
    prefork mode (``workers>0``: HTTP workers plus one cron worker process), in a process group
    of its own. Its PostgreSQL connections are named ``<tag>-<pid>`` (``ODOO_PGAPPNAME``)."""

    def __init__(self, dbname, workdir, tag, workers=0):
        self.dbname = dbname
        self.workdir = workdir
        self.tag = tag
        self.workers = workers
        self.proc = None
        self.starts = 0
        self.logfile = None

    def command(self):
        cfg = odoo.tools.config
        args = [sys.executable, os.path.join(odoo_source_dir(), "odoo-bin")]
        if cfg.rcfile and os.path.exists(cfg.rcfile):
            args += ["-c", cfg.rcfile]
        args += [
            "-d", self.dbname, f"--db-filter=^{self.dbname}$", "--no-database-list",
            f"--addons-path={cfg['addons_path']}", f"--data-dir={cfg['data_dir']}",
            "--max-cron-threads=1", f"--workers={self.workers}",
            "--http-interface=127.0.0.1", f"--http-port={free_port()}", f"--gevent-port={free_port()}",
            "--log-level=info", f"--logfile={self.logfile}",
        ]
        for key in ("db_host", "db_port", "db_user", "db_password"):
            if cfg[key]:
                args.append(f"--{key}={cfg[key]}")
        return args

    def start(self):
        self.starts += 1
        self.logfile = os.path.join(self.workdir, f"odoo-{self.tag}-{self.starts}.log")
        env = dict(os.environ, ODOO_PGAPPNAME=f"{self.tag}-{{pid}}")
        # stdout/stderr: what does not go to the log (e.g. an exception that ends a thread)
        with open(self.logfile + ".out", "wb") as output:
            self.proc = subprocess.Popen(self.command(), env=env, cwd=self.workdir, start_new_session=True,
                                         stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)
        return self.proc.pid

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def child_pids(self):
        """PIDs of the processes the server forked (prefork workers, the gevent server)."""
        if not self.running:
            return []
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children", encoding="ascii") as handle:
                return [int(pid) for pid in handle.read().split()]
        except OSError:
            return []

    def kill(self):
        """SIGKILL the whole process group: no shutdown code of Odoo runs."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it already exited: nothing left to kill
        self.proc.wait(30)

    def log_tail(self, lines=40):
        tails = []
        for path in (self.logfile, f"{self.logfile}.out"):
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    tails.append("".join(handle.readlines()[-lines:]))
            except (OSError, TypeError):
                tails.append(f"(no {path})")
        return "\n".join(tails)


class CommittedData:
    """Creates, reads and removes the test's committed records, each call on its own cursor."""

    def __init__(self, dbname):
        self.dbname = dbname
        self.token = uuid.uuid4().hex[:8]
        self.backend_id = None
        self.product_ids = []
        self.saved_params = {}
        self.saved_crons = []
        self.saved_triggers = []
        self.runner_cron = None  # (id, nextcall, lastcall) before the test
        self.max_trigger_id = self.max_progress_id = 0

    # -- cursors -----------------------------------------------------------------------------
    def env(self):
        """A context manager: a superuser environment on a new cursor, committed at the end."""
        return _committed_env(self.dbname)

    def query(self, sql, params=None, retry_for=0.0):
        """Rows of ``sql`` on a fresh cursor; ``retry_for`` seconds of retries while the
        database is unreachable (a restart)."""
        deadline = time.monotonic() + retry_for
        while True:
            try:
                with Registry(self.dbname).cursor() as cr:
                    cr.execute(sql, params or ())
                    return cr.fetchall() if cr.description else []
            except psycopg2.OperationalError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    # -- setup -------------------------------------------------------------------------------
    def setup(self, simulator, orders, params):
        """Backend on the simulator, the products of ``orders``; config parameters ``params``
        (saved first); every other cron made not due, so the server runs only the job runner."""
        with self.env() as env:
            ICP = env["ir.config_parameter"]
            for key, value in params.items():
                self.saved_params[key] = ICP.get_param(PARAM + key)
                ICP.set_param(PARAM + key, str(value))
            skus = {line["Sku"]: line for order in orders for line in order["SalesItems"]}
            products = env["product.product"].create([
                {"name": line["Name"], "default_code": sku, "type": "consu", "list_price": line["UnitCorePrice"],
                 "taxes_id": [(5, 0, 0)]} for sku, line in skus.items()])
            self.product_ids = products.ids
            backend = env["commerce.backend"].create({
                "name": f"{BACKEND_PREFIX}{self.token}",
                "channel": "clarity",
                "clarity_base_url": simulator.url,
                "clarity_client_id": "odoo-connector",
                "clarity_client_secret": CLIENT_SECRET,
                "clarity_webhook_secret": f"whsec-{self.token}",
                "warehouse_id": env["stock.warehouse"].search([("company_id", "=", env.company.id)], limit=1).id,
                "currency_id": env.company.currency_id.id,
                "clarity_import_statuses": "Pending",
            })
            backend.tax_rule_ids.unlink()
            self.backend_id = backend.id
            runner = env.ref(RUNNER_CRON_XMLID)
            self.runner_cron = (runner.id, runner.nextcall, runner.lastcall or None)
            cr = env.cr
            cr.execute("SELECT COALESCE(max(id), 0) FROM ir_cron_trigger")
            self.max_trigger_id = cr.fetchone()[0]
            cr.execute("SELECT COALESCE(max(id), 0) FROM ir_cron_progress")
            self.max_progress_id = cr.fetchone()[0]
            cr.execute("SELECT id, nextcall FROM ir_cron WHERE active AND id != %s", (runner.id,))
            self.saved_crons = cr.fetchall()
            cr.execute("SELECT id, call_at FROM ir_cron_trigger WHERE cron_id != %s", (runner.id,))
            self.saved_triggers = cr.fetchall()
            later = fields.Datetime.now() + timedelta(days=1)
            cr.execute("UPDATE ir_cron SET nextcall = %s WHERE active AND id != %s", (later, runner.id))
            cr.execute("UPDATE ir_cron_trigger SET call_at = %s WHERE cron_id != %s", (later, runner.id))

    def enqueue_order_updates(self, orders):
        """One ``clarity.order.update`` job per order, about an order Odoo does not have yet:
        the job reads the order from Clarity (the slow call), then creates its sale order."""
        with self.env() as env:
            backend = env["commerce.backend"].browse(self.backend_id)
            jobs = env["commerce.job"]
            for order in orders:
                data = {key: order[key] for key in ("ID", "CustomKey", "StatusKey", "UpdatedDate")}
                jobs |= jobs.enqueue(backend, "clarity.order.update",
                                     payload={"Id": f"evt-{order['ID']}", "Event": "order.updated", "Data": data},
                                     idempotency_key=f"crash-{self.token}-{order['ID']}")
            # due now: the server's cron runs it as soon as it polls
            env.cr.execute("UPDATE ir_cron SET nextcall = %s WHERE id = %s",
                           (fields.Datetime.now() - timedelta(seconds=1), self.runner_cron[0]))
            return jobs.ids

    def job_states(self, retry_for=0.0):
        rows = self.query("SELECT state, count(*) FROM commerce_job WHERE backend_id = %s GROUP BY state",
                          (self.backend_id,), retry_for)
        return collections.Counter(dict(rows))

    def jobs(self):
        """{job id: (state, attempts, external order id, [(attempt number, outcome), ...])}"""
        rows = self.query(
            """SELECT job.id, job.state, job.attempts, job.idempotency_key,
                      array_agg(ARRAY[att.number::text, att.outcome] ORDER BY att.id) FILTER (WHERE att.id IS NOT NULL)
                 FROM commerce_job job LEFT JOIN commerce_job_attempt att ON att.job_id = job.id
                WHERE job.backend_id = %s GROUP BY job.id""", (self.backend_id,), 10)
        prefix = f"crash-{self.token}-"
        return {row[0]: (row[1], row[2], row[3][len(prefix):], [(int(n), o) for n, o in row[4] or []])
                for row in rows}

    def sale_orders_per_external_id(self):
        """{external id: (bindings, distinct sale orders)} of the backend's order bindings."""
        rows = self.query("""SELECT b.external_id, count(*), count(DISTINCT so.id)
                               FROM commerce_binding b LEFT JOIN sale_order so ON so.id = b.res_id
                              WHERE b.backend_id = %s AND b.res_model = 'sale.order'
                           GROUP BY b.external_id""", (self.backend_id,), 10)
        return {row[0]: (row[1], row[2]) for row in rows}

    def sale_orders_per_origin(self, origins):
        rows = self.query("SELECT origin, count(*) FROM sale_order WHERE origin = ANY(%s) GROUP BY origin",
                          (list(origins),), 10)
        return dict(rows)

    def runner_connections(self, tag):
        return self.query("SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s",
                          (f"{tag}-%",), 10)

    # -- cleanup -----------------------------------------------------------------------------
    def cleanup(self):
        """Remove what the test committed (and what the runner created for its backend). Every
        step runs in a transaction of its own, all are tried, and the first error is raised."""
        errors = []
        for step in (self._remove_backend_data, self._restore_params, self._restore_crons):
            try:
                with self.env() as env:
                    step(env)
            except Exception as exc:  # noqa: BLE001 -- raised below, after the other steps ran
                errors.append(exc)
        if errors:
            raise errors[0]

    def _remove_backend_data(self, env):
        if self.backend_id:
            remove_backend(env, self.backend_id)
        env["product.product"].browse(self.product_ids).exists().product_tmpl_id.unlink()

    def _restore_params(self, env):
        ICP = env["ir.config_parameter"]
        for key, value in self.saved_params.items():
            if value is None:
                ICP.search([("key", "=", PARAM + key)]).unlink()
            else:
                ICP.set_param(PARAM + key, value)

    def _restore_crons(self, env):
        cr = env.cr
        if self.runner_cron:
            cron_id, nextcall, lastcall = self.runner_cron
            cr.execute("UPDATE ir_cron SET nextcall = %s, lastcall = %s WHERE id = %s", (nextcall, lastcall, cron_id))
            cr.execute("DELETE FROM ir_cron_trigger WHERE cron_id = %s AND id > %s", (cron_id, self.max_trigger_id))
            cr.execute("DELETE FROM ir_cron_progress WHERE cron_id = %s AND id > %s", (cron_id, self.max_progress_id))
        for cron_id, nextcall in self.saved_crons:
            cr.execute("UPDATE ir_cron SET nextcall = %s WHERE id = %s", (nextcall, cron_id))
        for trigger_id, call_at in self.saved_triggers:
            cr.execute("UPDATE ir_cron_trigger SET call_at = %s WHERE id = %s", (call_at, trigger_id))

    def purge_leftovers(self):
        """Remove the backends and products an earlier run left behind when it was interrupted
        (its cleanup never ran): their pending jobs would be run by this test's server too."""
        with self.env() as env:
            backends = env["commerce.backend"].with_context(active_test=False).search(
                [("name", "=like", f"{BACKEND_PREFIX}%")])
            for backend_id in backends.ids:
                remove_backend(env, backend_id)
            env.cr.execute("SELECT id FROM product_product WHERE default_code ~ '^RC[0-9a-f]{8}-'")
            products = env["product.product"].with_context(active_test=False).browse(
                [row[0] for row in env.cr.fetchall()])
            products.product_tmpl_id.unlink()
            return len(backends)


def remove_backend(env, backend_id):
    """Delete a test backend with its jobs, sale orders, customers and bindings."""
    bindings = env["commerce.binding"].search([("backend_id", "=", backend_id)])
    orders = env["sale.order"].browse(
        bindings.filtered(lambda b: b.res_model == "sale.order").mapped("res_id")).exists()
    orders.filtered(lambda so: so.state != "cancel").with_context(disable_cancel_warning=True)._action_cancel()
    orders.unlink()
    partners = env["res.partner"].browse(
        bindings.filtered(lambda b: b.res_model == "res.partner").mapped("res_id")).exists()
    partners = env["res.partner"].with_context(active_test=False).search([("id", "child_of", partners.ids)])
    # Jobs first: a backend with unfinished jobs refuses deletion (left so by a failed test).
    env.cr.execute("DELETE FROM commerce_job WHERE backend_id = %s", (backend_id,))
    env["commerce.backend"].browse(backend_id).unlink()
    partners.unlink()


class _committed_env:
    def __init__(self, dbname):
        self.dbname = dbname
        self.cr = None

    def __enter__(self):
        self.cr = Registry(self.dbname).cursor()
        return api.Environment(self.cr, SUPERUSER_ID, dict(NO_MAIL))

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.cr.commit()
            else:
                self.cr.rollback()
        finally:
            self.cr.close()


def notify_cron(dbname):
    """Wake the server's cron thread or worker now, as a trigger's NOTIFY does (it otherwise
    polls once a minute). Never raises: the database may be restarting."""
    try:
        with odoo.sql_db.db_connect("postgres").cursor() as cr:
            cr.execute("SELECT pg_notify('cron_trigger', %s)", (dbname,))
    except psycopg2.Error:
        pass  # the database is restarting: the next ring reaches it


def clarity_orders(count, token, seed=11):
    """``count`` Pending Clarity orders without tax, SKUs and keys unique to this test run."""
    generator = ClarityDataGenerator(seed=seed)
    products = generator.products()
    orders = []
    for index, order in enumerate(generator.orders(count, generator.customers(4), products)):
        order["ID"] = 900000 + index
        order["CustomKey"] = f"RC-{token}-{index:03d}"
        order["StatusKey"] = "Pending"
        order["AccountKey"] = f"RC-{token}-{order['AccountKey']}"
        order["PurchaseOrderNumber"] = f"PO-{token}-{index}"
        for contact in (order["BillingContact"], order["ShippingContact"]):
            if contact.get("Email1"):
                contact["Email1"] = f"{token}.{contact['Email1']}"
        for line in order["SalesItems"]:
            line["Sku"] = line["ProductKey"] = f"RC{token}-{line['Sku']}"
            line["ExtendedTaxAmount"] = 0.0
        shipping = order["Totals"]["Shipping"]
        order["Totals"] = generator.totals(order["SalesItems"], str(shipping), order["Discounts"])
        for payment in order["SalesOrderPayments"]:
            payment["Slave"]["Amount"] = order["Totals"]["Total"]
        orders.append(order)
    return orders


def workdir(test):
    """A temporary folder for the servers' logs, removed at the end of ``test`` unless
    COMMERCE_KEEP_RUNNER_LOGS is set."""
    path = tempfile.mkdtemp(prefix="commerce_runner_")
    if not os.environ.get("COMMERCE_KEEP_RUNNER_LOGS"):
        test.addCleanup(shutil.rmtree, path, True)
    return path
