import base64
import json

from odoo.tests import tagged

from .common import CommerceCase


@tagged("post_install", "-at_install")
class TestMappingTemplates(CommerceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.target = cls.env["commerce.backend"].create({"name": "Second store", "channel": "clarity",
                                                         "clarity_base_url": "http://127.0.0.1:9"})
        cls.amazon = cls.env["commerce.backend"].create({"name": "Amazon EU", "channel": "amazon"})
        cls.immediate = cls.env.ref("account.account_payment_term_immediate")
        cls.thirty = cls.env.ref("account.account_payment_term_30days")
        cls.warehouse = cls.env["stock.warehouse"].create({"name": "Template WH", "code": "TPL"})
        cls.team = cls.env["crm.team"].create({"name": "Template team"})
        cls.tag = cls.env["crm.tag"].create({"name": "template-tag"})
        cls.category = cls.env["product.category"].create({"name": "Template category"})
        cls.product_tag = cls.env["product.tag"].create({"name": "template-product-tag"})
        texas = cls.env["res.country.state"].search([("country_id.code", "=", "US"), ("code", "=", "TX")])
        cls.env["commerce.value.map"].create([
            {"backend_id": cls.backend.id, "kind": "payment_method", "external_value": "CreditCard",
             "odoo_record": f"account.payment.term,{cls.immediate.id}"},
            {"backend_id": cls.backend.id, "kind": "order_status", "external_value": "OnHold", "odoo_value": "hold"},
        ])
        cls.env["commerce.field.mapping"].create({
            "backend_id": cls.backend.id, "model_name": "res.partner", "external_path": "Account.CustomKey",
            "field_id": cls.env["ir.model.fields"]._get("res.partner", "ref").id})
        cls.rule = cls.env["commerce.routing.rule"].create({
            "name": "Texas B2B", "sequence": 7, "backend_ids": [(6, 0, cls.backend.ids)], "channel": "clarity",
            "country_ids": [(6, 0, cls.env.ref("base.us").ids)], "state_ids": [(6, 0, texas.ids)],
            "product_category_ids": [(6, 0, cls.category.ids)], "product_tag_ids": [(6, 0, cls.product_tag.ids)],
            "amazon_marketplace_ids": [(6, 0, cls.env.ref("commerce_connector.amazon_marketplace_atvpdkikx0der").ids)],
            "amount_min": 100, "amount_max": 900, "fulfillment_channel": "merchant",
            "mcf_backend_id": cls.amazon.id, "team_id": cls.team.id, "tag_ids": [(6, 0, cls.tag.ids)],
            "hold_for_review": True})
        cls.Template = cls.env["commerce.mapping.template"]

    def export_file(self, backend):
        wizard = self.env["commerce.mapping.template.export"].create({"backend_id": backend.id})
        wizard.action_export()
        self.assertTrue(wizard.filename.endswith(".json"))
        return base64.b64decode(wizard.data)

    def import_wizard(self, backend, raw=None, source="file"):
        values = {"backend_id": backend.id, "source": source}
        if raw is not None:
            values["data"] = base64.b64encode(raw)
        return self.env["commerce.mapping.template.import"].create(values)

    def entries(self, backend):
        template = self.Template.export_backend(backend)
        return {section: template[section] for section in ("value_maps", "field_mappings", "routing_rules")}

    def test_round_trip_between_two_backends(self):
        raw = self.export_file(self.backend)
        template = json.loads(raw)
        self.assertEqual(template["format"], "commerce_connector.mapping_template")
        by_kind = {entry["kind"]: entry for entry in template["value_maps"]}
        self.assertEqual(by_kind["payment_method"]["odoo_record"]["xml_id"], "account.account_payment_term_immediate")
        self.assertEqual(by_kind["order_status"]["odoo_value"], "hold")
        self.assertEqual(template["routing_rules"][0]["states"], ["US-TX"])

        wizard = self.import_wizard(self.target, raw)
        self.assertFalse(wizard.error)
        rows = self.Template.preview(self.target, template)
        self.assertEqual({row["action"] for row in rows}, {"create"})
        self.assertEqual(len(rows), 4)
        self.assertEqual(wizard.change_count, 4)
        self.assertIn("Texas B2B", wizard.preview_html)
        self.assertFalse(self.target.value_map_ids, "a preview changes nothing")

        wizard.action_apply()
        self.assertEqual(self.entries(self.target), self.entries(self.backend))
        copied = self.env["commerce.routing.rule"].search([("backend_ids", "in", self.target.ids)])
        self.assertEqual((copied.warehouse_id, copied.mcf_backend_id, copied.team_id, copied.hold_for_review),
                         (self.rule.warehouse_id, self.amazon, self.team, True))
        self.assertNotEqual(copied, self.rule)
        self.assertEqual(self.env["commerce.value.map"].lookup(self.target, "payment_method", "CreditCard"),
                         self.immediate)
        again = self.import_wizard(self.target, raw)
        self.assertEqual(again.change_count, 0)
        self.assertEqual({row["action"] for row in self.Template.preview(self.target, template)}, {"unchanged"})

    def test_preview_shows_updates_and_skips(self):
        self.env["commerce.value.map"].create([
            {"backend_id": self.target.id, "kind": "payment_method", "external_value": "creditcard",
             "odoo_record": f"account.payment.term,{self.thirty.id}"},
            {"backend_id": self.target.id, "kind": "carrier", "external_value": "DHL",
             "odoo_record": f"delivery.carrier,{self.env.ref('commerce_connector.carrier_commerce_shipping').id}"},
        ])
        template = json.loads(self.export_file(self.backend))
        template["value_maps"].append({"kind": "payment_method", "external_value": "Bitcoin", "odoo_value": None,
                                       "odoo_record": {"model": "account.payment.term", "xml_id": "nowhere.term",
                                                       "name": "No such term"}})
        template["routing_rules"][0]["countries"].append("XX")
        rows = {row["key"]: row for row in self.Template.preview(self.target, template)}
        update = rows["payment_method / CreditCard"]
        self.assertEqual(update["action"], "update")
        self.assertIn("account.account_payment_term_30days -> account.account_payment_term_immediate", update["details"])
        self.assertEqual(rows["payment_method / Bitcoin"]["action"], "skip")
        self.assertIn("nowhere.term", rows["payment_method / Bitcoin"]["details"])
        self.assertEqual(rows["Texas B2B"]["action"], "skip")
        self.assertIn("country XX", rows["Texas B2B"]["details"])

        counts = self.Template.apply(self.target, template)
        self.assertEqual(counts, {"create": 2, "update": 1, "unchanged": 0, "skip": 2})
        maps = {(m.kind, m.external_value): m for m in self.target.value_map_ids}
        self.assertEqual(maps[("payment_method", "creditcard")].odoo_record, self.immediate)
        self.assertIn(("carrier", "DHL"), maps, "entries the template does not mention are kept")
        self.assertNotIn(("payment_method", "Bitcoin"), maps)
        self.assertFalse(self.env["commerce.routing.rule"].search([("backend_ids", "in", self.target.ids)]))

    def test_invalid_templates_are_reported_with_paths(self):
        wizard = self.import_wizard(self.target, b"{oops")
        self.assertIn("not valid JSON", wizard.error)
        self.assertFalse(wizard.change_count)
        template = json.loads(self.export_file(self.backend))
        template["value_maps"].append(dict(template["value_maps"][0]))
        template["field_mappings"][0].pop("field")
        wizard = self.import_wizard(self.target, json.dumps(template).encode())
        self.assertIn("value_maps[2]: duplicate entry", wizard.error)
        wizard = self.import_wizard(self.target, json.dumps({**template, "format": "other"}).encode())
        self.assertIn("format", wizard.error)

    def test_shipped_default_templates_apply_cleanly(self):
        shipped = dict(self.Template.default_templates())
        self.assertEqual(set(shipped), {"clarity.json", "amazon.json"})
        for file_name, backend in (("clarity.json", self.target), ("amazon.json", self.amazon)):
            with self.subTest(template=file_name):
                template = self.Template.load_default(file_name)
                self.assertEqual(template["channel"], backend.channel)
                wizard = self.import_wizard(backend, source=f"default:{file_name}")
                self.assertFalse(wizard.error)
                rows = self.Template.preview(backend, template)
                self.assertEqual({row["action"] for row in rows}, {"create"}, rows)
                wizard.action_apply()
                self.assertEqual(len(backend.value_map_ids), len(template["value_maps"]))
                self.assertEqual(len(backend.field_mapping_ids), len(template["field_mappings"]))
                self.assertEqual(self.env["commerce.routing.rule"].search_count(
                    [("backend_ids", "in", backend.ids)]), len(template["routing_rules"]))
        self.assertEqual(self.env["commerce.value.map"].lookup(self.target, "payment_method", "CreditCard"),
                         self.immediate)
