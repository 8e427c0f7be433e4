"""The Clarity simulator itself: the contract it serves, its data generator and its webhooks."""

import hashlib
import hmac
import json
import random
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from ..simulators.base import FaultConfig, Response, SimulatorServer, route
from ..simulators.clarity import ClarityDataGenerator, ClaritySimulator, compute_signature

CLIENT_ID = "odoo-test"
CLIENT_SECRET = "s3cr3t-client-secret"
WEBHOOK_SECRET = "whsec-super-secret"
REPO_ROOT = Path(__file__).resolve().parents[1]


class WebhookReceiver(SimulatorServer):
    """A stand-in for Odoo's webhook controller: accepts everything, the recorder keeps it."""

    @route("POST", "/hooks/clarity", "webhook")
    def receive(self, request):
        return Response(200, {"received": request.headers.get("x-clarity-event-id")})


def start(**options):
    options.setdefault("client_id", CLIENT_ID)
    options.setdefault("client_secret", CLIENT_SECRET)
    options.setdefault("webhook_secret", WEBHOOK_SECRET)
    return ClaritySimulator(**options).start()


@pytest.fixture
def simulator():
    sim = start()
    yield sim
    sim.stop()


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    yield server
    server.stop()


def token(sim, secret=CLIENT_SECRET):
    response = requests.post(f"{sim.url}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": secret}, timeout=5)
    return response


def api(sim, method, path, access_token=None, **kwargs):
    access_token = access_token or token(sim).json()["access_token"]
    return requests.request(method, f"{sim.url}/api/v1{path}", timeout=5,
                            headers={"Authorization": f"Bearer {access_token}"}, **kwargs)


# -- OAuth ---------------------------------------------------------------------------------
def test_token_endpoint_issues_expiring_bearer_tokens(simulator):
    simulator.token_ttl = 120
    issued = token(simulator)
    assert issued.status_code == 200
    body = issued.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 120 and body["access_token"]
    assert api(simulator, "GET", "/orders", body["access_token"]).status_code == 200
    simulator.expire_tokens()
    refused = api(simulator, "GET", "/orders", body["access_token"])
    assert refused.status_code == 401
    assert refused.json()["ResponseStatus"]["ErrorCode"] == "Unauthorized"


def test_token_endpoint_rejects_bad_clients_and_grants(simulator):
    bad = token(simulator, secret="wrong")
    assert (bad.status_code, bad.json()["error"]) == (401, "invalid_client")
    grant = requests.post(f"{simulator.url}/oauth/token", data={"grant_type": "password"}, timeout=5)
    assert (grant.status_code, grant.json()["error"]) == (400, "unsupported_grant_type")
    assert requests.get(f"{simulator.url}/api/v1/orders", timeout=5).status_code == 401
    assert api(simulator, "GET", "/orders", "forged-token").status_code == 401


# -- data generator ------------------------------------------------------------------------
def test_generated_orders_have_consistent_totals_and_are_deterministic():
    def build(seed):
        generator = ClarityDataGenerator(seed)
        products, customers = generator.products(), generator.customers(4)
        return generator.orders(30, customers, products)

    orders = build(7)
    assert orders == build(7) and orders != build(8)
    cent = Decimal("0.01")
    for order in orders:
        totals = {k: Decimal(str(v)) for k, v in order["Totals"].items()}
        lines = order["SalesItems"]
        assert totals["Total"] == sum(v for k, v in totals.items() if k != "Total")
        assert totals["SubTotal"] == sum(Decimal(str(line["ExtendedPrice"])) for line in lines)
        assert totals["Tax"] == sum(Decimal(str(line["ExtendedTaxAmount"])) for line in lines)
        assert totals["Discounts"] == sum(Decimal(str(d["DiscountTotal"])) for d in order["Discounts"])
        assert totals["Discounts"] <= 0
        assert order["SalesOrderPayments"][0]["Slave"]["Amount"] == order["Totals"]["Total"]
        for line in lines:
            sold, core, quantity = (Decimal(str(line[k])) for k in ("UnitSoldPrice", "UnitCorePrice", "Quantity"))
            assert Decimal(str(line["ExtendedPrice"])) == (sold * quantity).quantize(cent)
            assert sum(Decimal(str(d["DiscountTotal"])) for d in line["Discounts"]) == ((sold - core) * quantity)
            assert line["Sku"] == line["ProductKey"]


def test_generated_records_are_shaped_like_the_contract_examples(simulator):
    simulator.seed_demo_data(orders=5, products=8, customers=3, seed=1)
    order = simulator.get_order(10001)
    assert {"ID", "CustomKey", "UpdatedDate", "StatusKey", "AccountKey", "PurchaseOrderNumber", "CurrencyKey",
            "BillingContact", "ShippingContact", "ShippingDetail", "SalesItems", "Discounts", "Totals",
            "SalesOrderPayments", "SerializableAttributes"} <= set(order)
    assert set(order["Totals"]) == {"SubTotal", "Shipping", "Handling", "Fees", "Discounts", "Tax", "Total"}
    assert order["AccountKey"] in simulator.customers
    assert {line["Sku"] for line in order["SalesItems"]} <= simulator.known_skus()
    master = simulator.get_product("WID-100")
    assert master["TypeKey"] == "VARIANT-MASTER"
    assert {v["TypeKey"] for v in master["Variants"]} == {"VARIANT"}
    assert master["Variants"][0]["SerializableAttributes"]["Color"] == {"Key": "Color", "Value": "Blue"}
    customer = next(iter(simulator.customers.values()))
    assert set(customer) == {"Account", "User", "Addresses"}
    assert [a["IsBilling"] for a in customer["Addresses"]] == [True, False]
    assert simulator.stock("CAB-USB-2M")["LocationKey"] == "MAIN"


# -- paging and lookups --------------------------------------------------------------------
def test_paging_caps_size_and_reports_totals(simulator):
    for n in range(520):
        simulator.add_category({"CustomKey": f"cat-{n:03d}"})
    access_token = token(simulator).json()["access_token"]
    first = api(simulator, "GET", "/categories", access_token, params={"Size": 1000, "StartIndex": 1}).json()
    assert (first["CurrentPage"], first["CurrentCount"], first["TotalPages"], first["TotalCount"]) == (1, 500, 2, 520)
    second = api(simulator, "GET", "/categories", access_token, params={"Size": 1000, "StartIndex": 2}).json()
    assert second["CurrentCount"] == 20
    assert {c["CustomKey"] for c in first["Results"] + second["Results"]} == set(simulator.categories)
    beyond = api(simulator, "GET", "/categories", access_token, params={"StartIndex": 9}).json()
    assert beyond["Results"] == [] and beyond["TotalCount"] == 520


def test_modified_since_filters_on_updated_date(simulator):
    for minute in range(10):
        simulator.add_order({"UpdatedDate": f"2025-03-04T15:{minute:02d}:00Z"})
    page = api(simulator, "GET", "/orders", params={"ModifiedSince": "2025-03-04T15:07:00Z"}).json()
    assert [o["UpdatedDate"][-6:-1] for o in page["Results"]] == ["07:00", "08:00", "09:00"]
    bad = api(simulator, "GET", "/orders", params={"ModifiedSince": "yesterday", "StartIndex": 0})
    assert bad.status_code == 400
    fields = {e["FieldName"] for e in bad.json()["ResponseStatus"]["Errors"]}
    assert fields == {"ModifiedSince", "StartIndex"}


def test_missing_records_answer_404_with_response_status(simulator):
    access_token = token(simulator).json()["access_token"]
    for path in ("/orders/404", "/orders/not-a-number", "/products/NOPE", "/customers/NOPE", "/returns/1"):
        response = api(simulator, "GET", path, access_token)
        assert response.status_code == 404, path
        assert response.json()["ResponseStatus"]["ErrorCode"] == "NotFound"


# -- writes --------------------------------------------------------------------------------
def test_order_status_changes_and_void_is_final(simulator):
    simulator.add_order({"ID": 7, "StatusKey": "Confirmed"})
    access_token = token(simulator).json()["access_token"]
    changed = api(simulator, "POST", "/orders/7/status", access_token, json={"StatusKey": "Void", "Note": "fraud"})
    assert changed.json()["ActionSucceeded"] is True and changed.json()["Result"]["StatusKey"] == "Void"
    refused = api(simulator, "POST", "/orders/7/status", access_token, json={"StatusKey": "Confirmed"}).json()
    assert refused["ActionSucceeded"] is False and "Void" in refused["Messages"][0]
    assert simulator.get_order(7)["StatusKey"] == "Void"


def test_configured_business_failures_answer_200_action_failed(simulator):
    simulator.add_order({"ID": 8, "CustomKey": "SO-8"})
    simulator.fail_business("SO-8", "ACME-001", message="Blocked by rule")
    access_token = token(simulator).json()["access_token"]
    for method, path, body in (("POST", "/orders/8/status", {"StatusKey": "Processing"}),
                               ("PUT", "/customers/ACME-001", {"Account": {"Name": "Acme"}})):
        response = api(simulator, method, path, access_token, json=body)
        assert response.status_code == 200
        assert response.json() == {"ActionSucceeded": False, "Messages": ["Blocked by rule"], "Result": None}
    simulator.clear_business_failures()
    assert api(simulator, "POST", "/orders/8/status", access_token,
               json={"StatusKey": "Processing"}).json()["ActionSucceeded"] is True


def test_shipments_validate_lines_and_refuse_overshipping(simulator):
    simulator.add_order({"ID": 9, "SalesItems": [{"Sku": "A", "Quantity": 2}, {"Sku": "B", "Quantity": 1}]})
    simulator.add_order({"ID": 10, "SalesItems": [{"Sku": "A", "Quantity": 1}]})
    access_token = token(simulator).json()["access_token"]

    def ship(order_id, custom_key, lines):
        return api(simulator, "POST", f"/orders/{order_id}/shipments", access_token,
                   json={"CustomKey": custom_key, "TrackingNumber": "1Z1", "Lines": lines})

    missing_key = api(simulator, "POST", "/orders/9/shipments", access_token, json={"Lines": []})
    assert {e["FieldName"] for e in missing_key.json()["ResponseStatus"]["Errors"]} == {"CustomKey", "Lines"}
    assert ship(9, "S1", [{"Sku": "Z", "Quantity": 1}]).status_code == 400
    too_many = ship(9, "S1", [{"Sku": "A", "Quantity": 3}]).json()
    assert too_many["ActionSucceeded"] is False and "A: 3 requested, 2 left to ship" in too_many["Messages"]
    partial = ship(9, "S1", [{"Sku": "A", "Quantity": 1}, {"Sku": "A", "Quantity": 1}]).json()
    assert partial["Result"]["ShipmentLines"] == [{"Sku": "A", "Quantity": 2}]
    assert simulator.get_order(9)["StatusKey"] == "Pending"
    repeated = ship(9, "S1", [{"Sku": "A", "Quantity": 1}]).json()  # same CustomKey: nothing changes
    assert repeated["Result"]["ID"] == partial["Result"]["ID"] and "already exists" in repeated["Messages"][0]
    assert ship(10, "S1", [{"Sku": "A", "Quantity": 1}]).status_code == 409
    ship(9, "S2", [{"Sku": "B", "Quantity": 1}])
    assert simulator.get_order(9)["StatusKey"] == "Shipped"
    assert len(simulator.shipments) == 2


def test_product_upsert_keeps_ids_and_guards_variant_ownership(simulator):
    access_token = token(simulator).json()["access_token"]
    assert api(simulator, "PUT", "/products/WID-100", access_token, json={"PriceBase": 1}).status_code == 400
    created = api(simulator, "PUT", "/products/WID-100", access_token, json={
        "Name": "Widget 100", "Variants": [{"CustomKey": "WID-100-BLU-M"}]}).json()["Result"]
    updated = api(simulator, "PUT", "/products/WID-100", access_token, json={
        "PriceBase": 41.0, "Variants": [{"CustomKey": "WID-100-BLU-M"}, {"CustomKey": "WID-100-RED-L"}]}
    ).json()["Result"]
    assert updated["ID"] == created["ID"] and updated["Name"] == "Widget 100"
    assert updated["Variants"][0]["ID"] == created["Variants"][0]["ID"]
    assert updated["TypeKey"] == "VARIANT-MASTER"
    stolen = api(simulator, "PUT", "/products/GAD-200", access_token, json={
        "Name": "Gadget", "Variants": [{"CustomKey": "WID-100-RED-L"}]})
    assert stolen.status_code == 409
    listed = api(simulator, "GET", "/products", access_token, params={"Sku": "WID-100-RED-L"}).json()
    assert [p["CustomKey"] for p in listed["Results"]] == ["WID-100"]


def test_inventory_limits_the_batch_and_reports_each_item(simulator):
    simulator.add_product({"CustomKey": "CAB-USB-2M", "Name": "USB cable"})
    simulator.fail_business("LOCKED", message="SKU is locked")
    simulator.add_product({"CustomKey": "LOCKED", "Name": "Locked"})
    access_token = token(simulator).json()["access_token"]
    too_big = api(simulator, "POST", "/inventory", access_token,
                  json={"Items": [{"Sku": "CAB-USB-2M", "LocationKey": "MAIN", "Quantity": 1}] * 501})
    assert too_big.status_code == 413
    assert too_big.json()["ResponseStatus"]["ErrorCode"] == "PayloadTooLarge"
    reply = api(simulator, "POST", "/inventory", access_token, json={"Items": [
        {"Sku": "CAB-USB-2M", "LocationKey": "MAIN", "Quantity": 12},
        {"Sku": "NOPE", "LocationKey": "MAIN", "Quantity": 1},
        {"Sku": "CAB-USB-2M", "LocationKey": "MOON", "Quantity": 1},
        {"Sku": "CAB-USB-2M", "LocationKey": "MAIN", "Quantity": -3},
        {"Sku": "LOCKED", "LocationKey": "MAIN", "Quantity": 1},
    ]})
    assert reply.status_code == 200
    assert [r["Status"] for r in reply.json()["Results"]] == ["ok", "not_found", "not_found", "error", "error"]
    assert simulator.stock("CAB-USB-2M")["Quantity"] == 12


# -- limits and faults ---------------------------------------------------------------------
def test_rate_limit_answers_429_with_retry_after(simulator):
    simulator.set_rate_limit(60, burst=2)
    access_token = token(simulator).json()["access_token"]
    codes = [api(simulator, "GET", "/orders", access_token).status_code for _ in range(2)]
    limited = api(simulator, "GET", "/orders", access_token)
    assert codes == [200, 200] and limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert token(simulator).status_code == 200  # the token endpoint is not rate-limited


def test_fault_rates_hit_the_api_but_spare_the_token_endpoint():
    sim = start(faults=FaultConfig(rate_429=1.0, seed=3))
    try:
        assert token(sim).status_code == 200
        assert api(sim, "GET", "/orders").status_code == 429
        sim.faults = FaultConfig(rate_malformed=1.0)
        malformed = api(sim, "GET", "/orders")
        assert malformed.status_code == 200
        with pytest.raises(ValueError):
            json.loads(malformed.text)
        sim.faults = FaultConfig(rate_5xx=1.0)
        assert token(sim).status_code == 503  # an identity provider outage
    finally:
        sim.stop()


def test_scripted_faults_run_in_order_and_can_target_an_operation(simulator):
    access_token = token(simulator).json()["access_token"]
    simulator.fail_next("503", retry_after=4)
    simulator.fail_next("502", operation="list_products")
    assert api(simulator, "GET", "/products", access_token).status_code == 503
    assert api(simulator, "GET", "/orders", access_token).status_code == 200
    assert api(simulator, "GET", "/products", access_token).status_code == 502
    assert api(simulator, "GET", "/products", access_token).status_code == 200
    simulator.fail_next("503", operation="oauth_token")
    assert token(simulator).status_code == 503
    with pytest.raises(ValueError):
        simulator.fail_next("418")


# -- webhooks ------------------------------------------------------------------------------
def received(receiver):
    return receiver.recorder.calls(operation="webhook")


def expected_signature(call, secret=WEBHOOK_SECRET):
    message = call.headers["x-clarity-timestamp"].encode() + b"." + call.body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_webhook_is_signed_exactly_as_the_contract_says(simulator, receiver):
    url = f"{receiver.url}/hooks/clarity"
    data = {"ID": 10452, "CustomKey": "SO-10452", "StatusKey": "Processing", "PreviousStatusKey": "Confirmed"}
    status, body = simulator.send_webhook(url, "order.updated", data)
    assert status == 200
    (call,) = received(receiver)
    assert call.headers["x-clarity-signature"] == expected_signature(call)
    assert abs(int(call.headers["x-clarity-timestamp"]) - time.time()) < 5
    envelope = call.json()
    assert set(envelope) == {"Id", "Event", "CreatedAt", "ApiVersion", "StoreKey", "Data"}
    assert (envelope["Event"], envelope["ApiVersion"], envelope["StoreKey"], envelope["Data"]) == (
        "order.updated", "v1", "STORE-1", data)
    assert call.headers["x-clarity-event"] == "order.updated"
    assert call.headers["x-clarity-event-id"] == envelope["Id"] == json.loads(body)["received"]
    assert compute_signature(WEBHOOK_SECRET, 1700000000, b"{}") == hmac.new(
        WEBHOOK_SECRET.encode(), b"1700000000.{}", hashlib.sha256).hexdigest()


def test_resend_and_duplicates_keep_the_event_id(simulator, receiver):
    url = f"{receiver.url}/hooks/clarity"
    simulator.send_webhook(url, "product.updated", {"CustomKey": "WID-100"}, timestamp=int(time.time()) - 60)
    event_id = simulator.sent_webhooks[0].event_id
    simulator.resend(event_id)
    simulator.send_duplicates(url, "customer.updated", {"Account": {"CustomKey": "ACME-001"}}, copies=3)
    first, resent, *copies = received(receiver)
    assert resent.headers["x-clarity-event-id"] == event_id and resent.body == first.body
    assert resent.headers["x-clarity-timestamp"] != first.headers["x-clarity-timestamp"]
    assert resent.headers["x-clarity-signature"] == expected_signature(resent)
    assert len({c.headers["x-clarity-event-id"] for c in copies}) == 1 and len(copies) == 3
    assert [d.kind for d in simulator.sent_webhooks] == ["original", "resend", "original", "duplicate", "duplicate"]
    with pytest.raises(KeyError):
        simulator.resend("00000000-0000-0000-0000-000000000000")


def test_forged_and_stale_webhooks_are_detectable(simulator, receiver):
    url = f"{receiver.url}/hooks/clarity"
    simulator.send_forged(url, "order.created", {"ID": 1})
    simulator.send_stale(url, "order.created", {"ID": 2}, age_seconds=600)
    forged, stale = received(receiver)
    assert forged.headers["x-clarity-signature"] != expected_signature(forged)
    assert stale.headers["x-clarity-signature"] == expected_signature(stale)
    assert time.time() - int(stale.headers["x-clarity-timestamp"]) >= 600


def test_shuffled_delivery_sends_every_event_in_seeded_order(simulator, receiver):
    url = f"{receiver.url}/hooks/clarity"
    events = [("order.updated", {"ID": n, "UpdatedDate": f"2025-03-04T15:0{n}:00Z"}) for n in range(8)]
    results = simulator.deliver_shuffled(url, events, seed=42)
    expected = list(range(8))
    random.Random(42).shuffle(expected)
    assert [call.json()["Data"]["ID"] for call in received(receiver)] == expected != list(range(8))
    assert [r[2] for r in results] == [200] * 8
    assert [r[0] for r in results] == [call.headers["x-clarity-event-id"] for call in received(receiver)]


def test_unreachable_receiver_is_recorded_not_raised(simulator):
    status, body = simulator.send_webhook("http://127.0.0.1:9/hooks", "order.created", {"ID": 1})
    assert status == 0 and "ConnectionError" in body
    assert simulator.sent_webhooks[-1].status == 0


# -- command line --------------------------------------------------------------------------
def test_runs_alone_from_the_repository_root():
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators.clarity", "--port", "0", "--demo-orders", "3",
         "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("Clarity simulator listening on http://127.0.0.1:"), process.stderr.read()
        url = line.rsplit(" ", 1)[1].strip()
        issued = requests.post(f"{url}/oauth/token", data={
            "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, timeout=5)
        orders = requests.get(f"{url}/api/v1/orders", timeout=5,
                              headers={"Authorization": f"Bearer {issued.json()['access_token']}"})
        assert orders.json()["TotalCount"] == 3
    finally:
        process.terminate()
        process.wait(timeout=5)
