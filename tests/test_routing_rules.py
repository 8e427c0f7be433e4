import copy

from odoo.exceptions import UserError
from odoo.tests import tagged

from .test_api_v1 import ApiCase
from .test_clarity_orders import ClarityCase, sample


@tagged("post_install", "-at_install")
class TestRoutingClarity(ClarityCase):
    """Rules evaluated on real Clarity imports (webhook -> job -> shared importer)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Warehouse = cls.env["stock.warehouse"]
        cls.wh_east = Warehouse.create({"name": "East", "code": "EST"})
        cls.wh_west = Warehouse.create({"name": "West", "code": "WST"})
        cls.Rule = cls.env["commerce.routing.rule"]
        cls.widget, cls.cable = cls.products
        cls.imports = 0

    def import_order(self):
        """Import the sample order under a new Clarity ID; return its sale order."""
        type(self).imports += 1
        data = copy.deepcopy(sample("clarity_order.json"))
        data["ID"] = 20000 + self.imports
        data["CustomKey"] = f"SO-R{self.imports}"
        self.post_event("order.created", data)
        self.run_jobs()
        job = self.jobs()[-1:]
        self.assertEqual(job.state, "done", job.error_message)
        return self.env["commerce.binding"].lookup(self.backend, "sale.order", str(data["ID"]))

    def test_first_matching_rule_by_sequence_applies_its_actions(self):
        other = self.env["commerce.backend"].create({"name": "Other store", "channel": "clarity",
                                                     "clarity_base_url": "http://127.0.0.1:9"})
        team = self.env["crm.team"].create({"name": "B2B desk"})
        tag = self.env["crm.tag"].create({"name": "routed-east"})
        self.Rule.create([
            {"name": "amazon only", "sequence": 1, "channel": "amazon", "warehouse_id": self.wh_west.id},
            {"name": "other backend", "sequence": 2, "backend_ids": [(6, 0, other.ids)],
             "warehouse_id": self.wh_west.id},
            {"name": "texas clarity", "sequence": 3, "channel": "clarity", "backend_ids": [(6, 0, self.backend.ids)],
             "warehouse_id": self.wh_east.id, "team_id": team.id, "tag_ids": [(6, 0, tag.ids)]},
            {"name": "catch-all", "sequence": 4, "warehouse_id": self.wh_west.id},
        ])
        order = self.import_order()
        self.assertEqual(order.commerce_routing_rule_id.name, "texas clarity")
        self.assertEqual((order.warehouse_id, order.team_id, order.tag_ids), (self.wh_east, team, tag))
        self.assertEqual(order.state, "sale", "a routed order is confirmed as the channel says")
        self.assertEqual(order.picking_ids.picking_type_id.warehouse_id, self.wh_east)
        self.assertEqual(order.commerce_routing_rule_id.order_count, 1)

    def test_no_rule_keeps_the_backend_defaults(self):
        self.Rule.create({"name": "germany", "country_ids": [(6, 0, self.env.ref("base.de").ids)],
                          "warehouse_id": self.wh_west.id})
        order = self.import_order()
        self.assertFalse(order.commerce_routing_rule_id)
        self.assertEqual(order.warehouse_id, self.backend.warehouse_id)

    def test_each_condition_matches_and_refuses(self):
        parent = self.env["product.category"].create({"name": "Hardware"})
        self.widget.categ_id = self.env["product.category"].create({"name": "Widgets", "parent_id": parent.id})
        other_category = self.env["product.category"].create({"name": "Food"})
        tag_cable, tag_none = self.env["product.tag"].create([{"name": "cables"}, {"name": "unused"}])
        self.cable.product_tmpl_id.product_tag_ids = [(6, 0, tag_cable.ids)]
        california = self.env["res.country.state"].search([("country_id.code", "=", "US"), ("code", "=", "CA")])
        cases = [  # (condition values, matches the sample order: US/TX, total 96.42)
            ({"country_ids": [(6, 0, self.env.ref("base.de").ids)]}, False),
            ({"country_ids": [(6, 0, self.env.ref("base.us").ids)]}, True),
            ({"state_ids": [(6, 0, california.ids)]}, False),
            ({"state_ids": [(6, 0, self.texas.ids)]}, True),
            ({"product_category_ids": [(6, 0, other_category.ids)]}, False),
            ({"product_category_ids": [(6, 0, parent.ids)]}, True),
            ({"product_tag_ids": [(6, 0, tag_none.ids)]}, False),
            ({"product_tag_ids": [(6, 0, tag_cable.ids)]}, True),
            ({"amount_min": 100.0}, False),
            ({"amount_max": 50.0}, False),
            ({"amount_min": 90.0, "amount_max": 100.0}, True),
            ({"fulfillment_channel": "marketplace"}, False),
            ({"amazon_marketplace_ids": [(6, 0, self.env.ref("commerce_connector.amazon_marketplace_atvpdkikx0der").ids)]},
             False),
        ]
        for values, matches in cases:
            with self.subTest(condition=values):
                rule = self.Rule.create({"name": str(values), "warehouse_id": self.wh_west.id, **values})
                order = self.import_order()
                self.assertEqual(order.commerce_routing_rule_id, rule if matches else self.Rule)
                self.assertEqual(order.warehouse_id, self.wh_west if matches else self.backend.warehouse_id)
                rule.active = False

    def test_hold_for_review_leaves_the_order_unconfirmed(self):
        reviewer = self.env["res.users"].search([("login", "=", "admin")])
        self.Rule.create({"name": "big orders", "amount_min": 50, "hold_for_review": True,
                          "review_user_id": reviewer.id})
        order = self.import_order()
        self.assertTrue(order.commerce_on_hold)
        self.assertEqual(order.state, "draft", "the channel's Confirmed status is not applied while held")
        activity = order.activity_ids
        self.assertEqual((len(activity), activity.user_id), (1, reviewer))
        self.assertIn("big orders", activity.summary)
        with self.assertRaises(UserError):
            order.action_confirm()
        order.action_commerce_release_hold()
        self.assertFalse(order.commerce_on_hold)
        self.assertFalse(order.activity_ids, "the review activity is done")
        order.action_confirm()
        self.assertEqual(order.state, "sale")


@tagged("post_install", "-at_install")
class TestRoutingApi(ApiCase):
    """Marketplace and fulfilment conditions and the MCF action, on orders posted to the REST API."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fba_warehouse = cls.env["stock.warehouse"].create({"name": "Amazon FBA", "code": "FBA"})
        cls.amazon = cls.env["commerce.backend"].create({"name": "Amazon US", "channel": "amazon",
                                                        "amazon_fba_warehouse_id": cls.fba_warehouse.id})
        cls.us_marketplace = cls.env.ref("commerce_connector.amazon_marketplace_atvpdkikx0der")
        cls.Rule = cls.env["commerce.routing.rule"]

    def post(self, external_id, **overrides):
        response = self.call("POST", "/sales_orders", self.order_payload(external_id, **overrides))
        return response, self.api_orders(external_id)

    def test_marketplace_and_fulfilment_channel_route_through_mcf(self):
        rule = self.Rule.create({
            "name": "US marketplace-fulfilled", "channel": "api", "fulfillment_channel": "marketplace",
            "amazon_marketplace_ids": [(6, 0, self.us_marketplace.ids)], "mcf_backend_id": self.amazon.id,
            "warehouse_id": self.warehouse.id})
        response, order = self.post("MCF-1", marketplace_id="ATVPDKIKX0DER", fulfillment_channel="marketplace")
        self.assertEqual(response.status_code, 201, response.text)
        self.assertEqual((order.commerce_routing_rule_id, order.warehouse_id), (rule, self.fba_warehouse))
        self.assertEqual(order.picking_ids.picking_type_id.warehouse_id, self.fba_warehouse)
        _response, order = self.post("MCF-2", marketplace_id="ATVPDKIKX0DER", fulfillment_channel="merchant")
        self.assertFalse(order.commerce_routing_rule_id)
        _response, order = self.post("MCF-3", marketplace_id="A2EUQ1WTGCTBG2", fulfillment_channel="marketplace")
        self.assertFalse(order.commerce_routing_rule_id)

    def test_mcf_without_fba_warehouse_refuses_the_order_whole(self):
        self.amazon.amazon_fba_warehouse_id = False
        self.Rule.create({"name": "all through MCF", "mcf_backend_id": self.amazon.id})
        response, order = self.post("MCF-4")
        self.assertEqual(response.status_code, 422)
        self.assertIn("no FBA warehouse", response.json()["error"]["message"])
        self.assertFalse(order)
        self.assertFalse(self.env["sale.order"].search([("origin", "=", "PS-MCF-4")]), "nothing half-created")

    def test_rules_of_another_company_do_not_apply(self):
        company = self.env["res.company"].create({"name": "Elsewhere"})
        self.Rule.create({"name": "elsewhere", "company_id": company.id, "hold_for_review": True})
        _response, order = self.post("CO-1")
        self.assertFalse(order.commerce_routing_rule_id)
        self.assertEqual(order.state, "sale")
