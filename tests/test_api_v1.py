import json
import os
import threading
from datetime import datetime, timedelta

import jsonschema
import requests

from odoo import fields
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged

from ..core import canonical
from ..core.canonical_json import from_json
from .common import NO_MAIL, committed_env, run_in_threads

SPEC_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "static", "api", "openapi_v1.json")
PREFIX = "/commerce_connector/api/v1"

with open(SPEC_PATH, encoding="utf-8") as _handle:
    SPEC = json.load(_handle)


def _operation(method, path):
    """The OpenAPI path template and operation a concrete request path matches."""
    parts = path.split("/")
    for template, item in SPEC["paths"].items():
        pattern = template.split("/")
        if len(pattern) == len(parts) and method.lower() in item and all(
                p == q or (p.startswith("{") and q) for p, q in zip(pattern, parts)):
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI file")


def check_contract(method, path, response):
    """The response's status is documented for the operation and its JSON body matches the schema."""
    template, operation = _operation(method, path.split("?")[0].removeprefix(PREFIX))
    documented = operation["responses"].get(str(response.status_code))
    assert documented, f"{method} {template}: status {response.status_code} is not documented ({response.text[:300]})"
    if "content" not in documented:
        return None
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": SPEC["components"],
              **documented["content"]["application/json"]["schema"]}
    body = response.json()
    jsonschema.validate(body, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return body


@tagged("post_install", "-at_install")
class ApiCase(HttpCase):
    """A REST API backend, two SKUs and API keys of a manager, a reader and an outsider."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, **NO_MAIL))
        cls.env.ref("base.USD").active = True
        cls.env.company.currency_id = cls.env.ref("base.USD")
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", cls.env.company.id)], limit=1)
        cls.backend = cls.env["commerce.backend"].create({
            "name": "REST API", "channel": "api", "warehouse_id": cls.warehouse.id,
            "currency_id": cls.env.ref("base.USD").id})
        cls.products = cls.env["product.product"].create([
            {"name": "API widget", "default_code": "API-WID", "type": "consu", "is_storable": True,
             "list_price": 20, "taxes_id": [(5, 0, 0)]},
            {"name": "API cable", "default_code": "API-CAB", "type": "consu", "is_storable": True,
             "list_price": 5, "taxes_id": [(5, 0, 0)]},
        ])
        cls.manager = new_test_user(cls.env, login="api_manager",
                                    groups="base.group_user,commerce_connector.group_commerce_manager")
        cls.reader = new_test_user(cls.env, login="api_reader",
                                   groups="base.group_user,commerce_connector.group_commerce_user")
        cls.outsider = new_test_user(cls.env, login="api_outsider", groups="base.group_user")
        cls.keys = {user.login: cls.env["res.users.apikeys"].with_user(user).sudo()._generate(None, "tests", None)
                    for user in (cls.manager, cls.reader, cls.outsider)}

    def call(self, method, path, body=None, key="api_manager", raw=None, check=True):
        headers = {"Authorization": f"Bearer {self.keys.get(key, key)}"} if key else {}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            headers["Content-Type"] = "application/json"
        self.env.flush_all()  # the server reads what the test wrote before the request
        response = requests.request(method, f"{self.base_url()}{PREFIX}{path}", data=data, headers=headers, timeout=30)
        self.env.invalidate_all()  # the request wrote through its own environment
        if check:
            check_contract(method, path, response)
        return response

    def order_payload(self, external_id="API-1001", **overrides):
        payload = {
            "channel": "partner-shop", "external_id": external_id, "reference": f"PS-{external_id}",
            "status": "confirmed", "currency": "USD", "updated_at": "2026-03-01T10:00:00Z",
            "customer": {"external_id": "cust-1", "name": "Ada Lovelace", "email": "ada@example.com",
                         "address": {"street": "1 Main St", "city": "Austin", "state_code": "TX",
                                     "zip": "78701", "country_code": "US"}},
            "shipping": {"name": "Ada Lovelace", "street": "1 Main St", "city": "Austin", "state_code": "TX",
                         "zip": "78701", "country_code": "US"},
            "lines": [{"external_id": "l1", "sku": "API-WID", "name": "API widget", "quantity": 2, "unit_price": 20},
                      {"external_id": "l2", "sku": "API-CAB", "name": "API cable", "quantity": 1, "unit_price": 5}],
            "shipping_amount": 5.0, "total": 50.0,
        }
        payload.update(overrides)
        return payload

    def api_orders(self, external_id):
        bindings = self.env["commerce.binding"].search([
            ("backend_id", "=", self.backend.id), ("res_model", "=", "sale.order"),
            ("external_id", "=", f"partner-shop:{external_id}")])
        return self.env["sale.order"].browse(bindings.mapped("res_id"))


class TestApiContract(ApiCase):
    def test_openapi_document_is_served_and_is_the_file(self):
        response = requests.get(f"{self.base_url()}{PREFIX}/openapi.json", timeout=30)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), SPEC)
        self.assertTrue(SPEC["openapi"].startswith("3."))
        jsonschema.Draft202012Validator.check_schema(
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": SPEC["components"]["schemas"]})

    def test_products_list_one_and_upsert(self):
        body = self.call("GET", "/products?limit=200", key="api_reader").json()
        skus = {item["sku"] for item in body["items"]}
        self.assertTrue({"API-WID", "API-CAB"} <= skus)
        one = self.call("GET", "/products/API-WID", key="api_reader").json()
        self.assertEqual((one["sku"], one["price"], one["name"]), ("API-WID", 20.0, "API widget"))

        response = self.call("PUT", "/products/API-NEW", {"external_id": "x", "sku": "API-NEW", "name": "New thing",
                                                          "price": 12.5})
        self.assertEqual(response.status_code, 201)
        product = self.env["product.product"].search([("default_code", "=", "API-NEW")])
        self.assertEqual((product.name, product.list_price), ("New thing", 12.5))
        response = self.call("PUT", "/products/API-NEW", {"external_id": "x", "sku": "API-NEW", "name": "Renamed",
                                                          "price": 13})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["name"], "Renamed")
        self.assertEqual(self.env["product.product"].search_count([("default_code", "=", "API-NEW")]), 1)
        self.assertEqual(self.call("GET", "/products/NOPE").status_code, 404)

    def test_customers_upsert_and_read(self):
        customer = {"external_id": "crm-42", "name": "Grace Hopper", "email": "grace@example.com",
                    "address": {"city": "Arlington", "country_code": "US", "state_code": "VA"}}
        response = self.call("PUT", "/customers/crm-42", customer)
        self.assertEqual(response.status_code, 201)
        partner = self.env["commerce.binding"].lookup(self.backend, "res.partner", "crm-42")
        self.assertEqual((partner.name, partner.city, partner.state_id.code), ("Grace Hopper", "Arlington", "VA"))
        response = self.call("PUT", "/customers/crm-42", {**customer, "phone": "+1 555 0100"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(partner.phone, "+1 555 0100")
        body = self.call("GET", "/customers/crm-42", key="api_reader").json()
        self.assertEqual((body["external_id"], body["address"]["state_code"]), ("crm-42", "VA"))
        listed = self.call("GET", "/customers", key="api_reader").json()
        self.assertEqual([c["external_id"] for c in listed["items"]], ["crm-42"])
        self.assertEqual(self.call("GET", "/customers/unknown").status_code, 404)

    def test_order_create_read_and_invoice(self):
        response = self.call("POST", "/sales_orders", self.order_payload())
        self.assertEqual(response.status_code, 201, response.text)
        body = response.json()
        sale_order = self.env["sale.order"].browse(body["id"])
        self.assertEqual(sale_order, self.api_orders("API-1001"))
        self.assertEqual((sale_order.state, sale_order.amount_total, sale_order.warehouse_id),
                         ("sale", 50.0, self.warehouse))
        self.assertEqual((body["order"]["channel"], body["order"]["external_id"]), ("partner-shop", "API-1001"))
        self.assertEqual(sorted(line["sku"] for line in body["order"]["lines"]), ["API-CAB", "API-WID"])
        again = self.call("GET", f"/sales_orders/{sale_order.id}", key="api_reader").json()
        self.assertEqual(again["order"]["total"], 50.0)
        found = self.call("GET", "/sales_orders?channel=partner-shop&external_id=API-1001", key="api_reader").json()
        self.assertEqual([item["id"] for item in found["items"]], [sale_order.id])

        refused = self.call("POST", "/invoices", {"sales_order_id": sale_order.id})
        self.assertEqual(refused.status_code, 409)
        self.assertIn("not fully delivered", refused.json()["error"]["message"])
        picking = sale_order.picking_ids
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
        picking.button_validate()
        self.assertEqual(picking.state, "done")
        response = self.call("POST", "/invoices", {"sales_order_id": sale_order.id})
        self.assertEqual(response.status_code, 201, response.text)
        invoice = response.json()
        self.assertEqual((invoice["state"], invoice["total"], invoice["order_reference"]),
                         ("posted", 50.0, "PS-API-1001"))
        listed = self.call("GET", f"/invoices?sales_order_id={sale_order.id}", key="api_reader").json()
        self.assertEqual([i["number"] for i in listed["items"]], [invoice["number"]])
        self.assertEqual(self.call("POST", "/invoices", {"sales_order_id": sale_order.id}).status_code, 409)

    def test_paging_and_modified_since(self):
        for number in range(3):
            self.call("POST", "/sales_orders", self.order_payload(f"PAGE-{number}", status="draft"))
        seen, offset = [], 0
        while offset is not None:
            page = self.call("GET", f"/sales_orders?channel=partner-shop&limit=2&offset={offset}").json()
            self.assertLessEqual(len(page["items"]), 2)
            seen += [item["order"]["external_id"] for item in page["items"]]
            offset = page["next_offset"]
        self.assertEqual(sorted(seen), ["PAGE-0", "PAGE-1", "PAGE-2"])
        self.assertEqual(page["total"], 3)
        self.env.cr.execute("UPDATE sale_order SET write_date = %s WHERE id IN %s",
                            [datetime(2020, 1, 1), tuple(self.api_orders("PAGE-0").ids + self.api_orders("PAGE-1").ids)])
        self.env.invalidate_all()
        since = (fields.Datetime.now() - timedelta(days=1)).isoformat() + "Z"
        recent = self.call("GET", f"/sales_orders?channel=partner-shop&modified_since={since}").json()
        self.assertEqual([item["order"]["external_id"] for item in recent["items"]], ["PAGE-2"])


class TestApiErrors(ApiCase):
    def test_authentication_and_groups(self):
        self.assertEqual(self.call("GET", "/products", key=None).status_code, 401)
        self.assertEqual(self.call("GET", "/products", key="not-a-key").status_code, 401)
        response = self.call("GET", "/products", key="api_outsider")
        self.assertEqual((response.status_code, response.json()["error"]["code"]), (403, "forbidden"))
        response = self.call("POST", "/sales_orders", self.order_payload(), key="api_reader")
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self.api_orders("API-1001"), "a refused write creates nothing")
        self.assertEqual(self.call("GET", "/products", key="api_reader").status_code, 200)

    def test_bad_input_answers_4xx_with_paths(self):
        response = self.call("POST", "/sales_orders", raw="{not json")
        self.assertEqual((response.status_code, response.json()["error"]["code"]), (400, "invalid_json"))
        payload = self.order_payload()
        payload["lines"][0]["quantity"] = "two"
        payload["lines"][1].pop("sku")
        payload["colour"] = "blue"
        payload["updated_at"] = "yesterday"
        response = self.call("POST", "/sales_orders", payload)
        self.assertEqual(response.status_code, 400)
        paths = {d["path"] for d in response.json()["error"]["details"]}
        self.assertEqual(paths, {"lines[0].quantity", "lines[1].sku", "colour", "updated_at"})
        response = self.call("POST", "/sales_orders", self.order_payload(
            lines=[{"external_id": "l1", "sku": "NO-SUCH-SKU", "name": "?", "quantity": 1, "unit_price": 45}]))
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.json()["error"]["details"], [{"path": "lines[0].sku", "message": "unknown SKU"}])
        response = self.call("POST", "/sales_orders", self.order_payload(total=49.0))
        self.assertEqual((response.status_code, response.json()["error"]["code"]), (422, "business_rule"))
        self.assertIn("difference", response.json()["error"]["message"])
        response = self.call("POST", "/sales_orders", self.order_payload(customer=None))
        self.assertEqual(response.json()["error"]["details"][0]["path"], "customer")
        response = self.call("POST", "/sales_orders", [1, 2])
        self.assertEqual(response.status_code, 400)
        response = self.call("GET", "/products?limit=0&offset=-1")
        self.assertEqual({d["path"] for d in response.json()["error"]["details"]}, {"query.limit", "query.offset"})
        response = self.call("GET", "/sales_orders?modified_since=soon")
        self.assertEqual(response.json()["error"]["details"][0]["path"], "query.modified_since")
        self.assertEqual(self.call("GET", "/invoices?sales_order_id=abc").status_code, 400)
        response = self.call("PUT", "/customers/a", {"external_id": "b", "name": "X"})
        self.assertEqual(response.json()["error"]["details"][0]["path"], "external_id")
        response = self.call("PUT", "/customers/a", {"external_id": "a", "name": "X", "address": {"country_code": "ZZ"}})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.api_orders("API-1001"), "nothing half-created by refused orders")

    def test_junk_bodies_never_answer_500(self):
        junk = ["null", '"text"', "42", "[]", '{"lines": "x"}', '{"customer": 5, "lines": [null]}',
                '{"channel": "", "external_id": "x", "reference": "r", "status": "s", "currency": "EUR", '
                '"updated_at": null, "customer": {"external_id": "c", "name": "n"}, "lines": []}',
                b"\xff\xfe not utf-8"]
        for raw in junk:
            for method, path in (("POST", "/sales_orders"), ("PUT", "/products/JUNK"), ("PUT", "/customers/JUNK"),
                                 ("POST", "/invoices")):
                with self.subTest(method=method, path=path, body=raw):
                    response = self.call(method, path, raw=raw)
                    self.assertTrue(400 <= response.status_code < 500, response.text)
                    self.assertTrue(response.json()["error"]["message"])

    def test_the_examples_sent_follow_the_contract(self):
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": SPEC["components"],
                  "$ref": "#/components/schemas/Order"}
        jsonschema.validate(self.order_payload(), schema)
        with self.assertRaises(jsonschema.ValidationError):
            jsonschema.validate(self.order_payload(colour="blue"), schema)

    def test_rate_limit_per_key(self):
        self.env["ir.config_parameter"].set_param("commerce_connector.api_rate_burst", 3)
        self.env["ir.config_parameter"].set_param("commerce_connector.api_rate_limit", 1)
        statuses = [self.call("GET", "/products?limit=1", key="api_reader").status_code for _ in range(3)]
        self.assertEqual(statuses, [200, 200, 200])
        response = self.call("GET", "/products?limit=1", key="api_reader")
        self.assertEqual((response.status_code, response.json()["error"]["code"]), (429, "rate_limited"))
        self.assertGreaterEqual(int(response.headers["Retry-After"]), 1)
        self.assertEqual(self.call("GET", "/products?limit=1", key="api_manager").status_code, 200,
                         "another key has its own bucket")


class TestApiIdempotency(ApiCase):
    def test_concurrent_posts_of_one_order_create_it_once(self):
        payload = self.order_payload("API-RACE")
        results = []
        barrier = threading.Barrier(4)

        def post():
            barrier.wait()
            results.append(self.call("POST", "/sales_orders", payload, check=False))

        threads = [threading.Thread(target=post) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for response in results:
            check_contract("POST", "/sales_orders", response)
        self.assertEqual(sorted(r.status_code for r in results), [200, 200, 200, 201])
        self.assertEqual(len({r.json()["id"] for r in results}), 1)
        self.assertEqual(len(self.api_orders("API-RACE")), 1)
        self.assertEqual(self.env["sale.order"].search_count([("origin", "=", "PS-API-RACE")]), 1)
        same_id_other_channel = self.call("POST", "/sales_orders", {**payload, "channel": "other-shop"})
        self.assertEqual(same_id_other_channel.status_code, 201, "the key is channel + external id")


@tagged("post_install", "-at_install")
class TestApiConcurrentTransactions(TransactionCase):
    """Two real transactions importing one order at once (HttpCase serializes its requests on
    the test cursor, so the race itself is played here on committed data)."""

    def setUp(self):
        super().setUp()
        self.tag = f"race-{self.id().rsplit('.', 1)[-1]}"
        with committed_env(self.registry) as env:
            self.company_id = env.company.id
            self.backend_id = env["commerce.backend"].create({"name": self.tag, "channel": "api"}).id
            env["product.product"].create({"name": "Race widget", "default_code": f"{self.tag}-SKU", "type": "consu",
                                           "list_price": 10, "taxes_id": [(5, 0, 0)]})
            self.currency = env.company.currency_id.name
        self.addCleanup(self._remove_shared_data)

    def _remove_shared_data(self):
        with committed_env(self.registry) as env:
            bindings = env["commerce.binding"].search([("backend_id", "=", self.backend_id)])
            env["sale.order"].browse(bindings.filtered(lambda b: b.res_model == "sale.order").mapped("res_id")).unlink()
            partners = env["res.partner"].browse(bindings.filtered(lambda b: b.res_model == "res.partner").mapped("res_id"))
            env["commerce.backend"].browse(self.backend_id).unlink()
            (partners | partners.child_ids).unlink()
            env["product.product"].search([("default_code", "=", f"{self.tag}-SKU")]).product_tmpl_id.unlink()

    def test_racing_transactions_create_one_order(self):
        payload = {
            "channel": "racer", "external_id": "R-1", "reference": f"{self.tag}-R-1", "status": "draft",
            "currency": self.currency, "updated_at": "2026-03-01T10:00:00Z",
            "customer": {"external_id": f"{self.tag}-cust", "name": "Racer", "email": f"{self.tag}@example.com"},
            "lines": [{"external_id": "1", "sku": f"{self.tag}-SKU", "name": "Race widget", "quantity": 3,
                       "unit_price": 10}],
            "total": 30.0,
        }
        barrier = threading.Barrier(2)
        results = []

        def post():
            with committed_env(self.registry) as env:
                env.cr.execute("SELECT 1")  # both snapshots predate either commit
                barrier.wait()
                body, created = env["commerce.api"].create_order([self.company_id], from_json(canonical.Order, payload))
                results.append((body["id"], created))

        run_in_threads(post, post)
        self.assertEqual(sorted(created for _id, created in results), [False, True])
        self.assertEqual(len({order_id for order_id, _created in results}), 1)
        with committed_env(self.registry) as env:
            self.assertEqual(env["sale.order"].search_count([("origin", "=", f"{self.tag}-R-1")]), 1)
