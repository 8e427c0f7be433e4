"""Notifications other than ORDER_CHANGE queue, at once, the job their polling cron would queue later."""

import json

from odoo.tests import tagged

from .test_amazon_notifications import HEADER, SECRET, NotificationCase

SETTLEMENT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"


@tagged("post_install", "-at_install")
class TestNotificationDelegates(NotificationCase):

    def result_of(self, job_type):
        job = self.jobs(job_type)
        self.assertEqual(len(job), 1, job_type)
        self.assertEqual(job.state, "done", job.error_message)
        return json.loads(job.result)

    def test_settlement_report_finished_polls_settlements_now_other_reports_do_nothing(self):
        self.sim.emit_report_processing_finished("60001", self.url(), HEADER, SECRET, report_type="GET_REPORT")
        self.run_jobs()
        self.assertIn("skipped", self.result_of("amazon.notification.report_processing_finished"))
        self.assertFalse(self.jobs("amazon.settlements.poll"))

        self.sim.emit_report_processing_finished("60002", self.url(), HEADER, SECRET, report_type=SETTLEMENT_TYPE)
        self.run_jobs()
        poll = self.jobs("amazon.settlements.poll")
        self.assertEqual(len(poll), 1)
        self.assertEqual(poll.state, "done", poll.error_message)
        self.assertTrue(self.sim.recorder.calls(operation="getReports"), "the reports were read at once")

    def test_fba_inventory_change_imports_fba_stock_once_per_burst(self):
        self.sim.set_fba_inventory("CC-FLT-100", fulfillable=7)
        self.sim.emit_fba_inventory_change("CC-FLT-100", 7, self.url(), HEADER, SECRET)
        self.sim.emit_fba_inventory_change("CC-FLT-100", 7, self.url(), HEADER, SECRET)
        self.sim.emit_fba_inventory_change("CC-FLT-100", 7, self.url(), HEADER, SECRET)
        self.run_jobs()
        notifications = self.jobs("amazon.notification.fba_inventory_availability_changes")
        self.assertEqual(notifications.mapped("state"), ["done"] * 3)
        imports = self.jobs("amazon.fba.inventory.import")
        self.assertEqual(len(imports), 1, "one import while one is waiting, whatever the number of notifications")
        self.assertEqual(imports.state, "done", imports.error_message)
        product = self.products.filtered(lambda p: p.default_code == "CC-FLT-100")
        self.assertEqual(product.with_context(location=self.fba_warehouse.lot_stock_id.id).qty_available, 7)

    def test_fulfillment_order_status_polls_the_open_delivery_of_that_order(self):
        self.sim.emit_fulfillment_order_status("MCF-UNKNOWN", self.url(), HEADER, SECRET, status="Complete")
        self.run_jobs()
        self.assertIn("skipped", self.result_of("amazon.notification.fulfillment_order_status"))
        self.assertFalse(self.jobs("amazon.mcf.status"))

        picking = self.env["stock.picking"].create({
            "picking_type_id": self.fba_warehouse.out_type_id.id, "amazon_mcf_backend_id": self.backend.id,
            "amazon_mcf_order_id": "WH/OUT/MCF-7"})
        self.env.flush_all()
        self.sim.emit_fulfillment_order_status("WH/OUT/MCF-7", self.url(), HEADER, SECRET, status="Complete")
        self.Job.search([("job_type", "=", "amazon.notification.fulfillment_order_status"),
                         ("state", "=", "pending")])._execute()
        status = self.jobs("amazon.mcf.status")
        self.assertEqual(len(status), 1)
        self.assertEqual((status.res_model, status.res_id), ("stock.picking", picking.id))
        self.assertEqual(json.loads(status.payload), {"fulfillment_order_id": "WH/OUT/MCF-7"})

    def test_feed_processing_finished_polls_that_feed_now(self):
        self.sim.emit_feed_processing_finished("90001", self.url(), HEADER, SECRET)
        self.run_jobs()
        self.assertIn("skipped", self.result_of("amazon.notification.feed_processing_finished"))

        feed = self.env["commerce.amazon.feed"].create({
            "backend_id": self.backend.id, "marketplace_id": self.marketplace_us.id,
            "feed_type": "JSON_LISTINGS_FEED", "feed_id": "90002"})
        self.env.flush_all()
        self.sim.emit_feed_processing_finished("90002", self.url(), HEADER, SECRET)
        self.Job.search([("job_type", "=", "amazon.notification.feed_processing_finished"),
                         ("state", "=", "pending")])._execute()
        poll = self.jobs("amazon.feed.poll")
        self.assertEqual(len(poll), 1)
        self.assertEqual((poll.res_model, poll.res_id), ("commerce.amazon.feed", feed.id))
