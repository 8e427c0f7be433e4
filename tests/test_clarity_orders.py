import json
import os
import time

from odoo.tests import HttpCase, tagged

from ..channels.clarity.webhook import compute_signature
from ..simulators.clarity import ClaritySimulator
from .common import NO_MAIL

DATA = os.path.join(os.path.dirname(__file__), "data")
WEBHOOK_SECRET = "clarity-webhook-secret"


def sample(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as handle:
        return json.load(handle)


@tagged("post_install", "-at_install")
class ClarityCase(HttpCase):
    """A Clarity backend pointed at a live simulator, with the sample order's catalogue."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, **NO_MAIL))
        cls.simulator = ClaritySimulator(webhook_secret=WEBHOOK_SECRET).start()
        cls.addClassCleanup(cls.simulator.stop)
        cls.texas = cls.env["res.country.state"].search([("country_id.code", "=", "US"), ("code", "=", "TX")])
        cls.tax = cls.env["account.tax"].create({
            "name": "Texas sales tax 8.25%", "amount": 8.25, "amount_type": "percent", "type_tax_use": "sale"})
        cls.backend = cls.env["commerce.backend"].create({
            "name": "Clarity store",
            "channel": "clarity",
            "clarity_base_url": cls.simulator.url,
            "clarity_client_id": "odoo-connector",
            "clarity_client_secret": "clarity-secret",
            "clarity_webhook_secret": WEBHOOK_SECRET,
            "warehouse_id": cls.env["stock.warehouse"].search([("company_id", "=", cls.env.company.id)], limit=1).id,
            "currency_id": cls.env.ref("base.USD").id,
            "tax_rule_ids": [(0, 0, {"name": "Texas", "country_id": cls.env.ref("base.us").id,
                                     "state_ids": [(6, 0, cls.texas.ids)], "tax_ids": [(6, 0, cls.tax.ids)]})],
        })
        cls.env.ref("base.USD").active = True
        cls.env.company.currency_id = cls.env.ref("base.USD")
        cls.products = cls.env["product.product"].create([
            {"name": "Widget 100 Blue/M", "default_code": "WID-100-BLU-M", "type": "consu", "is_storable": True, "list_price": 40},
            {"name": "USB cable 2 m", "default_code": "CAB-USB-2M", "type": "consu", "is_storable": True, "list_price": 12.5},
        ])
        cls.Job = cls.env["commerce.job"]
        # keep in-call retries short: the job engine's own retries are what the tests look at
        for key, value in (("http_max_attempts", 3), ("http_wait_min", 0.01), ("http_wait_max", 0.05)):
            cls.env["ir.config_parameter"].set_param(f"commerce_connector.{key}", value)

    def setUp(self):
        super().setUp()
        self.simulator.reset()

    def webhook_url(self):
        return f"{self.base_url()}/commerce_connector/clarity/{self.backend.id}/webhook"

    def post_event(self, event, data, event_id=None):
        return self.simulator.send_webhook(self.webhook_url(), event, data, event_id=event_id)

    def run_jobs(self):
        return self.Job._run_jobs(time_budget=60)

    def jobs(self):
        return self.Job.search([("backend_id", "=", self.backend.id)], order="id")


class TestClarityWebhook(ClarityCase):
    def test_signed_event_is_stored_raw_and_acknowledged(self):
        status, body = self.post_event("order.created", sample("clarity_order.json"))
        self.assertEqual(status, 200, body)
        job = self.jobs()
        self.assertEqual(len(job), 1)
        self.assertEqual(job.job_type, "clarity.order.import")
        self.assertEqual(job.state, "pending", "no order work inside the request")
        delivery = self.simulator.sent_webhooks[-1]
        self.assertEqual(job.payload.encode(), delivery.body, "the raw body is kept byte for byte")
        self.assertEqual(job.idempotency_key, delivery.event_id)
        self.assertFalse(self.env["sale.order"].search([("origin", "=", "SO-10452")]))

    def test_duplicate_event_id_gives_200_and_no_second_job(self):
        results = self.simulator.send_duplicates(self.webhook_url(), "order.created", sample("clarity_order.json"), 3)
        self.assertEqual([status for status, _ in results], [200, 200, 200])
        self.assertEqual(len(self.jobs()), 1)
        self.simulator.resend(self.simulator.sent_webhooks[0].event_id)
        self.assertEqual(len(self.jobs()), 1)
        self.assertIn("duplicate", self.simulator.sent_webhooks[-1].response_body)

    def test_forged_and_replayed_requests_are_refused_and_not_stored(self):
        status, _body = self.simulator.send_forged(self.webhook_url(), "order.created", sample("clarity_order.json"))
        self.assertEqual(status, 401)
        status, _body = self.simulator.send_stale(self.webhook_url(), "order.created", sample("clarity_order.json"))
        self.assertEqual(status, 401)
        raw = json.dumps({"Id": "x", "Event": "order.created", "Data": {}}).encode()
        response = self.url_open(self.webhook_url(), data=raw, headers={
            "X-Clarity-Event-Id": "no-signature", "X-Clarity-Event": "order.created",
            "X-Clarity-Timestamp": str(int(time.time()))})
        self.assertEqual(response.status_code, 401)
        self.assertFalse(self.jobs())

    def test_body_over_one_mib_is_refused(self):
        raw = b'{"Data": "' + b"x" * (1024 * 1024) + b'"}'
        timestamp = str(int(time.time()))
        response = self.url_open(self.webhook_url(), data=raw, headers={
            "X-Clarity-Event-Id": "huge", "X-Clarity-Event": "order.created", "X-Clarity-Timestamp": timestamp,
            "X-Clarity-Signature": "v1=" + compute_signature(WEBHOOK_SECRET, timestamp, raw)})
        self.assertEqual(response.status_code, 413)
        self.assertFalse(self.jobs())

    def test_unknown_backend_or_channel(self):
        url = f"{self.base_url()}/commerce_connector/clarity/999999/webhook"
        status, _body = self.simulator.send_webhook(url, "order.created", {"ID": 1})
        self.assertEqual(status, 404)

    def test_signed_but_malformed_body_becomes_a_validation_job(self):
        raw = b'{"Id": "evt-1", "Event": "order.created", "Data": {"ID": 1, "SalesItems": "oops"'
        timestamp = str(int(time.time()))
        response = self.url_open(self.webhook_url(), data=raw, headers={
            "X-Clarity-Event-Id": "evt-malformed", "X-Clarity-Event": "order.created",
            "X-Clarity-Timestamp": timestamp,
            "X-Clarity-Signature": "v1=" + compute_signature(WEBHOOK_SECRET, timestamp, raw)})
        self.assertEqual(response.status_code, 200)
        self.run_jobs()
        job = self.jobs()
        self.assertEqual((job.state, job.error_kind), ("failed", "validation"))
        self.assertIn("not valid JSON", job.error_message)
        self.assertEqual(job.payload.encode(), raw)

    def test_unknown_event_is_kept_as_validation_failure(self):
        status, _body = self.post_event("order.teleported", {"ID": 1})
        self.assertEqual(status, 200)
        self.run_jobs()
        job = self.jobs()
        self.assertEqual((job.job_type, job.state, job.error_kind), ("clarity.event.unknown", "failed", "validation"))


class TestClarityConnection(ClarityCase):
    def test_connection_ok_then_rejected_secret(self):
        notification = self.backend.action_test_connection()
        self.assertEqual((notification["params"]["type"], self.backend.state), ("success", "connected"))
        self.assertTrue(self.simulator.recorder.calls(path_prefix="/oauth/token"))
        self.backend.clarity_client_secret = "wrong-secret"
        notification = self.backend.action_test_connection()
        self.assertEqual(notification["params"]["type"], "danger")
        self.assertEqual(self.backend.state, "auth_failed")
        self.assertTrue(self.backend.activity_ids, "the managers are alerted")
        self.assertNotIn("wrong-secret", notification["params"]["message"] + (self.backend.state_message or ""))


class TestClarityOrderImport(ClarityCase):
    def test_order_created_end_to_end(self):
        self.post_event("order.created", sample("clarity_order.json"))
        self.run_jobs()
        job = self.jobs()
        self.assertEqual(job.state, "done", job.error_message)
        order = self.env["sale.order"].browse(job.res_id)
        self.assertEqual(job.res_model, "sale.order")
        self.assertEqual(order.state, "sale", "status Confirmed confirms the order")
        self.assertEqual(order.client_order_ref, "PO-7781")
        self.assertEqual(order.origin, "SO-10452")
        self.assertAlmostEqual(order.amount_total, 96.42, places=2)
        self.assertAlmostEqual(order.amount_tax, 6.97, places=2)
        product_lines = order.order_line.filtered(lambda l: l.product_id in self.products)
        self.assertEqual(product_lines.mapped("product_uom_qty"), [2.0, 1.0])
        self.assertEqual(product_lines.mapped("price_unit"), [36.0, 12.5])
        self.assertEqual(product_lines.tax_id, self.tax)
        delivery = order.order_line.filtered("is_delivery")
        self.assertEqual((delivery.price_unit, delivery.name), (9.95, "UPS Ground"))
        discount = order.order_line.filtered(lambda l: l.product_id == self.env.ref("commerce_connector.product_commerce_discount"))
        self.assertEqual(discount.price_unit, -5.0)
        partner = order.partner_id
        self.assertEqual(partner.name, "Acme Corp")
        self.assertEqual(order.partner_invoice_id.parent_id, partner)
        self.assertEqual(order.partner_invoice_id.street, "100 Congress Ave")
        shipping = order.partner_shipping_id
        self.assertEqual((shipping.type, shipping.city, shipping.state_id), ("delivery", "Round Rock", self.texas))
        self.assertEqual(shipping.name, "Receiving Dock 3")
        Binding = self.env["commerce.binding"]
        self.assertEqual(Binding.lookup(self.backend, "sale.order", "10452"), order)
        self.assertEqual(Binding.lookup(self.backend, "res.partner", "ACME-001"), partner)

    def test_same_order_twice_is_one_sale_order(self):
        data = sample("clarity_order.json")
        self.post_event("order.created", data)
        self.post_event("order.created", data)  # a new event id: e.g. from the poller
        self.run_jobs()
        self.assertEqual(set(self.jobs().mapped("state")), {"done"})
        self.assertEqual(self.env["sale.order"].search_count([("origin", "=", "SO-10452")]), 1)

    def test_unknown_sku_is_a_business_failure_with_nothing_created(self):
        data = sample("clarity_order.json")
        data["SalesItems"][1]["Sku"] = "NOPE-404"
        partners_before = self.env["res.partner"].search_count([])
        self.post_event("order.created", data)
        self.run_jobs()
        job = self.jobs()
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertIn("NOPE-404", job.error_message)
        self.assertFalse(self.env["sale.order"].search([("origin", "=", "SO-10452")]))
        self.assertEqual(self.env["res.partner"].search_count([]), partners_before, "no partner half-created")
        # mapping the SKU, then retrying, imports the order
        self.products[1].default_code = "NOPE-404"
        job.action_retry()
        self.run_jobs()
        self.assertEqual(job.state, "done", job.error_message)

    def test_total_mismatch_goes_to_review_with_the_difference(self):
        self.backend.tax_rule_ids.unlink()
        self.products.write({"taxes_id": [(5, 0, 0)]})
        self.post_event("order.created", sample("clarity_order.json"))
        self.run_jobs()
        job = self.jobs()
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertIn("89.45", job.error_message)
        self.assertIn("96.42", job.error_message)
        self.assertIn("-6.97", job.error_message)
        self.assertFalse(self.env["sale.order"].search([("origin", "=", "SO-10452")]))

    def test_bad_payloads_name_the_field(self):
        cases = {
            "missing items": ({k: v for k, v in sample("clarity_order.json").items() if k != "SalesItems"},
                              "Data.SalesItems: required"),
            "negative quantity": (dict(sample("clarity_order.json"), SalesItems=[
                dict(sample("clarity_order.json")["SalesItems"][0], Quantity=-1)]), "Quantity: must be positive"),
            "wrong type": (dict(sample("clarity_order.json"), Totals={"Total": "lots"}), "Data.Totals.Total"),
            "unknown country": (dict(sample("clarity_order.json"), BillingContact={
                "FirstName": "X", "Address": {"Street1": "1 Main", "CountryCode": "ZZ"}}), "unknown country code 'ZZ'"),
        }
        for index, (label, (data, expected)) in enumerate(cases.items()):
            self.post_event("order.created", data, event_id=f"bad-{index}")
        self.run_jobs()
        jobs = self.jobs()
        self.assertEqual(len(jobs), len(cases))
        for job, (label, (_data, expected)) in zip(jobs, cases.items()):
            self.assertEqual((job.state, job.error_kind), ("failed", "validation"), label)
            self.assertIn(expected, job.error_message, label)
        self.assertFalse(self.env["sale.order"].search([("origin", "=", "SO-10452")]))

    def test_pending_order_stays_a_quotation_then_confirmed_by_update(self):
        data = dict(sample("clarity_order.json"), StatusKey="Pending", UpdatedDate="2025-03-04T15:00:00Z")
        self.post_event("order.created", data)
        self.run_jobs()
        order = self.env["sale.order"].search([("origin", "=", "SO-10452")])
        self.assertEqual(order.state, "draft")
        self.post_event("order.updated", {"ID": 10452, "CustomKey": "SO-10452", "StatusKey": "Confirmed",
                                          "PreviousStatusKey": "Pending", "UpdatedDate": "2025-03-04T16:00:00Z"})
        self.run_jobs()
        self.assertEqual(order.state, "sale")

    def test_older_event_never_overwrites_newer_data(self):
        self.post_event("order.created", sample("clarity_order.json"))  # UpdatedDate 15:21:40
        self.run_jobs()
        order = self.env["sale.order"].search([("origin", "=", "SO-10452")])
        self.post_event("order.cancelled", {"ID": 10452, "StatusKey": "Void", "Reason": "late",
                                            "UpdatedDate": "2025-03-04T10:00:00Z"})
        self.run_jobs()
        self.assertEqual(self.jobs()[-1].state, "done")
        self.assertIn("stale", self.jobs()[-1].result)
        self.assertEqual(order.state, "sale", "an older cancel does not cancel a newer order")
        self.post_event("order.cancelled", {"ID": 10452, "StatusKey": "Void", "Reason": "customer",
                                            "UpdatedDate": "2025-03-05T10:00:00Z"})
        self.run_jobs()
        self.assertEqual(order.state, "cancel")

    def test_update_before_create_reads_the_order_from_clarity(self):
        self.simulator.add_order(sample("clarity_order.json"))
        self.post_event("order.updated", {"ID": 10452, "CustomKey": "SO-10452", "StatusKey": "Confirmed",
                                          "PreviousStatusKey": "Pending", "UpdatedDate": "2025-03-04T15:21:40Z"})
        self.run_jobs()
        job = self.jobs()
        self.assertEqual(job.state, "done", job.error_message)
        self.assertTrue(self.simulator.recorder.calls(path_prefix="/api/v1/orders/10452", method="GET"))
        order = self.env["sale.order"].browse(job.res_id)
        self.assertAlmostEqual(order.amount_total, 96.42, places=2)


class TestClarityCurrency(ClarityCase):
    def test_order_in_another_currency_uses_that_currency_pricelist(self):
        eur = self.env.ref("base.EUR")
        eur.active = True
        self.env["res.currency.rate"].create({"currency_id": eur.id, "rate": 0.9, "name": "2025-01-01"})
        data = dict(sample("clarity_order.json"), CurrencyKey="EUR")
        self.post_event("order.created", data)
        self.run_jobs()
        job = self.jobs()
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertIn("no pricelist in EUR", job.error_message)
        pricelist = self.env["product.pricelist"].create({"name": "Euro store", "currency_id": eur.id})
        job.action_retry()
        self.run_jobs()
        self.assertEqual(job.state, "done", job.error_message)
        order = self.env["sale.order"].browse(job.res_id)
        self.assertEqual((order.currency_id, order.pricelist_id), (eur, pricelist))
        self.assertAlmostEqual(order.amount_total, 96.42, places=2, msg="amounts stay in the order's currency")

        # the company currency value follows the rate (96.42 EUR at 0.9 EUR per USD)
        self.assertAlmostEqual(order.currency_id._convert(order.amount_total, self.env.company.currency_id,
                                                          self.env.company, order.date_order), 107.13, places=2)

    def test_unknown_currency_is_a_validation_failure(self):
        self.post_event("order.created", dict(sample("clarity_order.json"), CurrencyKey="XYZ"))
        self.run_jobs()
        self.assertEqual((self.jobs().state, self.jobs().error_kind), ("failed", "validation"))
        self.assertIn("XYZ", self.jobs().error_message)
