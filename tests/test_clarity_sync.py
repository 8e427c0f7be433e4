from odoo.tests import tagged
from odoo.tools import float_compare

from ..channels.clarity import mapper
from .test_clarity_orders import ClarityCase, sample

STATE_RATES = {"TX": 8.25, "CO": 8.81, "IL": 10.25, "NC": 7.25}


@tagged("post_install", "-at_install")
class TestClaritySync(ClarityCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        us = cls.env.ref("base.us")
        rules = [(5, 0, 0), (0, 0, {"name": "Tax-exempt", "taxable": "exempt", "sequence": 1})]
        for code, rate in STATE_RATES.items():
            state = cls.env["res.country.state"].search([("country_id", "=", us.id), ("code", "=", code)])
            tax = cls.env["account.tax"].create(
                {"name": f"{code} {rate}%", "amount": rate, "amount_type": "percent", "type_tax_use": "sale"})
            rules.append((0, 0, {"name": code, "country_id": us.id, "state_ids": [(6, 0, state.ids)],
                                 "tax_ids": [(6, 0, tax.ids)]}))
        cls.backend.tax_rule_ids = rules

    def test_poll_imports_catalogue_customers_and_orders_once(self):
        self.simulator.seed_demo_data(orders=12, products=4, customers=3, seed=7)
        self.env["commerce.backend"]._cron_clarity_poll()
        self.run_jobs()
        failed = self.jobs().filtered(lambda j: j.state != "done")
        self.assertFalse(failed, [(j.job_type, j.error_message) for j in failed])
        Binding = self.env["commerce.binding"]
        for remote in self.simulator.orders.values():
            order = Binding.lookup(self.backend, "sale.order", str(remote["ID"]))
            self.assertTrue(order, remote["ID"])
            self.assertFalse(float_compare(order.amount_total, remote["Totals"]["Total"], precision_digits=2),
                             f"{order.name}: {order.amount_total} != {remote['Totals']['Total']}")
            self.assertEqual(order.state, "draft" if remote["StatusKey"] == "Pending" else "sale")
        self.assertEqual(len(self.jobs().filtered(lambda j: j.job_type == "clarity.order.import")),
                         len(self.simulator.orders))
        marks = self.backend.watermark_ids
        self.assertEqual(set(marks.mapped("flow")), {"clarity.orders", "clarity.customers", "clarity.products"})
        # a second poll re-reads the overlap but queues nothing twice
        jobs_before = len(self.jobs())
        self.env["commerce.backend"]._cron_clarity_poll()
        self.run_jobs()
        self.assertEqual(len(self.jobs()) - jobs_before, 1, "only the poll job itself")
        modified_since = self.simulator.recorder.calls(path_prefix="/api/v1/orders")[-1].query.get("ModifiedSince")
        self.assertTrue(modified_since, "the second poll reads from the watermark")

    def test_poll_waits_while_one_is_pending(self):
        self.env["commerce.backend"]._cron_clarity_poll()
        self.env["commerce.backend"]._cron_clarity_poll()
        self.assertEqual(len(self.jobs().filtered(lambda j: j.job_type == "clarity.poll")), 1)

    def test_poll_failure_is_transient_and_keeps_the_watermark(self):
        self.simulator.seed_demo_data(orders=3, products=2, customers=1)
        self.simulator.fail_next("503", times=20)
        self.env["commerce.backend"]._cron_clarity_poll()
        self.run_jobs()
        poll = self.jobs().filtered(lambda j: j.job_type == "clarity.poll")
        self.assertEqual((poll.state, poll.error_kind), ("pending", "transient"))
        self.assertFalse(self.backend.watermark_ids)

    def test_customer_event_creates_then_updates_partner(self):
        customer = sample("clarity_customer.json")
        self.post_event("customer.created", customer)
        self.run_jobs()
        partner = self.env["commerce.binding"].lookup(self.backend, "res.partner", "ACME-001")
        self.assertEqual(partner.name, "Acme Corp")
        self.assertEqual(partner.email, "jane@acme.example")
        delivery = partner.child_ids.filtered(lambda p: p.type == "delivery")
        self.assertEqual(delivery.city, "Round Rock")
        customer["Account"]["Name"] = "Acme Corporation"
        self.post_event("customer.updated", customer)
        self.run_jobs()
        self.assertEqual(partner.name, "Acme Corporation")
        self.assertEqual(len(partner.child_ids.filtered(lambda p: p.type == "delivery")), 1, "addresses reused")

    def test_product_event_creates_variants_bound_by_sku(self):
        self.post_event("product.updated", sample("clarity_product.json"))
        self.run_jobs()
        job = self.jobs()
        self.assertEqual(job.state, "done", job.error_message)
        template = self.env["product.template"].browse(job.res_id)
        self.assertEqual(template.name, "Widget 100")
        self.assertEqual(template.list_price, 40.0)
        Binding = self.env["commerce.binding"]
        blue = Binding.lookup(self.backend, "product.product", "WID-100-BLU-M")
        red = Binding.lookup(self.backend, "product.product", "WID-100-RED-L")
        self.assertTrue(blue and red)
        self.assertEqual(blue.product_tmpl_id, template)
        self.assertEqual(sorted(blue.product_template_attribute_value_ids.mapped("name")), ["Blue", "M"])
        self.assertEqual(red.default_code, "WID-100-RED-L")

    def test_product_mapper_reads_variant_attributes(self):
        product = mapper.product_from_clarity(sample("clarity_product.json"))
        self.assertEqual([v.sku for v in product.variants], ["WID-100-BLU-M", "WID-100-RED-L"])
        self.assertEqual(product.variants[1].attributes, {"Color": "Red", "Size": "L"})
        self.assertEqual(product.variants[1].price, 42.0)
