"""FBA stock into Odoo: cron -> import job -> getInventorySummaries (details, paging) on the
SP-API simulator over HTTP -> inventory adjustments of the FBA warehouse and offer quantities."""

from odoo.tests import tagged

from ..channels.amazon import fba_inventory
from ..channels.amazon.const import SEARCH_INCLUDED_DATA
from ..core.errors import PayloadValidationError
from ..models.commerce_backend_amazon_fba_stock import FBA_IMPORT_JOB
from ..simulators.spapi import Fault
from .test_amazon_inventory_feed import AmazonStockCase


@tagged("post_install", "-at_install")
class TestAmazonFbaStock(AmazonStockCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the client waits for getInventorySummaries tokens (0.5 s each) instead of leaving it to the job engine
        cls.env["ir.config_parameter"].set_param("commerce_connector.http_wait_max", 2)

    def import_fba(self):
        """What the cron does, then the runner; returns the import job."""
        job = self.env["commerce.backend"]._cron_amazon_inventory().filtered(lambda j: j.backend_id == self.backend)
        self.run_jobs()
        self.assertEqual(job.state, "done", job.error_message)
        return job

    def on_hand(self, product, location=None):
        return sum(self.Quant.search([("product_id", "=", product.id),
                                      ("location_id", "child_of", (location or self.fba_location).id)])
                   .mapped("quantity"))

    def inventory_moves(self):
        return self.env["stock.move"].search([("is_inventory", "=", True), "|",
                                              ("location_id", "=", self.fba_location.id),
                                              ("location_dest_id", "=", self.fba_location.id)])

    def test_cron_xml_id_and_backends(self):
        cron = self.env.ref("commerce_connector.ir_cron_amazon_inventory")
        self.assertEqual(cron.code, "model._cron_amazon_inventory()")
        jobs = self.env["commerce.backend"]._cron_amazon_inventory()
        self.assertEqual(jobs.backend_id, self.backend)
        self.assertFalse(self.env["commerce.backend"]._cron_amazon_inventory(), "one waiting job per backend")
        self.backend.amazon_fba_warehouse_id = False
        jobs.action_cancel()
        self.assertFalse(self.env["commerce.backend"]._cron_amazon_inventory(), "no FBA warehouse, nothing to read")

    def test_fulfillable_becomes_on_hand_and_the_rest_is_on_the_offer(self):
        self.sim.set_fba_inventory("CC-MUG-001", fulfillable=12, reserved=2, inbound=30, unfulfillable=1,
                                   fnsku="X00MUG0001")
        self.sim.set_fba_inventory("CC-TEA-014", fulfillable=0, reserved=1)
        self.add_stock(self.tea, 5, self.fba_location)  # Odoo believed 5: Amazon says 0
        self.sim.set_fba_inventory("CC-UNKNOWN", fulfillable=4)
        job = self.import_fba()
        self.assertEqual(self.on_hand(self.mug), 12)
        self.assertEqual(self.on_hand(self.tea), 0)
        self.assertEqual(self.on_hand(self.mug, self.stock_location), 0, "the merchant warehouse is not touched")
        moves = self.inventory_moves()
        self.assertEqual(sorted((m.product_id.default_code, m.quantity) for m in moves),
                         [("CC-MUG-001", 12), ("CC-TEA-014", 5)])
        self.assertEqual(moves.mapped("state"), ["done", "done"])
        self.assertTrue(all(m.name == "Amazon FBA stock" for m in moves), moves.mapped("name"))
        mug = self.offer(self.mug)
        self.assertEqual((mug.fulfillment_channel, mug.fnsku), ("AMAZON", "X00MUG0001"))
        self.assertEqual((mug.fba_fulfillable_qty, mug.fba_reserved_qty, mug.fba_inbound_qty,
                          mug.fba_unfulfillable_qty), (12, 2, 30, 1))
        self.assertTrue(mug.fba_update_date)
        self.assertEqual(self.offer(self.tea).fba_reserved_qty, 1)
        self.assertEqual(self.offer(self.kettle).fulfillment_channel, "MERCHANT", "not at Amazon: stays MFN")
        result = job.result
        self.assertIn('"unknown_skus": ["CC-UNKNOWN"]', result)
        self.assertIn('"quants_adjusted": 2', result)
        call = self.sim.recorder.calls(operation="getInventorySummaries")[0]
        self.assertEqual((call.query["details"], call.query["granularityType"], call.query["granularityId"]),
                         (["true"], ["Marketplace"], ["ATVPDKIKX0DER"]))

    def test_second_run_with_the_same_data_writes_nothing(self):
        self.sim.set_fba_inventory("CC-MUG-001", fulfillable=12, reserved=2, inbound=3)
        self.sim.set_fba_inventory("CC-TEA-014", fulfillable=7)
        self.import_fba()
        moves = self.inventory_moves()
        self.assertEqual(len(moves), 2)
        self.assertEqual(len(self.offers.filtered(lambda o: o.fulfillment_channel == "AMAZON")), 2)
        # write_date is the transaction's time in a test: an old date shows whether a row is written again
        self.env.flush_all()
        self.env.cr.execute("UPDATE commerce_amazon_offer SET write_date = '2000-01-01' WHERE backend_id = %s",
                            (self.backend.id,))
        self.env.cr.execute("UPDATE stock_quant SET write_date = '2000-01-01' WHERE location_id = %s",
                            (self.fba_location.id,))
        self.env.invalidate_all()

        job = self.import_fba()
        self.assertIn('"offers_updated": 0', job.result)
        self.assertIn('"quants_adjusted": 0', job.result)
        self.assertEqual(self.inventory_moves(), moves)
        self.env.flush_all()
        self.env.cr.execute("SELECT count(*) FROM commerce_amazon_offer WHERE backend_id = %s "
                            "AND write_date > '2000-01-01'", (self.backend.id,))
        self.assertEqual(self.env.cr.fetchone()[0], 0, "no offer written")
        self.env.cr.execute("SELECT count(*) FROM stock_quant WHERE location_id = %s AND write_date > '2000-01-01'",
                            (self.fba_location.id,))
        self.assertEqual(self.env.cr.fetchone()[0], 0, "no quant written")

        # a change is written, and only that one
        self.sim.set_fba_inventory("CC-TEA-014", fulfillable=4)
        job = self.import_fba()
        self.assertIn('"offers_updated": 1', job.result)
        self.assertIn('"quants_adjusted": 1', job.result)
        self.assertEqual(self.on_hand(self.tea), 4)
        self.assertEqual(self.on_hand(self.mug), 12)

    def test_paging_reads_every_page_before_writing(self):
        self.sim.fba_page_size = 3
        for index, product in enumerate(self.products):
            self.sim.set_fba_inventory(product.default_code, fulfillable=index + 1)
        job = self.import_fba()
        self.assertIn('"pages": 4', job.result)
        # (the client spends tokens at Amazon's own rate: a rare 429 on clock jitter is retried)
        calls = [c for c in self.sim.recorder.calls(operation="getInventorySummaries") if c.status == 200]
        self.assertEqual(len(calls), 4)
        self.assertNotIn("nextToken", calls[0].query)
        self.assertTrue(all("nextToken" in c.query for c in calls[1:]))
        self.assertEqual([self.on_hand(p) for p in self.products], list(range(1, len(self.products) + 1)))

    def test_expired_page_token_fails_without_writing(self):
        self.sim.fba_page_size = 5
        for product in self.products:
            self.sim.set_fba_inventory(product.default_code, fulfillable=9)
        client = self.backend._amazon_client()
        summaries, token = fba_inventory.inventory_summaries(client, "ATVPDKIKX0DER")
        self.assertEqual(len(summaries), 5)
        self.sim.advance_clock(31)
        with self.assertRaises(PayloadValidationError):
            fba_inventory.inventory_summaries(client, "ATVPDKIKX0DER", token)

    def test_throttled_at_amazons_rate(self):
        self.sim.fba_page_size = 2
        for product in self.products:
            self.sim.set_fba_inventory(product.default_code, fulfillable=1)
        # Amazon a little more generous than its default plan: any 429 would be the client's fault
        self.sim.set_rate_plan("getInventorySummaries", 2.5, 2)
        self.import_fba()
        calls = self.sim.recorder.calls(operation="getInventorySummaries")
        self.assertEqual([c.status for c in calls], [200] * 5, "the client spaces its calls: no 429")
        # 2 per second, burst 2: the first two at once, then one every half second
        self.assertGreaterEqual(calls[-1].timestamp - calls[0].timestamp, 1.4)
        self.assertFalse(self.sim.request_validation_errors)
        self.assertFalse(self.sim.response_validation_errors)
        self.assertEqual([self.on_hand(p) for p in self.products], [1] * len(self.products))

    def test_throttled_by_amazon_is_retried(self):
        self.sim.fba_page_size = 5
        for product in self.products:
            self.sim.set_fba_inventory(product.default_code, fulfillable=2)
        self.sim.fail_next(Fault.THROTTLED, "getInventorySummaries")
        self.import_fba()
        calls = self.sim.recorder.calls(operation="getInventorySummaries")
        self.assertEqual(calls[0].status, 429)
        self.assertEqual([c.status for c in calls].count(200), 2, "the 429 is retried within the job")
        self.assertEqual([self.on_hand(p) for p in self.products], [2] * len(self.products))

    def test_an_fba_order_marks_its_offers_fulfilled_by_amazon(self):
        self.sim.generate_orders(40)
        fba = self.stored(lambda o: o["fulfillment"]["fulfilledBy"] == "AMAZON"
                          and o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED")[0]
        mfn = self.stored(lambda o: o["fulfillment"]["fulfilledBy"] == "MERCHANT"
                          and o["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED")[0]
        fba_skus = {i["product"]["sellerSku"] for i in self.sim.order(fba)["orderItems"]}
        mfn_skus = {i["product"]["sellerSku"] for i in self.sim.order(mfn)["orderItems"]} - fba_skus
        for order_id in (mfn, fba):
            self.backend._amazon_import_order(self.sim.render_order(self.sim.order(order_id), SEARCH_INCLUDED_DATA))
        channel = {o.seller_sku: o.fulfillment_channel for o in self.offers}
        self.assertEqual({channel[sku] for sku in fba_skus}, {"AMAZON"})
        self.assertEqual({channel[sku] for sku in mfn_skus}, {"MERCHANT"} if mfn_skus else set())

    def test_fba_stock_is_never_pushed_back(self):
        clarity = self.env["commerce.backend"].create({
            "name": "Store publishing the FBA stock", "channel": "clarity", "clarity_base_url": "http://127.0.0.1:9",
            "clarity_location_ids": [(6, 0, self.fba_location.ids)]})
        self.sim.set_fba_inventory("CC-MUG-001", fulfillable=8)
        job = self.import_fba()
        self.env.cr.flush()  # the commit of the import job: the stock changes are recorded now
        self.assertEqual(self.on_hand(self.mug), 8)
        Change = self.env["commerce.stock.change"]
        self.assertFalse(Change.search([("backend_id", "=", self.backend.id)]), "no echo to Amazon")
        self.assertFalse(self.jobs("amazon.inventory.export"))
        self.assertEqual(Change.search([("backend_id", "=", clarity.id)]).product_id, self.mug,
                         "the adjustment is a stock change like any other for the other channels")
        self.assertEqual(job.job_type, FBA_IMPORT_JOB)
        self.assertFalse(self.sim.recorder.calls(operation="createFeed"))
