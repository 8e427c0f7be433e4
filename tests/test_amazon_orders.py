"""Amazon order import end to end: cron -> poll job -> SP-API simulator over HTTP -> import jobs -> sale orders."""

import json
import os
from datetime import timedelta
from decimal import Decimal

from odoo.tests import TransactionCase, tagged
from odoo.tools import float_compare

from ..channels.amazon import client as amazon_client
from ..channels.amazon import mapper
from ..simulators.spapi import CATALOG, Fault, SpApiFaultConfig, SpApiSimulator
from .common import NO_MAIL, isolate_sp_api_environment

US = "ATVPDKIKX0DER"
UK = "A1F83G8C2ARO7P"
PII_KEYS = ("buyerName", "buyerEmail", "addressLine1", "phone")


def status_of(order):
    return order["fulfillment"]["fulfillmentStatus"]


def by_amazon(order):
    return order["fulfillment"]["fulfilledBy"] == "AMAZON"


def breakdown(order, kind):
    """Sum of one proceeds category over the items, as Decimal."""
    return sum((Decimal(b["subtotal"]["amount"]) for item in order["orderItems"]
                for b in item.get("proceeds", {}).get("breakdowns", ()) if b["type"] == kind), Decimal(0))


@tagged("post_install", "-at_install")
class AmazonCase(TransactionCase):
    """An Amazon backend wired to a fresh SP-API simulator per test, and the simulator's catalogue."""

    simulator_options = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, **NO_MAIL))
        cls.env.ref("base.USD").active = True
        cls.env.ref("base.GBP").active = True
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", cls.env.company.id)], limit=1)
        cls.fba_warehouse = cls.env["stock.warehouse"].create({"name": "Amazon FBA", "code": "FBA"})
        cls.products = cls.env["product.product"].create([
            {"name": title, "default_code": sku, "type": "consu", "is_storable": True, "list_price": float(price),
             "taxes_id": [(5, 0, 0)]}
            for sku, _asin, title, price in CATALOG])
        cls.marketplace_us = cls.env.ref("commerce_connector.amazon_marketplace_atvpdkikx0der")
        cls.marketplace_uk = cls.env.ref("commerce_connector.amazon_marketplace_a1f83g8c2aro7p")
        cls.backend = cls.env["commerce.backend"].create({
            "name": "Amazon seller",
            "channel": "amazon",
            "amazon_seller_id": "A3SELLERSIM",
            "amazon_lwa_client_id": "client-id",
            "amazon_lwa_client_secret": "client-secret",
            "amazon_refresh_token": "Atzr|refresh",
            "amazon_marketplace_ids": [(6, 0, cls.marketplace_us.ids)],
            "amazon_fba_warehouse_id": cls.fba_warehouse.id,
            "warehouse_id": cls.warehouse.id,
            "currency_id": cls.env.ref("base.USD").id,
        })
        cls.Job = cls.env["commerce.job"]
        param = cls.env["ir.config_parameter"].set_param
        # keep in-call retries short: the job engine's own retries are what the tests look at
        for key, value in (("http_max_attempts", 3), ("http_wait_min", 0.01), ("http_wait_max", 0.05),
                           ("amazon_search_page_size", 100)):
            param(f"commerce_connector.{key}", value)

    def setUp(self):
        super().setUp()
        isolate_sp_api_environment(self)
        self.clear_client_state()
        self.addCleanup(self.clear_client_state)
        self.sim = SpApiSimulator(**self.simulator_options).start()
        self.addCleanup(self.sim.stop)
        self.backend.write({
            "amazon_endpoint": self.sim.url,
            "amazon_lwa_url": f"{self.sim.url}/auth/o2/token",
            "amazon_lwa_client_id": self.sim.client_id,
            "amazon_lwa_client_secret": self.sim.client_secret,
            "amazon_refresh_token": self.sim.refresh_token,
            "amazon_import_start_date": self.sim.now().replace(tzinfo=None) - timedelta(days=120),
        })

    @staticmethod
    def clear_client_state():
        # The library's token cache and our rate buckets are process-wide.
        amazon_client.access_token_client.cache.clear()
        amazon_client.reset_rate_limits()
        amazon_client.forget_restricted_data_tokens()

    # -- helpers ---------------------------------------------------------------------------
    def poll(self):
        """What the cron does, then the runner until no job is due."""
        self.env["commerce.backend"]._cron_amazon_orders()
        return self.run_jobs()

    def run_jobs(self):
        return self.Job._run_jobs(time_budget=60)

    def jobs(self, job_type=None):
        domain = [("backend_id", "=", self.backend.id)] + ([("job_type", "=", job_type)] if job_type else [])
        return self.Job.search(domain, order="id")

    def sale_order(self, order_id):
        return self.env["commerce.binding"].lookup(self.backend, "sale.order", order_id)

    def stored(self, predicate):
        return [order_id for order_id in self.sim.order_ids() if predicate(self.sim.order(order_id))]

    def expected_total(self, order):
        """What the seller gets: Amazon's grand total, less the tax Amazon collects and remits itself."""
        total = Decimal(order["proceeds"]["grandTotal"]["amount"])
        facilitated = all(any(c.get("model") == "MarketplaceFacilitator"
                              for c in item.get("tax", {}).get("taxCollections", ()))
                          for item in order["orderItems"])
        return float(total - breakdown(order, "TAX") if facilitated else total)

    def assertAllJobsDone(self):
        failed = self.jobs().filtered(lambda j: j.state != "done")
        self.assertFalse(failed, [(j.job_type, j.state, j.error_kind, j.error_message) for j in failed])

    def make_ready(self):
        """Let changes made just now leave Amazon's two-minute settle window."""
        self.sim.advance_clock(180)


class TestAmazonOrderPoll(AmazonCase):

    def test_multi_page_poll_imports_mfn_and_fba_orders_without_personal_data(self):
        self.env["ir.config_parameter"].set_param("commerce_connector.amazon_search_page_size", 7)
        self.sim.generate_orders(30)

        self.poll()

        self.assertAllJobsDone()
        imports = self.jobs("amazon.order.import")
        self.assertEqual(len(imports), 30, "one job per order")
        searches = self.sim.recorder.calls(operation="searchOrders")
        self.assertEqual([c.status for c in searches], [200] * 5, "30 orders in pages of 7")
        self.assertFalse(any("paginationToken" in c.query for c in searches[:1]))
        self.assertTrue(all("paginationToken" in c.query for c in searches[1:]))
        self.assertFalse(self.sim.recorder.calls(operation="createRestrictedDataToken"))
        for job in imports:
            self.assertFalse(any(key in job.payload for key in PII_KEYS), "no PII is stored in jobs")
        for order_id in self.sim.order_ids():
            remote = self.sim.order(order_id)
            sale_order = self.sale_order(order_id)
            with self.subTest(order=order_id, status=status_of(remote), fba=by_amazon(remote)):
                if status_of(remote) in ("PENDING", "CANCELLED"):
                    self.assertFalse(sale_order, "Pending waits, Cancelled is not imported")
                    continue
                self.assertEqual(sale_order.state, "sale")
                self.assertEqual(sale_order.client_order_ref, order_id)
                self.assertFalse(float_compare(sale_order.amount_total, self.expected_total(remote),
                                               precision_digits=2))
                self.assertEqual(sale_order.amazon_marketplace_tax, float(breakdown(remote, "TAX")))
                self.assertEqual(sale_order.amount_tax, 0.0, "US tax is collected by Amazon")
                self.assertFalse(sale_order.partner_shipping_id.street, "no PII without the permission")
                self.assertEqual(sale_order.partner_shipping_id.zip,
                                 remote["recipient"]["deliveryAddress"]["postalCode"])
                picking = sale_order.picking_ids
                if by_amazon(remote):
                    self.assertEqual(sale_order.warehouse_id, self.fba_warehouse)
                    self.assertEqual(sale_order.amazon_fulfillment_channel, "marketplace")
                    if status_of(remote) == "SHIPPED":
                        self.assertEqual(picking.mapped("state"), ["done"])
                        self.assertEqual(sale_order.order_line.filtered("qty_delivered").mapped("product_id"),
                                         sale_order.order_line.filtered(lambda l: l.product_id.is_storable)
                                         .mapped("product_id"))
                else:
                    self.assertEqual(sale_order.warehouse_id, self.warehouse)
                    self.assertNotIn("done", picking.mapped("state"), "MFN orders are shipped by us")
        pending = self.jobs("amazon.order.import").filtered(lambda j: "not imported" in (j.result or ""))
        self.assertEqual(len(pending), len(self.stored(lambda o: status_of(o) in ("PENDING", "CANCELLED"))))
        mark = self.backend.watermark_ids.filtered(lambda m: m.flow == f"amazon.orders.{US}")
        self.assertEqual(mark.records_last_run, 30)
        self.assertEqual(self.sim.response_validation_errors, [])

    def test_repoll_is_idempotent(self):
        self.sim.generate_orders(12)
        self.poll()
        mark = self.backend.watermark_ids.filtered(lambda m: m.flow == f"amazon.orders.{US}")
        first_mark = mark.value
        orders_before = self.env["sale.order"].search_count([("amazon_marketplace_id", "!=", False)])
        jobs_before = len(self.jobs("amazon.order.import"))

        self.poll()

        self.assertAllJobsDone()
        self.assertEqual(len(self.jobs("amazon.order.import")), jobs_before, "the overlap queues nothing twice")
        self.assertEqual(self.env["sale.order"].search_count([("amazon_marketplace_id", "!=", False)]), orders_before)
        second = self.sim.recorder.calls(operation="searchOrders")[-1]
        overlap_start = mapper.format_datetime(first_mark - timedelta(seconds=600))
        self.assertEqual(second.query["lastUpdatedAfter"], [overlap_start],
                         "the second poll reads from the watermark, with an overlap")

    def test_a_stale_resume_token_restarts_from_the_watermark(self):
        self.sim.generate_orders(6)
        settings = self.backend._amazon_marketplace_settings(self.marketplace_us)
        settings.write({"resume_pagination_token": "expired-token", "resume_window_start": "2026-01-01 00:00:00"})
        self.poll()
        self.assertAllJobsDone()
        self.assertEqual([c.status for c in self.sim.recorder.calls(operation="searchOrders")], [400, 200])
        self.assertEqual(len(self.jobs("amazon.order.import")), 6)
        self.assertFalse(settings.resume_pagination_token)

    def test_one_poll_job_per_marketplace_at_a_time(self):
        self.backend.amazon_marketplace_ids = [(6, 0, (self.marketplace_us | self.marketplace_uk).ids)]
        self.env["commerce.backend"]._cron_amazon_orders()
        self.env["commerce.backend"]._cron_amazon_orders()
        polls = self.jobs("amazon.orders.poll")
        self.assertEqual(sorted(json.loads(j.payload)["marketplace_id"] for j in polls), sorted([US, UK]))


class TestAmazonStatusTransitions(AmazonCase):

    def test_pending_then_unshipped_cancelled_and_fba_shipped(self):
        self.sim.generate_orders(80)
        pending_mfn = self.stored(lambda o: status_of(o) == "PENDING" and not by_amazon(o))[0]
        unshipped_mfn = self.stored(lambda o: status_of(o) == "UNSHIPPED" and not by_amazon(o))[0]
        unshipped_fba = self.stored(lambda o: status_of(o) == "UNSHIPPED" and by_amazon(o))[0]
        self.poll()
        self.assertFalse(self.sale_order(pending_mfn), "Pending is not imported yet")
        self.assertEqual(self.sale_order(unshipped_mfn).state, "sale")
        fba_order = self.sale_order(unshipped_fba)
        self.assertEqual(fba_order.state, "sale")
        self.assertNotEqual(fba_order.picking_ids.state, "done", "Amazon has not shipped it yet")

        self.sim.advance_order_status(pending_mfn)  # -> UNSHIPPED
        self.sim.advance_order_status(unshipped_mfn, "CANCELLED")
        self.sim.advance_order_status(unshipped_fba)  # -> SHIPPED by Amazon
        self.make_ready()
        self.poll()

        self.assertAllJobsDone()
        self.assertEqual(self.sale_order(pending_mfn).state, "sale", "Unshipped confirms, awaiting our shipment")
        self.assertEqual(self.sale_order(unshipped_mfn).state, "cancel")
        self.assertEqual(fba_order.picking_ids.state, "done", "FBA shipped: delivered from the FBA warehouse")
        self.assertEqual(fba_order.picking_ids.location_id.warehouse_id, self.fba_warehouse)
        self.assertTrue(all(line.qty_delivered == line.product_uom_qty
                            for line in fba_order.order_line if line.product_id.is_storable))
        for order_id in (pending_mfn, unshipped_mfn, unshipped_fba):
            self.assertEqual(self.env["sale.order"].search_count([("client_order_ref", "=", order_id)]), 1)
        results = [json.loads(j.result) for j in self.jobs("amazon.order.import") if j.result]
        self.assertIn({"order": unshipped_fba, "outcome": "delivered"},
                      [{k: r.get(k) for k in ("order", "outcome")} for r in results])

    def test_older_version_of_an_order_does_not_overwrite_a_newer_one(self):
        self.sim.generate_orders(40)
        order_id = self.stored(lambda o: status_of(o) == "UNSHIPPED" and not by_amazon(o))[0]
        old_version = self.sim.order(order_id)
        self.sim.advance_order_status(order_id, "CANCELLED")
        self.make_ready()
        self.backend.amazon_import_statuses = "UNSHIPPED,PARTIALLY_SHIPPED,SHIPPED,CANCELLED"
        self.poll()
        self.assertEqual(self.sale_order(order_id).state, "cancel", "a cancelled order can be imported cancelled")
        stale = self.Job.enqueue(self.backend, "amazon.order.import", payload=old_version, idempotency_key="replay")
        self.run_jobs()
        self.assertEqual(stale.state, "done")
        self.assertIn("stale", stale.result)
        self.assertEqual(self.sale_order(order_id).state, "cancel")


class TestAmazonOrderContent(AmazonCase):

    def test_gift_wrap_promotions_offers_and_order_type(self):
        self.sim.generate_orders(150)
        imported = self.stored(lambda o: status_of(o) in ("UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"))
        self.poll()
        self.assertAllJobsDone()
        gift = next(i for i in imported if breakdown(self.sim.order(i), "GIFT_WRAP"))
        promoted = next(i for i in imported if breakdown(self.sim.order(i), "DISCOUNT"))
        gift_order = self.sale_order(gift)
        gift_line = gift_order.order_line.filtered(
            lambda l: l.product_id == self.env.ref("commerce_connector.product_commerce_gift_wrap"))
        self.assertEqual(sum(gift_line.mapped("price_subtotal")), float(breakdown(self.sim.order(gift), "GIFT_WRAP")))
        messages = [i["fulfillment"]["packing"]["giftOption"]["giftMessage"] for i in self.sim.order(gift)["orderItems"]
                    if i["fulfillment"].get("packing")]
        self.assertEqual(sorted(filter(None, gift_order.order_line.mapped("amazon_gift_message"))), sorted(messages))
        promo_order = self.sale_order(promoted)
        promo_lines = promo_order.order_line.filtered(lambda l: l.name.startswith("Promotion PLM-"))
        self.assertEqual(sum(promo_lines.mapped("price_subtotal")),
                         float(breakdown(self.sim.order(promoted), "DISCOUNT")))
        item_ids = {i["orderItemId"] for i in self.sim.order(promoted)["orderItems"]}
        self.assertEqual(set(filter(None, promo_order.order_line.mapped("amazon_order_item_id"))), item_ids)
        shipping = sum(promo_order.order_line.filtered("is_delivery").mapped("price_subtotal"))
        self.assertEqual(shipping, float(breakdown(self.sim.order(promoted), "SHIPPING")))

        for order_id in imported:
            remote, sale_order = self.sim.order(order_id), self.sale_order(order_id)
            expected = "business" if "AMAZON_BUSINESS" in remote["programs"] or remote["buyer"].get(
                "buyerCompanyName") else "prime" if "PRIME" in remote["programs"] else "standard"
            self.assertEqual(sale_order.amazon_order_type, expected, order_id)
        offers = self.env["commerce.amazon.offer"].search([("backend_id", "=", self.backend.id)])
        skus = {i["product"]["sellerSku"]: i["product"]["asin"] for o in imported
                for i in self.sim.order(o)["orderItems"]}
        self.assertEqual({o.seller_sku: o.asin for o in offers}, skus, "one offer per SKU sold, with its ASIN")
        self.assertEqual(offers.marketplace_id, self.marketplace_us)

    def test_offer_maps_a_seller_sku_to_another_internal_reference(self):
        self.sim.generate_orders(40)
        order_id = self.stored(lambda o: status_of(o) == "UNSHIPPED" and len(o["orderItems"]) == 1)[0]
        sku = self.sim.order(order_id)["orderItems"][0]["product"]["sellerSku"]
        renamed = self.env["product.product"].create({"name": "Renamed", "default_code": "INTERNAL-1",
                                                      "type": "consu", "taxes_id": [(5, 0, 0)]})
        self.env["commerce.amazon.offer"].create({"backend_id": self.backend.id, "seller_sku": sku,
                                                  "marketplace_id": self.marketplace_us.id,
                                                  "product_id": renamed.id, "fnsku": "X00ABCDEF1"})
        self.poll()
        self.assertEqual(self.sale_order(order_id).order_line.filtered(
            lambda l: l.amazon_order_item_id).product_id, renamed)

    def test_seller_collected_vat_with_marketplace_pricelist_and_team_matches_amazon_to_the_cent(self):
        gbp_list = self.env["product.pricelist"].create(
            {"name": "Amazon UK", "currency_id": self.env.ref("base.GBP").id})
        team = self.env["crm.team"].create({"name": "Amazon UK"})
        vat = self.env["account.tax"].create({"name": "UK VAT 20%", "amount": 20, "amount_type": "percent",
                                              "type_tax_use": "sale"})
        self.backend.write({
            "amazon_marketplace_ids": [(6, 0, self.marketplace_uk.ids)],
            "amazon_marketplace_setting_ids": [(0, 0, {"marketplace_id": self.marketplace_uk.id,
                                                       "pricelist_id": gbp_list.id, "team_id": team.id})],
            "tax_rule_ids": [(0, 0, {"name": "UK", "country_id": self.env.ref("base.uk").id,
                                     "tax_ids": [(6, 0, vat.ids)], "apply_to_shipping": True})],
        })
        self.sim.generate_orders(40, marketplace_id=UK)
        self.poll()
        self.assertAllJobsDone()
        imported = self.stored(lambda o: status_of(o) in ("UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"))
        self.assertTrue(len(imported) > 10)
        for order_id in imported:
            remote, sale_order = self.sim.order(order_id), self.sale_order(order_id)
            self.assertEqual((sale_order.pricelist_id, sale_order.team_id, sale_order.currency_id.name),
                             (gbp_list, team, "GBP"))
            self.assertFalse(float_compare(sale_order.amount_total, self.expected_total(remote), precision_digits=2))
            self.assertEqual(round(sale_order.amount_total, 2), float(remote["proceeds"]["grandTotal"]["amount"]))
            rounding = sale_order.order_line.filtered(lambda l: l.name == "Tax rounding difference")
            self.assertLessEqual(abs(sum(rounding.mapped("price_unit"))), 0.05, "rounding only, never a real gap")

    def test_wrong_tax_setup_is_refused_not_rounded(self):
        vat = self.env["account.tax"].create({"name": "Wrong 10%", "amount": 10, "amount_type": "percent",
                                              "type_tax_use": "sale"})
        self.backend.write({
            "amazon_marketplace_ids": [(6, 0, self.marketplace_uk.ids)],
            "tax_rule_ids": [(0, 0, {"name": "UK", "country_id": self.env.ref("base.uk").id,
                                     "tax_ids": [(6, 0, vat.ids)], "apply_to_shipping": True})],
        })
        self.env["product.pricelist"].create({"name": "GBP", "currency_id": self.env.ref("base.GBP").id})
        self.sim.generate_orders(20, marketplace_id=UK)
        order_id = self.stored(lambda o: status_of(o) == "SHIPPED")[0]
        self.poll()
        job = self.jobs("amazon.order.import").filtered(lambda j: order_id in j.idempotency_key)
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertIn("the channel says", job.error_message)
        self.assertFalse(self.sale_order(order_id))

    def test_personal_data_through_a_restricted_data_token_only_when_allowed(self):
        self.backend.amazon_fetch_pii = True
        self.sim.generate_orders(40)
        order_id = self.stored(lambda o: status_of(o) == "UNSHIPPED" and not by_amazon(o))[0]
        self.backend.amazon_import_statuses = "UNSHIPPED"
        remote = self.sim.order(order_id)
        self.poll()
        self.assertAllJobsDone()
        sale_order = self.sale_order(order_id)
        address = remote["recipient"]["deliveryAddress"]
        shipping = sale_order.partner_shipping_id
        self.assertEqual((shipping.street, shipping.zip, shipping.country_id.code),
                         (address["addressLine1"], address["postalCode"], "US"))
        self.assertEqual(shipping.state_id.code, address["stateOrRegion"])
        self.assertEqual(shipping.phone, " ".join(address["phone"].split()))
        buyer = remote["buyer"]
        self.assertEqual(sale_order.partner_id.name, buyer.get("buyerCompanyName") or buyer["buyerName"])
        self.assertEqual(sale_order.partner_id.email, buyer["buyerEmail"], "Amazon's relay address is kept")
        rdt_calls = self.sim.recorder.calls(operation="createRestrictedDataToken")
        self.assertTrue(rdt_calls)
        [rdt] = [t.value for t in self.sim.issued_tokens("restricted")
                 if any(p.fullmatch(f"/orders/2026-01-01/orders/{order_id}") for _m, p in t.resources)]
        reads = [c for c in self.sim.recorder.calls(operation="getOrder") if c.path.endswith(order_id)]
        self.assertEqual([c.headers["x-amz-access-token"] for c in reads], [rdt])
        for job in self.jobs("amazon.order.import"):
            self.assertFalse(any(key in job.payload for key in PII_KEYS))
        # The same relay address on a later order finds the same customer.
        customer = mapper.order_from_amazon(self.sim.order(order_id), personal_data=True).customer
        again = self.env["commerce.partner.importer"].import_customer(self.backend, customer, update_existing=False)
        self.assertEqual(again, sale_order.partner_id)


class TestAmazonFailures(AmazonCase):

    def test_unknown_sku_is_a_business_failure_naming_it_and_creates_nothing(self):
        self.sim.generate_orders(30)
        order_id = self.stored(lambda o: status_of(o) == "UNSHIPPED")[0]
        items = self.sim.order(order_id)["orderItems"]
        items[0]["product"]["sellerSku"] = "CC-NOT-IN-ODOO"
        self.sim.update_order(order_id, {"orderItems": items})
        self.make_ready()
        self.poll()
        [job] = self.jobs("amazon.order.import").filtered(lambda j: j.idempotency_key.startswith(order_id))
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertIn("CC-NOT-IN-ODOO", job.error_message)
        self.assertFalse(self.sale_order(order_id))

        partners_before = self.env["res.partner"].search_count([])
        job.action_retry()
        self.run_jobs()
        self.assertEqual(job.state, "failed")
        self.assertEqual(self.env["res.partner"].search_count([]), partners_before, "no customer, no address")
        self.assertFalse(self.env["sale.order"].search([("client_order_ref", "=", order_id)]))
        self.assertFalse(self.env["commerce.amazon.offer"].search([("seller_sku", "=", "CC-NOT-IN-ODOO")]))

        self.env["product.product"].create({"name": "New mug", "default_code": "CC-NOT-IN-ODOO", "type": "consu"})
        job.action_retry()
        self.run_jobs()
        self.assertEqual(job.state, "done", job.error_message)
        self.assertTrue(self.env["commerce.amazon.offer"].search([("seller_sku", "=", "CC-NOT-IN-ODOO")]))

    def test_bad_payloads_are_validation_failures(self):
        self.sim.generate_orders(5)
        good = self.sim.order(self.sim.order_ids()[0])
        no_sku = json.loads(json.dumps(good))
        no_sku["fulfillment"]["fulfillmentStatus"] = "UNSHIPPED"
        del no_sku["orderItems"][0]["product"]["sellerSku"]
        bad_money = json.loads(json.dumps(no_sku))
        bad_money["orderItems"][0]["product"]["sellerSku"] = CATALOG[0][0]
        bad_money["orderItems"][0]["product"]["price"]["unitPrice"]["amount"] = "twelve"
        jobs = [self.Job.enqueue(self.backend, "amazon.order.import", payload=payload, idempotency_key=key)
                for key, payload in (("not-json", "{oops"), ("no-sku", no_sku), ("bad-money", bad_money),
                                     ("no-status", {"orderId": "1", "lastUpdatedTime": good["lastUpdatedTime"]}))]
        self.run_jobs()
        self.assertEqual([(j.state, j.error_kind) for j in jobs], [("failed", "validation")] * 4)
        self.assertIn("not valid JSON", jobs[0].error_message)
        self.assertIn("order.orderItems[0].product.sellerSku", jobs[1].error_message)
        self.assertIn("'twelve' is not a number", jobs[2].error_message)
        self.assertIn("fulfillmentStatus", jobs[3].error_message)

    def test_html_error_page_is_retried_in_call_then_left_to_the_engine(self):
        self.sim.generate_orders(3)
        self.sim.fail_next(Fault.SERVER_ERROR_HTML, "searchOrders")
        self.poll()
        self.assertAllJobsDone()
        self.assertEqual([c.status for c in self.sim.recorder.calls(operation="searchOrders")], [500, 200])

        self.sim.generate_orders(2)
        self.sim.fail_next(Fault.UNAVAILABLE_HTML, "searchOrders", count=10)
        self.poll()
        [poll] = self.jobs("amazon.orders.poll").filtered(lambda j: j.state != "done")
        self.assertEqual((poll.state, poll.error_kind), ("pending", "transient"))
        self.assertIn("without 'orders'", poll.error_message)
        self.assertTrue(poll.eta)

    def test_expired_token_is_renewed_once_and_a_revoked_grant_suspends_the_backend(self):
        self.sim.generate_orders(3)
        self.poll()
        self.sim.expire_all_access_tokens()
        self.sim.generate_orders(2)
        self.make_ready()
        self.poll()
        self.assertAllJobsDone()
        self.assertEqual(len(self.sim.recorder.calls(operation="lwaToken")), 2, "a fresh exchange after the 403")
        self.assertEqual([c.status for c in self.sim.recorder.calls(operation="searchOrders")], [200, 403, 200])

        self.sim.faults = SpApiFaultConfig(rate_expired_token=1.0)
        self.poll()
        self.assertEqual(self.backend.state, "auth_failed", "403 again after re-authenticating")
        self.assertNotIn(self.sim.refresh_token, self.backend.state_message)

        self.sim.faults = SpApiFaultConfig()
        self.backend.amazon_refresh_token = "Atzr|revoked"
        notification = self.backend.action_test_connection()
        self.assertEqual(notification["params"]["type"], "danger")
        self.assertIn("invalid_grant", notification["params"]["message"])
        self.assertEqual(self.backend.state, "auth_failed", "kept: the failure is not rolled back")

    def test_test_connection_exchanges_a_token_whatever_the_environment_says(self):
        os.environ["SP_API_DEFAULT_MARKETPLACE"] = "UK"  # would replace our marketplace in the library
        self.backend.action_test_connection()
        self.assertEqual(self.backend.state, "connected")
        self.assertEqual(len(self.sim.recorder.calls(operation="lwaToken")), 1)
        [search] = self.sim.recorder.calls(operation="searchOrders")
        self.assertEqual(search.query["marketplaceIds"], [US])
        self.assertEqual(search.headers["host"], f"127.0.0.1:{self.sim.port}")
        self.backend.action_test_connection()
        self.assertEqual(len(self.sim.recorder.calls(operation="lwaToken")), 2, "never the cached token")


class TestAmazonThrottling(AmazonCase):
    simulator_options = {"rate_plans": {"searchOrders": (0.1, 2)}}  # 2 calls, then one per 10 s

    def test_throttled_poll_stores_its_place_and_resumes_there(self):
        self.env["ir.config_parameter"].set_param("commerce_connector.amazon_search_page_size", 5)
        self.sim.generate_orders(20)  # four pages; the third one is throttled

        self.poll()

        first, follow_up = self.jobs("amazon.orders.poll")
        self.assertEqual(first.state, "done")
        result = json.loads(first.result)
        self.assertEqual((result["pages"], result["orders"]), (2, 10))
        self.assertEqual(follow_up.state, "pending")
        self.assertTrue(follow_up.eta)
        settings = self.backend.amazon_marketplace_setting_ids
        self.assertTrue(settings.resume_pagination_token)
        self.assertFalse(self.backend.watermark_ids, "the watermark waits for the last page")
        self.assertEqual(len(self.jobs("amazon.order.import")), 10, "the pages read are kept")
        throttled = self.sim.recorder.calls(operation="searchOrders")[-1]
        self.assertEqual(throttled.status, 429)

        self.assertGreaterEqual(follow_up.eta, first.date_done + timedelta(seconds=9), "Amazon's 0.1/s")
        # Half a minute passes, at Amazon and for our own bucket (it learnt the 0.1/s rate from the 429).
        self.sim.advance_clock(30)
        amazon_client.reset_rate_limits()
        follow_up.eta = False
        self.run_jobs()

        self.assertAllJobsDone()
        resumed = self.sim.recorder.calls(operation="searchOrders")[-2]
        self.assertEqual(resumed.query["paginationToken"], [throttled.query["paginationToken"][0]])
        self.assertEqual(len(self.jobs("amazon.order.import")), 20)
        self.assertFalse(settings.resume_pagination_token)
        self.assertTrue(self.backend.watermark_ids.value)

    def test_short_throttle_is_waited_out_in_call(self):
        self.sim.set_rate_plan("searchOrders", 20, 20)  # a 429 here means 50 ms: within http_wait_max
        self.sim.generate_orders(10)
        self.sim.fail_next(Fault.THROTTLED, "searchOrders")
        self.poll()
        self.assertAllJobsDone()
        self.assertEqual([c.status for c in self.sim.recorder.calls(operation="searchOrders")], [429, 200])
        self.assertEqual(len(self.jobs("amazon.orders.poll")), 1, "no follow-up job was needed")
        self.assertEqual(len(self.jobs("amazon.order.import")), 10)
