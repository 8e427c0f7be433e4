import json
import threading
import time
from collections import Counter
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import AccessError, UserError
from odoo.service.model import retrying
from odoo.tests import tagged

from ..core import backoff
from ..core.errors import AuthError, BusinessError, PayloadValidationError, TransientError
from ..core.job_registry import job_handler
from ..models.commerce_job import EnqueueConflict
from .common import CommerceCase, committed_env, run_in_threads

RUNS = Counter()  # job id -> times its handler ran (concurrency tests)
RUNS_LOCK = threading.Lock()


@job_handler("test.echo")
def _echo(job):
    return {"echo": json.loads(job.payload)}


@job_handler("test.count")
def _count(job):
    with RUNS_LOCK:
        RUNS[job.id] += 1
    return None


@job_handler("test.transient")
def _transient(job):
    raise TransientError("Remote answered 503", retry_after=json.loads(job.payload or "{}").get("retry_after"))


@job_handler("test.needs_sku")
def _needs_sku(job):
    data = json.loads(job.payload)
    if "sku" not in data:
        raise PayloadValidationError("Missing field 'sku'")
    return {"sku": data["sku"]}


@job_handler("test.business")
def _business(job):
    raise BusinessError("Unknown SKU WID-404")


@job_handler("test.auth")
def _auth(job):
    if job.backend_id.state_message != "credentials fixed":
        raise AuthError("invalid_client")
    return {"authenticated": True}


@job_handler("test.crash_with_secret")
def _crash_with_secret(job):
    secret = job.backend_id.clarity_client_secret
    raise RuntimeError(f"remote rejected client_secret={secret}")


@job_handler("test.half_write")
def _half_write(job):
    job.env["res.partner"].create({"name": "Half-created partner"})
    raise BusinessError("refused after a write")


@tagged("post_install", "-at_install")
class TestEnqueue(CommerceCase):
    def test_enqueue_same_key_returns_existing_job(self):
        first = self.enqueue("test.echo", {"a": 1}, idempotency_key="order-1")
        again = self.enqueue("test.echo", {"a": 2}, idempotency_key="order-1")
        self.assertEqual(first, again)
        self.assertEqual(self.Job.search_count([("idempotency_key", "=", "order-1")]), 1)
        self.assertEqual(json.loads(first.payload), {"a": 1}, "the first payload is kept")

    def test_same_key_other_type_or_backend_is_another_job(self):
        other_backend = self.backend.copy({"name": "Other store"})
        one = self.enqueue("test.echo", {}, idempotency_key="k")
        two = self.enqueue("test.count", {}, idempotency_key="k")
        three = self.Job.enqueue(other_backend, "test.echo", {}, idempotency_key="k")
        self.assertEqual(len(one | two | three), 3)

    def test_payload_kept_as_received(self):
        raw = '{"b": 1,   "a": [1, 2]}'
        job = self.enqueue("test.echo", raw)
        self.assertEqual(job.payload, raw, "a text payload is stored byte for byte")
        job2 = self.enqueue("test.echo", {"x": "é"})
        self.assertEqual(json.loads(job2.payload), {"x": "é"})

    def test_unique_index_rejects_a_raw_duplicate(self):
        self.enqueue("test.echo", {}, idempotency_key="dup")
        with self.assertRaises(Exception), self.env.cr.savepoint():
            self.env.cr.execute(
                "INSERT INTO commerce_job (backend_id, job_type, idempotency_key, state, priority, attempts,"
                " max_attempts) VALUES (%s, 'test.echo', 'dup', 'pending', 10, 0, 5)", [self.backend.id])


@tagged("post_install", "-at_install")
class TestRunner(CommerceCase):
    def test_success_stores_result_and_history(self):
        job = self.enqueue("test.echo", {"hello": "world"})
        self.assertEqual(self.run_jobs(), 1)
        self.assertEqual(job.state, "done")
        self.assertEqual(json.loads(job.result), {"echo": {"hello": "world"}})
        self.assertEqual(job.attempts, 1)
        self.assertTrue(job.date_done and job.date_started)
        self.assertEqual(job.attempt_ids.mapped("outcome"), ["done"])

    def test_priority_and_eta_order(self):
        later = self.enqueue("test.count", {}, eta=fields.Datetime.now() + timedelta(hours=1))
        low = self.enqueue("test.count", {}, priority=20)
        high = self.enqueue("test.count", {}, priority=1)
        claimed = self.Job._claim_batch(1)
        self.assertEqual(claimed, high)
        self.run_jobs()
        self.assertEqual(low.state, "done")
        self.assertEqual(later.state, "pending", "a job is not run before its eta")

    def test_transient_backoff_schedule_then_failed(self):
        job = self.enqueue("test.transient", {}, max_attempts=3)
        for attempt in (1, 2):
            before = fields.Datetime.now()
            self.run_jobs()
            self.assertEqual(job.state, "pending")
            self.assertEqual(job.attempts, attempt)
            self.assertEqual(job.error_kind, "transient")
            low, high = backoff.delay_bounds(attempt)
            delay = (job.eta - before).total_seconds()
            self.assertGreaterEqual(delay, low - 1)
            self.assertLessEqual(delay, high + 1)
            job.eta = fields.Datetime.now() - timedelta(seconds=1)  # skip the wait
        self.run_jobs()
        self.assertEqual(job.state, "failed")
        self.assertIn("gave up after 3 attempts", job.error_message)
        self.assertEqual(job.attempt_ids.mapped("outcome"), ["failed", "retry", "retry"])

    def test_backoff_grows_and_is_capped(self):
        bounds = [backoff.delay_bounds(n) for n in range(1, 12)]
        highs = [high for _low, high in bounds]
        self.assertEqual(highs, sorted(highs), "delays never shrink")
        self.assertLessEqual(max(highs), backoff.MAX_DELAY_SECONDS)
        self.assertGreater(bounds[3][0], bounds[0][1], "attempt 4 waits longer than attempt 1 could")

    def test_retry_after_is_honoured(self):
        job = self.enqueue("test.transient", {"retry_after": 7200})
        before = fields.Datetime.now()
        self.run_jobs()
        self.assertGreaterEqual((job.eta - before).total_seconds(), 7199,
                                "the remote side's Retry-After wins over a shorter backoff")

    def test_validation_fails_at_once_then_fix_payload_and_retry(self):
        job = self.enqueue("test.needs_sku", {"qty": 1})
        self.run_jobs()
        self.assertEqual((job.state, job.error_kind), ("failed", "validation"))
        self.assertIn("Missing field 'sku'", job.error_message)
        wizard = self.env["commerce.job.edit.payload"].with_user(self.commerce_manager).create(
            {"job_id": job.id, "payload": '{"qty": 1, "sku": "WID-1"}'})
        wizard.action_apply()
        self.assertEqual(job.state, "pending")
        self.assertEqual(job.payload_received, '{"qty": 1}', "the original input is kept")
        self.run_jobs()
        self.assertEqual(job.state, "done")
        self.assertEqual(json.loads(job.result), {"sku": "WID-1"})

    def test_business_error_waits_for_review(self):
        job = self.enqueue("test.business", {})
        self.run_jobs()
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertEqual(job.attempts, 1)

    def test_failed_handler_leaves_nothing_half_created(self):
        job = self.enqueue("test.half_write", {})
        self.run_jobs()
        self.assertEqual(job.state, "failed")
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Half-created partner")]))

    def test_auth_error_suspends_backend_and_jobs_wait(self):
        self.backend.manager_ids = self.commerce_manager
        job = self.enqueue("test.auth", {})
        waiting = self.enqueue("test.count", {}, priority=50)
        self.run_jobs()
        self.assertEqual(self.backend.state, "auth_failed")
        self.assertEqual((job.state, job.error_kind, job.attempts), ("pending", "auth", 0))
        self.assertEqual(waiting.state, "pending", "jobs of a suspended backend wait")
        activity = self.backend.activity_ids
        self.assertEqual(activity.user_id, self.commerce_manager)
        self.assertIn("invalid_client", activity.note)
        self.backend.state = "connected"
        self.backend._set_auth_failed("rejected again")
        self.assertEqual(len(self.backend.activity_ids), 1, "no pile of identical activities")
        self.assertIn("rejected again", self.backend.activity_ids.note)
        self.backend._set_connected("credentials fixed")
        self.run_jobs()
        self.assertEqual((job.state, waiting.state), ("done", "done"))

    def test_unknown_job_type(self):
        job = self.enqueue("nobody.handles.this", {})
        self.run_jobs()
        self.assertEqual((job.state, job.error_kind), ("failed", "validation"))
        self.assertIn("nobody.handles.this", job.error_message)

    def test_corrupt_payload_json(self):
        job = self.enqueue("test.echo", '{"truncated": ')
        self.run_jobs()
        self.assertEqual((job.state, job.error_kind), ("failed", "validation"))
        self.assertIn("not valid JSON", job.error_message)
        self.assertEqual(job.payload, '{"truncated": ', "the corrupt input is kept")
        self.assertIn("JSONDecodeError", job.error_detail)

    def test_any_exception_is_kept_and_secrets_scrubbed(self):
        job = self.enqueue("test.crash_with_secret", {})
        self.run_jobs()
        self.assertEqual(job.state, "failed")
        self.assertIn("RuntimeError", job.error_message)
        for text in (job.error_message, job.error_detail, job.attempt_ids.error_message):
            self.assertNotIn("s3cr3t-client-secret", text)
        self.assertIn("********", job.error_message)

    def test_runner_survives_a_mix_of_failures(self):
        jobs = [self.enqueue(t, {}) for t in ("test.business", "nobody.here", "test.crash_with_secret")]
        ok = self.enqueue("test.echo", {"fine": True})
        self.assertEqual(self.run_jobs(), 4)
        self.assertEqual([j.state for j in jobs], ["failed"] * 3)
        self.assertEqual(ok.state, "done")

    def test_lease_recovery(self):
        job = self.enqueue("test.count", {})
        self.Job._claim_batch(10)
        self.assertEqual(job.state, "started")
        job.lease_until = fields.Datetime.now() - timedelta(seconds=1)  # its worker died
        self.run_jobs()
        self.assertEqual(job.state, "done")
        self.assertEqual(job.attempts, 2)
        self.assertIn("lease expired", job.attempt_ids.filtered(lambda a: a.outcome == "failed").error_message)

    def test_a_job_left_started_wakes_the_runner_when_its_lease_ends(self):
        job = self.enqueue("test.count", {})
        self.Job._claim_batch(10)  # another worker holds it...
        lease_end = fields.Datetime.now() + timedelta(seconds=30)
        job.lease_until = lease_end  # ...and dies before it ends
        cron = self.env.ref("commerce_connector.ir_cron_job_runner")
        Trigger = self.env["ir.cron.trigger"]
        self.env.flush_all()
        triggers_before = Trigger.search([("cron_id", "=", cron.id)])
        self.run_jobs()
        self.run_jobs()
        wake_ups = Trigger.search([("cron_id", "=", cron.id)]) - triggers_before
        self.assertEqual(wake_ups.mapped("call_at"), [lease_end + timedelta(seconds=1)],
                         "one wake-up, just after the lease ends, however many passes saw the job")
        self.assertEqual(job.state, "started", "not requeued before its lease ends")

    def test_lease_recovery_gives_up_after_max_attempts(self):
        job = self.enqueue("test.count", {}, max_attempts=1)
        self.Job._claim_batch(10)
        job.lease_until = fields.Datetime.now() - timedelta(seconds=1)
        self.Job._recover_expired_leases()
        self.assertEqual(job.state, "failed")

    def test_time_budget_stops_the_runner(self):
        for _ in range(3):
            self.enqueue("test.count", {})
        self.assertEqual(self.Job._run_jobs(time_budget=0), 0)
        self.assertEqual(self.Job.search_count([("state", "=", "pending"), ("backend_id", "=", self.backend.id)]), 3)

    def test_cron_runs_jobs(self):
        job = self.enqueue("test.echo", {"via": "cron"})
        self.env.ref("commerce_connector.ir_cron_job_runner").method_direct_trigger()
        self.assertEqual(job.state, "done")

    def test_vacuum_removes_old_done_jobs_only(self):
        old = self.enqueue("test.echo", {})
        recent = self.enqueue("test.echo", {})
        failed = self.enqueue("test.business", {})
        self.run_jobs()
        old.date_done = fields.Datetime.now() - timedelta(days=31)
        failed.date_done = fields.Datetime.now() - timedelta(days=31)
        removed = self.Job._cron_vacuum_done_jobs(batch_size=1)
        self.assertEqual(removed, 1)
        self.assertFalse(old.exists())
        self.assertTrue(recent.exists() and failed.exists())


@tagged("post_install", "-at_install")
class TestJobActions(CommerceCase):
    def _failed_jobs(self, count=2):
        jobs = self.Job.browse([self.enqueue("test.business", {}).id for _ in range(count)])
        self.run_jobs()
        self.assertEqual(set(jobs.mapped("state")), {"failed"})
        return jobs

    def test_user_retries_and_cancels_many(self):
        jobs = self._failed_jobs(3).with_user(self.commerce_user)
        jobs.action_retry()
        self.assertEqual(set(jobs.mapped("state")), {"pending"})
        self.assertEqual(set(jobs.mapped("attempts")), {0})
        jobs.action_cancel()
        self.assertEqual(set(jobs.mapped("state")), {"cancelled"})

    def test_list_server_actions(self):
        jobs = self._failed_jobs(2)
        action = self.env.ref("commerce_connector.action_server_commerce_job_retry")
        action.with_context(active_model="commerce.job", active_ids=jobs.ids).run()
        self.assertEqual(set(jobs.mapped("state")), {"pending"})
        self.env.ref("commerce_connector.action_server_commerce_job_cancel").with_context(
            active_model="commerce.job", active_ids=jobs.ids).run()
        self.assertEqual(set(jobs.mapped("state")), {"cancelled"})
        self.env.ref("commerce_connector.action_server_commerce_job_set_done").with_context(
            active_model="commerce.job", active_ids=jobs.ids).run()
        self.assertEqual(set(jobs.mapped("state")), {"done"})

    def test_set_done_is_for_managers(self):
        jobs = self._failed_jobs(2)
        with self.assertRaises(AccessError):
            jobs.with_user(self.commerce_user).action_set_done()
        jobs.with_user(self.commerce_manager).action_set_done()
        self.assertEqual(set(jobs.mapped("state")), {"done"})
        self.assertIn("commerce_manager", jobs[0].result)

    def test_payload_edit_rules(self):
        job = self._failed_jobs(1)
        with self.assertRaises(AccessError):
            job.with_user(self.commerce_user).write({"payload": "{}"})
        pending = self.enqueue("test.echo", {"x": 1}, eta=fields.Datetime.now() + timedelta(days=1))
        with self.assertRaises(UserError):
            pending.with_user(self.commerce_manager).write({"payload": "{}"})
        job.with_user(self.commerce_manager).write({"payload": {"fixed": True}})
        self.assertEqual(json.loads(job.payload), {"fixed": True})

    def test_running_job_cannot_be_cancelled(self):
        job = self.enqueue("test.count", {})
        self.Job._claim_batch(5)
        with self.assertRaises(UserError):
            job.action_cancel()


@tagged("post_install", "-at_install")
class TestConcurrency(CommerceCase):
    """Two real transactions at once: data is committed, then removed at the end."""

    def setUp(self):
        super().setUp()
        with committed_env(self.registry) as env:
            self.shared_backend_id = env["commerce.backend"].create(
                {"name": f"Concurrency {self.id()}", "channel": "clarity"}).id
        self.addCleanup(self._remove_shared_data)

    def _remove_shared_data(self):
        with committed_env(self.registry) as env:
            env.cr.execute("DELETE FROM commerce_job WHERE backend_id = %s", [self.shared_backend_id])
            env["commerce.backend"].browse(self.shared_backend_id).unlink()

    def test_two_runners_never_run_the_same_job(self):
        with committed_env(self.registry) as env:
            backend = env["commerce.backend"].browse(self.shared_backend_id)
            job_ids = [env["commerce.job"].enqueue(backend, "test.count", {}).id for _ in range(60)]
        RUNS.clear()

        def runner():
            with committed_env(self.registry) as env:
                env["commerce.job"]._run_jobs(time_budget=60, batch_size=5, auto_commit=True)

        run_in_threads(runner, runner)
        self.assertEqual(sorted(RUNS), sorted(job_ids), "every job ran")
        self.assertEqual(set(RUNS.values()), {1}, "no job ran twice")
        with committed_env(self.registry) as env:
            states = set(env["commerce.job"].browse(job_ids).mapped("state"))
        self.assertEqual(states, {"done"})

    def test_skip_locked_claims_disjoint_batches(self):
        with committed_env(self.registry) as env:
            backend = env["commerce.backend"].browse(self.shared_backend_id)
            for _ in range(6):
                env["commerce.job"].enqueue(backend, "test.count", {})
        with self.registry.cursor() as cr1, self.registry.cursor() as cr2:
            env1 = api.Environment(cr1, SUPERUSER_ID, {})
            env2 = api.Environment(cr2, SUPERUSER_ID, {})
            first = env1["commerce.job"]._claim_batch(4)   # locked until cr1 ends
            second = env2["commerce.job"]._claim_batch(4)  # does not wait, takes the rest
            mine = first.filtered(lambda j: j.backend_id.id == self.shared_backend_id)
            theirs = second.filtered(lambda j: j.backend_id.id == self.shared_backend_id)
            self.assertFalse(set(mine.ids) & set(theirs.ids))
            self.assertEqual(len(mine) + len(theirs), 6)
            cr1.rollback()
            cr2.rollback()

    def test_concurrent_enqueue_of_one_key_makes_one_job(self):
        key = f"concurrent-{time.time()}"
        outcome = {}
        with committed_env(self.registry) as env_a:
            backend_a = env_a["commerce.backend"].browse(self.shared_backend_id)
            job_a = env_a["commerce.job"].enqueue(backend_a, "test.echo", {"from": "a"}, idempotency_key=key)

            def second_transaction():
                with committed_env(self.registry) as env_b:
                    backend_b = env_b["commerce.backend"].browse(self.shared_backend_id)
                    env_b["commerce.job"].search_count([])  # take a snapshot before A commits
                    try:
                        env_b["commerce.job"].enqueue(backend_b, "test.echo", {"from": "b"}, idempotency_key=key)
                    except EnqueueConflict:
                        outcome["conflict"] = True
                    env_b.cr.rollback()
                    # What Odoo's request and cron loops do with the conflict: run again.
                    job = retrying(lambda: env_b["commerce.job"].enqueue(
                        backend_b, "test.echo", {"from": "b"}, idempotency_key=key), env_b)
                    outcome["job_b"] = job.id

            thread = threading.Thread(target=second_transaction)
            thread.start()
            time.sleep(1.0)  # B is now blocked on the unique index, waiting for A
            env_a.cr.commit()
        thread.join(60)
        self.assertTrue(outcome.get("conflict"), "B saw the conflict instead of a second row")
        self.assertEqual(outcome.get("job_b"), job_a.id)
        with committed_env(self.registry) as env:
            count = env["commerce.job"].search_count([("idempotency_key", "=", key)])
        self.assertEqual(count, 1)
