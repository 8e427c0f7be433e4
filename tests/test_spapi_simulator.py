"""The SP-API simulator, driven through python-amazon-sp-api exactly as the connector drives it."""

from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs

import httpx
from sp_api.api import Notifications, Orders, Tokens
from sp_api.auth import AccessTokenClient
from sp_api.auth import access_token_client
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import (
    SellingApiBadRequestException,
    SellingApiForbiddenException,
    SellingApiNotFoundException,
    SellingApiRequestThrottledException,
    SellingApiServerException,
    SellingApiTemporarilyUnavailableException,
)
from sp_api.base.credential_provider import FromCodeCredentialProvider

from odoo.tests.common import BaseCase

from ..simulators.spapi import Fault, SpApiFaultConfig, SpApiSimulator, isoformat
from ..simulators.spapi_schema import SchemaError, load_model, operation_spec, parse_datetime
from .common import isolate_sp_api_environment

US = "ATVPDKIKX0DER"
ALL_INCLUDED_DATA = next(  # every dataset the model knows, so the test follows model updates
    p for p in operation_spec("orders_2026-01-01.json", "getOrder").parameters if p.name == "includedData"
).schema["items"]["enum"]
EPOCH = "2020-01-01T00:00:00Z"


class SpApiCase(BaseCase):
    """A fresh simulator per test and python-amazon-sp-api clients wired to it."""

    simulator_options = {}

    def setUp(self):
        super().setUp()
        isolate_sp_api_environment(self)
        # The library's token caches are process-wide and keyed on the refresh token only.
        self.clear_token_caches()
        self.addCleanup(self.clear_token_caches)
        self.sim = SpApiSimulator(**self.simulator_options).start()
        self.addCleanup(self.sim.stop)

    @staticmethod
    def clear_token_caches():
        access_token_client.cache.clear()
        access_token_client.grantless_cache.clear()

    def client(self, api=Orders, *, client_secret=None, refresh_token=None, **kwargs):
        marketplace = SimpleNamespace(endpoint=self.sim.url, marketplace_id=US, region="us-east-1")
        local_lwa = type("LocalLWA", (AccessTokenClient,), {"scheme": "http://", "host": f"127.0.0.1:{self.sim.port}"})
        credentials = {
            "lwa_app_id": self.sim.client_id,
            "lwa_client_secret": client_secret or self.sim.client_secret,
            "refresh_token": refresh_token or self.sim.refresh_token,
        }
        return api(marketplace, credentials=credentials, credential_providers=[FromCodeCredentialProvider],
                   auth_token_client_class=local_lwa, timeout=kwargs.pop("timeout", 10), **kwargs)

    def orders(self, **kwargs):
        return self.client(Orders, version="2026-01-01", **kwargs)

    def stored(self, predicate):
        """Ids of the stored orders matching ``predicate(order)``, in insertion order."""
        return [order_id for order_id in self.sim.order_ids() if predicate(self.sim.order(order_id))]

    def assertNoSimulatorBugs(self):
        self.assertEqual(self.sim.response_validation_errors, [])


def status_of(order):
    return order["fulfillment"]["fulfillmentStatus"]


def unshipped_mfn(order):
    return status_of(order) == "UNSHIPPED" and order["fulfillment"]["fulfilledBy"] == "MERCHANT"


class TestLoginWithAmazon(SpApiCase):

    def test_refresh_token_exchange_then_cached_token_on_sp_api_calls(self):
        self.sim.generate_orders(3)
        orders = self.orders()
        orders.search_orders(lastUpdatedAfter=EPOCH)
        orders.search_orders(lastUpdatedAfter=EPOCH)

        [lwa_call] = self.sim.recorder.calls(operation="lwaToken")
        form = {k: v[0] for k, v in parse_qs(lwa_call.body.decode()).items()}
        self.assertEqual(form, {"grant_type": "refresh_token", "client_id": self.sim.client_id,
                                "client_secret": self.sim.client_secret, "refresh_token": self.sim.refresh_token})
        [issued] = self.sim.issued_tokens("access")
        searches = self.sim.recorder.calls(operation="searchOrders")
        self.assertEqual([c.status for c in searches], [200, 200])
        self.assertEqual({c.headers["x-amz-access-token"] for c in searches}, {issued.value})
        self.assertTrue(issued.value.startswith("Atza|"))

    def test_wrong_client_secret_is_invalid_client(self):
        with self.assertRaises(AuthorizationError) as caught:
            self.orders(client_secret="not-the-secret").search_orders(lastUpdatedAfter=EPOCH)
        self.assertEqual((caught.exception.status_code, caught.exception.error_code), (401, "invalid_client"))
        self.assertEqual(self.sim.recorder.calls(operation="searchOrders"), [])

    def test_unknown_refresh_token_is_invalid_grant(self):
        with self.assertRaises(AuthorizationError) as caught:
            self.orders(refresh_token="Atzr|revoked").search_orders(lastUpdatedAfter=EPOCH)
        self.assertEqual((caught.exception.status_code, caught.exception.error_code), (400, "invalid_grant"))
        self.assertIn("refresh_token", caught.exception.message)

    def test_grantless_token_has_a_scope_and_cannot_read_orders(self):
        token = self.client(Notifications).grantless_auth.access_token
        [issued] = self.sim.issued_tokens("grantless")
        self.assertEqual((issued.value, issued.scope), (token, "sellingpartnerapi::notifications"))
        # restricted_data_token is the library's only way to send a token of our choosing.
        with self.assertRaises(SellingApiForbiddenException):
            self.orders(restricted_data_token=token).search_orders(lastUpdatedAfter=EPOCH)

    def test_unknown_grantless_scope_is_refused(self):
        client = self.orders()
        client.grantless_scope = "sellingpartnerapi::everything"
        with self.assertRaises(AuthorizationError) as caught:
            client.grantless_auth  # noqa: B018 -- the property performs the exchange
        self.assertEqual(caught.exception.error_code, "invalid_scope")

    def test_expired_access_token_is_403_until_the_cache_is_cleared(self):
        self.sim.generate_orders(2)
        orders = self.orders()
        orders.search_orders(lastUpdatedAfter=EPOCH)
        self.sim.expire_all_access_tokens()
        with self.assertRaises(SellingApiForbiddenException) as caught:
            orders.search_orders(lastUpdatedAfter=EPOCH)
        self.assertEqual(caught.exception.error,
                         [{"code": "Unauthorized", "message": "The access token you provided has expired."}])
        # A 403 never evicts the library's cached token: the connector has to clear it.
        with self.assertRaises(SellingApiForbiddenException):
            orders.search_orders(lastUpdatedAfter=EPOCH)
        self.clear_token_caches()
        self.assertEqual(len(orders.search_orders(lastUpdatedAfter=EPOCH).payload["orders"]), 2)
        self.assertEqual(len(self.sim.recorder.calls(operation="lwaToken")), 2)

    def test_access_token_expires_after_expires_in(self):
        self.sim.access_token_ttl = 60
        orders = self.orders()
        orders.search_orders(lastUpdatedAfter=EPOCH)
        self.sim.advance_clock(61)
        with self.assertRaises(SellingApiForbiddenException) as caught:
            orders.search_orders(lastUpdatedAfter=EPOCH)
        self.assertEqual(caught.exception.message, "The access token you provided has expired.")


class TestOrders(SpApiCase):

    def test_search_orders_pages_through_last_updated_after(self):
        self.sim.generate_orders(45)
        updated = sorted(parse_datetime(self.sim.order(i)["lastUpdatedTime"]) for i in self.sim.order_ids())
        since = isoformat(updated[5])
        expected = self.stored(lambda o: parse_datetime(o["lastUpdatedTime"]) >= updated[5])
        orders = self.orders()

        pages = [orders.search_orders(lastUpdatedAfter=since, maxResultsPerPage=15)]
        while pages[-1].next_token:
            pages.append(orders.search_orders(lastUpdatedAfter=since, maxResultsPerPage=15,
                                              paginationToken=pages[-1].next_token))

        seen = [o["orderId"] for page in pages for o in page.payload["orders"]]
        self.assertEqual(len(seen), len(set(seen)))
        self.assertCountEqual(seen, expected)
        self.assertEqual([len(p.payload["orders"]) for p in pages], [15, 15, len(expected) - 30])
        stamps = [parse_datetime(o["lastUpdatedTime"]) for page in pages for o in page.payload["orders"]]
        self.assertEqual(stamps, sorted(stamps))
        # The window's upper bound, the connector's next watermark, stays fixed across pages.
        self.assertEqual(len({p.payload["lastUpdatedBefore"] for p in pages}), 1)
        self.assertNoSimulatorBugs()

    def test_pagination_token_requires_the_same_filters(self):
        self.sim.generate_orders(5)
        orders = self.orders()
        first = orders.search_orders(lastUpdatedAfter=EPOCH, maxResultsPerPage=2)
        with self.assertRaises(SellingApiBadRequestException) as caught:
            orders.search_orders(lastUpdatedAfter="2021-01-01T00:00:00Z", paginationToken=first.next_token)
        self.assertIn("paginationToken", caught.exception.message)
        # maxResultsPerPage and includedData may change between pages.
        second = orders.search_orders(lastUpdatedAfter=EPOCH, maxResultsPerPage=3, includedData=["BUYER"],
                                      paginationToken=first.next_token)
        self.assertEqual(len(second.payload["orders"]), 3)

    def test_search_filters_by_status_and_fulfillment_channel(self):
        self.sim.generate_orders(60)
        result = self.orders().search_orders(lastUpdatedAfter=EPOCH, fulfillmentStatuses=["UNSHIPPED"],
                                             fulfilledBy=["MERCHANT"], includedData=["FULFILLMENT"])
        found = {o["orderId"] for o in result.payload["orders"]}
        expected = self.stored(unshipped_mfn)
        self.assertTrue(expected)
        self.assertEqual(found, set(expected))

    def test_get_order_returns_only_the_included_data(self):
        self.sim.generate_orders(20)
        order_id = self.stored(lambda o: status_of(o) == "SHIPPED")[0]
        orders = self.orders()

        bare = orders.get_order(order_id).payload["order"]
        self.assertFalse({"buyer", "recipient", "fulfillment", "proceeds"} & set(bare))
        self.assertFalse({"proceeds", "fulfillment"} & set(bare["orderItems"][0]))

        full = orders.get_order(order_id, includedData=["BUYER", "RECIPIENT", "FULFILLMENT", "PROCEEDS"])
        stored = self.sim.order(order_id)
        for key in ("buyer", "recipient", "fulfillment", "proceeds"):
            self.assertEqual(full.payload["order"][key], stored[key])
        self.assertIn("proceeds", full.payload["order"]["orderItems"][0])
        self.assertNoSimulatorBugs()

    def test_pending_orders_hide_buyer_and_address(self):
        self.sim.generate_orders(60)
        order_id = self.stored(lambda o: status_of(o) == "PENDING")[0]
        order = self.orders().get_order(order_id, includedData=["BUYER", "RECIPIENT"]).payload["order"]
        self.assertNotIn("buyer", order)
        self.assertNotIn("recipient", order)

    def test_unknown_order_is_404(self):
        with self.assertRaises(SellingApiNotFoundException) as caught:
            self.orders().get_order("111-0000000-0000000")
        self.assertEqual(caught.exception.amzn_code, "NotFound")
        self.assertNoSimulatorBugs()

    def test_status_change_shows_up_once_the_settle_window_passed(self):
        self.sim.generate_orders(60)
        order_id = self.stored(lambda o: status_of(o) == "PENDING")[0]
        watermark = isoformat(self.sim.now() - timedelta(minutes=5))
        self.assertEqual(self.sim.advance_order_status(order_id), "UNSHIPPED")
        orders = self.orders()
        # Amazon's windows end two minutes before the request: the change is not visible yet.
        self.assertEqual(orders.search_orders(lastUpdatedAfter=watermark).payload["orders"], [])
        self.sim.advance_clock(150)
        [found] = orders.search_orders(lastUpdatedAfter=watermark, includedData=["FULFILLMENT"]).payload["orders"]
        self.assertEqual((found["orderId"], status_of(found)), (order_id, "UNSHIPPED"))
        with self.assertRaises(ValueError):
            self.sim.advance_order_status(order_id, "PENDING")

    def test_same_seed_generates_the_same_orders(self):
        twin = SpApiSimulator(seed=0)
        other = SpApiSimulator(seed=1)
        self.sim.generate_orders(10)
        twin.generate_orders(10)
        other.generate_orders(10)
        self.assertEqual([self.sim.order(i) for i in self.sim.order_ids()], [twin.order(i) for i in twin.order_ids()])
        self.assertNotEqual(self.sim.order_ids(), other.order_ids())


class TestConfirmShipment(SpApiCase):

    def package(self, order, reference="1", **overrides):
        detail = {
            "packageReferenceId": reference, "carrierCode": "UPS", "carrierName": "UPS", "shippingMethod": "UPS Ground",
            "trackingNumber": "1Z999AA10123456784", "shipDate": isoformat(self.sim.now() - timedelta(hours=1)),
            "orderItems": [{"orderItemId": i["orderItemId"], "quantity": i["quantityOrdered"]}
                           for i in order["orderItems"]],
        }
        detail.update(overrides)
        return detail

    def test_confirm_shipment_is_204_and_ships_the_order(self):
        self.sim.generate_orders(40)
        order_id = self.stored(unshipped_mfn)[0]
        order = self.sim.order(order_id)

        result = self.client(Orders).confirm_shipment(order_id, marketplaceId=US, packageDetail=self.package(order))

        self.assertEqual(result.payload, {"status_code": 204})
        [call] = self.sim.recorder.calls(operation="confirmShipment")
        self.assertEqual(call.status, 204)
        self.assertEqual(set(call.json()), {"marketplaceId", "packageDetail"})
        self.assertTrue(call.response_body == b"" and "x-amzn-RateLimit-Limit" in result.headers)
        shipped = self.orders().get_order(order_id, includedData=["FULFILLMENT", "PACKAGES"]).payload["order"]
        self.assertEqual(status_of(shipped), "SHIPPED")
        self.assertEqual(shipped["packages"][-1]["trackingNumber"], "1Z999AA10123456784")
        self.assertNoSimulatorBugs()

    def test_partial_shipment_then_duplicate_package_reference(self):
        self.sim.generate_orders(80)
        order_id = self.stored(lambda o: unshipped_mfn(o) and len(o["orderItems"]) > 1)[0]
        order = self.sim.order(order_id)
        first_line = self.package(order)["orderItems"][:1]
        client = self.client(Orders)
        client.confirm_shipment(order_id, marketplaceId=US, packageDetail=self.package(order, orderItems=first_line))
        self.assertEqual(status_of(self.sim.order(order_id)), "PARTIALLY_SHIPPED")
        with self.assertRaises(SellingApiBadRequestException) as caught:
            client.confirm_shipment(order_id, marketplaceId=US,
                                    packageDetail=self.package(order, orderItems=first_line))
        self.assertIn("already confirmed", caught.exception.message)

    def test_fba_orders_cannot_be_confirmed(self):
        self.sim.generate_orders(40)
        order_id = self.stored(lambda o: o["fulfillment"]["fulfilledBy"] == "AMAZON")[0]
        order = self.sim.order(order_id)
        with self.assertRaises(SellingApiBadRequestException) as caught:
            self.client(Orders).confirm_shipment(order_id, marketplaceId=US, packageDetail=self.package(order))
        self.assertEqual(caught.exception.amzn_code, "InvalidInput")

    def test_amazons_sandbox_bad_request_is_rejected(self):
        # The model's own TEST_CASE_400 example: a shipDate that is not ISO 8601.
        self.sim.generate_orders(40)
        order_id = self.stored(unshipped_mfn)[0]
        order = self.sim.order(order_id)
        with self.assertRaises(SellingApiBadRequestException) as caught:
            self.client(Orders).confirm_shipment(order_id, marketplaceId=US,
                                                 packageDetail=self.package(order, shipDate="02/21/2022"))
        self.assertIn("shipDate", caught.exception.message)
        self.assertEqual(status_of(self.sim.order(order_id)), "UNSHIPPED")
        [failure] = self.sim.request_validation_errors
        self.assertEqual(failure.operation, "confirmShipment")


class TestRestrictedDataToken(SpApiCase):

    def test_rdt_authorizes_exactly_its_resources(self):
        first, second = self.sim.generate_orders(2)
        created = self.client(Tokens).create_restricted_data_token(restrictedResources=[{
            "method": "GET", "path": f"/orders/2026-01-01/orders/{first}",
            "dataElements": ["buyerInfo", "shippingAddress"]}])
        rdt = created.payload["restrictedDataToken"]
        self.assertTrue(rdt.startswith("Atz.sprdt|"))
        self.assertEqual(created.payload["expiresIn"], 3600)

        with_rdt = self.orders(restricted_data_token=rdt)
        order = with_rdt.get_order(first, includedData=["BUYER"]).payload["order"]
        self.assertEqual(order["orderId"], first)
        self.assertEqual(self.sim.recorder.calls(operation="getOrder")[-1].headers["x-amz-access-token"], rdt)
        with self.assertRaises(SellingApiForbiddenException):
            with_rdt.get_order(second)
        self.assertNoSimulatorBugs()

    def test_rdt_request_is_validated(self):
        with self.assertRaises(SellingApiBadRequestException):
            self.client(Tokens).create_restricted_data_token(
                restrictedResources=[{"method": "FETCH", "path": "/orders/v0/orders"}])
        with self.assertRaises(SellingApiBadRequestException):
            self.client(Tokens).create_restricted_data_token(
                restrictedResources=[{"method": "GET", "path": "/orders/v0/orders", "dataElements": ["iban"]}])
        self.assertEqual(len(self.sim.request_validation_errors), 2)


class TestThrottling(SpApiCase):
    simulator_options = {"rate_plans": {"getOrder": (0.001, 2)}}

    def test_429_with_rate_header_after_the_burst(self):
        [order_id] = self.sim.generate_orders(1)
        orders = self.orders()
        allowed = [orders.get_order(order_id) for _ in range(2)]
        self.assertEqual([r.rate_limit for r in allowed], ["0.001", "0.001"])
        with self.assertRaises(SellingApiRequestThrottledException) as caught:
            orders.get_order(order_id)
        self.assertEqual(caught.exception.code, 429)
        self.assertEqual(caught.exception.error,
                         [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}])
        self.assertEqual(caught.exception.headers["x-amzn-RateLimit-Limit"], "0.001")
        self.assertTrue(caught.exception.headers["x-amzn-RequestId"])
        self.sim.advance_clock(1000)  # one token at 0.001/s
        self.assertEqual(orders.get_order(order_id).payload["order"]["orderId"], order_id)
        self.assertNoSimulatorBugs()

    def test_default_plans_come_from_the_models(self):
        plans = {op: operation_spec(model, op).rate_plan for model, op in (
            ("orders_2026-01-01.json", "searchOrders"), ("orders_2026-01-01.json", "getOrder"),
            ("ordersV0.json", "confirmShipment"), ("tokens_2021-03-01.json", "createRestrictedDataToken"))}
        self.assertEqual({op: (p.rate, p.burst) for op, p in plans.items()}, {
            "searchOrders": (0.0056, 20), "getOrder": (0.5, 30), "confirmShipment": (2, 10),
            "createRestrictedDataToken": (1, 10)})
        self.assertEqual(self.orders().search_orders(lastUpdatedAfter=EPOCH).rate_limit, "0.0056")


class TestFaults(SpApiCase):

    def test_html_500_comes_back_as_an_empty_payload(self):
        # The trap: python-amazon-sp-api raises only on a JSON body with "errors", so an HTML 500
        # is an ApiResponse with payload {} and the status is lost. Callers must check the keys.
        self.sim.generate_orders(3)
        self.sim.fail_next(Fault.SERVER_ERROR_HTML, "searchOrders")
        result = self.orders().search_orders(lastUpdatedAfter=EPOCH)
        self.assertEqual(result.payload, {})
        self.assertEqual(self.sim.recorder.calls(operation="searchOrders")[-1].status, 500)
        self.assertEqual(len(self.orders().search_orders(lastUpdatedAfter=EPOCH).payload["orders"]), 3)

    def test_json_5xx_and_gateway_errors(self):
        orders = self.orders()
        self.sim.fail_next(Fault.SERVER_ERROR)
        with self.assertRaises(SellingApiServerException):
            orders.search_orders(lastUpdatedAfter=EPOCH)
        self.sim.fail_next(Fault.UNAVAILABLE)
        with self.assertRaises(SellingApiTemporarilyUnavailableException):
            orders.search_orders(lastUpdatedAfter=EPOCH)
        self.sim.fail_next(Fault.THROTTLED)
        with self.assertRaises(SellingApiRequestThrottledException):
            orders.search_orders(lastUpdatedAfter=EPOCH)
        self.sim.fail_next(Fault.MALFORMED, count=2)
        for _ in range(2):  # neither gateway body has "errors": no exception, no orders
            self.assertNotIn("orders", orders.search_orders(lastUpdatedAfter=EPOCH).payload)
        statuses = [c.status for c in self.sim.recorder.calls(operation="searchOrders")]
        self.assertEqual(statuses, [500, 503, 429, 502, 502])

    def test_timeout(self):
        self.sim.faults.timeout_seconds = 0.5
        self.sim.fail_next(Fault.TIMEOUT)
        with self.assertRaises(httpx.TimeoutException):
            self.orders(timeout=0.1).search_orders(lastUpdatedAfter=EPOCH)

    def test_random_faults_follow_the_config(self):
        self.sim.faults = SpApiFaultConfig(rate_5xx=1.0, html_share_of_5xx=0.0)
        orders = self.orders()
        for _ in range(4):
            with self.assertRaises((SellingApiServerException, SellingApiTemporarilyUnavailableException)):
                orders.search_orders(lastUpdatedAfter=EPOCH)
        self.sim.faults = SpApiFaultConfig(rate_expired_token=1.0)
        with self.assertRaises(SellingApiForbiddenException):
            orders.search_orders(lastUpdatedAfter=EPOCH)
        self.sim.faults = SpApiFaultConfig()
        with self.assertRaises(SellingApiForbiddenException) as caught:  # the token really expired
            orders.search_orders(lastUpdatedAfter=EPOCH)
        self.assertEqual(caught.exception.message, "The access token you provided has expired.")


class TestValidation(SpApiCase):
    simulator_options = {"rate_multiplier": 0}  # throttling off: hundreds of calls

    def test_request_with_a_bad_enum_is_invalid_input(self):
        with self.assertRaises(SellingApiBadRequestException) as caught:
            self.orders().search_orders(lastUpdatedAfter=EPOCH, includedData=["BUYER", "SHOE_SIZE"])
        self.assertEqual(caught.exception.amzn_code, "InvalidInput")
        self.assertIn("includedData", caught.exception.message)
        self.assertEqual([f.operation for f in self.sim.request_validation_errors], ["searchOrders"])

    def test_search_window_rules(self):
        orders = self.orders()
        too_recent = isoformat(self.sim.now() - timedelta(seconds=30))
        for params in ({}, {"lastUpdatedAfter": EPOCH, "createdAfter": EPOCH},
                       {"lastUpdatedAfter": "2026-01-01T00:00:00"},  # no offset: not RFC 3339
                       {"lastUpdatedAfter": EPOCH, "lastUpdatedBefore": too_recent},
                       {"lastUpdatedAfter": EPOCH, "maxResultsPerPage": 101}):
            with self.subTest(params=params), self.assertRaises(SellingApiBadRequestException):
                orders.search_orders(**params)
        self.assertNoSimulatorBugs()

    def test_every_generated_order_passes_response_validation(self):
        self.sim.generate_orders(200)
        orders = self.orders()
        page = orders.search_orders(lastUpdatedAfter=EPOCH, includedData=ALL_INCLUDED_DATA)
        found = list(page.payload["orders"])
        while page.next_token:
            page = orders.search_orders(lastUpdatedAfter=EPOCH, includedData=ALL_INCLUDED_DATA,
                                        paginationToken=page.next_token)
            found += page.payload["orders"]
        for order in found:
            orders.get_order(order["orderId"], includedData=ALL_INCLUDED_DATA)
        self.assertEqual(len(found), 200)
        self.assertEqual(len(self.sim.recorder.calls(operation="getOrder")), 200)
        self.assertNoSimulatorBugs()
        # The data is varied enough to exercise an importer.
        self.assertEqual({status_of(o) for o in found},
                         {"PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED"})
        self.assertEqual({o["fulfillment"]["fulfilledBy"] for o in found}, {"AMAZON", "MERCHANT"})
        items = [i for o in found for i in o["orderItems"]]
        self.assertTrue(any("promotion" in i for i in items))
        self.assertTrue(any("giftOption" in i["fulfillment"].get("packing", {}) for i in items))
        self.assertTrue(any(len(o["orderItems"]) > 2 for o in found))

    def test_an_invalid_response_is_a_loud_500(self):
        [order_id] = self.sim.generate_orders(1)
        broken = self.sim.order(order_id)
        broken["orderItems"][0]["quantityOrdered"] = "two"
        with self.assertRaises(SchemaError):
            self.sim.add_order(broken)
        self.sim.add_order(broken, validate=False)
        with self.assertRaises(SellingApiServerException):
            self.orders().get_order(order_id)
        [failure] = self.sim.response_validation_errors
        self.assertEqual((failure.operation, failure.status), ("getOrder", 200))
        self.assertIn("quantityOrdered", " ".join(failure.problems))

    def test_validator_accepts_amazons_own_examples_and_rejects_broken_ones(self):
        headers = {"x-amzn-RateLimit-Limit": "0.0056", "x-amzn-RequestId": "req"}
        model = load_model("orders_2026-01-01.json")
        for path, operation_id in (("/orders/2026-01-01/orders", "searchOrders"),
                                   ("/orders/2026-01-01/orders/{orderId}", "getOrder")):
            ok = model["paths"][path]["get"]["responses"]["200"]
            examples = [ok["examples"]["application/json"]] + [
                case["response"] for case in ok["x-amzn-api-sandbox"]["static"]]
            spec = operation_spec("orders_2026-01-01.json", operation_id)
            for example in examples:
                self.assertEqual(spec.response_problems(200, example, headers), [])
            self.assertTrue(spec.response_problems(200, {"orders": [{"orderId": "1"}], "order": {}}, headers))
            self.assertTrue(spec.response_problems(200, examples[0], {}))  # the headers are declared too
