"""Reliability suite (issue #9): orders of both channels through the simulators with 10 % 5xx,
5 % timeouts and 5 % 429s; every Clarity webhook delivered twice and out of order -> exactly one
sale order per order with the channel's lines and totals, one binding each, no job left behind.

``make test`` runs it with COMMERCE_CHAOS_ORDERS orders per channel (default 40); ``make chaos``
runs it at 1,000 + 1,000.
"""

import os
import random
from decimal import Decimal

from odoo.tests import tagged
from odoo.tools import float_compare

from ..channels.amazon import client as amazon_client
from ..simulators.base import FaultConfig
from ..simulators.clarity import ClarityDataGenerator
from ..simulators.spapi import SpApiSimulator
from ..simulators.spapi_common import SpApiFaultConfig
from .test_amazon_orders import AmazonCase, status_of
from .test_clarity_orders import ClarityCase

ORDERS = int(os.environ.get("COMMERCE_CHAOS_ORDERS") or 40)
# Timeouts hold the connection this long, then answer 504: short, so the suite stays fast.
FAULTS = {"rate_5xx": 0.10, "rate_timeout": 0.05, "rate_429": 0.05, "timeout_seconds": 0.05, "seed": 9}
DRIVE_ROUNDS = 200


class ChaosMixin:

    def backend_jobs(self):
        return self.Job.search([("backend_id", "=", self.backend.id)])

    def drive(self, between_rounds=None):
        """Run the runner until every job of the backend is finished; retries waiting for their
        eta are made due (time passes), as the cron would after their backoff."""
        for _round in range(DRIVE_ROUNDS):
            self.run_jobs()
            waiting = self.backend_jobs().filtered(lambda job: job.state in ("pending", "started"))
            if not waiting:
                return
            waiting.filtered(lambda job: job.state == "pending").write({"eta": False})
            if between_rounds:
                between_rounds()
        self.fail(f"jobs still waiting after {DRIVE_ROUNDS} rounds: {waiting.mapped('job_type')}")

    def assertEveryJobDone(self):
        unfinished = self.backend_jobs().filtered(lambda job: job.state != "done")
        self.assertFalse(unfinished, [(j.job_type, j.state, j.error_kind, j.error_message) for j in unfinished[:5]])

    def assertOneBindingPerOrder(self, external_ids):
        bindings = self.env["commerce.binding"].search([("backend_id", "=", self.backend.id),
                                                        ("res_model", "=", "sale.order")])
        self.assertEqual(sorted(bindings.mapped("external_id")), sorted(external_ids), "one binding per order")
        self.assertEqual(len(set(bindings.mapped("res_id"))), len(external_ids), "one sale order per binding")
        return bindings

    def assertProductLines(self, sale_order, expected):
        """``expected``: [(sku, quantity, unit price)] of the channel's order."""
        lines = sale_order.order_line.filtered(lambda line: line.product_id.default_code and not line.is_delivery
                                               and line.product_id.type == "consu")
        self.assertEqual(sorted((l.product_id.default_code, l.product_uom_qty, round(l.price_unit, 2)) for l in lines),
                         sorted(expected), sale_order.name)


@tagged("post_install", "-at_install")
class TestClarityChaos(ChaosMixin, ClarityCase):

    def setUp(self):
        super().setUp()
        self.simulator.faults = FaultConfig(**FAULTS)
        self.addCleanup(setattr, self.simulator, "faults", FaultConfig())
        self.simulator.set_rate_limit(1_000_000)  # the random 429s are the ones under test
        self.addCleanup(self.simulator.set_rate_limit, 120)
        self.backend.tax_rule_ids.unlink()  # orders without tax: totals are lines + shipping - discounts

    def seed_orders(self):
        generator = ClarityDataGenerator(seed=3)
        products = generator.products()
        items = generator.sellable_items(products)
        self.products.write({"taxes_id": [(5, 0, 0)]})
        known = set(self.products.mapped("default_code"))
        self.env["product.product"].create([{"name": name, "default_code": sku, "type": "consu", "list_price": price,
                                             "taxes_id": [(5, 0, 0)]} for sku, name, price in items if sku not in known])
        orders = []
        for order in generator.orders(ORDERS, generator.customers(6), products):
            for line in order["SalesItems"]:
                line["ExtendedTaxAmount"] = 0.0
            shipping = order["Totals"]["Shipping"]
            order["Totals"] = generator.totals(order["SalesItems"], str(shipping), order["Discounts"])
            orders.append(self.simulator.add_order(order))
        return orders

    def test_webhooks_twice_and_out_of_order_with_faults(self):
        orders = self.seed_orders()
        deliveries = []
        for order in orders:
            update = {key: order[key] for key in ("ID", "CustomKey", "StatusKey", "UpdatedDate")}
            for event, data in (("order.created", order), ("order.updated", update)):
                deliveries += [(event, data, f"chaos-{event}-{order['ID']}")] * 2
        random.Random(7).shuffle(deliveries)

        for event, data, event_id in deliveries:
            status, body = self.post_event(event, data, event_id=event_id)
            self.assertEqual(status, 200, body)
        self.drive()

        self.assertEqual(len(self.backend_jobs()), 2 * len(orders), "a repeated event id is one job")
        self.assertEveryJobDone()
        bindings = self.assertOneBindingPerOrder([str(order["ID"]) for order in orders])
        sale_orders = self.env["sale.order"].browse(bindings.mapped("res_id"))
        self.assertEqual(len(sale_orders), ORDERS)
        by_id = {str(order["ID"]): order for order in orders}
        for binding in bindings:
            order, sale_order = by_id[binding.external_id], self.env["sale.order"].browse(binding.res_id)
            self.assertEqual(sale_order.origin, order["CustomKey"])
            self.assertFalse(float_compare(sale_order.amount_total, order["Totals"]["Total"], precision_digits=2),
                             f"{sale_order.name}: {sale_order.amount_total} != {order['Totals']['Total']}")
            self.assertProductLines(sale_order, [(line["Sku"], line["Quantity"], line["UnitSoldPrice"])
                                                 for line in order["SalesItems"]])
        statuses = [call.status for call in self.simulator.recorder.calls()]
        self.assertTrue({429, 503, 504} <= set(statuses), "the faults did happen")
        self.assertTrue(self.simulator.recorder.calls(path_prefix="/api/v1/orders/", method="GET"),
                        "updates that came first read their order from Clarity")


@tagged("post_install", "-at_install")
class TestAmazonChaos(ChaosMixin, AmazonCase):

    def setUp(self):
        super().setUp()
        self.sim.stop()  # AmazonCase's simulator has no faults: this one does
        self.sim = SpApiSimulator(faults=SpApiFaultConfig(**FAULTS)).start()
        self.addCleanup(self.sim.stop)
        self.backend.write({"amazon_endpoint": self.sim.url, "amazon_lwa_url": f"{self.sim.url}/auth/o2/token",
                            "amazon_import_statuses": "UNSHIPPED,PARTIALLY_SHIPPED,SHIPPED,CANCELLED"})
        # Small pages, so more searchOrders calls meet a fault; never more pages than Amazon's
        # burst of 20 searches allows, whatever the size (100 is Amazon's largest page).
        self.env["ir.config_parameter"].set_param("commerce_connector.amazon_search_page_size",
                                                  min(100, max(10, ORDERS // 4)))

    def pass_time(self):
        self.sim.advance_clock(60)
        amazon_client.reset_rate_limits()

    def test_polls_with_faults_import_every_order_once(self):
        order_ids = self.sim.generate_orders(ORDERS)
        for order_id in order_ids:
            if status_of(self.sim.order(order_id)) == "PENDING":
                self.sim.advance_order_status(order_id)  # pending orders are not imported yet
        self.make_ready()

        self.env["commerce.backend"]._cron_amazon_orders()
        self.drive(self.pass_time)
        self.env["commerce.backend"]._cron_amazon_orders()  # the overlap reads every order again
        self.drive(self.pass_time)

        self.assertEveryJobDone()
        self.assertEqual(len(self.jobs("amazon.order.import")), ORDERS, "the second poll queues nothing twice")
        bindings = self.assertOneBindingPerOrder(order_ids)
        self.assertEqual(self.env["sale.order"].search_count([("id", "in", bindings.mapped("res_id"))]), ORDERS)
        for order_id in order_ids:
            remote, sale_order = self.sim.order(order_id), self.sale_order(order_id)
            self.assertFalse(float_compare(sale_order.amount_total, self.expected_total(remote), precision_digits=2),
                             f"{order_id}: {sale_order.amount_total} != {self.expected_total(remote)}")
            self.assertProductLines(sale_order, [
                (item["product"]["sellerSku"], item["quantityOrdered"],
                 round(float(Decimal(item["product"]["price"]["unitPrice"]["amount"])), 2))
                for item in remote["orderItems"]])
            self.assertEqual(sale_order.state, "cancel" if status_of(remote) == "CANCELLED" else "sale")
        # Imports make no SP-API call here: the polls' few dozen calls meet the faults (429s too at full size).
        faulted = [c.status for c in self.sim.recorder.calls() if c.status in (429, 500, 502, 503, 504)]
        self.assertTrue(faulted, "the faults did happen")
