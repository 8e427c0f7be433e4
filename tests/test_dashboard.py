"""Dashboard KPIs against hand-counted fixtures of jobs, watermarks and call logs."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import CommerceCase


@tagged("post_install", "-at_install")
class TestDashboard(CommerceCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = cls.env["commerce.backend"].create({"name": "Other store", "channel": "clarity"})
        cls.now = fields.Datetime.now()

    def job(self, backend, state, created_ago, done_ago=None, kind=False):
        job = self.Job.create({"backend_id": backend.id, "job_type": "test.dashboard"})
        # create_date is set by the ORM: back-date it like a job that waited that long
        self.env.cr.execute("UPDATE commerce_job SET create_date = %s WHERE id = %s",
                            (self.now - created_ago, job.id))
        job.invalidate_recordset(["create_date"])
        job.write({"state": state, "error_kind": kind,
                   "date_done": self.now - done_ago if done_ago is not None else False})
        return job

    def make_fixture(self):
        h, m, s = (lambda n: timedelta(hours=n)), (lambda n: timedelta(minutes=n)), (lambda n: timedelta(seconds=n))
        for ago in (h(5), h(2), m(10)):
            self.job(self.backend, "pending", ago)
        self.job(self.backend, "pending", m(30), kind="auth")
        self.job(self.backend, "started", h(1))
        for kind, count in (("transient", 2), ("validation", 3), ("business", 1)):
            for _i in range(count):
                self.job(self.backend, "failed", h(3), kind=kind)
        for latency in (10, 20, 30, 40):  # done in the last 24 h, 10 to 40 s after creation
            self.job(self.backend, "done", m(60) + s(latency), done_ago=m(60))
        for _i in range(2):  # done 30 h ago: outside the window
            self.job(self.backend, "done", h(31), done_ago=h(30))
        self.job(self.backend, "cancelled", h(1))
        # another backend's jobs count for that backend only
        self.job(self.other, "failed", h(1), kind="business")
        self.job(self.other, "pending", h(20))
        self.job(self.other, "done", m(2), done_ago=m(1))
        Watermark = self.env["commerce.watermark"]
        Watermark.create([
            {"backend_id": self.backend.id, "flow": "clarity.orders", "value": self.now - h(1),
             "date_last_success": self.now - m(30)},
            {"backend_id": self.backend.id, "flow": "clarity.products", "value": self.now - h(10),
             "date_last_success": self.now - h(8)},
            {"backend_id": self.other.id, "flow": "clarity.orders", "value": self.now - h(48),
             "date_last_success": self.now - h(47)},
        ])

    def test_job_kpis_match_the_hand_count(self):
        self.make_fixture()
        backend = self.backend
        backend.invalidate_recordset()
        self.assertEqual(backend.pending_job_count, 5, "4 pending + 1 started")
        self.assertEqual(backend.failed_job_count, 6, "the dead letter: 2 + 3 + 1 failed")
        self.assertEqual((backend.dash_failed_transient_count, backend.dash_failed_validation_count,
                          backend.dash_failed_business_count), (2, 3, 1))
        self.assertEqual(backend.dash_waiting_auth_count, 1)
        self.assertEqual(backend.dash_done_24h, 4)
        self.assertAlmostEqual(backend.dash_latency_24h, 25.0, places=3, msg="(10 + 20 + 30 + 40) / 4")
        self.assertEqual(backend.dash_oldest_pending_date, self.now - timedelta(hours=5))
        self.assertAlmostEqual(backend.dash_oldest_pending_hours, 5.0, delta=0.02)

        other = self.other
        self.assertEqual((other.failed_job_count, other.dash_failed_business_count, other.dash_done_24h),
                         (1, 1, 1))
        self.assertAlmostEqual(other.dash_oldest_pending_hours, 20.0, delta=0.02)

    def test_flow_kpis_and_health(self):
        self.make_fixture()
        backend = self.backend
        backend.alert_stale_hours = 6
        backend.alert_failed_threshold = 10
        self.assertEqual(backend.dash_last_sync, self.now - timedelta(minutes=30))
        self.assertAlmostEqual(backend.dash_watermark_lag_hours, 10.0, delta=0.02, msg="clarity.products")
        self.assertEqual(backend.dash_stale_flow_count, 1, "products last synced 8 h ago, beyond 6 h")
        self.assertIn("clarity.products", backend.dash_flows_html)
        self.assertEqual((backend.dash_status, backend.dash_color), ("warning", 2))

        backend.alert_failed_threshold = 5  # 6 failed jobs
        self.assertEqual((backend.dash_status, backend.dash_color), ("critical", 1))
        backend.alert_failed_threshold = 10
        backend.alert_stale_hours = 9
        self.assertEqual(backend.dash_stale_flow_count, 0)
        self.assertEqual(backend.dash_status, "warning", "still 6 failed jobs")
        self.Job.search([("backend_id", "=", backend.id), ("state", "=", "failed")]).write({"state": "cancelled"})
        backend.invalidate_recordset()
        backend.alert_stale_hours = 0  # no stale alert; the 5 h old pending job is then fine too
        self.assertEqual((backend.dash_status, backend.dash_color), ("ok", 10))
        backend.state = "auth_failed"
        self.assertEqual(backend.dash_status, "critical")

    def test_amazon_rate_limit_headroom(self):
        marketplace = self.env.ref("commerce_connector.amazon_marketplace_atvpdkikx0der")
        amazon = self.env["commerce.backend"].create({
            "name": "Amazon dashboard", "channel": "amazon", "amazon_marketplace_ids": [(6, 0, marketplace.ids)]})
        CallLog = self.env["commerce.call.log"]

        def calls(operation, count, ago, rate=0.0, status="2xx"):
            CallLog.create([{"backend_id": amazon.id, "operation": operation, "status": status, "rate_limit": rate,
                             "duration_ms": 50, "date": self.now - ago} for _i in range(count)])

        calls("searchOrders", 2, timedelta(hours=3), rate=0.0056)  # outside the hour
        calls("searchOrders", 9, timedelta(minutes=40), rate=0.0056)
        calls("searchOrders", 1, timedelta(minutes=5), rate=0.0056, status="429")
        calls("getOrder", 30, timedelta(minutes=20), rate=0.5)
        self.assertEqual(self.backend.dash_rate_headroom, 100.0, "not an Amazon backend")
        # searchOrders: 10 calls in the hour against a burst of 20 + 0.0056 req/s x 3600 s = 40.16
        self.assertAlmostEqual(amazon.dash_rate_headroom, 100 * (1 - 10 / 40.16), places=2)
        self.assertIn("searchOrders", amazon.dash_rate_html)
        self.assertIn(">1<", amazon.dash_rate_html.split("searchOrders")[1], "one throttled call")

        # the last announced rate wins over the default plan: Amazon raised the account's rate
        calls("searchOrders", 1, timedelta(minutes=1), rate=0.0167)
        amazon.invalidate_recordset()
        self.assertAlmostEqual(amazon.dash_rate_headroom, 100 * (1 - 11 / (20 + 0.0167 * 3600)), places=2)
        calls("searchOrders", 80, timedelta(minutes=1), rate=0.0167)
        amazon.invalidate_recordset()
        self.assertEqual(amazon.dash_rate_headroom, 0.0, "91 calls exceed the plan's 20 + 60.12")
        self.assertEqual(amazon.dash_status, "warning")

    def test_dashboard_action_and_menu(self):
        action = self.env.ref("commerce_connector.action_commerce_dashboard")
        self.assertEqual(self.env.ref("commerce_connector.menu_commerce_dashboard").action, action)
        self.assertEqual(action.res_model, "commerce.backend")
        self.assertTrue(action.view_mode.startswith("kanban"))
        analysis = self.backend.action_view_job_analysis()
        self.assertEqual(analysis["domain"], [("backend_id", "=", self.backend.id)])
