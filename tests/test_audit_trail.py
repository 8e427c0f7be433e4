"""Audit trail: every outbound call of both channels is a commerce.call.log row, secrets never are."""

import uuid
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from ..channels.amazon import const as amazon_const
from ..simulators.spapi_common import Fault
from .test_amazon_orders import AmazonCase
from .test_clarity_orders import ClarityCase

AUDIT_FIELDS = ("operation", "method", "status", "request_id", "channel")


def row_texts(logs):
    """Everything a call log row shows, as text, to search for secrets."""
    return [" ".join(str(value) for value in row.values())
            for row in logs.read([name for name in logs._fields if name not in ("display_name",)])]


def assert_no_secret(test, logs, secrets):
    test.assertTrue(logs)
    texts = row_texts(logs)
    for secret in secrets:
        test.assertTrue(secret and len(secret) >= 4, "a known secret to look for")
        test.assertFalse([text for text in texts if secret in text], f"secret {secret[:4]}... in a call log")


@tagged("post_install", "-at_install")
class TestClarityAuditTrail(ClarityCase):

    def logs(self):
        return self.env["commerce.call.log"].search([("backend_id", "=", self.backend.id)], order="id")

    def test_poll_job_calls_are_logged_with_their_metadata_and_no_secret(self):
        job = self.Job.enqueue(self.backend, "clarity.poll", payload={"flows": ["clarity.products"]})
        self.run_jobs()
        self.assertEqual(job.state, "done", job.error_message)
        logs = self.logs()
        served = self.simulator.recorder.calls()
        self.assertEqual(len(logs), len(served), "one row per HTTP exchange the simulator served")
        self.assertEqual(logs.mapped("operation"), [c.operation for c in served])
        self.assertEqual(logs.mapped("status"), [str(c.status) for c in served])
        self.assertEqual(logs.mapped("method"), [c.method for c in served])
        self.assertEqual(logs.job_id, job)
        self.assertEqual(set(logs.mapped("channel")), {"clarity"})
        self.assertEqual(logs.mapped("response_size"), [len(c.response_body) for c in served])
        self.assertEqual(logs.mapped("request_size"), [len(c.body) for c in served])
        token_call = logs.filtered(lambda log: log.operation == "oauth_token")
        self.assertEqual(len(token_call), 1)
        self.assertGreater(token_call.request_size, 0, "the token request has a form body")
        self.assertTrue(all(log.duration_ms > 0 for log in logs))
        self.assertFalse(logs.filtered("is_error"))
        issued = [c.headers["authorization"].split()[1] for c in served if "authorization" in c.headers]
        self.assertTrue(issued, "the bearer token the simulator issued")
        assert_no_secret(self, logs, ["clarity-secret", self.backend.clarity_webhook_secret, *issued])

    def test_calls_of_a_failing_job_survive_the_rollback_of_its_savepoint(self):
        self.simulator.fail_next("500", times=1, operation="list_products")
        job = self.Job.enqueue(self.backend, "clarity.poll", payload={"flows": ["clarity.products"]})
        self.run_jobs()
        self.assertEqual((job.state, job.error_kind), ("pending", "transient"), "a 500 is retried later")
        logs = self.logs()
        self.assertEqual(logs.mapped("operation"), ["oauth_token", "list_products"])
        self.assertEqual(logs.mapped("status"), ["200", "500"])
        self.assertEqual(logs.job_id, job)
        self.assertEqual(logs.mapped("is_error"), [False, True])

    def test_in_call_retries_are_one_row_each(self):
        self.simulator.fail_next("503", times=2, operation="list_products")
        job = self.Job.enqueue(self.backend, "clarity.poll", payload={"flows": ["clarity.products"]})
        self.run_jobs()
        self.assertEqual(job.state, "done", job.error_message)
        self.assertEqual(self.logs().filtered(lambda log: log.operation == "list_products").mapped("status"),
                         ["503", "503", "200"])

    def test_test_connection_outside_a_job_is_logged_in_the_transaction(self):
        self.backend.action_test_connection()
        logs = self.logs()
        self.assertTrue(logs)
        self.assertFalse(logs.job_id)
        self.assertIn("oauth_token", logs.mapped("operation"))

    def test_old_rows_are_vacuumed_after_the_retention(self):
        self.backend.action_test_connection()
        recent = self.logs()
        old = recent[0].copy({"date": fields.Datetime.now() - timedelta(days=15)})
        self.env["ir.config_parameter"].set_param("commerce_connector.call_log_retention_days", 14)
        removed = self.env["commerce.call.log"]._cron_vacuum(auto_commit=False)
        self.assertEqual(removed, 1)
        self.assertFalse(old.exists())
        self.assertEqual(self.logs(), recent)

    def test_configuration_changes_are_tracked_and_secrets_are_not(self):
        backend = self.backend.with_context(tracking_disable=False, mail_notrack=False)
        self.env.cr.precommit.run()  # the backend was created in this transaction: creations are not tracked
        backend.write({"clarity_import_statuses": "Confirmed", "clarity_client_secret": "new-clarity-secret"})
        self.env.flush_all()
        self.env.cr.precommit.run()  # tracking values are written when the transaction commits
        tracked = self.env["mail.tracking.value"].search([
            ("mail_message_id.model", "=", "commerce.backend"), ("mail_message_id.res_id", "=", backend.id)])
        self.assertIn("clarity_import_statuses", tracked.field_id.mapped("name"))
        self.assertNotIn("clarity_client_secret", tracked.field_id.mapped("name"))
        texts = " ".join((t.old_value_char or "") + (t.new_value_char or "") for t in tracked)
        self.assertNotIn("new-clarity-secret", texts)


@tagged("post_install", "-at_install")
class TestAmazonAuditTrail(AmazonCase):

    def logs(self):
        return self.env["commerce.call.log"].search([("backend_id", "=", self.backend.id)], order="id")

    def test_poll_and_import_calls_are_logged_with_request_ids_and_rate_limits(self):
        self.backend.amazon_fetch_pii = True
        self.sim.generate_orders(3)
        self.poll()
        self.assertAllJobsDone()
        logs = self.logs()
        served = [c for c in self.sim.recorder.calls() if c.operation != "lwaToken" and not c.path.startswith("/auth")]
        self.assertEqual(len(logs), len(served), "one row per SP-API request (LWA exchanges are inside them)")
        self.assertEqual(logs.mapped("operation"), [c.operation for c in served])
        self.assertEqual(set(logs.mapped("channel")), {"amazon"})
        self.assertEqual(set(logs.mapped("status")), {"2xx"})
        self.assertEqual(set(logs.mapped("operation")), {"searchOrders", "createRestrictedDataToken", "getOrder"})
        self.assertEqual(len(set(logs.mapped("request_id"))), len(logs))
        for log in logs:
            uuid.UUID(log.request_id)  # the simulator's x-amzn-RequestId
            self.assertAlmostEqual(log.rate_limit, amazon_const.RATE_PLANS[log.operation][0], places=4)
        self.assertEqual(logs.mapped("response_size"), [len(c.response_body) for c in served])
        poll_jobs = self.jobs("amazon.orders.poll")
        self.assertEqual(logs.filtered(lambda log: log.operation == "searchOrders").job_id, poll_jobs)
        access_tokens = {c.headers.get("x-amz-access-token") for c in served} - {None}
        self.assertTrue(access_tokens, "the access tokens and restricted data tokens that were sent")
        assert_no_secret(self, logs, [self.sim.client_secret, self.sim.refresh_token, *access_tokens])

    def test_throttled_and_failed_attempts_are_logged(self):
        self.sim.generate_orders(2)
        self.sim.fail_next(Fault.SERVER_ERROR_HTML, "searchOrders")
        self.poll()
        self.assertAllJobsDone()
        searches = self.logs().filtered(lambda log: log.operation == "searchOrders")
        self.assertEqual(searches.mapped("status"), ["no_payload", "2xx"], "an HTML 500 loses its status")
        self.assertEqual(searches.mapped("is_error"), [True, False])

        # searchOrders refills one token in 180 s: a 429 is left to the job engine
        self.sim.fail_next(Fault.THROTTLED, "searchOrders")
        self.poll()
        poll = self.jobs("amazon.orders.poll").filtered(lambda j: j.state == "pending")
        self.assertEqual(poll.error_kind, "transient")
        throttled = self.logs().filtered(lambda log: log.operation == "searchOrders")[2:]
        self.assertEqual(throttled.mapped("status"), ["429"])
        self.assertEqual((throttled.is_throttled, throttled.is_error, throttled.job_id), (True, True, poll))
        self.assertAlmostEqual(throttled.rate_limit, amazon_const.RATE_PLANS["searchOrders"][0], places=4)
