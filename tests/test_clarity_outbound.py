"""Clarity outbound flows against the simulator over real HTTP: stock, shipments, voids,
product upserts, echo suppression and failure handling."""

import math
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import Form, tagged

from ..channels.clarity.client import ClarityClient
from ..core.outbound import IMPORT_BACKEND_CONTEXT_KEY
from ..models import commerce_stock_exporter
from ..simulators.clarity import ClaritySimulator
from .test_clarity_orders import WEBHOOK_SECRET, ClarityCase, sample

INVENTORY = "clarity.inventory.export"
INVENTORY_ITEMS = "clarity.inventory.export.items"
SHIPMENT = "clarity.shipment.export"
VOID = "clarity.order.void"
PRODUCT = "clarity.product.export"


class ClarityOutboundCase(ClarityCase):
    """ClarityCase with storable products, a published stock location known to the simulator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Exporter = cls.env["commerce.stock.exporter"]
        cls.Quant = cls.env["stock.quant"]
        cls.Binding = cls.env["commerce.binding"]
        cls.warehouse = cls.backend.warehouse_id
        cls.stock_location = cls.warehouse.lot_stock_id
        cls.shelf = cls.env["stock.location"].create({"name": "Shelf 1", "location_id": cls.stock_location.id})
        cls.backend.clarity_location_ids = cls.stock_location
        cls.location_key = cls.Exporter.location_key(cls.stock_location)
        cls.products.write({"is_storable": True})
        cls.widget, cls.cable = cls.products

    def setUp(self):
        super().setUp()
        # a fresh store per test: shipments, statuses and stock of one test never leak into the next
        self.simulator = ClaritySimulator(webhook_secret=WEBHOOK_SECRET).start()
        self.addCleanup(self.simulator.stop)
        self.backend.write({"clarity_base_url": self.simulator.url,
                            "clarity_token_url": f"{self.simulator.url}/oauth/token"})
        self.simulator.add_location(self.location_key)
        self.simulator.add_product(sample("clarity_product.json"))
        self.simulator.add_product({"CustomKey": "CAB-USB-2M", "Name": "USB cable 2 m", "PriceBase": 12.5})

    # -- helpers ---------------------------------------------------------------------------
    def commit_stock_transaction(self):
        """What the commit of a stock transaction does here: run the precommit hooks."""
        self.env.cr.flush()

    def add_stock(self, product, quantity, location=None):
        self.Quant._update_available_quantity(product, location or self.stock_location, quantity)

    def jobs_of(self, job_type):
        return self.Job.search([("backend_id", "=", self.backend.id), ("job_type", "=", job_type)], order="id")

    def run_due_jobs(self):
        """Run the jobs now, as the runner does once their debounce delay has passed."""
        self.Job.search([("state", "=", "pending")]).write({"eta": fields.Datetime.now() - timedelta(seconds=1)})
        return self.run_jobs()

    def inventory_calls(self):
        return self.simulator.recorder.calls(operation="push_inventory")

    def pushed_items(self):
        return [item for call in self.inventory_calls() if call.status == 200 for item in call.json()["Items"]]

    def remote_quantity(self, sku):
        return (self.simulator.stock(sku, self.location_key) or {}).get("Quantity")

    def create_products(self, count, prefix):
        """``count`` storable products with stock, known to the simulator by their SKU."""
        products = self.env["product.product"].create([
            {"name": f"{prefix} {index}", "default_code": f"{prefix}-{index:05d}", "is_storable": True}
            for index in range(count)])
        with self.simulator._lock:
            for product in products:
                self.simulator.products[product.default_code] = {
                    "ID": product.id, "CustomKey": product.default_code, "Name": product.name}
        self.Quant.create([{"product_id": product.id, "location_id": self.stock_location.id, "quantity": 7}
                           for product in products])
        return products

    def clone_products(self, count, prefix):
        """``count`` copies of one storable product with 7 units in stock, written in SQL.

        Creating 10,000 products through the ORM takes over a minute; the export under test
        reads these rows through the ORM like any others.
        """
        seed = self.env["product.product"].create(
            {"name": prefix, "default_code": f"{prefix}-SEED", "is_storable": True})
        # outside the published locations: the seed itself is no change to publish
        unpublished = self.env["stock.location"].create({"name": "Seed", "usage": "internal"})
        seed_quant = self.Quant.create({"product_id": seed.id, "location_id": unpublished.id, "quantity": 7})
        self.env.flush_all()
        cr = self.env.cr

        def copied_columns(table, *replaced):
            cr.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,))
            return [row[0] for row in cr.fetchall() if row[0] not in ("id", *replaced)]

        template_columns = copied_columns("product_template", "default_code")
        variant_columns = copied_columns("product_product", "default_code", "product_tmpl_id")
        quant_columns = copied_columns("stock_quant", "product_id", "location_id")
        cr.execute(f"""
            WITH templates AS (
                INSERT INTO product_template (default_code, {", ".join(template_columns)})
                SELECT %(prefix)s || '-' || lpad(n::text, 5, '0'), {", ".join(template_columns)}
                  FROM product_template, generate_series(1, %(count)s) AS n
                 WHERE id = %(template)s
             RETURNING id, default_code),
            variants AS (
                INSERT INTO product_product (product_tmpl_id, default_code, {", ".join(variant_columns)})
                SELECT templates.id, templates.default_code, {", ".join(f"seed.{c}" for c in variant_columns)}
                  FROM templates, product_product seed
                 WHERE seed.id = %(variant)s
             RETURNING id)
            INSERT INTO stock_quant (product_id, location_id, {", ".join(quant_columns)})
            SELECT variants.id, %(location)s, {", ".join(f"seed.{c}" for c in quant_columns)}
              FROM variants, stock_quant seed
             WHERE seed.id = %(quant)s
         RETURNING product_id
        """, {"prefix": prefix, "count": count, "template": seed.product_tmpl_id.id, "variant": seed.id,
              "quant": seed_quant.id, "location": self.stock_location.id})
        products = self.env["product.product"].browse(sorted(row[0] for row in cr.fetchall()))
        self.env.invalidate_all()
        with self.simulator._lock:
            for product in products:
                self.simulator.products[product.default_code] = {"ID": product.id, "CustomKey": product.default_code}
        return products

    def fast_failing_client(self):
        """Patch the backend's client: half-second timeout, two attempts, no waits."""
        def client(backend):
            backend = backend.sudo()
            return ClarityClient(backend.clarity_base_url, backend.clarity_client_id, backend.clarity_client_secret,
                                 timeout=0.5, max_attempts=2, wait_min=0, wait_max=0)
        return patch.object(type(self.env["commerce.backend"]), "_clarity_client", client)


@tagged("post_install", "-at_install")
class TestClarityStockExport(ClarityOutboundCase):
    def test_location_key_is_the_barcode(self):
        self.assertEqual(self.location_key, self.stock_location.barcode)
        self.assertTrue(self.location_key)

    def test_burst_of_changes_is_one_debounced_job_and_no_http_in_the_transaction(self):
        before = fields.Datetime.now()
        for quantity in (5, 3, 2):  # three stock transactions in a row
            self.add_stock(self.widget, quantity)
            self.add_stock(self.cable, 1)
            self.commit_stock_transaction()
        job = self.jobs_of(INVENTORY)
        self.assertEqual(len(job), 1, "one pending job per backend")
        self.assertEqual(job.state, "pending")
        delay = commerce_stock_exporter.DEFAULT_EXPORT_DELAY
        self.assertTrue(before < job.eta <= before + timedelta(seconds=delay + 1), job.eta)
        self.assertFalse(self.simulator.recorder.calls(), "nothing is sent from the stock transaction")
        self.run_jobs()
        self.assertEqual(job.state, "pending", "not before its time")
        self.run_due_jobs()
        self.assertEqual(job.state, "done", job.error_message)
        self.assertEqual(len(self.inventory_calls()), 1)
        self.assertEqual(sorted((i["Sku"], i["LocationKey"], i["Quantity"]) for i in self.pushed_items()),
                         [("CAB-USB-2M", self.location_key, 3), ("WID-100-BLU-M", self.location_key, 10)])
        self.assertFalse(self.env["commerce.stock.change"].search([("backend_id", "=", self.backend.id)]))

    def test_quantities_are_absolute_available_over_child_locations(self):
        self.add_stock(self.widget, 10)
        self.add_stock(self.widget, 5, self.shelf)
        self.Quant._update_reserved_quantity(self.widget, self.stock_location, 3, strict=False)
        self.commit_stock_transaction()
        self.run_due_jobs()
        self.assertEqual(self.remote_quantity("WID-100-BLU-M"), 12, "10 + 5 on hand - 3 reserved")
        self.add_stock(self.widget, -8, self.stock_location)
        self.commit_stock_transaction()
        self.run_due_jobs()
        self.assertEqual(self.pushed_items()[-1]["Quantity"], 4, "the new level, not the -8 delta")
        self.assertEqual(self.remote_quantity("WID-100-BLU-M"), 4)
        # more reserved than on hand publishes 0, never a negative level
        self.Quant._update_reserved_quantity(self.widget, self.stock_location, 20, strict=False)
        self.commit_stock_transaction()
        self.run_due_jobs()
        self.assertEqual(self.remote_quantity("WID-100-BLU-M"), 0)

    def test_unpublished_location_queues_nothing(self):
        other = self.env["stock.location"].create({"name": "Overflow", "usage": "internal",
                                                   "location_id": self.stock_location.location_id.id})
        self.add_stock(self.widget, 4, other)
        self.commit_stock_transaction()
        self.assertFalse(self.jobs_of(INVENTORY))
        self.assertFalse(self.env["commerce.stock.change"].search([("backend_id", "=", self.backend.id)]))

    def test_batches_never_exceed_500_items(self):
        products = self.create_products(1001, "BATCH")
        self.commit_stock_transaction()
        self.run_due_jobs()
        job = self.jobs_of(INVENTORY)
        self.assertEqual(job.state, "done", job.error_message)
        calls = self.inventory_calls()
        self.assertEqual(len(calls), math.ceil(1001 / 500))
        self.assertTrue(all(len(call.json()["Items"]) <= 500 for call in calls))
        self.assertNotIn(413, [call.status for call in calls])
        self.assertEqual({item["Sku"] for item in self.pushed_items()}, set(products.mapped("default_code")))
        self.assertEqual({item["Quantity"] for item in self.pushed_items()}, {7})
        self.assertIn('"ok": 1001', job.result)

    def test_ten_thousand_sku_changes_make_twenty_calls(self):
        products = self.clone_products(10000, "BULK")
        self.Exporter.mark_products_changed(self.backend, products)
        self.assertEqual(len(self.jobs_of(INVENTORY)), 1)
        self.run_due_jobs()
        calls = self.inventory_calls()
        self.assertEqual(len(calls), math.ceil(10000 / 500))
        self.assertEqual(sorted(i["Sku"] for i in self.pushed_items()), sorted(products.mapped("default_code")))
        self.assertEqual({(call.status, len(call.json()["Items"])) for call in calls}, {(200, 500)})
        self.assertIn('"ok": 10000', self.jobs_of(INVENTORY).result)

    def test_more_changes_than_one_job_takes_continue_in_a_follow_up_job(self):
        self.create_products(5, "PART")
        self.commit_stock_transaction()
        with patch.object(commerce_stock_exporter, "MAX_PRODUCTS_PER_JOB", 2):
            self.run_due_jobs()
        jobs = self.jobs_of(INVENTORY)
        self.assertEqual(jobs.mapped("state"), ["done", "done", "done"])
        self.assertEqual(len({item["Sku"] for item in self.pushed_items()}), 5)

    def test_change_made_by_the_backends_own_job_is_not_sent_back(self):
        second = self.backend.copy({"name": "Second store", "clarity_client_secret": "clarity-secret",
                                    "clarity_location_ids": [(6, 0, self.stock_location.ids)]})
        quants = self.Quant.with_context(**{IMPORT_BACKEND_CONTEXT_KEY: self.backend.id})
        quants._update_available_quantity(self.widget, self.stock_location, 6)
        self.commit_stock_transaction()
        self.assertFalse(self.jobs_of(INVENTORY), "not echoed to the backend it came from")
        other_jobs = self.Job.search([("backend_id", "=", second.id), ("job_type", "=", INVENTORY)])
        self.assertEqual(len(other_jobs), 1, "other backends still hear of it")

    def test_refused_item_goes_to_its_own_review_job(self):
        self.simulator.fail_business("CAB-USB-2M", message="SKU locked by a store rule")
        self.add_stock(self.widget, 2)
        self.add_stock(self.cable, 2)
        self.commit_stock_transaction()
        self.run_due_jobs()
        main = self.jobs_of(INVENTORY)
        self.assertEqual(main.state, "done", "the accepted item is not held back")
        self.assertEqual(self.remote_quantity("WID-100-BLU-M"), 2)
        review = self.jobs_of(INVENTORY_ITEMS)
        self.assertEqual((review.state, review.error_kind), ("failed", "business"))
        self.assertIn("CAB-USB-2M", review.error_message)
        self.assertIn("SKU locked by a store rule", review.error_message)
        self.simulator.clear_business_failures()
        review.action_retry()
        self.run_jobs()
        self.assertEqual(review.state, "done", review.error_message)
        self.assertEqual(self.remote_quantity("CAB-USB-2M"), 2)

    def test_server_error_is_retried_later_and_keeps_the_changes(self):
        self.add_stock(self.widget, 3)
        self.commit_stock_transaction()
        self.simulator.fail_next("500", operation="push_inventory")
        self.run_due_jobs()
        job = self.jobs_of(INVENTORY)
        self.assertEqual((job.state, job.error_kind), ("pending", "transient"))
        self.assertGreater(job.eta, fields.Datetime.now())
        self.assertTrue(self.env["commerce.stock.change"].search([("backend_id", "=", self.backend.id)]),
                        "the failed export gave its changes back")
        self.run_due_jobs()
        self.assertEqual(job.state, "done", job.error_message)
        self.assertEqual(self.remote_quantity("WID-100-BLU-M"), 3)

    def test_timeout_is_transient(self):
        self.add_stock(self.widget, 3)
        self.commit_stock_transaction()
        self.simulator.faults.timeout_seconds = 1.0
        self.simulator.fail_next("timeout", times=2, operation="push_inventory")
        with self.fast_failing_client():
            self.run_due_jobs()
        job = self.jobs_of(INVENTORY)
        self.assertEqual((job.state, job.error_kind), ("pending", "transient"))
        self.assertIn("timed out", job.error_message)

    def test_token_refused_twice_suspends_the_backend(self):
        self.add_stock(self.widget, 3)
        self.commit_stock_transaction()
        with patch.object(self.simulator, "_client_for", return_value=None):
            self.run_due_jobs()
        job = self.jobs_of(INVENTORY)
        self.assertEqual(self.backend.state, "auth_failed")
        self.assertEqual((job.state, job.error_kind), ("pending", "auth"), "waits for new credentials")
        self.assertEqual([c.status for c in self.inventory_calls()], [401, 401], "one fresh token, one retry")
        self.assertEqual(len(self.simulator.recorder.calls(operation="oauth_token")), 2)

    def test_publish_all_stock_and_orphaned_changes(self):
        self.add_stock(self.widget, 9)
        self.commit_stock_transaction()
        self.run_due_jobs()
        self.simulator.recorder.clear()
        self.backend.action_commerce_publish_all_stock()
        job = self.jobs_of(INVENTORY).filtered(lambda j: j.state == "pending")
        self.assertFalse(job.eta, "a full publication runs at once")
        self.run_jobs()
        self.assertEqual(sorted((i["Sku"], i["Quantity"]) for i in self.pushed_items()),
                         [("CAB-USB-2M", 0), ("WID-100-BLU-M", 9)], "every storable SKU, stock or not")
        # a change recorded after its window's job ran is picked up by the cron
        self.Exporter.mark_products_changed(self.backend, self.widget)
        self.jobs_of(INVENTORY).filtered(lambda j: j.state == "pending").write({"state": "done"})
        scheduled = self.Exporter._cron_schedule_orphaned_changes()
        self.assertEqual(len(scheduled), 1)
        self.assertEqual(self.Exporter._cron_schedule_orphaned_changes(), scheduled.browse(), "not twice")
        self.run_jobs()
        self.assertEqual(scheduled.state, "done", scheduled.error_message)


@tagged("post_install", "-at_install")
class TestClarityShipmentExport(ClarityOutboundCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.carrier = cls.env["delivery.carrier"].create({
            "name": "UPS", "delivery_type": "fixed", "fixed_price": 9.95,
            "product_id": cls.env["product.product"].create({"name": "UPS shipping", "type": "service"}).id})

    def setUp(self):
        super().setUp()
        self.simulator.add_order(sample("clarity_order.json"))
        self.add_stock(self.widget, 10)
        self.add_stock(self.cable, 10)
        self.post_event("order.created", sample("clarity_order.json"))
        self.run_jobs()
        self.order = self.Binding.lookup(self.backend, "sale.order", "10452")
        self.assertEqual(self.order.state, "sale")
        self.picking = self.order.picking_ids
        self.picking.write({"carrier_id": self.carrier.id, "carrier_tracking_ref": "1Z999AA10123456784"})
        self.simulator.recorder.clear()

    def deliver(self, picking, quantities=None):
        """Validate ``picking`` with ``{product: quantity}`` (default: everything); a short
        delivery creates a backorder."""
        quantities = quantities or {}
        for move in picking.move_ids:
            move.quantity = quantities.get(move.product_id, move.product_uom_qty)
            move.picked = True
        result = picking.button_validate()
        if isinstance(result, dict):
            Form(self.env[result["res_model"]].with_context(result["context"])).save().process()
        self.assertEqual(picking.state, "done")

    def test_done_delivery_sends_shipment_with_tracking_then_shipped(self):
        self.deliver(self.picking)
        job = self.jobs_of(SHIPMENT)
        self.assertEqual((len(job), job.idempotency_key, job.state), (1, self.picking.name, "pending"))
        self.assertFalse(self.simulator.recorder.calls(operation="create_shipment"), "sent by the job, not here")
        self.run_jobs()
        self.assertEqual(job.state, "done", job.error_message)
        shipment = self.simulator.shipments[self.picking.name]
        self.assertEqual(shipment["TrackingNumber"], "1Z999AA10123456784")
        self.assertEqual(shipment["CarrierName"], "UPS")
        self.assertEqual(shipment["SalesOrderIDs"], [10452])
        self.assertEqual(sorted((line["Sku"], line["Quantity"]) for line in shipment["ShipmentLines"]),
                         [("CAB-USB-2M", 1), ("WID-100-BLU-M", 2)])
        self.assertTrue(shipment["ShipDate"].startswith(self.picking.date_done.strftime("%Y-%m-%dT%H:%M")))
        remote = self.simulator.get_order(10452)
        self.assertEqual((remote["StatusKey"], remote["TrackingNumber"]), ("Shipped", "1Z999AA10123456784"))
        self.assertEqual(self.simulator.status_changes[-1][2], "Shipped")
        # the same delivery again (action menu, re-validation) is the same job
        self.assertEqual(self.picking._commerce_export_shipment(), job)

    def test_partial_delivery_then_backorder(self):
        self.deliver(self.picking, {self.widget: 1})
        self.run_jobs()
        first = self.simulator.shipments[self.picking.name]
        self.assertEqual(sorted((line["Sku"], line["Quantity"]) for line in first["ShipmentLines"]),
                         [("CAB-USB-2M", 1), ("WID-100-BLU-M", 1)])
        self.assertEqual(self.simulator.get_order(10452)["StatusKey"], "Confirmed", "something is left to ship")
        self.assertFalse(self.simulator.recorder.calls(operation="set_order_status"))
        backorder = self.order.picking_ids - self.picking
        self.assertEqual(len(backorder), 1)
        self.deliver(backorder)
        self.run_jobs()
        second = self.simulator.shipments[backorder.name]
        self.assertEqual([(line["Sku"], line["Quantity"]) for line in second["ShipmentLines"]], [("WID-100-BLU-M", 1)])
        self.assertEqual(self.simulator.get_order(10452)["StatusKey"], "Shipped")
        self.assertEqual(len(self.simulator.recorder.calls(operation="set_order_status")), 1)
        self.assertEqual(set(self.jobs_of(SHIPMENT).mapped("state")), {"done"})

    def test_retry_after_a_lost_status_call_does_not_ship_twice(self):
        self.simulator.fail_next("500", operation="set_order_status")
        self.deliver(self.picking)
        self.run_jobs()
        job = self.jobs_of(SHIPMENT)
        self.assertEqual((job.state, job.error_kind), ("pending", "transient"))
        self.run_due_jobs()
        self.assertEqual(job.state, "done", job.error_message)
        self.assertEqual(len(self.simulator.recorder.calls(operation="create_shipment")), 2)
        self.assertEqual(len(self.simulator.shipments), 1, "CustomKey made the second call a no-op")
        self.assertEqual(self.simulator.get_order(10452)["StatusKey"], "Shipped")

    def test_refused_shipment_is_a_business_failure(self):
        self.simulator.fail_business(10452, message="Order is under fraud review")
        self.deliver(self.picking)
        self.run_jobs()
        job = self.jobs_of(SHIPMENT)
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertIn("Order is under fraud review", job.error_message)
        self.assertFalse(self.simulator.shipments)

    def test_delivery_of_an_order_from_elsewhere_sends_nothing(self):
        order = self.env["sale.order"].create({
            "partner_id": self.order.partner_id.id,
            "order_line": [(0, 0, {"product_id": self.widget.id, "product_uom_qty": 1})]})
        order.action_confirm()
        self.deliver(order.picking_ids)
        self.assertEqual(len(self.jobs_of(SHIPMENT)), 0)

    def test_cancelled_order_is_voided_in_clarity(self):
        self.order.with_context(disable_cancel_warning=True).action_cancel()
        self.assertEqual(self.order.state, "cancel")
        job = self.jobs_of(VOID)
        self.assertEqual((len(job), job.idempotency_key), (1, "void:10452"))
        self.run_jobs()
        self.assertEqual(job.state, "done", job.error_message)
        self.assertEqual(self.simulator.get_order(10452)["StatusKey"], "Void")

    def test_void_refused_by_clarity_is_a_business_failure(self):
        self.simulator.fail_business(10452, message="Order already invoiced")
        self.order.with_context(disable_cancel_warning=True).action_cancel()
        self.run_jobs()
        job = self.jobs_of(VOID)
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertIn("Order already invoiced", job.error_message)

    def test_cancel_coming_from_clarity_is_not_sent_back(self):
        self.post_event("order.cancelled", {"ID": 10452, "StatusKey": "Void", "Reason": "customer",
                                            "UpdatedDate": "2025-03-05T10:00:00Z"})
        self.run_jobs()
        self.assertEqual(self.order.state, "cancel")
        self.assertFalse(self.jobs_of(VOID))
        self.assertFalse(self.simulator.recorder.calls(operation="set_order_status"))


@tagged("post_install", "-at_install")
class TestClarityProductExport(ClarityOutboundCase):
    def test_price_and_archive_of_a_bound_product_are_upserted(self):
        self.Binding.bind(self.backend, self.cable, "CAB-USB-2M")
        self.cable.list_price = 13.9
        job = self.jobs_of(PRODUCT)
        self.assertEqual((len(job), job.state, job.res_id), (1, "pending", self.cable.product_tmpl_id.id))
        self.cable.name = "USB-C cable 2 m"
        self.assertEqual(len(self.jobs_of(PRODUCT)), 1, "the pending job covers the second change")
        self.run_jobs()
        self.assertEqual(job.state, "done", job.error_message)
        remote = self.simulator.get_product("CAB-USB-2M")
        self.assertEqual((remote["Name"], remote["PriceBase"], remote["Active"]), ("USB-C cable 2 m", 13.9, True))
        self.cable.product_tmpl_id.active = False
        self.run_jobs()
        self.assertFalse(self.simulator.get_product("CAB-USB-2M")["Active"])

    def test_unbound_product_is_not_sent(self):
        self.widget.list_price = 99
        self.assertFalse(self.jobs_of(PRODUCT))

    def test_unchanged_values_are_not_written(self):
        self.Binding.bind(self.backend, self.cable, "CAB-USB-2M")
        self.cable.product_tmpl_id._commerce_export_product()
        self.run_jobs()
        job = self.jobs_of(PRODUCT)
        self.assertIn("unchanged", job.result)
        self.assertFalse(self.simulator.recorder.calls(operation="upsert_product"))

    def test_variant_master_is_found_by_a_variant_sku_and_renamed(self):
        self.post_event("product.updated", sample("clarity_product.json"))
        self.run_jobs()
        template = self.Binding.lookup(self.backend, "product.template", "5500")
        self.assertTrue(template)
        self.assertFalse(self.jobs_of(PRODUCT), "the import itself is not sent back")
        template.name = "Widget 100 Pro"
        self.run_jobs()
        job = self.jobs_of(PRODUCT)
        self.assertEqual(job.state, "done", job.error_message)
        upsert = self.simulator.recorder.calls(operation="upsert_product")
        self.assertEqual([call.path for call in upsert], ["/api/v1/products/WID-100"])
        remote = self.simulator.get_product("WID-100")
        self.assertEqual(remote["Name"], "Widget 100 Pro")
        self.assertEqual([v["CustomKey"] for v in remote["Variants"]], ["WID-100-BLU-M", "WID-100-RED-L"],
                         "the variants are left as they are")

    def test_refused_upsert_is_a_business_failure(self):
        self.Binding.bind(self.backend, self.cable, "CAB-USB-2M")
        self.simulator.fail_business("CAB-USB-2M", message="Product is managed by the PIM")
        self.cable.list_price = 15
        self.run_jobs()
        job = self.jobs_of(PRODUCT)
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertIn("managed by the PIM", job.error_message)


class TestClarityInventoryEvent(ClarityOutboundCase):
    """`inventory.updated` from Clarity: Odoo's stock is the reference, drift is corrected."""

    def _event(self, quantity, sku="WID-100-BLU-M"):
        self.post_event("inventory.updated", {"Sku": sku, "LocationKey": self.location_key,
                                              "Quantity": quantity, "QuantityAllocated": 0})
        self.run_due_jobs()
        return self.jobs_of("clarity.inventory.update")[-1]

    def test_drift_republishes_odoo_quantity(self):
        self.add_stock(self.widget, 7)
        self.commit_stock_transaction()
        self.run_due_jobs()
        self.simulator.recorder.clear()
        job = self._event(3)
        self.assertEqual(job.state, "done", job.error_message)
        self.assertIn("drift", job.result)
        self.assertEqual(self.remote_quantity("WID-100-BLU-M"), 7, "Odoo's level sent again")

    def test_same_quantity_sends_nothing(self):
        self.add_stock(self.widget, 7)
        self.commit_stock_transaction()
        self.run_due_jobs()
        self.simulator.recorder.clear()
        job = self._event(7)
        self.assertIn("in_sync", job.result)
        self.assertFalse(self.inventory_calls())

    def test_unknown_sku_is_kept_and_ignored(self):
        job = self._event(1, sku="NOT-IN-ODOO")
        self.assertEqual(job.state, "done")
        self.assertIn("NOT-IN-ODOO", job.result)
