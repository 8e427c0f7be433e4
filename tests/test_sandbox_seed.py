"""The `make run` sandbox: its seed (tools/sandbox_seed.py) and the simulators' order stream."""

import importlib.util
from pathlib import Path

from odoo.tests import TransactionCase, tagged
from odoo.tools import float_compare

from ..simulators.clarity import ClarityDataGenerator, ClaritySimulator
from ..simulators.spapi import CATALOG, SpApiSimulator
from ..simulators.stream import ClarityStream, SpApiStream
from .common import NO_MAIL


def _load_seed_module():
    path = Path(__file__).resolve().parents[1] / "tools" / "sandbox_seed.py"
    spec = importlib.util.spec_from_file_location("commerce_connector_sandbox_seed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sandbox_seed = _load_seed_module()


@tagged("post_install", "-at_install")
class TestSandboxSeed(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, **NO_MAIL))
        store = ClaritySimulator()
        store.seed_demo_data(orders=0)
        cls.clarity_skus = sorted(sku for sku, _name, _price in
                                  ClarityDataGenerator.sellable_items(list(store.products.values())))
        cls.result = cls.seed()  # once for the class: each test reads it or seeds again

    @classmethod
    def seed(cls, clarity_port=18001, spapi_port=18002):
        return sandbox_seed.seed(cls.env, f"http://127.0.0.1:{clarity_port}", f"http://127.0.0.1:{spapi_port}")

    def counts(self):
        clarity, amazon = (self.env["commerce.backend"].search([("name", "=", name)])
                           for name in (sandbox_seed.CLARITY_BACKEND, sandbox_seed.AMAZON_BACKEND))
        return {
            "backends": self.env["commerce.backend"].with_context(active_test=False).search_count(
                [("name", "in", (sandbox_seed.CLARITY_BACKEND, sandbox_seed.AMAZON_BACKEND))]),
            "products": self.env["product.product"].with_context(active_test=False).search_count([]),
            "templates": self.env["product.template"].with_context(active_test=False).search_count([]),
            "offers": self.env["commerce.amazon.offer"].search_count([("backend_id", "=", amazon.id)]),
            "bindings": self.env["commerce.binding"].search_count([("backend_id", "in", (clarity | amazon).ids)]),
            "tax_rules": len(clarity.tax_rule_ids),
            "taxes": self.env["account.tax"].with_context(active_test=False).search_count([]),
            "warehouses": self.env["stock.warehouse"].with_context(active_test=False).search_count([]),
            "crons": self.env["ir.cron"].with_context(active_test=False).search_count([]),
            "stock_moves": self.env["stock.move"].search_count([]),
        }

    def test_backends_point_at_the_simulators(self):
        result = self.result
        clarity, amazon = result["clarity"].sudo(), result["amazon"].sudo()
        self.assertEqual((clarity.channel, clarity.clarity_base_url, clarity.clarity_token_url),
                         ("clarity", "http://127.0.0.1:18001", "http://127.0.0.1:18001/oauth/token"))
        self.assertEqual((clarity.clarity_client_id, clarity.clarity_client_secret, clarity.clarity_webhook_secret),
                         ("odoo-connector", "clarity-secret", "clarity-webhook-secret"))
        self.assertEqual(clarity.clarity_location_ids, clarity.warehouse_id.lot_stock_id)
        self.assertEqual(result["webhook_url"],
                         f"http://127.0.0.1:8069/commerce_connector/clarity/{clarity.id}/webhook")
        self.assertEqual(result["clarity_location"], "WHSTOCK")
        self.assertEqual((amazon.channel, amazon.amazon_endpoint, amazon.amazon_lwa_url),
                         ("amazon", "http://127.0.0.1:18002", "http://127.0.0.1:18002/auth/o2/token"))
        self.assertEqual((amazon.amazon_lwa_client_id, amazon.amazon_lwa_client_secret, amazon.amazon_refresh_token),
                         (SpApiSimulator().client_id, SpApiSimulator().client_secret, SpApiSimulator().refresh_token))
        self.assertEqual(amazon.amazon_marketplace_ids.mapped("code"), ["ATVPDKIKX0DER"])
        self.assertEqual(amazon.amazon_fba_warehouse_id.code, "FBA")
        self.assertTrue(amazon.amazon_import_start_date)
        for xmlid, minutes in sandbox_seed.CRON_MINUTES.items():
            cron = self.env.ref(xmlid)
            self.assertEqual((cron.interval_number, cron.interval_type, cron.active), (minutes, "minutes", True))

    def test_every_simulator_sku_is_a_product_with_stock(self):
        result = self.result
        clarity, amazon = result["clarity"], result["amazon"]
        Binding = self.env["commerce.binding"]
        stock = clarity.warehouse_id.lot_stock_id
        self.assertEqual(len(self.clarity_skus), 17)
        for sku in self.clarity_skus:
            product = Binding.lookup(clarity, "product.product", sku)
            self.assertEqual(product.default_code, sku)
            self.assertEqual(product.with_context(location=stock.id).qty_available, sandbox_seed.STOCK_TARGET)
        offers = self.env["commerce.amazon.offer"].search([("backend_id", "=", amazon.id)])
        self.assertEqual(sorted(offers.mapped("seller_sku")), sorted(sku for sku, *_ in CATALOG))
        fba_stock = amazon.amazon_fba_warehouse_id.lot_stock_id
        for sku, asin, _title, _price in CATALOG:
            offer = offers.filtered(lambda o, sku=sku: o.seller_sku == sku)
            self.assertEqual((offer.asin, offer.product_id.default_code), (asin, sku))
            self.assertEqual(offer.product_id.with_context(location=fba_stock.id).qty_available,
                             sandbox_seed.STOCK_TARGET)
        # the seeded stock is queued for the Clarity store
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.assertTrue(self.env["commerce.job"].search(
            [("backend_id", "=", clarity.id), ("job_type", "=", "clarity.inventory.export")]))

    def test_seeding_again_duplicates_nothing_and_follows_the_ports(self):
        first = self.result
        before = self.counts()
        second = self.seed(clarity_port=18011, spapi_port=18012)
        self.assertEqual(self.counts(), before)
        self.assertEqual((second["clarity"], second["amazon"]), (first["clarity"], first["amazon"]))
        self.assertEqual(second["clarity"].clarity_base_url, "http://127.0.0.1:18011")
        self.assertEqual(second["clarity"].clarity_token_url, "http://127.0.0.1:18011/oauth/token")
        self.assertEqual(second["amazon"].amazon_endpoint, "http://127.0.0.1:18012")

    def test_stock_is_topped_up_only_when_low(self):
        result = self.result
        stock = result["clarity"].warehouse_id.lot_stock_id
        low, enough = (self.env["commerce.binding"].lookup(result["clarity"], "product.product", sku)
                       for sku in self.clarity_skus[:2])
        Quant = self.env["stock.quant"].with_context(inventory_mode=True)
        for product, quantity in ((low, 10), (enough, 120)):
            quant = Quant.search([("product_id", "=", product.id), ("location_id", "=", stock.id)])
            quant.inventory_quantity = quantity
            quant.action_apply_inventory()
        self.seed()
        self.assertEqual(low.with_context(location=stock.id).qty_available, sandbox_seed.STOCK_TARGET)
        self.assertEqual(enough.with_context(location=stock.id).qty_available, 120)

    def test_streamed_orders_import_with_matching_totals(self):
        """What the streams produce imports against the seeded catalogue and tax rules."""
        result = self.result
        clarity, amazon = result["clarity"], result["amazon"]
        store = ClaritySimulator()
        store.seed_demo_data()
        # a closed port: the webhooks fail fast and are only recorded
        clarity_stream = ClarityStream(store, "http://127.0.0.1:9/webhook", seed=3)
        for _ in range(12):
            remote = clarity_stream.new_order()
            outcome = clarity._clarity_import_order(remote)
            order = self.env["commerce.binding"].lookup(clarity, "sale.order", str(remote["ID"]))
            self.assertEqual(outcome["sale_order"], order.name)
            self.assertFalse(float_compare(order.amount_total, remote["Totals"]["Total"], precision_digits=2),
                             f"{order.name}: {order.amount_total} != {remote['Totals']['Total']}")
            self.assertEqual(order.state, "draft" if remote["StatusKey"] == "Pending" else "sale")
        self.assertEqual({event for event, _id, _status in clarity_stream.events}, {"order.created"})
        self.assertEqual(len({order_id for _e, order_id, _s in clarity_stream.events}), 12)

        amazon_sim = SpApiSimulator()
        amazon_stream = SpApiStream(amazon_sim, seed=4)
        for _ in range(12):
            order_id = amazon_stream.new_order()
            data = amazon_sim.order(order_id)
            outcome = amazon._amazon_import_order(data)
            status = data["fulfillment"]["fulfillmentStatus"]
            if status == "PENDING":
                self.assertIn("skipped", outcome)
                continue
            order = self.env["commerce.binding"].lookup(amazon, "sale.order", order_id)
            self.assertEqual((outcome["outcome"], order.state), ("created", "sale"))
        self.assertFalse(amazon_sim.response_validation_errors)

    def test_streams_follow_the_channels_rules(self):
        """Amazon ships only what it fulfils and settles only what shipped; Clarity returns only
        what was shipped, once per order."""
        amazon_sim = SpApiSimulator()
        stream = SpApiStream(amazon_sim, seed=5, settle_every=0)
        for _ in range(30):
            stream.tick()
        orders = [amazon_sim.order(order_id) for order_id in stream.created]
        shipped = {o["orderId"] for o in orders if o["fulfillment"]["fulfillmentStatus"] == "SHIPPED"}
        self.assertTrue(shipped)
        self.assertEqual({o["fulfillment"]["fulfilledBy"] for o in orders if o["orderId"] in shipped}, {"AMAZON"})
        self.assertEqual(len(set(stream.created)), len(stream.created))
        report_id, _settlement_id = stream.settle()
        self.assertEqual(stream.settled, shipped)
        self.assertIsNone(stream.settle(), "nothing new shipped: no second settlement")
        self.assertIn(report_id, {r["reportId"] for r in amazon_sim.reports()})
        self.assertFalse(amazon_sim.response_validation_errors)

        store = ClaritySimulator()
        store.seed_demo_data(orders=3)
        clarity_stream = ClarityStream(store, "http://127.0.0.1:9/webhook", seed=6)
        self.assertIsNone(clarity_stream.return_shipped_order(), "nothing shipped yet")
        shipped_id = min(store.orders)
        store.orders[shipped_id]["StatusKey"] = "Shipped"
        sales_return = clarity_stream.return_shipped_order()
        self.assertEqual((sales_return["SalesOrderID"], sales_return["ReturnKey"]), (shipped_id, f"RMA-{shipped_id}"))
        self.assertIsNone(clarity_stream.return_shipped_order(), "one return per order")
        self.assertEqual([event for event, _id, _status in clarity_stream.events], ["order.returned"])
