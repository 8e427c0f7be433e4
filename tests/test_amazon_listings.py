"""Amazon listings from product fields and attributes through export field mappings, against
the SP-API simulator over HTTP: putListingsItem, issues on the offer, patchListingsItem."""

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..channels.amazon import listings
from .test_amazon_orders import AmazonCase

PUBLISH = "amazon.listing.publish"
SELLER = "A3SELLERSIM"


@tagged("post_install", "-at_install")
class TestAmazonListings(AmazonCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.currency_id = cls.env.ref("base.USD")
        Attribute = cls.env["product.attribute"]
        cls.brand = Attribute.create({"name": "Brand", "create_variant": "no_variant",
                                      "value_ids": [(0, 0, {"name": "Clarity Home"})]})
        cls.color = Attribute.create({"name": "Color", "value_ids": [(0, 0, {"name": "Slate Blue"}),
                                                                     (0, 0, {"name": "Forest"})]})
        cls.manager = new_test_user(cls.env, login="listing_manager",
                                    groups="base.group_user,commerce_connector.group_commerce_manager")
        Field = cls.env["ir.model.fields"]

        def field(name):
            return Field._get("product.template", name).id

        cls.backend.field_mapping_ids = [(0, 0, {"direction": "export", "model_name": "product.template", **values})
                                         for values in (
            {"external_path": "productType", "default_value": "KITCHEN"},
            {"external_path": "item_name", "field_id": field("name")},
            {"external_path": "brand", "product_attribute_id": cls.brand.id},
            {"external_path": "color", "product_attribute_id": cls.color.id},
            {"external_path": "bullet_point", "field_id": field("description_sale")},
            {"external_path": "product_description", "field_id": field("description")},
            {"external_path": "purchasable_offer", "field_id": field("list_price")},
            {"external_path": "condition_type", "default_value": "new_new"},
        )]

    def make_mug(self, brand=True, bullets="Holds 12 oz\nDishwasher safe"):
        lines = [(0, 0, {"attribute_id": self.color.id, "value_ids": [(6, 0, self.color.value_ids.ids)]})]
        if brand:
            lines.append((0, 0, {"attribute_id": self.brand.id, "value_ids": [(6, 0, self.brand.value_ids.ids)]}))
        template = self.env["product.template"].create({
            "name": "Stoneware Mug 12 oz", "list_price": 14.99, "description_sale": bullets,
            "description": "<p>A <b>stoneware</b> mug.</p>", "attribute_line_ids": lines})
        forest = template.attribute_line_ids.product_template_value_ids.filtered(lambda v: v.name == "Forest")
        forest.price_extra = 2.0
        for variant in template.product_variant_ids:
            variant.default_code = "MUG-" + variant.product_template_attribute_value_ids.filtered(
                lambda v: v.attribute_id == self.color).name.upper().replace(" ", "-")
        return template

    def publish(self, template):
        jobs = template.with_user(self.manager).action_amazon_publish_listings()
        self.run_jobs()
        return jobs

    def offer(self, sku):
        return self.env["commerce.amazon.offer"].search([("backend_id", "=", self.backend.id), ("seller_sku", "=", sku)])

    def test_valid_listing_is_put_then_patched_with_mapped_attributes(self):
        template = self.make_mug()
        jobs = self.publish(template)

        self.assertEqual(len(jobs), 2, "one job per variant SKU")
        self.assertEqual(set(jobs.mapped("state")), {"done"}, jobs.mapped("error_message"))
        self.assertEqual(self.sim.listing_skus(SELLER), ["MUG-FOREST", "MUG-SLATE-BLUE"])
        puts = self.sim.recorder.calls(operation="putListingsItem")
        self.assertEqual([c.status for c in puts], [200, 200])
        self.assertEqual(puts[0].query["marketplaceIds"], ["ATVPDKIKX0DER"])
        for sku, price, color in (("MUG-SLATE-BLUE", 14.99, "Slate Blue"), ("MUG-FOREST", 16.99, "Forest")):
            offer = self.offer(sku)
            self.assertEqual((offer.listing_status, offer.listing_issue_count, offer.listing_product_type),
                             ("ACCEPTED", 0, "KITCHEN"))
            self.assertTrue(offer.listing_published)
            listing = self.sim.listing(SELLER, sku)
            self.assertEqual(listing["productType"], "KITCHEN")
            attributes = listing["attributes"]
            values = {name: [entry.get("value") for entry in entries] for name, entries in attributes.items()}
            self.assertEqual(values["item_name"], ["Stoneware Mug 12 oz"])
            self.assertEqual(values["brand"], ["Clarity Home"])
            self.assertEqual(values["color"], [color])
            self.assertEqual(values["bullet_point"], ["Holds 12 oz", "Dishwasher safe"])
            self.assertEqual(values["product_description"], ["A *stoneware* mug."])
            self.assertEqual(values["condition_type"], ["new_new"])
            self.assertEqual(attributes["item_name"][0]["language_tag"], "en_US")
            self.assertNotIn("language_tag", attributes["condition_type"][0])
            offer_price = attributes["purchasable_offer"][0]
            self.assertEqual((offer_price["currency"], offer_price["our_price"][0]["schedule"][0]["value_with_tax"]),
                             ("USD", price))

        template.list_price = 19.5
        self.publish(template)

        patches = self.sim.recorder.calls(operation="patchListingsItem")
        self.assertEqual(len(patches), 2, "an accepted listing is patched, not put again")
        self.assertEqual(len(self.sim.recorder.calls(operation="putListingsItem")), 2)
        [body] = [c.json() for c in patches if c.path.endswith("/MUG-SLATE-BLUE")]
        self.assertEqual(body["productType"], "KITCHEN")
        self.assertIn({"op": "replace", "path": "/attributes/purchasable_offer",
                       "value": self.sim.listing(SELLER, "MUG-SLATE-BLUE")["attributes"]["purchasable_offer"]},
                      body["patches"])
        stored = self.sim.listing(SELLER, "MUG-SLATE-BLUE")["attributes"]["purchasable_offer"][0]
        self.assertEqual(stored["our_price"][0]["schedule"][0]["value_with_tax"], 19.5)
        self.assertEqual(self.offer("MUG-SLATE-BLUE").listing_status, "ACCEPTED")
        item = self.backend._amazon_client()._call("getListingsItem", lambda api: api.get_listings_item(
            SELLER, "MUG-FOREST", marketplaceIds=["ATVPDKIKX0DER"], includedData=["summaries", "offers"]),
            expect="sku", api_class=listings.LISTINGS_API)
        self.assertEqual((item["summaries"][0]["status"], item["summaries"][0]["conditionType"]),
                         (["BUYABLE"], "new_new"))
        self.assertEqual(item["offers"][0]["price"], {"currencyCode": "USD", "amount": "21.5"})
        self.assertEqual(self.sim.response_validation_errors, [])

    def test_listing_with_missing_attributes_shows_amazons_issues_on_the_offer(self):
        template = self.make_mug(brand=False, bullets=False)
        self.publish(template)

        offer = self.offer("MUG-FOREST")
        self.assertEqual((offer.listing_status, offer.listing_issue_count), ("INVALID", 2))
        self.assertIn("'brand' is required but not supplied.", offer.listing_issues)
        self.assertIn("[bullet_point]", offer.listing_issues)
        self.assertFalse(offer.listing_published)
        self.assertEqual(self.sim.listing_skus(SELLER), [], "Amazon stores nothing of an invalid submission")
        job = self.jobs(PUBLISH).filtered(lambda j: j.res_id == offer.id)
        self.assertEqual(job.state, "done")
        self.assertIn("INVALID", job.result)

        template.write({"description_sale": "Holds 12 oz", "attribute_line_ids": [
            (0, 0, {"attribute_id": self.brand.id, "value_ids": [(6, 0, self.brand.value_ids.ids)]})]})
        self.publish(template)

        self.assertEqual((offer.listing_status, offer.listing_issues, offer.listing_issue_count), ("ACCEPTED", False, 0))
        self.assertEqual(len(self.sim.recorder.calls(operation="putListingsItem")), 4, "still a full put")
        self.assertFalse(self.sim.recorder.calls(operation="patchListingsItem"))
        self.assertEqual(self.sim.response_validation_errors, [])

    def test_unknown_product_type_and_missing_mapping(self):
        mapping = self.backend.field_mapping_ids.filtered(lambda m: m.external_path == "productType")
        mapping.default_value = "SPACESHIP"
        template = self.make_mug()
        self.publish(template)
        offer = self.offer("MUG-FOREST")
        self.assertEqual(offer.listing_status, "INVALID")
        self.assertIn("SPACESHIP", offer.listing_issues)

        mapping.unlink()
        jobs = self.publish(template)
        self.assertEqual(set(jobs.mapped("error_kind")), {"business"})
        self.assertIn("product type", jobs[0].error_message)

    def test_only_managers_publish(self):
        template = self.make_mug()
        user = new_test_user(self.env, login="listing_user",
                             groups="base.group_user,commerce_connector.group_commerce_user")
        with self.assertRaises(AccessError):
            template.with_user(user).action_amazon_publish_listings()
        self.assertFalse(self.jobs(PUBLISH))
