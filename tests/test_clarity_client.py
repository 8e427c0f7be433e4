"""ClarityClient against the Clarity simulator over real HTTP on loopback (no ORM needed)."""

import logging
import socket
import time
from datetime import datetime, timedelta, timezone

import pytest

from ..channels.clarity.client import ClarityClient
from ..core.errors import AuthError, BusinessError, PayloadValidationError, TransientError
from ..simulators.base import FaultConfig
from ..simulators.clarity import ClaritySimulator

CLIENT_ID = "odoo-test"
CLIENT_SECRET = "s3cr3t-client-secret"
BASE_DATE = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def simulator():
    sim = ClaritySimulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                           faults=FaultConfig(timeout_seconds=1.0)).start()
    yield sim
    sim.stop()


class RecordingSleep:
    """Stands in for time.sleep: records the waits tenacity asks for, optionally sleeps them."""

    def __init__(self, real=False):
        self.waits = []
        self.real = real

    def __call__(self, seconds):
        self.waits.append(seconds)
        if self.real:
            time.sleep(seconds)


def make_client(sim, **overrides):
    options = {"timeout": 5, "wait_min": 0.01, "wait_max": 0.05, "max_attempts": 5, **overrides}
    return ClarityClient(sim.url, CLIENT_ID, options.pop("client_secret", CLIENT_SECRET), **options)


def seed_order(sim, order_id=10452, **fields):
    return sim.add_order({
        "ID": order_id, "StatusKey": "Confirmed",
        "SalesItems": [
            {"Sku": "WID-100-BLU-M", "Name": "Widget 100 Blue/M", "Quantity": 2,
             "UnitCorePrice": 40.0, "UnitSoldPrice": 36.0, "ExtendedPrice": 72.0, "ExtendedTaxAmount": 5.94},
            {"Sku": "CAB-USB-2M", "Name": "USB cable 2 m", "Quantity": 1,
             "UnitCorePrice": 12.5, "UnitSoldPrice": 12.5, "ExtendedPrice": 12.5, "ExtendedTaxAmount": 1.03},
        ],
        **fields,
    })


def statuses(sim, operation):
    return [call.status for call in sim.recorder.calls(operation=operation)]


def bearer(call):
    return call.headers.get("authorization")


# -- token handling ------------------------------------------------------------------------
def test_token_is_cached_between_calls(simulator):
    seed_order(simulator)
    client = make_client(simulator)
    client.get_order(10452)
    client.get_order(10452)
    assert statuses(simulator, "oauth_token") == [200]
    first, second = simulator.recorder.calls(operation="get_order")
    assert bearer(first) == bearer(second) and bearer(first).startswith("Bearer ")


def test_token_is_renewed_at_ninety_percent_of_its_lifetime(simulator):
    seed_order(simulator)
    simulator.token_ttl = 100
    now = [1000.0]
    client = make_client(simulator, clock=lambda: now[0])
    client.get_order(10452)
    now[0] += 89  # 89 % of the lifetime: still the cached token
    client.get_order(10452)
    assert statuses(simulator, "oauth_token") == [200]
    now[0] += 2  # 91 %: renewed before the call goes out
    client.get_order(10452)
    assert statuses(simulator, "oauth_token") == [200, 200]
    calls = simulator.recorder.calls(operation="get_order")
    assert bearer(calls[0]) == bearer(calls[1]) != bearer(calls[2])
    assert statuses(simulator, "get_order") == [200, 200, 200]  # no call ever hit a 401


def test_expired_token_is_refetched_once_on_401(simulator):
    seed_order(simulator)
    client = make_client(simulator)
    client.get_order(10452)
    simulator.expire_tokens()
    assert client.get_order(10452)["ID"] == 10452
    assert statuses(simulator, "get_order") == [200, 401, 200]
    assert statuses(simulator, "oauth_token") == [200, 200]


def test_token_refused_again_after_refetch_raises_auth_error(simulator):
    seed_order(simulator)
    simulator.token_ttl = 0  # every token is dead on arrival
    client = make_client(simulator)
    with pytest.raises(AuthError):
        client.get_order(10452)
    assert statuses(simulator, "get_order") == [401, 401]
    assert statuses(simulator, "oauth_token") == [200, 200]


def test_bad_secret_raises_auth_error_without_retrying(simulator):
    client = make_client(simulator, client_secret="wrong-secret")
    with pytest.raises(AuthError) as caught:
        client.get_order(1)
    assert "invalid_client" in caught.value.message
    assert "wrong-secret" not in f"{caught.value.message} {caught.value.detail} {client!r}"
    assert statuses(simulator, "oauth_token") == [401]
    assert simulator.recorder.calls(path_prefix="/api/v1") == []


def test_test_connection_fetches_a_fresh_token(simulator):
    simulator.add_category({"CustomKey": "widgets"})
    client = make_client(simulator)
    assert client.test_connection() == {"ok": True, "categories": 1}
    assert client.test_connection()["ok"]
    assert statuses(simulator, "oauth_token") == [200, 200]
    with pytest.raises(AuthError):
        make_client(simulator, client_secret="nope").test_connection()


# -- paging --------------------------------------------------------------------------------
def test_iter_orders_pages_with_modified_since(simulator):
    for index in range(23):
        seed_order(simulator, 20000 + index, UpdatedDate=(BASE_DATE + timedelta(minutes=index)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"))
    client = make_client(simulator)
    since = (BASE_DATE + timedelta(minutes=5)).replace(tzinfo=None)  # naive = UTC, as Odoo stores it
    orders = list(client.iter_orders(modified_since=since, page_size=5))
    assert [o["ID"] for o in orders] == list(range(20005, 20023))
    calls = simulator.recorder.calls(operation="list_orders")
    assert [c.query["StartIndex"] for c in calls] == [["1"], ["2"], ["3"], ["4"]]
    assert all(c.query["ModifiedSince"] == ["2025-03-01T08:05:00Z"] and c.query["Size"] == ["5"] for c in calls)


def test_iterators_cover_products_customers_and_returns(simulator):
    simulator.seed_demo_data(orders=3, products=8, customers=4, seed=3)
    simulator.add_return({"ReturnKey": "RMA-77", "SalesOrderID": 10001, "StatusKey": "Confirmed",
                          "SalesItems": [{"Sku": "CAB-USB-2M", "Quantity": 1}], "RefundAmount": 13.53})
    client = make_client(simulator)
    assert sorted(p["CustomKey"] for p in client.iter_products(page_size=3)) == sorted(simulator.products)
    assert sorted(c["Account"]["CustomKey"] for c in client.iter_customers(page_size=3)) == sorted(simulator.customers)
    assert [r["ReturnKey"] for r in client.iter_returns()] == ["RMA-77"]
    with pytest.raises(ValueError):
        list(client.iter_orders(page_size=501))


# -- retries -------------------------------------------------------------------------------
def test_429_waits_for_retry_after_then_succeeds(simulator):
    seed_order(simulator)
    simulator.set_rate_limit(60, burst=2)  # one token per second after a burst of two
    sleep = RecordingSleep(real=True)
    client = make_client(simulator, retry_after_cap=5, sleep=sleep)
    client.get_order(10452)
    started = time.monotonic()
    client.get_order(10452)  # second and last call of the burst
    client.get_order(10452)  # over the limit: 429, then waits Retry-After and succeeds
    assert time.monotonic() - started >= 0.9
    assert statuses(simulator, "get_order") == [200, 200, 429, 200]
    assert sleep.waits == [1.0]


def test_retry_after_beyond_the_cap_raises_at_once(simulator):
    seed_order(simulator)
    simulator.fail_next("429", retry_after=120)
    client = make_client(simulator, retry_after_cap=2, sleep=RecordingSleep())
    with pytest.raises(TransientError) as caught:
        client.get_order(10452)
    assert caught.value.retry_after == 120
    assert statuses(simulator, "get_order") == [429]


def test_502_503_504_are_retried_with_bounded_backoff(simulator):
    seed_order(simulator)
    for kind in ("502", "503", "504"):
        simulator.fail_next(kind)
    sleep = RecordingSleep()
    client = make_client(simulator, wait_min=0.5, wait_max=3, sleep=sleep)
    assert client.get_order(10452)["ID"] == 10452
    assert statuses(simulator, "get_order") == [502, 503, 504, 200]
    assert len(sleep.waits) == 3
    assert all(0.5 <= wait <= 3 for wait in sleep.waits)
    assert sleep.waits[0] <= 1.0  # the first retry is the shortest: 0.5 * 2 at most


def test_timeout_is_retried(simulator):
    seed_order(simulator)
    simulator.fail_next("timeout")  # the simulator hangs 1 s; the client gives up after 0.3 s
    seen = []
    client = make_client(simulator, timeout=0.3, on_call=lambda op, status, *_: seen.append((op, status)))
    assert client.get_order(10452)["ID"] == 10452
    assert ("get_order", "timeout") in seen and seen[-1] == ("get_order", 200)


def test_exhausted_retries_raise_transient_error(simulator):
    seed_order(simulator)
    simulator.fail_next("503", times=10)
    client = make_client(simulator, max_attempts=3)
    with pytest.raises(TransientError) as caught:
        client.get_order(10452)
    assert type(caught.value) is TransientError
    assert "gave up after 3 attempt(s)" in caught.value.message
    assert statuses(simulator, "get_order") == [503, 503, 503]


def test_exhausted_429_carries_retry_after(simulator):
    seed_order(simulator)
    simulator.fail_next("429", times=10, retry_after=1)
    client = make_client(simulator, max_attempts=2, retry_after_cap=1, sleep=RecordingSleep())
    with pytest.raises(TransientError) as caught:
        client.get_order(10452)
    assert caught.value.retry_after == 1
    assert statuses(simulator, "get_order") == [429, 429]


def test_connection_error_becomes_transient_error():
    with socket.socket() as probe:  # a port nobody listens on any more
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    seen = []
    client = ClarityClient(f"http://127.0.0.1:{port}", CLIENT_ID, CLIENT_SECRET, timeout=1, max_attempts=3,
                           wait_min=0.01, wait_max=0.02, on_call=lambda op, status, *_: seen.append((op, status)))
    with pytest.raises(TransientError):
        client.get_order(1)
    assert seen == [("oauth_token", "connection_error")] * 3


def test_500_is_transient_but_not_retried_in_call(simulator):
    seed_order(simulator)
    simulator.fail_next("500")
    with pytest.raises(TransientError):
        make_client(simulator).get_order(10452)
    assert statuses(simulator, "get_order") == [500]


def test_malformed_json_is_retried_then_transient(simulator):
    seed_order(simulator)
    simulator.fail_next("malformed")
    client = make_client(simulator, max_attempts=2)
    assert client.get_order(10452)["ID"] == 10452
    simulator.fail_next("malformed", times=2)
    with pytest.raises(TransientError) as caught:
        client.get_order(10452)
    assert "malformed JSON" in caught.value.message
    assert statuses(simulator, "get_order") == [200, 200, 200, 200]  # a 200 whose body is cut


# -- errors that must not be retried -------------------------------------------------------
def test_action_succeeded_false_raises_business_error(simulator):
    simulator.fail_business("WID-100", message="Product is locked by the PIM")
    client = make_client(simulator)
    with pytest.raises(BusinessError) as caught:
        client.upsert_product("WID-100", {"Name": "Widget 100", "PriceBase": 40.0})
    assert "Product is locked by the PIM" in caught.value.message
    assert statuses(simulator, "upsert_product") == [200]
    assert simulator.get_product("WID-100") is None


def test_validation_error_carries_the_field_message(simulator):
    seed_order(simulator)
    client = make_client(simulator)
    with pytest.raises(PayloadValidationError) as caught:
        client.set_order_status(10452, "Cancelled")  # Clarity has no Cancelled: a cancel is Void
    assert "StatusKey" in caught.value.message and "Cancelled" in caught.value.message
    assert caught.value.detail["errors"][0]["field"] == "StatusKey"
    assert statuses(simulator, "set_order_status") == [400]


def test_missing_order_is_a_business_error(simulator):
    with pytest.raises(BusinessError) as caught:
        make_client(simulator).get_order(99999)
    assert "not found" in caught.value.message
    assert caught.value.detail["status"] == 404


def test_set_order_status_returns_the_order(simulator):
    seed_order(simulator)
    client = make_client(simulator)
    order = client.set_order_status(10452, "Processing", note="picked in WH")
    assert order["StatusKey"] == "Processing"
    assert simulator.status_changes == [(10452, "Confirmed", "Processing", "picked in WH")]
    client.set_order_status(10452, "Void")
    with pytest.raises(BusinessError):
        client.set_order_status(10452, "Confirmed")


# -- writes --------------------------------------------------------------------------------
def test_push_inventory_splits_1200_items_into_three_calls(simulator):
    simulator.add_product({"CustomKey": "BOLT", "Name": "Bolt",
                           "Variants": [{"CustomKey": f"BOLT-{n:03d}"} for n in range(400)]})
    for location in ("WH1", "WH2", "WH3"):
        simulator.add_location(location)
    items = [{"Sku": f"BOLT-{n:03d}", "LocationKey": location, "Quantity": n}
             for location in ("WH1", "WH2", "WH3") for n in range(400)]
    items[700]["Sku"] = "NO-SUCH-SKU"
    results = make_client(simulator).push_inventory(items)
    calls = simulator.recorder.calls(operation="push_inventory")
    assert [len(call.json()["Items"]) for call in calls] == [500, 500, 200]
    assert len(results) == 1200
    assert [r["Sku"] for r in results] == [i["Sku"] for i in items]  # input order kept
    assert results[700]["Status"] == "not_found"
    assert sum(r["Status"] == "ok" for r in results) == 1199
    assert simulator.stock("BOLT-399", "WH3")["Quantity"] == 399


def test_shipment_is_idempotent_and_ships_the_order(simulator):
    seed_order(simulator)
    client = make_client(simulator)
    body = {"CustomKey": "WH/OUT/00042", "CarrierName": "UPS", "ShipMethod": "Ground",
            "TrackingNumber": "1Z999AA10123456784", "ShipDate": "2025-03-05T10:00:00Z",
            "Lines": [{"Sku": "WID-100-BLU-M", "Quantity": 2}]}
    first = client.create_shipment(10452, body)
    again = client.create_shipment(10452, body)  # a retried job
    assert first["ID"] == again["ID"] and len(simulator.shipments) == 1
    assert simulator.get_order(10452)["StatusKey"] == "Confirmed"  # one line still open
    client.create_shipment(10452, {**body, "CustomKey": "WH/OUT/00043",
                                   "Lines": [{"Sku": "CAB-USB-2M", "Quantity": 1}]})
    order = simulator.get_order(10452)
    assert order["StatusKey"] == "Shipped"
    assert order["ShippingDetail"]["TrackingNumber"] == "1Z999AA10123456784"
    seed_order(simulator, 10453)
    with pytest.raises(PayloadValidationError) as caught:  # the same key on another order: 409
        client.create_shipment(10453, body)
    assert caught.value.detail["status"] == 409


def test_upsert_product_and_customer_round_trip(simulator):
    client = make_client(simulator)
    product = client.upsert_product("WID/100 XL", {"Name": "Widget 100 XL", "PriceBase": 45.0})
    assert simulator.get_product("WID/100 XL")["ID"] == product["ID"]  # '/' kept inside the segment
    updated = client.upsert_product("WID/100 XL", {"PriceBase": 47.5})
    assert (updated["ID"], updated["Name"], updated["PriceBase"]) == (product["ID"], "Widget 100 XL", 47.5)
    customer = client.upsert_customer("ACME-001", {
        "Account": {"Name": "Acme Corp", "IsTaxable": True},
        "User": {"UserName": "jane@acme.example", "Email": "jane@acme.example"}})
    assert customer["Account"]["CustomKey"] == "ACME-001" and customer["User"]["AccountKey"] == "ACME-001"
    with pytest.raises(PayloadValidationError):
        client.upsert_customer("ACME-002", {"Account": {"Name": "Bad mail"}, "User": {"Email": "nobody"}})


# -- audit hook and secrecy ----------------------------------------------------------------
def test_on_call_hook_reports_every_exchange_and_logs_hold_no_secrets(simulator, caplog):
    seed_order(simulator)
    seen = []
    client = make_client(simulator, on_call=lambda *args: seen.append(args))
    with caplog.at_level(logging.DEBUG):
        client.get_order(10452)
        with pytest.raises(BusinessError):
            client.get_order(1)
    assert [(op, status) for op, status, _d, _s in seen] == [
        ("oauth_token", 200), ("get_order", 200), ("get_order", 404)]
    assert all(duration >= 0 and size > 0 for _op, _st, duration, size in seen)
    token = bearer(simulator.recorder.calls(operation="get_order")[0]).split()[1]
    assert caplog.records, "the client logs each exchange at DEBUG"
    assert CLIENT_SECRET not in caplog.text and token not in caplog.text


def test_a_failing_on_call_hook_does_not_break_the_call(simulator, caplog):
    seed_order(simulator)

    def broken_hook(*_args):
        raise RuntimeError("audit store down")

    with caplog.at_level(logging.ERROR):
        assert make_client(simulator, on_call=broken_hook).get_order(10452)["ID"] == 10452
    assert "on_call hook failed" in caplog.text
