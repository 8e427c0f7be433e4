"""Amazon Selling Partner API simulator: LWA tokens, Orders 2026-01-01, confirmShipment, RDTs.

Every request is checked against the operation's schema in Amazon's own Swagger models
(``spapi_models/``) and so is every response the simulator produces: an invalid request gets
Amazon's 400 ``InvalidInput``; an invalid response is a simulator bug, answered with a 500,
logged and kept in :attr:`SpApiSimulator.response_validation_errors` for tests to assert on.

Adding an operation (Feeds, Reports, Listings, ...) takes its model file in ``spapi_models/``
and one handler decorated with :func:`sp_api_operation`; path, method, parameter and response
schemas and the default rate plan all come from the model.

Run alone: ``python -m simulators.spapi --port 8071 --orders 50`` from the repository root.
"""

import argparse
import base64
import binascii
import copy
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from random import Random
from urllib.parse import unquote

from .base import Response, SimulatorServer, TokenBucket, route
from .spapi_common import (  # noqa: F401 -- re-exported: tests and callers import them from here
    Fault,
    InvalidInput,
    IssuedToken,
    SpApiCall,
    SpApiFaultConfig,
    ValidationFailure,
    amazon_error,
    isoformat,
    sp_api_operation,
)
from .spapi_feeds import FeedsMixin
from .spapi_fba_inventory import FbaInventoryMixin
from .spapi_finances import FinancesMixin
from .spapi_fulfillment import FulfillmentOutboundMixin
from .spapi_listings import ListingsMixin
from .spapi_notifications import NotificationsMixin
from .spapi_reports import ReportsMixin
from .spapi_schema import (
    SchemaError,
    coerce_query_value,
    parse_datetime,
    validate_definition,
)

_logger = logging.getLogger(__name__)

ORDERS_2026 = "orders_2026-01-01.json"
ORDERS_V0 = "ordersV0.json"
TOKENS = "tokens_2021-03-01.json"

DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.simulator"
DEFAULT_CLIENT_SECRET = "amzn1.oa2-cs.v1.simulator-secret"
DEFAULT_REFRESH_TOKEN = "Atzr|simulator-refresh-token"
GRANTLESS_SCOPES = ("sellingpartnerapi::notifications", "sellingpartnerapi::client_credential:rotation")
RESTRICTED_DATA_ELEMENTS = ("buyerInfo", "shippingAddress", "buyerTaxInformation")
MAX_RESTRICTED_RESOURCES = 50
PAGINATION_TOKEN_TTL = timedelta(hours=24)

FULFILLMENT_STATUSES = (
    "PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED", "UNFULFILLABLE",
)
# Which order and order-item keys each includedData value unlocks; the other keys always come.
ORDER_KEYS_BY_DATASET = {
    "BUYER": ("buyer",), "RECIPIENT": ("recipient",), "PROCEEDS": ("proceeds",), "FULFILLMENT": ("fulfillment",),
    "PACKAGES": ("packages",), "TAX": ("tax",), "PAYMENT": ("payment",), "FULFILLMENT_ORDERS": ("fulfillmentOrders",),
}
ITEM_KEYS_BY_DATASET = {
    "PROCEEDS": ("proceeds",), "EXPENSE": ("expense",), "PROMOTION": ("promotion",),
    "CANCELLATION": ("cancellation",), "FULFILLMENT": ("fulfillment",), "TAX": ("tax",),
}
_GATED_ORDER_KEYS = {k for keys in ORDER_KEYS_BY_DATASET.values() for k in keys}
_GATED_ITEM_KEYS = {k for keys in ITEM_KEYS_BY_DATASET.values() for k in keys}

MSG_NO_TOKEN = "Access to requested resource is denied."
MSG_INVALID_TOKEN = "The access token you provided is revoked, malformed or invalid."
MSG_EXPIRED_TOKEN = "The access token you provided has expired."
MSG_QUOTA = "You exceeded your quota for the requested resource."


# -- deterministic order generator ---------------------------------------------------------

@dataclass(frozen=True)
class MarketplaceInfo:
    marketplace_id: str
    name: str
    currency: str
    country: str
    email_domain: str
    price_factor: Decimal  # local price = catalog USD price * factor
    tax_rate: Decimal
    carriers: tuple
    cities: tuple  # (city, stateOrRegion, postalCode)
    streets: tuple
    phone_prefix: str


MARKETPLACES = {
    "ATVPDKIKX0DER": MarketplaceInfo(
        "ATVPDKIKX0DER", "Amazon.com", "USD", "US", "marketplace.amazon.com", Decimal("1"), Decimal("0.0825"),
        (("UPS", "UPS Ground"), ("USPS", "USPS Priority Mail"), ("FedEx", "FedEx Home Delivery")),
        (("Seattle", "WA", "98101"), ("Austin", "TX", "78701"), ("Columbus", "OH", "43215"),
         ("Denver", "CO", "80202"), ("Miami", "FL", "33131"), ("Portland", "OR", "97205")),
        ("Pine Street", "Oak Avenue", "Maple Drive", "Lakeview Road", "Elm Court"), "+1 206 555",
    ),
    "A1F83G8C2ARO7P": MarketplaceInfo(
        "A1F83G8C2ARO7P", "Amazon.co.uk", "GBP", "GB", "marketplace.amazon.co.uk", Decimal("0.8"), Decimal("0.20"),
        (("Royal Mail", "Royal Mail Tracked 48"), ("DPD", "DPD Next Day")),
        (("Manchester", "Greater Manchester", "M1 2AB"), ("Leeds", "West Yorkshire", "LS1 4DY"),
         ("Bristol", "Bristol", "BS1 5TR")),
        ("High Street", "Station Road", "Church Lane"), "+44 161 496",
    ),
    "A1PA6795UKMFR9": MarketplaceInfo(
        "A1PA6795UKMFR9", "Amazon.de", "EUR", "DE", "marketplace.amazon.de", Decimal("0.92"), Decimal("0.19"),
        (("DHL", "DHL Paket"), ("Hermes", "Hermes Standard")),
        (("Berlin", "Berlin", "10115"), ("München", "Bayern", "80331"), ("Köln", "Nordrhein-Westfalen", "50667")),
        ("Hauptstraße", "Schillerstraße", "Gartenweg"), "+49 30 901820",
    ),
}

CATALOG = (  # (seller SKU, ASIN, title, price in USD)
    ("CC-MUG-001", "B0CCMUG001", "Stoneware Coffee Mug, 12 oz, Slate Blue", "14.99"),
    ("CC-TEA-014", "B0CCTEA014", "Organic Earl Grey Tea, 100 Bags", "9.49"),
    ("CC-KTL-220", "B0CCKTL220", "Electric Gooseneck Kettle 1 L, Matte Black", "64.95"),
    ("CC-GRN-031", "B0CCGRN031", "Ceramic Burr Coffee Grinder, Manual", "39.90"),
    ("CC-FLT-100", "B0CCFLT100", "Paper Coffee Filters #4, 100 Count", "4.25"),
    ("CC-BTL-075", "B0CCBTL075", "Insulated Water Bottle 750 ml — Forest", "24.00"),
    ("CC-SCL-002", "B0CCSCL002", "Digital Kitchen Scale with Timer", "19.99"),
    ("CC-TWL-SET", "B0CCTWLSET", "Linen Tea Towels, Set of 3", "18.50"),
    ("CC-PRS-350", "B0CCPRS350", "French Press 350 ml, Borosilicate Glass", "27.99"),
    ("CC-DRP-V60", "B0CCDRPV60", "Pour-Over Dripper Size 02, White Porcelain", "22.00"),
)
FIRST_NAMES = ("Olivia", "Liam", "Zoë", "José", "Amelia", "Noah", "Chloé", "Mateo", "Hannah", "Yusuf", "Aoife", "Lukas")
LAST_NAMES = ("Smith", "García", "Müller", "O'Brien", "Nguyen", "Kowalski", "Johnson", "Rossi", "Schmidt", "Dubois")
COMPANIES = ("Brightside Cafés LLC", "Northwind Office Supply", "Kaffeehaus Weber GmbH", "Harbour Lane Studios Ltd")
GIFT_MESSAGES = ("Happy birthday! Enjoy.", "Congratulations on the new home!", "Merry Christmas — with love.")
PROMOTIONS = ("PLM-WINTER-10", "PLM-BUNDLE-2026", "PLM-PRIME-DAY")
CANCEL_REASONS = (("BUYER", "Buyer requested cancellation"), ("MERCHANT", "Out of stock"),
                  ("AMAZON", "Payment could not be authorized"))
SHIP_FROM = {
    "US": {"name": "Commerce Connector Warehouse", "addressLine1": "4500 Logistics Way", "city": "Reno",
           "stateOrRegion": "NV", "postalCode": "89502", "countryCode": "US"},
    "GB": {"name": "Commerce Connector Warehouse UK", "addressLine1": "Unit 7, Riverside Park", "city": "Birmingham",
           "stateOrRegion": "West Midlands", "postalCode": "B12 0XY", "countryCode": "GB"},
    "DE": {"name": "Commerce Connector Lager", "addressLine1": "Industriestraße 4", "city": "Leipzig",
           "stateOrRegion": "Sachsen", "postalCode": "04109", "countryCode": "DE"},
}
_CENT = Decimal("0.01")


def money(amount, currency):
    return {"amount": str(Decimal(amount).quantize(_CENT, ROUND_HALF_UP)), "currencyCode": currency}


class OrderGenerator:
    """Realistic Orders 2026-01-01 ``Order`` documents from a seeded generator.

    The same seed gives the same orders (ids, items, prices, statuses); timestamps are
    offsets from ``start``.
    """

    def __init__(self, seed=0):
        self._random = Random(seed)

    def next_created(self, moment, minutes_between):
        return moment + timedelta(minutes=self._random.randint(*minutes_between))

    def order_id(self):
        r = self._random
        return f"{r.randint(111, 999)}-{r.randint(0, 9999999):07d}-{r.randint(0, 9999999):07d}"

    def order(self, order_id, created, marketplace_id="ATVPDKIKX0DER"):
        r = self._random
        market = MARKETPLACES[marketplace_id]
        by_amazon = r.random() < 0.4
        business = r.random() < 0.12
        lines = self._lines(market, business)
        units = sum(line["quantityOrdered"] for line in lines)
        status = self._status(by_amazon, units)
        service_level = r.choice(("STANDARD", "STANDARD", "EXPEDITED", "SECOND_DAY", "NEXT_DAY"))
        programs = (["PRIME"] if by_amazon and r.random() < 0.7 else []) + (["AMAZON_BUSINESS"] if business else [])
        updated = created + timedelta(minutes=r.randint(1, 20))
        order = {
            "orderId": order_id,
            "createdTime": isoformat(created),
            "lastUpdatedTime": isoformat(updated),
            "programs": programs,
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": market.marketplace_id,
                             "marketplaceName": market.name},
            "buyer": self._buyer(market, by_amazon, business),
            "recipient": {"deliveryAddress": self._address(market, by_amazon, business)},
            "fulfillment": {
                "fulfillmentStatus": "PENDING",
                "fulfilledBy": "AMAZON" if by_amazon else "MERCHANT",
                "fulfillmentServiceLevel": service_level,
                "shipByWindow": {"earliestDateTime": isoformat(created + timedelta(hours=2)),
                                 "latestDateTime": isoformat(created + timedelta(days=2))},
                "deliverByWindow": {"earliestDateTime": isoformat(created + timedelta(days=3)),
                                    "latestDateTime": isoformat(created + timedelta(days=7))},
            },
            "orderItems": lines,
        }
        if not by_amazon and r.random() < 0.3:
            order["orderAliases"] = [{"aliasId": f"SO-{r.randint(100000, 999999)}", "aliasType": "SELLER_ORDER_ID"}]
        refresh_order_proceeds(order)
        for item in lines:
            item["fulfillment"].update(quantityFulfilled=0, quantityUnfulfilled=item["quantityOrdered"])
        if status == "UNSHIPPED":
            set_fulfillment_status(order, "UNSHIPPED", updated)
        elif status in ("PARTIALLY_SHIPPED", "SHIPPED"):
            set_fulfillment_status(order, "UNSHIPPED", updated)
            shipped_at = created + timedelta(hours=r.randint(3, 40))
            self._ship(order, market, shipped_at, partial=status == "PARTIALLY_SHIPPED")
        elif status == "CANCELLED":
            cancel_order(order, created + timedelta(hours=r.randint(1, 24)), *r.choice(CANCEL_REASONS))
        return order

    def _status(self, by_amazon, units):
        r = self._random
        if by_amazon:
            return r.choices(("PENDING", "UNSHIPPED", "SHIPPED", "CANCELLED"), (8, 7, 75, 10))[0]
        status = r.choices(("PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED"), (8, 30, 7, 45, 10))[0]
        if status == "PARTIALLY_SHIPPED" and units < 2:
            return "UNSHIPPED"
        return status

    def _lines(self, market, business):
        r = self._random
        lines = []
        for product in r.sample(CATALOG, r.choices((1, 2, 3, 4), (55, 28, 12, 5))[0]):
            sku, asin, title, usd = product
            quantity = r.choices((1, 2, 3), (75, 18, 7))[0]
            unit_price = (Decimal(usd) * market.price_factor).quantize(_CENT, ROUND_HALF_UP)
            item = {
                "orderItemId": f"{r.randint(10**13, 10**14 - 1)}",
                "quantityOrdered": quantity,
                "product": {
                    "asin": asin, "title": title, "sellerSku": sku,
                    "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                    "price": {"unitPrice": money(unit_price, market.currency)},
                },
                "fulfillment": {},
            }
            if business:
                item["product"]["price"]["priceDesignation"] = "BUSINESS_PRICE"
            charges = {"ITEM": unit_price * quantity}
            if r.random() < 0.5:
                charges["SHIPPING"] = (Decimal("4.99") * market.price_factor).quantize(_CENT)
            if r.random() < 0.1:
                charges["GIFT_WRAP"] = (Decimal("3.99") * market.price_factor).quantize(_CENT)
                item["fulfillment"]["packing"] = {"giftOption": {
                    "giftMessage": r.choice(GIFT_MESSAGES), "giftWrapLevel": r.choice(("STANDARD", "PREMIUM"))}}
            if r.random() < 0.2:
                charges["DISCOUNT"] = -(charges["ITEM"] * Decimal("0.10")).quantize(_CENT, ROUND_HALF_UP)
                item["promotion"] = {"breakdowns": [{"promotionId": r.choice(PROMOTIONS)}]}
            charges["TAX"] = (sum(charges.values()) * market.tax_rate).quantize(_CENT, ROUND_HALF_UP)
            item["proceeds"] = {"breakdowns": [
                {"type": kind, "subtotal": money(amount, market.currency)} for kind, amount in charges.items()
            ]}
            if market.country == "US":
                item["tax"] = {"taxCollections": [
                    {"model": "MarketplaceFacilitator", "responsibleParty": "Amazon Services, Inc."}]}
            lines.append(item)
        return lines

    def _name(self):
        return f"{self._random.choice(FIRST_NAMES)} {self._random.choice(LAST_NAMES)}"

    def _buyer(self, market, by_amazon, business):
        r = self._random
        buyer = {"buyerName": self._name()}
        if not by_amazon:  # Amazon only relays an anonymized email on merchant-fulfilled orders
            buyer["buyerEmail"] = f"{r.getrandbits(64):016x}@{market.email_domain}"
        if business:
            buyer["buyerCompanyName"] = r.choice(COMPANIES)
            if r.random() < 0.5:
                buyer["buyerPurchaseOrderNumber"] = f"PO-{r.randint(10000, 99999)}"
        return buyer

    def _address(self, market, by_amazon, business):
        r = self._random
        city, region, postal = r.choice(market.cities)
        if by_amazon:  # FBA orders only expose where the parcel goes, not to whom
            return {"city": city, "stateOrRegion": region, "postalCode": postal, "countryCode": market.country}
        street = r.choice(market.streets)
        number = r.randint(1, 980)
        address = {
            "name": self._name(),
            "addressLine1": f"{street} {number}" if market.country == "DE" else f"{number} {street}",
            "city": city, "stateOrRegion": region, "postalCode": postal, "countryCode": market.country,
            "phone": f"{market.phone_prefix} {r.randint(1000, 9999)}",
            "addressType": "COMMERCIAL" if business else "RESIDENTIAL",
        }
        if business:
            address["companyName"] = r.choice(COMPANIES)
        if r.random() < 0.25:
            address["addressLine2"] = f"Apt {r.randint(1, 40)}"
        return address

    def _ship(self, order, market, shipped_at, partial):
        r = self._random
        items = order["orderItems"]
        if partial:
            shipped = ({"orderItemId": items[0]["orderItemId"], "quantity": items[0]["quantityOrdered"]},) \
                if len(items) > 1 else ({"orderItemId": items[0]["orderItemId"],
                                         "quantity": items[0]["quantityOrdered"] - 1},)
        else:
            shipped = tuple({"orderItemId": i["orderItemId"], "quantity": i["quantityOrdered"]} for i in items)
        if order["fulfillment"]["fulfilledBy"] == "AMAZON":
            record_shipment(order, shipped, shipped_at, package=None)
            return
        carrier, service = r.choice(market.carriers)
        package = {
            "packageReferenceId": "1",
            "createdTime": isoformat(shipped_at - timedelta(minutes=30)),
            "packageStatus": {"status": r.choice(("SHIPPED", "IN_TRANSIT", "DELIVERED"))},
            "carrier": carrier,
            "shipTime": isoformat(shipped_at),
            "shippingService": service,
            "trackingNumber": f"{carrier[:2].upper()}{r.randint(10**11, 10**12 - 1)}",
            "shipFromAddress": dict(SHIP_FROM[market.country]),
        }
        record_shipment(order, shipped, shipped_at, package)


def refresh_order_proceeds(order):
    """Recompute item proceedsTotal and the order's grandTotal and breakdowns from the items."""
    currency = None
    totals = {}
    for item in order["orderItems"]:
        proceeds = item.get("proceeds")
        if not proceeds:
            continue
        item_total = Decimal("0")
        for breakdown in proceeds["breakdowns"]:
            amount = Decimal(breakdown["subtotal"]["amount"])
            currency = breakdown["subtotal"]["currencyCode"]
            item_total += amount
            totals[breakdown["type"]] = totals.get(breakdown["type"], Decimal("0")) + amount
        proceeds["proceedsTotal"] = money(item_total, currency)
    if currency:
        order["proceeds"] = {
            "grandTotal": money(sum(totals.values()), currency),
            "breakdowns": [{"type": kind, "subtotal": money(amount, currency)} for kind, amount in totals.items()],
        }


def fulfillment_status(order):
    return order.get("fulfillment", {}).get("fulfillmentStatus")


def set_fulfillment_status(order, status, moment):
    order["fulfillment"]["fulfillmentStatus"] = status
    order["lastUpdatedTime"] = isoformat(moment)


def record_shipment(order, shipped_items, moment, package):
    """Mark quantities shipped (and keep the package, for MFN); the status follows."""
    by_id = {item["orderItemId"]: item for item in order["orderItems"]}
    for line in shipped_items:
        fulfillment = by_id[line["orderItemId"]].setdefault("fulfillment", {})
        fulfillment["quantityFulfilled"] = fulfillment.get("quantityFulfilled", 0) + line["quantity"]
        fulfillment["quantityUnfulfilled"] = by_id[line["orderItemId"]]["quantityOrdered"] - \
            fulfillment["quantityFulfilled"]
    if package is not None:
        package = dict(package, packageItems=[
            {k: v for k, v in line.items() if k in ("orderItemId", "quantity", "transparencyCodes")}
            for line in shipped_items
        ])
        order.setdefault("packages", []).append(package)
    remaining = sum(i.get("fulfillment", {}).get("quantityUnfulfilled", 0) for i in order["orderItems"])
    set_fulfillment_status(order, "PARTIALLY_SHIPPED" if remaining else "SHIPPED", moment)


def cancel_order(order, moment, cancelled_by, reason):
    for item in order["orderItems"]:
        item["cancellation"] = {"cancellationExecution": {"cancelledBy": cancelled_by, "cancelReason": reason}}
        item.setdefault("fulfillment", {}).update(quantityFulfilled=0, quantityUnfulfilled=0)
    set_fulfillment_status(order, "CANCELLED", moment)


# Legal moves of advance_order_status (the generator and confirmShipment make the others).
_NEXT_STATUS = {"PENDING_AVAILABILITY": "PENDING", "PENDING": "UNSHIPPED", "UNSHIPPED": "SHIPPED",
                "PARTIALLY_SHIPPED": "SHIPPED"}
_CANCELLABLE = {"PENDING_AVAILABILITY", "PENDING", "UNSHIPPED"}


# -- the simulator -------------------------------------------------------------------------

FAMILIES = (FeedsMixin, FbaInventoryMixin, ListingsMixin, FulfillmentOutboundMixin, ReportsMixin, FinancesMixin,
            NotificationsMixin)


class SpApiSimulator(*FAMILIES, SimulatorServer):
    """SP-API on loopback. Construct, ``start()``, point python-amazon-sp-api at ``url``.

    ``rate_plans`` maps an operationId to ``(rate, burst)`` replacing the model's default;
    ``rate_multiplier`` scales every rate and burst (``0`` disables throttling).
    ``search_settle_seconds`` is Amazon's rule that search windows end at least two minutes
    before the request: the default upper bound, and the latest bound a caller may ask for.
    """

    def __init__(self, host="127.0.0.1", port=0, faults=None, *, client_id=DEFAULT_CLIENT_ID,
                 client_secret=DEFAULT_CLIENT_SECRET, refresh_token=DEFAULT_REFRESH_TOKEN,
                 access_token_ttl=3600, restricted_data_token_ttl=3600, marketplace_id="ATVPDKIKX0DER",
                 rate_plans=None, rate_multiplier=1.0, search_settle_seconds=120, seed=0):
        super().__init__(host, port, faults or SpApiFaultConfig())
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.access_token_ttl = access_token_ttl
        self.restricted_data_token_ttl = restricted_data_token_ttl
        self.marketplace_id = marketplace_id
        self.rate_multiplier = rate_multiplier
        self.search_settle_seconds = search_settle_seconds
        self.request_validation_errors = []  # ValidationFailure per 400 the simulator gave
        self.response_validation_errors = []  # ValidationFailure per response it got wrong
        self._lock = threading.RLock()
        self._clock_offset = timedelta()
        self._rate_plans = dict(rate_plans or {})
        self._buckets = {}
        self._tokens = {}
        self._orders = {}
        self._generator = OrderGenerator(seed)
        self._queued_faults = []  # [fault, operation or None, remaining count]
        self._init_feeds()
        self._init_fba_inventory()
        self._init_listings()
        self._init_fulfillment()
        self._init_reports()
        self._init_finances()
        self._init_notifications()

    # -- time --------------------------------------------------------------------------------
    def now(self):
        """The simulator's UTC clock: the real one plus whatever advance_clock added."""
        return datetime.now(timezone.utc) + self._clock_offset

    def advance_clock(self, seconds):
        """Move simulated time forward: tokens expire, buckets refill, search windows move."""
        with self._lock:
            self._clock_offset += timedelta(seconds=seconds)

    # -- tokens ------------------------------------------------------------------------------
    def expire_all_access_tokens(self):
        """Every access token, grantless token and RDT issued so far answers 403 from now on."""
        with self._lock:
            for token in self._tokens.values():
                token.expired = True

    def issued_tokens(self, kind=None):
        with self._lock:
            return [t for t in self._tokens.values() if kind is None or t.kind == kind]

    def _issue(self, kind, prefix, ttl, **extra):
        token = IssuedToken(f"{prefix}{secrets.token_urlsafe(24)}", kind, self.now() + timedelta(seconds=ttl), **extra)
        with self._lock:
            self._tokens[token.value] = token
        return token

    # -- orders ------------------------------------------------------------------------------
    def generate_orders(self, count, start=None, marketplace_id=None, minutes_between=(1, 90)):
        """Add ``count`` generated orders, created from ``start`` on; return their ids.

        ``start`` defaults to a midnight UTC at least 30 days ago, far enough back that every
        order, shipments included, is older than the two-minute search settle window.
        """
        if start is None:
            # Room for every gap plus the longest ship delay, and never less than 30 days back.
            span = max(timedelta(days=30), timedelta(minutes=count * minutes_between[1], days=3))
            start = (self.now() - span).replace(hour=0, minute=0, second=0, microsecond=0)
        moment = start
        ids = []
        with self._lock:
            for _ in range(count):
                order_id = self._generator.order_id()
                while order_id in self._orders:
                    order_id = self._generator.order_id()
                moment = self._generator.next_created(moment, minutes_between)
                self._orders[order_id] = self._generator.order(order_id, moment, marketplace_id or self.marketplace_id)
                ids.append(order_id)
        return ids

    def add_order(self, order, validate=True):
        """Store an Orders 2026-01-01 ``Order``; with validate (the default) it must match the model."""
        if validate:
            validate_definition(ORDERS_2026, "Order", order)
        with self._lock:
            self._orders[order["orderId"]] = copy.deepcopy(order)

    def update_order(self, order_id, changes):
        """Replace top-level keys of a stored order and stamp lastUpdatedTime with the clock."""
        with self._lock:
            order = copy.deepcopy(self._stored(order_id))
            order.update(copy.deepcopy(changes))
            order["lastUpdatedTime"] = isoformat(self.now())
            validate_definition(ORDERS_2026, "Order", order)
            self._orders[order_id] = order

    def order(self, order_id):
        """A copy of the stored order with every dataset, as the simulator holds it."""
        with self._lock:
            return copy.deepcopy(self._stored(order_id))

    def order_ids(self):
        with self._lock:
            return list(self._orders)

    def advance_order_status(self, order_id, status=None):
        """Move an order one step along PENDING -> UNSHIPPED -> SHIPPED, or to ``status``.

        ``status`` may be the next step or CANCELLED (from PENDING or UNSHIPPED). Shipping an
        MFN order here records a package, as if the seller had confirmed it in Seller Central.
        """
        with self._lock:
            order = self._stored(order_id)
            current = order["fulfillment"]["fulfillmentStatus"]
            target = status or _NEXT_STATUS.get(current)
            moment = self.now()
            if target == "CANCELLED" and current in _CANCELLABLE:
                cancel_order(order, moment, "MERCHANT", "Cancelled by the seller")
            elif target and target == _NEXT_STATUS.get(current):
                if target == "SHIPPED":
                    self._ship_remaining(order, moment)
                else:
                    set_fulfillment_status(order, target, moment)
            else:
                raise ValueError(f"order {order_id} cannot go from {current} to {target}")
            return target

    def ship_items(self, order_id, lines):
        """Ship ``[{"orderItemId", "quantity"}]`` of an order outside Odoo, as a seller does in
        Seller Central (one package for an MFN order); the status follows."""
        with self._lock:
            self._ship_order_items(self._stored(order_id), lines, self.now())

    def _ship_remaining(self, order, moment):
        lines = [{"orderItemId": i["orderItemId"], "quantity": i["fulfillment"]["quantityUnfulfilled"]}
                 for i in order["orderItems"] if i["fulfillment"].get("quantityUnfulfilled")]
        self._ship_order_items(order, lines, moment)

    def _ship_order_items(self, order, lines, moment):
        package = None
        if order["fulfillment"]["fulfilledBy"] == "MERCHANT":
            market = MARKETPLACES.get(order["salesChannel"].get("marketplaceId"), MARKETPLACES["ATVPDKIKX0DER"])
            carrier, service = market.carriers[0]
            package = {"packageReferenceId": str(len(order.get("packages", [])) + 1),
                       "createdTime": isoformat(moment), "packageStatus": {"status": "SHIPPED"},
                       "carrier": carrier, "shipTime": isoformat(moment), "shippingService": service,
                       "trackingNumber": f"SIM{secrets.randbelow(10**12):012d}",
                       "shipFromAddress": dict(SHIP_FROM.get(market.country, SHIP_FROM["US"]))}
        record_shipment(order, lines, moment, package)

    def _stored(self, order_id):
        try:
            return self._orders[order_id]
        except KeyError:
            raise KeyError(f"no order {order_id}") from None

    def render_order(self, order, included_data):
        """The order as Amazon returns it for ``included_data`` (a collection of dataset names)."""
        order_keys = {k for name in included_data for k in ORDER_KEYS_BY_DATASET.get(name, ())}
        item_keys = {k for name in included_data for k in ITEM_KEYS_BY_DATASET.get(name, ())}
        if fulfillment_status(order) in ("PENDING", "PENDING_AVAILABILITY"):
            order_keys -= {"buyer", "recipient"}  # no PII before payment is authorized
        rendered = {k: copy.deepcopy(v) for k, v in order.items() if k not in _GATED_ORDER_KEYS or k in order_keys}
        rendered["orderItems"] = [
            {k: copy.deepcopy(v) for k, v in item.items() if k not in _GATED_ITEM_KEYS or k in item_keys}
            for item in order["orderItems"]
        ]
        return rendered

    # -- rate limits -------------------------------------------------------------------------
    def set_rate_plan(self, operation, rate, burst):
        """Replace an operation's plan (before the multiplier); its bucket starts full again."""
        with self._lock:
            self._rate_plans[operation] = (rate, burst)
            self._buckets.pop(operation, None)

    def reset_rate_limits(self):
        with self._lock:
            self._buckets.clear()

    def effective_rate_plan(self, spec):
        """(rate, burst) of the operation; with throttling off (multiplier 0), the unscaled plan."""
        rate, burst = self._rate_plans.get(spec.operation_id) or (spec.rate_plan.rate, spec.rate_plan.burst)
        scale = self.rate_multiplier or 1
        return rate * scale, max(1, round(burst * scale))

    def _bucket(self, spec):
        with self._lock:
            bucket = self._buckets.get(spec.operation_id)
            if bucket is None:
                rate, burst = self.effective_rate_plan(spec)
                bucket = TokenBucket(rate, burst, clock=lambda: self.now().timestamp())
                self._buckets[spec.operation_id] = bucket
            return bucket

    # -- faults ------------------------------------------------------------------------------
    def fail_next(self, fault, operation=None, count=1):
        """Answer the next ``count`` calls (of ``operation``, or any) with ``fault``."""
        with self._lock:
            self._queued_faults.append([Fault(fault), operation, count])

    def _next_fault(self, operation):
        with self._lock:
            for entry in self._queued_faults:
                if entry[1] in (None, operation):
                    entry[2] -= 1
                    if entry[2] <= 0:
                        self._queued_faults.remove(entry)
                    return entry[0]
        faults = self.faults
        if self.draw(faults.rate_timeout):
            return Fault.TIMEOUT
        if self.draw(faults.rate_5xx):
            html = self.draw(getattr(faults, "html_share_of_5xx", 0.5))
            if self.draw(0.5):
                return Fault.SERVER_ERROR_HTML if html else Fault.SERVER_ERROR
            return Fault.UNAVAILABLE_HTML if html else Fault.UNAVAILABLE
        if self.draw(faults.rate_429):
            return Fault.THROTTLED
        if self.draw(faults.rate_malformed):
            return Fault.MALFORMED
        if self.draw(getattr(faults, "rate_expired_token", 0.0)):
            return Fault.EXPIRED_TOKEN
        return None

    def inject_fault(self, request, operation, token=None, rate_header=None):
        """The fault response for this call, or None. Injected answers skip validation."""
        fault = self._next_fault(operation)
        if fault is None:
            return None
        limit = {"x-amzn-RateLimit-Limit": rate_header} if rate_header else {}
        if fault is Fault.TIMEOUT:
            time.sleep(self.faults.timeout_seconds)
            return amazon_error(504, "GatewayTimeout", "The request timed out.")
        if fault in (Fault.SERVER_ERROR, Fault.UNAVAILABLE):
            status = 500 if fault is Fault.SERVER_ERROR else 503
            message = "We encountered an internal error. Please try again." if status == 500 \
                else "Service temporarily unavailable. Please try again."
            return amazon_error(status, "InternalFailure" if status == 500 else "ServiceUnavailable", message,
                                headers=limit)
        if fault in (Fault.SERVER_ERROR_HTML, Fault.UNAVAILABLE_HTML):
            status = 500 if fault is Fault.SERVER_ERROR_HTML else 503
            page = f"<html><head><title>{status}</title></head><body><h1>{status} Service Error</h1></body></html>"
            return Response(status, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
        if fault is Fault.THROTTLED:
            return amazon_error(429, "QuotaExceeded", MSG_QUOTA, headers=limit)
        if fault is Fault.MALFORMED:
            if self.draw(0.5):
                return Response(502, {"message": "Internal server error"})  # API Gateway style: no "errors"
            return Response(502, b"Bad Gateway", {"Content-Type": "text/plain"})
        if token is not None:  # Fault.EXPIRED_TOKEN
            token.expired = True
        return amazon_error(403, "Unauthorized", MSG_EXPIRED_TOKEN)

    # -- dispatch ----------------------------------------------------------------------------
    def _make_handler(self):
        # The base handler writes headers and body separately; with Nagle on, each keep-alive
        # request then waits ~40 ms for a delayed ACK.
        return type("SpApiHandler", (super()._make_handler(),), {"disable_nagle_algorithm": True})

    def dispatch(self, request):
        for method, pattern, operation, handler in self._routes:
            if method != request.method:
                continue
            match = pattern.match(request.path)
            if not match:
                continue
            request.params = {k: unquote(v) for k, v in match.groupdict().items()}
            spec = getattr(handler, "_sp_api_spec", None)
            if spec is None:  # LWA: a different service with its own error format
                try:
                    return operation, handler(request)
                except Exception as exc:
                    _logger.exception("LWA simulator crashed")
                    return operation, self._lwa_error(500, "server_error", f"simulator error: {exc!r}")
            response = self._serve_operation(request, spec, handler)
            response.headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))
            return operation, response
        return "", amazon_error(404, "NotFound", f"The simulator has no route for {request.method} {request.path}.",
                                headers={"x-amzn-RequestId": str(uuid.uuid4())})

    def _serve_operation(self, request, spec, handler):
        request_id = str(uuid.uuid4())
        token, denied = self._authorize(request, handler._sp_api_accepts)
        if denied is not None:
            denied.headers["x-amzn-RequestId"] = request_id
            return self._checked(spec, request, denied)
        rate, _burst = self.effective_rate_plan(spec)
        rate_header = f"{rate:g}"
        faulty = self.inject_fault(request, spec.operation_id, token, rate_header)
        if faulty is not None:
            return faulty
        common = {"x-amzn-RequestId": request_id, "x-amzn-RateLimit-Limit": rate_header}
        if self.rate_multiplier and not self._bucket(spec).take():
            return self._checked(spec, request, amazon_error(429, "QuotaExceeded", MSG_QUOTA, headers=common))
        try:
            call = self._validated_call(request, spec, token)
            response = handler(call)
        except InvalidInput as exc:
            with self._lock:
                self.request_validation_errors.append(
                    ValidationFailure(spec.operation_id, 400, [str(exc)], request.method, request.path))
            response = amazon_error(400, "InvalidInput", str(exc))
        except Exception as exc:  # a simulator bug: answer 500 loudly and keep it for the tests
            _logger.exception("SP-API simulator handler %s crashed", spec.operation_id)
            return self._simulator_bug(spec, request, 500, [f"handler raised {exc!r}"], common)
        for name, value in common.items():
            response.headers.setdefault(name, value)
        return self._checked(spec, request, response)

    def _checked(self, spec, request, response):
        """The response if it matches the model; otherwise a 500, logged and recorded."""
        problems = spec.response_problems(response.status, response.body, response.headers)
        if not problems:
            return response
        return self._simulator_bug(spec, request, response.status, problems, response.headers)

    def _simulator_bug(self, spec, request, status, problems, headers):
        _logger.error("SP-API simulator produced an invalid %s response for %s: %s",
                      status, spec.operation_id, "; ".join(problems))
        with self._lock:
            self.response_validation_errors.append(
                ValidationFailure(spec.operation_id, status, problems, request.method, request.path))
        bug = amazon_error(500, "InternalFailure", "Simulator bug: invalid response.", "; ".join(problems)[:2000])
        bug.headers["x-amzn-RequestId"] = headers.get("x-amzn-RequestId", str(uuid.uuid4()))
        return bug

    def _authorize(self, request, accepts):
        value = request.headers.get("x-amz-access-token")
        if not value:
            return None, amazon_error(403, "Unauthorized", MSG_NO_TOKEN, "The request has no x-amz-access-token.")
        with self._lock:
            token = self._tokens.get(value)
        if token is None:
            return None, amazon_error(403, "Unauthorized", MSG_INVALID_TOKEN)
        if token.expired or token.expires_at <= self.now():
            return None, amazon_error(403, "Unauthorized", MSG_EXPIRED_TOKEN)
        if token.kind not in accepts:
            return None, amazon_error(403, "Unauthorized", MSG_NO_TOKEN,
                                      f"A {token.kind} token cannot call this operation.")
        if token.kind == "restricted" and not any(
                method == request.method and pattern.fullmatch(request.path) for method, pattern in token.resources):
            return None, amazon_error(403, "Unauthorized", MSG_NO_TOKEN,
                                      "The restricted data token does not cover this resource.")
        return token, None

    def _validated_call(self, request, spec, token):
        params = {}
        for parameter in spec.parameters_in("path"):
            if parameter.name in request.params:
                params[parameter.name] = coerce_query_value(parameter.schema, [request.params[parameter.name]])
        for parameter in spec.parameters_in("query"):
            # Unknown query parameters (python-amazon-sp-api adds MarketplaceIds, path, ...) are ignored.
            if parameter.name in request.query:
                params[parameter.name] = coerce_query_value(parameter.schema, request.query[parameter.name])
        body = None
        if spec.parameters_in("body"):
            try:
                body = request.json()
            except ValueError:
                raise InvalidInput("The request body is not valid JSON.") from None
        try:
            spec.validate_parameters(params)
            spec.validate_body(body)  # no additionalProperties in the models: junk keys pass
        except SchemaError as exc:
            raise InvalidInput(str(exc)) from None
        return SpApiCall(request, spec.operation_id, params, body, token)

    # -- LWA ---------------------------------------------------------------------------------
    @route("POST", "/auth/o2/token", "lwaToken")
    def lwa_token(self, request):
        if "json" in request.headers.get("content-type", ""):
            try:
                form = {k: str(v) for k, v in (request.json() or {}).items()}
            except ValueError:
                form = {}
        else:
            form = request.form()
        grant_type = form.get("grant_type")
        if grant_type not in ("refresh_token", "client_credentials"):
            return self._lwa_error(400, "unsupported_grant_type", "The authorization grant type is not supported")
        for name in ("client_id", "client_secret", "refresh_token" if grant_type == "refresh_token" else "scope"):
            if not form.get(name):
                return self._lwa_error(400, "invalid_request", f"The request is missing a required parameter : {name}")
        if form["client_id"] != self.client_id or form["client_secret"] != self.client_secret:
            return self._lwa_error(401, "invalid_client", "Client authentication failed")
        if grant_type == "refresh_token":
            if form["refresh_token"] != self.refresh_token:
                return self._lwa_error(400, "invalid_grant",
                                       "The request has an invalid grant parameter : refresh_token")
            token = self._issue("access", "Atza|", self.access_token_ttl)
            return Response(200, {"access_token": token.value, "refresh_token": self.refresh_token,
                                  "token_type": "bearer", "expires_in": self.access_token_ttl})
        if form["scope"] not in GRANTLESS_SCOPES:
            return self._lwa_error(400, "invalid_scope", "An unknown scope was requested")
        token = self._issue("grantless", "Atc|", self.access_token_ttl, scope=form["scope"])
        return Response(200, {"access_token": token.value, "scope": form["scope"], "token_type": "bearer",
                              "expires_in": self.access_token_ttl})

    @staticmethod
    def _lwa_error(status, error, description):
        return Response(status, {"error_description": description, "error": error})

    # -- Orders 2026-01-01 -------------------------------------------------------------------
    @sp_api_operation(ORDERS_2026, "searchOrders")
    def search_orders(self, call):
        params = call.params
        now = self.now()
        settled = now - timedelta(seconds=self.search_settle_seconds)
        by_update = "lastUpdatedAfter" in params
        if by_update == ("createdAfter" in params):
            raise InvalidInput("Exactly one of createdAfter and lastUpdatedAfter must be provided.")
        prefix, other = ("lastUpdated", "created") if by_update else ("created", "lastUpdated")
        if f"{other}Before" in params:
            raise InvalidInput(f"{other}Before cannot be combined with {prefix}After.")
        after = parse_datetime(params[f"{prefix}After"])
        before = parse_datetime(params[f"{prefix}Before"]) if f"{prefix}Before" in params else None
        if before is not None and before < after:
            raise InvalidInput(f"{prefix}Before must be equal to or after {prefix}After.")
        if (before or after) > settled:
            which = f"{prefix}Before" if before else f"{prefix}After"
            raise InvalidInput(f"{which} must be at least two minutes before the time of the request.")
        page_size = params.get("maxResultsPerPage", 100)
        if not 1 <= page_size <= 100:
            raise InvalidInput("maxResultsPerPage must be between 1 and 100.")

        # Every filter but maxResultsPerPage and includedData must repeat with a paginationToken.
        filters = {k: params[k] for k in sorted(params)
                   if k not in ("maxResultsPerPage", "includedData", "paginationToken")}
        fingerprint = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:16]
        cursor = None
        if "paginationToken" in params:
            before, cursor = self._read_pagination_token(params["paginationToken"], fingerprint, now)
        upper = before or settled

        time_key = "lastUpdatedTime" if by_update else "createdTime"
        statuses = set(params.get("fulfillmentStatuses", ()))
        fulfilled_by = set(params.get("fulfilledBy", ()))
        marketplaces = set(params.get("marketplaceIds", ()))
        with self._lock:
            # Keyset pagination on (time, orderId): stable while orders change between pages.
            matches = sorted(
                (parse_datetime(order[time_key]), order_id) for order_id, order in self._orders.items()
                if (not statuses or fulfillment_status(order) in statuses)
                and (not fulfilled_by or order.get("fulfillment", {}).get("fulfilledBy") in fulfilled_by)
                and (not marketplaces or order["salesChannel"].get("marketplaceId") in marketplaces)
            )
            matches = [key for key in matches if after <= key[0] <= upper]
            if cursor is not None:
                matches = [key for key in matches if key > cursor]
            page = matches[:page_size]
            included = params.get("includedData", ())
            body = {"orders": [self.render_order(self._orders[order_id], included) for _, order_id in page]}
        if len(matches) > page_size:
            body["pagination"] = {"nextToken": self._pagination_token(fingerprint, upper, page[-1], now)}
        body[f"{prefix}Before"] = isoformat(upper)
        return Response(200, body)

    @staticmethod
    def _pagination_token(fingerprint, upper, cursor, now):
        moment, order_id = cursor
        state = {"filters": fingerprint, "upper": isoformat(upper), "cursor": [moment.isoformat(), order_id],
                 "issued": isoformat(now)}
        return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")

    @staticmethod
    def _read_pagination_token(value, fingerprint, now):
        try:
            state = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
            issued = parse_datetime(state["issued"])
            upper = parse_datetime(state["upper"])
            cursor = (datetime.fromisoformat(state["cursor"][0]), str(state["cursor"][1]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise InvalidInput("The paginationToken is invalid.") from None
        if state.get("filters") != fingerprint:
            raise InvalidInput("The paginationToken was issued for other search parameters; repeat all parameters "
                               "except maxResultsPerPage and includedData.")
        if now - issued > PAGINATION_TOKEN_TTL:
            raise InvalidInput("The paginationToken has expired.")
        return upper, cursor

    @sp_api_operation(ORDERS_2026, "getOrder")
    def get_order(self, call):
        with self._lock:
            order = self._orders.get(call.params["orderId"])
            if order is None:
                return amazon_error(404, "NotFound", f"Order {call.params['orderId']} was not found.")
            return Response(200, {"order": self.render_order(order, call.params.get("includedData", ()))})

    # -- Orders v0 ---------------------------------------------------------------------------
    @sp_api_operation(ORDERS_V0, "confirmShipment")
    def confirm_shipment(self, call):
        order_id = call.params["orderId"]
        detail = call.body["packageDetail"]
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                return amazon_error(404, "NotFound", f"Order {order_id} was not found.")
            if call.body["marketplaceId"] != order["salesChannel"].get("marketplaceId"):
                raise InvalidInput(f"Order {order_id} does not belong to marketplace {call.body['marketplaceId']}.")
            fulfillment = order.get("fulfillment", {})
            if fulfillment.get("fulfilledBy") != "MERCHANT":
                raise InvalidInput(f"Order {order_id} is fulfilled by Amazon; only merchant-fulfilled orders "
                                   "can be confirmed.")
            if fulfillment.get("fulfillmentStatus") not in ("UNSHIPPED", "PARTIALLY_SHIPPED"):
                raise InvalidInput(f"Order {order_id} is {fulfillment.get('fulfillmentStatus')}; only UNSHIPPED or "
                                   "PARTIALLY_SHIPPED orders can be confirmed.")
            if any(p["packageReferenceId"] == detail["packageReferenceId"] for p in order.get("packages", ())):
                raise InvalidInput(f"packageReferenceId {detail['packageReferenceId']} was already confirmed "
                                   f"for order {order_id}.")
            items = {item["orderItemId"]: item for item in order["orderItems"]}
            if not detail["orderItems"]:
                raise InvalidInput("packageDetail.orderItems must list at least one item.")
            for line in detail["orderItems"]:
                item = items.get(line["orderItemId"])
                if item is None:
                    raise InvalidInput(f"orderItemId {line['orderItemId']} is not in order {order_id}.")
                remaining = item.get("fulfillment", {}).get("quantityUnfulfilled", item["quantityOrdered"])
                if not 1 <= line["quantity"] <= remaining:
                    raise InvalidInput(f"quantity {line['quantity']} for orderItemId {line['orderItemId']} must be "
                                       f"between 1 and the {remaining} unshipped.")
            moment = self.now()
            market = MARKETPLACES.get(order["salesChannel"].get("marketplaceId"))
            package = {
                "packageReferenceId": detail["packageReferenceId"],
                "createdTime": isoformat(moment),
                "packageStatus": {"status": "SHIPPED"},
                "carrier": detail.get("carrierName") or detail["carrierCode"],
                "shipTime": isoformat(parse_datetime(detail["shipDate"])),
                "trackingNumber": detail["trackingNumber"],
            }
            if detail.get("shippingMethod"):
                package["shippingService"] = detail["shippingMethod"]
            if market:
                package["shipFromAddress"] = dict(SHIP_FROM[market.country])
            record_shipment(order, detail["orderItems"], moment, package)
        return Response(204)

    # -- Tokens ------------------------------------------------------------------------------
    @sp_api_operation(TOKENS, "createRestrictedDataToken", accepts=("access",))
    def create_restricted_data_token(self, call):
        resources = call.body["restrictedResources"]
        if not 1 <= len(resources) <= MAX_RESTRICTED_RESOURCES:
            raise InvalidInput(f"restrictedResources must list 1 to {MAX_RESTRICTED_RESOURCES} resources.")
        allowed = []
        for resource in resources:
            path = resource["path"]
            if not path.startswith("/"):
                raise InvalidInput(f"Restricted resource path {path!r} must start with '/'.")
            unknown = set(resource.get("dataElements", ())) - set(RESTRICTED_DATA_ELEMENTS)
            if unknown:
                raise InvalidInput(f"Unknown dataElements {sorted(unknown)}; use {list(RESTRICTED_DATA_ELEMENTS)}.")
            # A {placeholder} segment (e.g. /orders/v0/orders/{orderId}) covers any value.
            pattern = "".join("[^/]+" if re.fullmatch(r"\{\w+\}", part) else re.escape(part)
                              for part in re.split(r"(\{\w+\})", path))
            allowed.append((resource["method"], re.compile(pattern)))
        token = self._issue("restricted", "Atz.sprdt|", self.restricted_data_token_ttl, resources=tuple(allowed))
        return Response(200, {"restrictedDataToken": token.value, "expiresIn": self.restricted_data_token_ttl})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8071)
    parser.add_argument("--orders", type=int, default=50, help="generated orders to start with")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--refresh-token", default=DEFAULT_REFRESH_TOKEN)
    parser.add_argument("--rate-multiplier", type=float, default=1.0, help="scales every rate plan; 0 disables")
    parser.add_argument("--fault-5xx", type=float, default=0.0, help="share of calls answered 500/503")
    parser.add_argument("--fault-timeout", type=float, default=0.0)
    parser.add_argument("--fault-429", type=float, default=0.0)
    parser.add_argument("--search-settle-seconds", type=int, default=120,
                        help="searchOrders sees changes only this long after they happen (Amazon: 120)")
    parser.add_argument("--stream", type=float, default=0, metavar="SECONDS",
                        help="every SECONDS: new buyer orders and a status change of an earlier one; every "
                             "8th time a settlement report of what shipped (0: none)")
    args = parser.parse_args(argv)
    faults = SpApiFaultConfig(rate_5xx=args.fault_5xx, rate_timeout=args.fault_timeout, rate_429=args.fault_429,
                              seed=args.seed)
    simulator = SpApiSimulator(args.host, args.port, faults, client_id=args.client_id,
                               client_secret=args.client_secret, refresh_token=args.refresh_token,
                               rate_multiplier=args.rate_multiplier, search_settle_seconds=args.search_settle_seconds,
                               seed=args.seed)
    simulator.generate_orders(args.orders)
    simulator.start()
    print(f"SP-API simulator on {simulator.url} (LWA at {simulator.url}/auth/o2/token), "
          f"{args.orders} orders; client id {args.client_id!r}, refresh token {args.refresh_token!r}", flush=True)
    if args.stream:
        from .stream import SpApiStream, run_every  # here: stream.py imports this module

        run_every(args.stream, SpApiStream(simulator).tick, "spapi-stream")
        print(f"SP-API stream: new orders every {args.stream:g} s", flush=True)
    simulator.serve_forever()


if __name__ == "__main__":
    main()
