from odoo.tests import tagged

from .test_clarity_orders import ClarityCase, sample


@tagged("post_install", "-at_install")
class TestMappings(ClarityCase):
    def _field(self, model, name):
        return self.env["ir.model.fields"]._get(model, name)

    def test_field_and_value_maps_drive_the_order(self):
        team = self.env["crm.team"].create({"name": "B2B-Web"})
        term = self.env.ref("account.account_payment_term_30days")
        ups = self.env["delivery.carrier"].create({
            "name": "UPS", "product_id": self.env.ref("commerce_connector.product_commerce_shipping").id})
        self.backend.write({
            "value_map_ids": [
                (0, 0, {"kind": "payment_method", "external_value": "CreditCard",
                        "odoo_record": f"account.payment.term,{term.id}"}),
                (0, 0, {"kind": "carrier", "external_value": "ups", "odoo_record": f"delivery.carrier,{ups.id}"}),
            ],
            "field_mapping_ids": [
                (0, 0, {"model_name": "sale.order", "external_path": "SerializableAttributes.SalesChannel.Value",
                        "field_id": self._field("sale.order", "team_id").id}),
                (0, 0, {"model_name": "sale.order", "external_path": "BillingContact.FirstName + BillingContact.LastName",
                        "field_id": self._field("sale.order", "note").id}),
            ],
        })
        self.post_event("order.created", sample("clarity_order.json"))
        self.run_jobs()
        job = self.jobs()
        self.assertEqual(job.state, "done", job.error_message)
        order = self.env["sale.order"].browse(job.res_id)
        self.assertEqual(order.team_id, team, "1:1 path -> many2one by name")
        self.assertIn("Jane Doe", str(order.note), "many:1 combination")
        self.assertEqual(order.payment_term_id, term, "payment method through the value map")
        self.assertEqual(order.carrier_id, ups, "carrier through the value map (case-insensitive)")
        self.assertEqual(order.order_line.filtered("is_delivery").product_id, ups.product_id)

    def test_unmapped_many2one_value_is_a_business_failure(self):
        self.backend.field_mapping_ids = [(0, 0, {
            "model_name": "sale.order", "external_path": "SerializableAttributes.SalesChannel.Value",
            "field_id": self._field("sale.order", "team_id").id})]
        self.post_event("order.created", sample("clarity_order.json"))
        self.run_jobs()
        job = self.jobs()
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertIn("B2B-Web", job.error_message)

    def test_required_mapping_missing_is_a_validation_failure(self):
        self.backend.field_mapping_ids = [(0, 0, {
            "model_name": "sale.order", "external_path": "SerializableAttributes.Region.Value", "required": True,
            "field_id": self._field("sale.order", "note").id})]
        self.post_event("order.created", sample("clarity_order.json"))
        self.run_jobs()
        self.assertEqual((self.jobs().state, self.jobs().error_kind), ("failed", "validation"))

    def test_one_path_to_many_fields_on_the_customer(self):
        self.backend.field_mapping_ids = [
            (0, 0, {"model_name": "res.partner", "external_path": "Account.CustomKey",
                    "field_id": self._field("res.partner", "ref").id}),
            (0, 0, {"model_name": "res.partner", "external_path": "Account.CustomKey",
                    "field_id": self._field("res.partner", "comment").id}),
        ]
        self.post_event("customer.created", sample("clarity_customer.json"))
        self.run_jobs()
        partner = self.env["commerce.binding"].lookup(self.backend, "res.partner", "ACME-001")
        self.assertEqual(partner.ref, "ACME-001")
        self.assertIn("ACME-001", str(partner.comment))
