"""The bad-input corpus (issue #9): every case of ``data/bad_input/cases.json`` is delivered the way
it would arrive (a signed Clarity webhook over HTTP, an Amazon order import job, a settlement
report download) and must end as the manifest says: never an HTTP 500, never a traceback in the
log, a signed payload always kept as a job with a clear error, nothing half-created."""

import gzip
import json
import logging
import os
import time

from odoo.tests import tagged

from ..channels.clarity.webhook import compute_signature
from ..simulators.spapi_common import SpApiFaultConfig
from .test_amazon_orders import AmazonCase
from .test_clarity_orders import WEBHOOK_SECRET, ClarityCase

CORPUS = os.path.join(os.path.dirname(__file__), "data", "bad_input")
WATCHED_MODELS = ("sale.order", "res.partner", "commerce.binding", "commerce.amazon.offer",
                  "commerce.amazon.settlement", "commerce.amazon.settlement.line", "account.move")


def corpus_cases(*deliveries):
    with open(os.path.join(CORPUS, "cases.json"), encoding="utf-8") as handle:
        cases = json.load(handle)["cases"]
    return [case for case in cases if case["delivery"] in deliveries]


def case_body(case):
    if not case.get("body"):
        return b""
    with open(os.path.join(CORPUS, case["body"]), "rb") as handle:
        raw = handle.read()
    return gzip.decompress(raw) if case["body"].endswith(".gz") else raw


class _ErrorLog(logging.Handler):
    """Every log record at ERROR or above, or carrying a traceback, whoever emits it (the HTTP
    server threads included: handlers are process-wide)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(f"{record.levelname} {record.name}: {record.getMessage()[:300]}")


class CorpusMixin:

    def watch_error_log(self):
        handler = _ErrorLog()
        logger = logging.getLogger()
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        return handler

    def counts(self):
        env = self.env(context=dict(self.env.context, active_test=False))
        return {model: env[model].search_count([]) for model in WATCHED_MODELS if model in env}

    def assertJobOutcome(self, case, job, sent):
        expect = case["expect"]
        self.assertTrue(job, "the payload is kept as a job")
        self.assertEqual(job.payload, sent.decode("utf-8", errors="backslashreplace"),
                         "the job keeps the payload as received")
        self.assertEqual(job.state, expect["job_state"], job.error_message)
        if "error_kind" in expect:
            self.assertEqual(job.error_kind, expect["error_kind"], job.error_message)
            self.assertIn(expect["message"], job.error_message or "")
            self.assertNotIn("Unexpected error", job.error_message, "a clear error, not an internal one")
            self.assertNotIn("could not be processed", job.error_message, "a clear error, not an internal one")

    def assertNothingCreated(self, before):
        self.assertEqual(self.counts(), before, "nothing is created, not even half")

    def assertCreated(self, case, job):
        sale_order = self.env["sale.order"].browse(job.res_id)
        self.assertEqual((job.res_model, len(sale_order)), ("sale.order", 1))
        binding = self.env["commerce.binding"].search([("backend_id", "=", self.backend.id),
                                                       ("res_model", "=", "sale.order"), ("res_id", "=", sale_order.id)])
        self.assertEqual(len(binding), 1, "one binding")
        created = case.get("created", {})
        if "partner_name" in created:
            self.assertEqual(sale_order.partner_id.name, created["partner_name"], "kept verbatim")
        if "line_name" in created:
            self.assertIn(created["line_name"], sale_order.order_line.mapped("name"), "kept verbatim")
        if "shipping_city" in created:
            self.assertEqual(sale_order.partner_shipping_id.city, created["shipping_city"])
        if "client_order_ref" in created:
            self.assertEqual(sale_order.client_order_ref, created["client_order_ref"])


@tagged("post_install", "-at_install")
class TestClarityBadInput(CorpusMixin, ClarityCase):

    def deliver(self, case, raw):
        """POST one case the way its ``delivery`` says; returns the responses."""
        delivery = case["delivery"]
        timestamp = int(time.time())
        timestamp += {"stale_timestamp": -600, "future_timestamp": 600, "replayed_capture": -301}.get(delivery, 0)
        secret = "not-" + WEBHOOK_SECRET if delivery == "forged_signature" else WEBHOOK_SECRET
        stamp = "soon" if delivery == "malformed_timestamp" else str(timestamp)
        signature = compute_signature(secret, stamp, raw)
        headers = {"Content-Type": "application/json", "X-Clarity-Event-Id": f"corpus-{case['id']}",
                   "X-Clarity-Event": case["event"], "X-Clarity-Timestamp": stamp,
                   "X-Clarity-Signature": ("v0=" if delivery == "wrong_signature_version" else "v1=") + signature}
        if delivery == "unsigned":
            del headers["X-Clarity-Signature"]
        body = raw + b" " if delivery == "tampered_body" else raw
        copies = 2 if delivery == "replayed_event" else 1
        # opener.post, not url_open: url_open sends a GET when the body is empty
        return [self.opener.post(self.webhook_url(), data=body, headers=headers, timeout=60) for _copy in range(copies)]

    def test_corpus_over_http(self):
        cases = corpus_cases("signed_webhook", "forged_signature", "stale_timestamp", "future_timestamp", "unsigned",
                             "malformed_timestamp", "wrong_signature_version", "tampered_body", "replayed_capture",
                             "replayed_event", "revoked_secret")
        self.assertGreaterEqual(len(cases), 50)
        error_log = self.watch_error_log()
        for case in cases:
            with self.subTest(case=case["id"]):
                error_log.records.clear()
                raw, before = case_body(case), self.counts()
                if case["delivery"] == "revoked_secret":
                    self.backend.clarity_client_secret = "revoked-secret"
                responses = self.deliver(case, raw)
                self.run_jobs()
                expect = case["expect"]
                self.assertEqual([r.status_code for r in responses], [expect["http_status"]] * len(responses),
                                 responses[-1].text[:300])
                jobs = self.Job.search([("backend_id", "=", self.backend.id),
                                        ("idempotency_key", "=", f"corpus-{case['id']}")])
                if expect.get("job") is False:
                    self.assertFalse(jobs, "a refused request stores nothing")
                    self.assertNothingCreated(before)
                else:
                    self.assertEqual(len(jobs), 1, "one job per event id, however often it comes")
                    if expect.get("duplicate"):
                        self.assertEqual(responses[-1].json()["status"], "duplicate")
                    self.assertJobOutcome(case, jobs, raw)
                    if expect["job_state"] == "done":
                        self.assertCreated(case, jobs)
                    else:
                        self.assertNothingCreated(before)
                self.assertEqual(error_log.records, [], "no error and no traceback in the log")
                if case["delivery"] == "revoked_secret":
                    self.assertEqual(self.backend.state, "auth_failed")
                    jobs.action_cancel()  # the job would import the order once the secret is fixed
                    self.backend.write({"clarity_client_secret": "clarity-secret", "state": "connected"})


@tagged("post_install", "-at_install")
class TestAmazonBadInput(CorpusMixin, AmazonCase):

    def test_order_import_jobs(self):
        cases = corpus_cases("amazon_order_job")
        error_log = self.watch_error_log()
        for case in cases:
            with self.subTest(case=case["id"]):
                error_log.records.clear()
                raw, before = case_body(case), self.counts()
                job = self.Job.enqueue(self.backend, "amazon.order.import", payload=raw.decode("utf-8"),
                                       idempotency_key=case["id"])
                self.run_jobs()
                self.assertJobOutcome(case, job, raw)
                if case["expect"]["job_state"] == "done":
                    self.assertCreated(case, job)
                else:
                    self.assertNothingCreated(before)
                self.assertEqual(error_log.records, [], "no error and no traceback in the log")

    def test_settlement_reports(self):
        # All reports are listed by one poll: getReports allows a burst of 10 calls only.
        cases = corpus_cases("settlement_report")
        error_log = self.watch_error_log()
        before = self.counts()
        reports = {case["id"]: self.sim.add_settlement_report(case_body(case)) for case in cases}
        self.env["commerce.backend"]._cron_amazon_settlements()
        self.run_jobs()
        for case in cases:
            with self.subTest(case=case["id"]):
                job = self.Job._find_by_key(self.backend, "amazon.settlement.import", f"report:{reports[case['id']]}")
                expect = case["expect"]
                self.assertEqual((job.state, job.error_kind), (expect["job_state"], expect["error_kind"]),
                                 job.error_message)
                self.assertIn(expect["message"], job.error_message)
                self.assertNotIn("Unexpected error", job.error_message)
        self.assertNothingCreated(before)
        self.assertEqual(error_log.records, [], "no error and no traceback in the log")

    def test_expired_and_revoked_tokens(self):
        [expired] = corpus_cases("amazon_poll_expired_token")
        [revoked] = corpus_cases("amazon_poll_revoked_grant")
        error_log = self.watch_error_log()
        self.sim.generate_orders(2)
        self.poll()
        self.sim.expire_all_access_tokens()
        self.sim.generate_orders(2)
        self.make_ready()
        self.poll()
        poll = self.jobs("amazon.orders.poll")[-1]
        self.assertEqual(poll.state, expired["expect"]["job_state"], poll.error_message)
        self.assertEqual(len(self.sim.recorder.calls(operation="lwaToken")), 2, "one new token")
        self.assertAllJobsDone()

        self.sim.faults = SpApiFaultConfig(rate_expired_token=1.0)
        orders_before = self.counts()
        self.poll()
        poll = self.jobs("amazon.orders.poll")[-1]
        expect = revoked["expect"]
        self.assertEqual((poll.state, poll.error_kind), (expect["job_state"], expect["error_kind"]))
        self.assertIn(expect["message"], poll.error_message)
        self.assertEqual(self.backend.state, "auth_failed")
        self.assertNothingCreated(orders_before)
        self.assertEqual(error_log.records, [], "no error and no traceback in the log")
