"""Reliability suite (issue #9), with real processes: a job runner ``odoo-bin`` killed with
SIGKILL in the middle of a batch, and the database connections of a running runner lost
(PostgreSQL restarted) in the middle of a sync.

The jobs are ``clarity.order.update`` events about orders Odoo does not have yet: each reads its
order from a Clarity simulator started by the test (``GET /api/v1/orders/<id>``, made slow on
purpose by the simulator, never by the module), then creates the sale order and its binding. A
job that ran twice shows as a second read in the simulator's call record and as a second sale
order or binding.

These tests commit real data (each step on a short-lived cursor of its own, never the test
transaction: the runner is another process) and remove it at the end. They are not run by
Odoo's own test runner (tag ``-standard``): under ``--test-enable`` the database is still being
installed. Run them with pytest-odoo (``make test``; ``make chaos``).
"""

import logging
import os
import subprocess
import threading
import time

from odoo.tests import tagged
from odoo.tests.common import BaseCase, get_db_name

from .runner_process import (
    CLIENT_SECRET,
    CommittedData,
    OdooProcess,
    SlowOrderReadSimulator,
    clarity_orders,
    notify_cron,
    workdir,
)

_logger = logging.getLogger(__name__)

ORDERS = 30
FINISH_TIMEOUT = 120
PARAMS = {
    "job_lease_seconds": 3,  # short, so the test need not wait ten minutes for a lease to expire
    "runner_batch_size": 5,
    "http_max_attempts": 3,
    "http_wait_min": 0.05,
    "http_wait_max": 0.2,
}


@tagged("-standard", "post_install", "-at_install", "commerce_runner_crash")
class TestRunnerCrash(BaseCase):
    """Plain test case (no test transaction, no cursor held): the data is committed for a
    separate ``odoo-bin`` process, and the restart test would break a held connection."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dbname = get_db_name()

    def setUp(self):
        super().setUp()
        self.workdir = workdir(self)
        self.data = CommittedData(self.dbname)
        self.data.purge_leftovers()
        self.addCleanup(self.data.cleanup)
        self.simulator = SlowOrderReadSimulator(client_secret=CLIENT_SECRET, latency=0.4).start()
        self.addCleanup(self.simulator.stop)
        self.simulator.set_rate_limit(1_000_000)
        self.orders = clarity_orders(ORDERS, self.data.token)
        for order in self.orders:
            self.simulator.add_order(order)
        self.data.setup(self.simulator, self.orders, PARAMS)
        self.job_ids = self.data.enqueue_order_updates(self.orders)
        self.assertEqual(len(self.job_ids), ORDERS)

    # -- helpers -----------------------------------------------------------------------------
    def server(self, workers=0):
        server = OdooProcess(self.dbname, self.workdir, f"ccrunner-{self.data.token}", workers=workers)
        self.addCleanup(server.kill)
        return server

    def wait_for_read(self, server, count, timeout=60):
        """Wake the server's cron until the ``count``-th order read has started at Clarity;
        return the ID of the order that read is about (still in flight: reads are slow)."""
        reached = threading.Event()
        self.simulator.on_read_start = lambda started: started >= count and reached.set()
        deadline = time.monotonic() + timeout
        while not reached.wait(0.5):
            self.assertTrue(server.running, f"odoo-bin stopped:\n{server.log_tail()}")
            self.assertLess(time.monotonic(), deadline,
                            f"no {count} order reads after {timeout} s: {self.data.job_states()}\n{server.log_tail()}")
            notify_cron(self.dbname)
        self.simulator.on_read_start = None
        return self.simulator.started_reads[count - 1]

    def wait_until_all_done(self, server, timeout=FINISH_TIMEOUT):
        """Wait until every job is done. A job left started by the fault is requeued by the first
        runner pass after its lease ends: the pass in progress then, or the one the runner
        schedules for that moment (``_wake_when_leases_end``)."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.data.job_states(retry_for=10)
            if states["done"] == ORDERS:
                return
            # Odoo's cron polls once a minute, and a cron worker forked after the database
            # went away sleeps that minute before its first pass: ring it, as its tick would.
            notify_cron(self.dbname)
            self.assertFalse({"failed", "cancelled"} & set(states), f"jobs gave up: {states}")
            self.assertTrue(server.running, f"odoo-bin stopped:\n{server.log_tail()}")
            self.assertLess(time.monotonic(), deadline,
                            f"jobs not finished after {timeout} s: {states}\n{server.log_tail()}")
            time.sleep(0.5)

    def assertEachOrderImportedOnce(self, interrupted_order):
        """Every job done; one binding and one sale order per Clarity order; one read per order,
        two for the order whose job was interrupted; attempts as the engine recorded them."""
        jobs = self.data.jobs()
        self.assertEqual(len(jobs), ORDERS)
        self.assertEqual({state for state, *_rest in jobs.values()}, {"done"}, jobs)
        external_ids = {str(order["ID"]) for order in self.orders}
        self.assertEqual(self.data.sale_orders_per_external_id(), dict.fromkeys(external_ids, (1, 1)),
                         "one binding and one sale order per order")
        custom_keys = [order["CustomKey"] for order in self.orders]
        self.assertEqual(self.data.sale_orders_per_origin(custom_keys), dict.fromkeys(custom_keys, 1),
                         "no unbound duplicate sale order either")
        time.sleep(self.simulator.latency + 0.2)  # the interrupted read ends (and is recorded) late
        reads = self.simulator.reads_per_order()
        expected_reads = dict.fromkeys(external_ids, 1)
        expected_reads[interrupted_order] = 2
        self.assertEqual(dict(reads), expected_reads, "a job finished before the crash never ran again")
        by_order = {external_id: (attempts, history) for _state, attempts, external_id, history in jobs.values()}
        self.assertEqual(by_order[interrupted_order], (2, [(1, "failed"), (2, "done")]),
                         "the interrupted attempt is recorded as failed (lease expired), then done")
        for attempts, history in by_order.values():
            self.assertIn((attempts, history), ((1, [(1, "done")]), (2, [(1, "failed"), (2, "done")])))
        return by_order

    # -- tests -------------------------------------------------------------------------------
    def test_runner_killed_mid_batch_finishes_every_job_once(self):
        """SIGKILL of the ``odoo-bin`` (one cron thread, ``workers=0``: the process that runs the
        job) while a job's order read is in flight; then a new ``odoo-bin``."""
        server = self.server()
        server.start()
        in_flight = self.wait_for_read(server, ORDERS // 3)
        server.kill()
        jobs = self.data.jobs()
        states = {external_id: state for state, _attempts, external_id, _history in jobs.values()}
        self.assertEqual(states[in_flight], "started", "the killed job is left started")
        self.assertGreaterEqual(list(states.values()).count("done"), ORDERS // 3 - 1, "jobs before it are done")
        done_before = {external_id for external_id, state in states.items() if state == "done"}
        left_started = {external_id for external_id, state in states.items() if state == "started"}
        self.assertEqual(self.data.sale_orders_per_external_id().keys(), done_before,
                         "the killed job's work was rolled back with its transaction")

        server.start()
        self.wait_until_all_done(server)
        by_order = self.assertEachOrderImportedOnce(in_flight)
        for external_id in done_before:
            self.assertEqual(by_order[external_id], (1, [(1, "done")]), "done before the kill: never run again")
        for external_id in left_started:
            self.assertEqual(by_order[external_id][0], 2, "claimed by the killed runner: requeued once")

    def test_database_restart_during_sync_jobs_resume(self):
        """The database goes away under a runner in the middle of a job: with
        ``COMMERCE_PG_RESTART`` set (``tools/test.sh`` sets it to restart its throwaway cluster)
        PostgreSQL itself is restarted (``pg_ctl restart -m fast``); without it (the shared dev
        cluster) every connection of the runner is terminated with ``pg_terminate_backend``,
        which is what a restart does to it. The log says which one ran. The server is prefork
        (``workers=2``): its cron worker dies with its connections and the master starts a new one,
        which finishes the sync without any restart of ``odoo-bin``."""
        server = self.server(workers=2)
        master = server.start()
        in_flight = self.wait_for_read(server, ORDERS // 3)
        restart = os.environ.get("COMMERCE_PG_RESTART")
        if restart:
            mode = "PostgreSQL restarted"
            started_at = self.data.query("SELECT pg_postmaster_start_time()")[0][0]
            subprocess.run(restart, shell=True, check=True, timeout=60,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self.assertNotEqual(self.data.query("SELECT pg_postmaster_start_time()", retry_for=30)[0][0],
                                started_at, "COMMERCE_PG_RESTART did not restart PostgreSQL")
        else:
            mode = "runner connections terminated"
            terminated = self.data.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s",
                (f"{server.tag}-%",))
            self.assertTrue(terminated and all(row[0] for row in terminated),
                            "no connection of the runner to terminate: the test cannot cut the database off")
        _logger.info("database restart test: %s while order %s was being read", mode, in_flight)
        states = self.data.job_states(retry_for=30)
        self.assertGreaterEqual(states["started"], 1, f"{mode}: a job was cut off mid-run: {states}")

        self.wait_until_all_done(server)
        self.assertEqual(server.proc.pid, master, f"{mode}: the same odoo-bin finished the sync")
        self.assertEachOrderImportedOnce(in_flight)
        self.assertTrue(self.data.runner_connections(server.tag), f"{mode}: the runner is connected again")
