"""Alerts: each trigger raises one activity per manager, and one digest mail per backend per period."""

from datetime import timedelta

from odoo import Command, fields
from odoo.tests import tagged

from .common import CommerceCase


@tagged("post_install", "-at_install")
class TestAlerts(CommerceCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager_a = cls.env["res.users"].create({
            "name": "Manager A", "login": "alert_manager_a", "email": "a@example.com",
            "groups_id": [Command.set([cls.env.ref("commerce_connector.group_commerce_manager").id])]})
        cls.manager_b = cls.env["res.users"].create({
            "name": "Manager B", "login": "alert_manager_b", "email": "b@example.com",
            "groups_id": [Command.set([cls.env.ref("commerce_connector.group_commerce_manager").id])]})
        cls.backend.write({"manager_ids": [Command.set((cls.manager_a | cls.manager_b).ids)],
                           "alert_failed_threshold": 3, "alert_stale_hours": 6, "alert_digest_hours": 24})
        cls.quiet = cls.env["commerce.backend"].create({
            "name": "Quiet store", "channel": "clarity", "manager_ids": [Command.set(cls.manager_a.ids)]})
        cls.partner = cls.env["res.partner"].create({"name": "Alert customer"})
        cls.now = fields.Datetime.now()

    def fail_jobs(self, count, backend=None, kind="validation"):
        jobs = self.Job.create([{"backend_id": (backend or self.backend).id, "job_type": "test.alert",
                                 "payload": f"job {i}"} for i in range(count)])
        jobs.write({"state": "failed", "error_kind": kind, "error_message": "broken"})
        return jobs

    def activities(self, summary, backend=None):
        return self.env["mail.activity"].search([
            ("res_model", "=", "commerce.backend"), ("res_id", "=", (backend or self.backend).id),
            ("summary", "=", summary)], order="id")

    def digests(self, backend=None):
        # the activities' own "assigned to you" mails are not digests
        return self.env["mail.mail"].search([("model", "=", "commerce.backend"),
                                             ("res_id", "=", (backend or self.backend).id),
                                             ("subject", "=like", "[Commerce]%")])

    def alert(self, now=None):
        self.backend.invalidate_recordset()
        return self.backend._commerce_alert(now or self.now)

    def test_cron(self):
        cron = self.env.ref("commerce_connector.ir_cron_commerce_alerts")
        self.assertEqual((cron.model_id.model, cron.code.strip(), cron.interval_type),
                         ("commerce.backend", "model._cron_commerce_alerts()", "hours"))
        vacuum = self.env.ref("commerce_connector.ir_cron_call_log_vacuum")
        self.assertEqual(vacuum.code.strip(), "model._cron_vacuum()")

    def test_nothing_wrong_nothing_sent(self):
        self.fail_jobs(3)  # at the threshold, not above it
        self.assertFalse(self.alert())
        self.assertFalse(self.env["mail.activity"].search([("res_model", "=", "commerce.backend"),
                                                           ("res_id", "=", self.backend.id)]))
        self.assertFalse(self.env["commerce.backend"]._cron_commerce_alerts().filtered(
            lambda m: m.res_id in (self.backend | self.quiet).ids))

    def test_failed_jobs_above_threshold_alert_once_per_manager_in_one_digest(self):
        self.fail_jobs(25)
        mail = self.alert()
        activities = self.activities("Failed jobs above threshold")
        self.assertEqual(activities.user_id, self.manager_a | self.manager_b, "one activity per manager")
        self.assertIn("25 jobs", activities[0].note)
        self.assertEqual(len(mail), 1, "one digest for 25 failed jobs, not 25 mails")
        self.assertEqual(mail.recipient_ids, (self.manager_a | self.manager_b).partner_id)
        self.assertIn("25 jobs", mail.body_html)
        self.assertIn("Test store", mail.subject)
        self.assertEqual(self.backend.alert_last_digest, self.now)

        # an hour later: still wrong; the activities are updated, no second mail inside the period
        self.fail_jobs(5)
        self.assertFalse(self.alert(self.now + timedelta(hours=1)))
        activities = self.activities("Failed jobs above threshold")
        self.assertEqual(len(activities), 2)
        self.assertIn("30 jobs", activities[0].note)
        self.assertEqual(len(self.digests()), 1)
        # a period later: the next digest
        self.assertEqual(len(self.alert(self.now + timedelta(hours=25))), 1)
        self.assertEqual(len(self.digests()), 2)

    def test_auth_failed_backend(self):
        self.backend._set_auth_failed("invalid_client")
        self.assertEqual(len(self.activities("Credentials rejected")), 2)
        mail = self.alert()
        self.assertEqual(len(self.activities("Credentials rejected")), 2, "the existing activities are reused")
        self.assertIn("Credentials rejected", mail.body_html)
        self.assertIn("invalid_client", mail.body_html)

    def test_flow_not_synced_for_too_long(self):
        Watermark = self.env["commerce.watermark"]
        Watermark.create([
            {"backend_id": self.backend.id, "flow": "clarity.orders", "value": self.now - timedelta(hours=1),
             "date_last_success": self.now - timedelta(minutes=20)},
            {"backend_id": self.backend.id, "flow": "clarity.products", "value": self.now - timedelta(hours=9),
             "date_last_success": self.now - timedelta(hours=7)},
        ])
        mail = self.alert()
        [note] = set(self.activities("Sync stalled").mapped("note"))
        self.assertIn("clarity.products", note)
        self.assertNotIn("clarity.orders", note)
        self.assertIn("clarity.products", mail.body_html)
        self.backend.alert_stale_hours = 8
        self.activities("Sync stalled").unlink()
        self.alert(self.now + timedelta(minutes=1))
        self.assertFalse(self.activities("Sync stalled"), "7 h is within 8 h")

    def test_every_problem_of_a_backend_in_one_digest_and_one_digest_per_backend(self):
        self.fail_jobs(4)
        self.fail_jobs(12, backend=self.quiet)  # the quiet store's default threshold is 10
        self.env["commerce.watermark"].create({
            "backend_id": self.backend.id, "flow": "clarity.customers", "value": self.now - timedelta(days=2),
            "date_last_success": self.now - timedelta(days=2)})
        self.backend._set_auth_failed("expired refresh token")
        order = self.env["sale.order"].create({
            "partner_id": self.partner.id, "commerce_anomaly": True,
            "commerce_anomaly_reason": "total 1,240.00 is 14× the median of the last 500 orders",
            "commerce_anomaly_date": self.now - timedelta(minutes=5), "commerce_anomaly_backend_id": self.backend.id})
        mails = self.env["commerce.backend"]._cron_commerce_alerts()
        mine = mails.filtered(lambda m: m.res_id == self.backend.id)
        self.assertEqual(len(mine), 1)
        for text in ("Credentials rejected", "Failed jobs above threshold", "Sync stalled", "clarity.customers",
                     order.name, "14× the median"):
            self.assertIn(text, mine.body_html)
        quiet = mails.filtered(lambda m: m.res_id == self.quiet.id)
        self.assertEqual(len(quiet), 1)
        self.assertEqual(quiet.recipient_ids, self.manager_a.partner_id)
        self.assertIn("12 jobs", quiet.body_html)
        # an order flagged before the last digest is not listed again
        self.backend.write({"state": "connected"})
        self.Job.search([("backend_id", "=", self.backend.id)]).write({"state": "cancelled"})
        self.backend.alert_stale_hours = 0
        self.assertFalse(self.alert(self.now + timedelta(hours=25)))

    def test_error_rate_anomaly_is_alerted(self):
        """24 hours with 1 failure in 20 attempts, then an hour with 15 of 20: unusual activity."""
        job = self.Job.create({"backend_id": self.backend.id, "job_type": "test.alert"})
        hour = self.now.replace(minute=0, second=0, microsecond=0)
        attempts = []
        for back in range(1, 26):
            started = hour - timedelta(hours=back) + timedelta(minutes=10)
            failures = 15 if back == 1 else 1
            attempts += [{"job_id": job.id, "number": 1, "date_started": started, "duration": 0.1,
                          "outcome": "failed" if n < failures else "done"} for n in range(20)]
        self.env["commerce.job.attempt"].create(attempts)
        self.alert()
        [note] = set(self.activities("Unusual activity").mapped("note"))
        self.assertIn("job error rate 75% (15 of 20) is 15× the median of 5.0%", note)
        self.assertIn("job error rate 75%", self.digests().body_html)
        self.assertFalse(self.backend.alert_pending_notes, "reported in the digest")
        # the same hour is not checked twice
        self.alert(self.now + timedelta(minutes=1))
        self.assertFalse(self.backend.alert_pending_notes)

    def test_order_volume_drop_is_alerted(self):
        """10 orders in this hour of the week for four weeks, then none: a drop."""
        hour = self.now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        partner = self.partner
        orders = self.env["sale.order"].create([
            {"partner_id": partner.id, "date_order": hour - timedelta(weeks=weeks) + timedelta(minutes=5 * n)}
            for weeks in range(1, 5) for n in range(10)])
        for index, order in enumerate(orders):
            self.env["commerce.binding"].bind(self.backend, order, f"V{index}")
        self.alert()
        [note] = set(self.activities("Unusual activity").mapped("note"))
        self.assertIn(f"volume drop: 0 orders in the hour from {hour:%a %H}:00 is 0.00× the median of 10.0 for "
                      f"that hour of the week over the last 4 weeks", note)
