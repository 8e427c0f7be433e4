"""A Clarity eCommerce simulator implementing the `/api/v1` façade contract.

The contract is /work/shared/specs/clarity-ecommerce-api.md: OAuth2 client credentials, paged
PascalCase resources, `{"ActionSucceeded","Messages","Result"}` write envelopes, ServiceStack
`ResponseStatus` error bodies, 120 requests/minute per client and HMAC-signed webhooks.

Order of checks on an `/api/v1` call: bearer token (401) -> per-client rate limit (429) ->
scripted faults (:meth:`ClaritySimulator.fail_next`) -> random faults (:class:`FaultConfig`)
-> the handler. `POST /oauth/token` is neither rate-limited nor hit by the random 429 and
malformed-JSON faults: the contract rate-limits API calls per client, and a client is only
known once it holds a token. Random 5xx and timeouts do apply to it (identity providers do go
down) and scripted faults can target it with ``operation="oauth_token"``.

Run alone from the repository root: ``python -m simulators.clarity --port 8069 --demo-orders 25``.
"""

import argparse
import copy
import hashlib
import hmac
import json
import math
import random
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import unquote

import requests

from .base import FaultConfig, Response, SimulatorServer, TokenBucket, route

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
MAX_INVENTORY_ITEMS = 500
DEFAULT_LOCATION = "MAIN"

ORDER_STATUSES = (
    "Pending", "On Hold", "Confirmed", "Backordered", "Split", "Partial Payment Received",
    "Full Payment Received", "Processing", "Shipped", "Shipped from Vendor", "Ready for Pickup",
    "Completed", "Void",
)
RETURN_STATUSES = ("Pending", "Confirmed", "Shipped", "Payment Sent", "Rejected", "Completed", "Void")
FINAL_ORDER_STATUSES = ("Void",)  # a voided order accepts no status change and no shipment

SCRIPTED_FAULT_KINDS = ("500", "502", "503", "504", "timeout", "429", "malformed")


# -- small helpers -------------------------------------------------------------------------
def format_datetime(value):
    """ISO-8601 UTC with a Z, seconds precision: the form Clarity serialises."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(text):
    """Parse `2025-03-04T15:21:40Z` (or with an offset); naive values are taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def money(value):
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def compute_signature(secret, timestamp, raw_body):
    """hex(HMAC_SHA256(secret, timestamp + "." + raw_body)) as §6 defines it."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    message = str(timestamp).encode("ascii") + b"." + raw_body
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def response_status(status, error_code, message, errors=()):
    """A ServiceStack error body: {"ResponseStatus":{"ErrorCode","Message","Errors":[...]}}."""
    return Response(status, {
        "ResponseStatus": {
            "ErrorCode": error_code,
            "Message": message,
            "Errors": [
                {"ErrorCode": code, "FieldName": field_name, "Message": text}
                for code, field_name, text in errors
            ],
        }
    })


def field_error(field_name, message, code="ValidationError"):
    return code, field_name, message


def validation_failed(errors, message="Validation failed"):
    return response_status(400, "ValidationError", message, errors)


def not_found(kind, key):
    return response_status(404, "NotFound", f"{kind} '{key}' was not found")


def action(result=None, succeeded=True, messages=()):
    return Response(200, {"ActionSucceeded": succeeded, "Messages": list(messages), "Result": result})


def _is_quantity(value, allow_zero=True):
    return isinstance(value, int) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)


def _is_amount(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


# -- realistic data ------------------------------------------------------------------------
class ClarityDataGenerator:
    """Deterministic (by seed) products, customers and orders shaped like the §7 examples."""

    FIRST_NAMES = ("Jane", "Omar", "Lena", "Carlos", "Priya", "Tom", "Mei", "Fatima", "Lukas", "Ana")
    LAST_NAMES = ("Doe", "Haddad", "Novak", "Reyes", "Iyer", "Walsh", "Chen", "Ali", "Berger", "Silva")
    COMPANIES = (
        "Acme Corp", "Globex", "Initech", "Umbrella Supply", "Stark Tools", "Wayne Fixtures",
        "Hooli Hardware", "Vandelay Industries", "Soylent Foods", "Tyrell Parts",
    )
    STREETS = ("Congress Ave", "Industrial Blvd", "Lamar Blvd", "Main St", "Oak Dr", "Commerce Pkwy")
    CITIES = (  # city, region, postal code, sales tax rate
        ("Austin", "TX", "78701", "0.0825"), ("Round Rock", "TX", "78664", "0.0825"),
        ("Denver", "CO", "80202", "0.0881"), ("Portland", "OR", "97205", "0"),
        ("Chicago", "IL", "60601", "0.1025"), ("Raleigh", "NC", "27601", "0.0725"),
    )
    # prefix, name, category, base price, colours, sizes (no colours -> a simple product)
    FAMILIES = (
        ("WID-100", "Widget 100", "widgets", "40.00", ("BLU", "RED"), ("M", "L")),
        ("CAB-USB-2M", "USB cable 2 m", "cables", "12.50", (), ()),
        ("GAD-200", "Gadget 200", "gadgets", "89.90", ("BLK", "SLV"), ()),
        ("BRK-10", "Bracket 10 mm", "hardware", "3.25", (), ()),
        ("TSH-01", "Logo T-shirt", "apparel", "18.00", ("GRN", "BLU"), ("S", "M", "L")),
        ("LMP-LED", "LED desk lamp", "lighting", "54.00", (), ()),
        ("KIT-STR", "Starter kit", "kits", "129.00", (), ()),
        ("BAT-AA4", "AA battery 4-pack", "batteries", "6.75", (), ()),
    )
    COLOUR_NAMES = {"BLU": "Blue", "RED": "Red", "BLK": "Black", "SLV": "Silver", "GRN": "Green"}
    CARRIERS = (("UPS", "Ground", "9.95"), ("FedEx", "2Day", "14.95"), ("USPS", "Priority", "7.50"))
    CARD_TYPES = ("Visa", "MasterCard", "Amex")

    def __init__(self, seed=0):
        self.random = random.Random(seed)

    # products ------------------------------------------------------------------------------
    def products(self, count=len(FAMILIES)):
        return [self.product(self.FAMILIES[i % len(self.FAMILIES)], i) for i in range(count)]

    def product(self, family, index=0):
        prefix, name, category, price, colours, sizes = family
        if index >= len(self.FAMILIES):  # more products than families: keep SKUs unique
            prefix, name = f"{prefix}-{index}", f"{name} #{index}"
        product = {
            "CustomKey": prefix, "Name": name, "StatusKey": "NORMAL", "Active": True,
            "IsTaxable": category != "kits", "UnitOfMeasure": "EA", "PriceBase": float(price),
            "ProductCategories": [{"SlaveKey": category}],
            "SerializableAttributes": {
                "Material": {"Key": "Material", "Value": self.random.choice(("Steel", "Plastic", "Cotton")),
                             "UofM": "", "SortOrder": 1},
            },
        }
        if not colours:
            product["TypeKey"] = "GENERAL"
            return product
        product["TypeKey"] = "VARIANT-MASTER"
        product["Variants"] = []
        for colour in colours:
            for size in sizes or (None,):
                sku = f"{prefix}-{colour}" + (f"-{size}" if size else "")
                attributes = {"Color": {"Key": "Color", "Value": self.COLOUR_NAMES[colour]}}
                if size:
                    attributes["Size"] = {"Key": "Size", "Value": size}
                surcharge = money(self.random.choice(("0", "0", "2.00")))
                product["Variants"].append({
                    "CustomKey": sku, "TypeKey": "VARIANT",
                    "PriceBase": float(money(price) + surcharge), "SerializableAttributes": attributes,
                })
        return product

    @staticmethod
    def sellable_items(products):
        """(sku, display name, price) for every product an order line can carry."""
        items = []
        for product in products:
            if product.get("Variants"):
                for variant in product["Variants"]:
                    values = "/".join(a["Value"] for a in variant["SerializableAttributes"].values())
                    items.append((variant["CustomKey"], f"{product['Name']} {values}", variant["PriceBase"]))
            else:
                items.append((product["CustomKey"], product["Name"], product["PriceBase"]))
        return items

    # customers -----------------------------------------------------------------------------
    def contact(self, first_name=None, last_name=None, company=None, city=None, with_email=True):
        first_name = first_name or self.random.choice(self.FIRST_NAMES)
        last_name = last_name or self.random.choice(self.LAST_NAMES)
        city_name, region, postal, _rate = city or self.random.choice(self.CITIES)
        contact = {"FirstName": first_name, "LastName": last_name}
        if with_email:
            domain = (company or "example").lower().replace(" ", "")
            contact["Email1"] = f"{first_name.lower()}.{last_name.lower()}@{domain}.example"
            contact["Phone1"] = f"+1 {self.random.randint(201, 989)} 555 {self.random.randint(100, 9999):04d}"
        address = {
            "Street1": f"{self.random.randint(10, 9900)} {self.random.choice(self.STREETS)}",
            "City": city_name, "RegionCode": region, "PostalCode": postal, "CountryCode": "US",
        }
        if company:
            address = {"Company": company, **address}
        contact["Address"] = address
        return contact

    def customers(self, count=4):
        return [self.customer(i) for i in range(count)]

    def customer(self, index=0):
        company = self.COMPANIES[index % len(self.COMPANIES)]
        key = f"{company.split()[0].upper()}-{index + 1:03d}"
        billing = self.contact(company=company)
        shipping = self.contact("Receiving", f"Dock {self.random.randint(1, 9)}", company=company, with_email=False)
        return {
            "Account": {
                "CustomKey": key, "Name": company, "TypeKey": "CUSTOMER",
                "IsTaxable": self.random.random() > 0.15, "IsOnHold": False,
                "Credit": float(self.random.choice((0, 1000, 5000, 25000))),
            },
            "User": {"UserName": billing["Email1"], "Email": billing["Email1"], "AccountKey": key},
            "Addresses": [
                {"IsPrimary": True, "IsBilling": True, "Contact": billing},
                {"IsPrimary": False, "IsBilling": False, "Contact": shipping},
            ],
        }

    # orders --------------------------------------------------------------------------------
    def orders(self, count, customers, products, start=None, step=timedelta(minutes=7)):
        start = start or datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
        return [self.order(customers, products, start + step * i) for i in range(count)]

    def order(self, customers, products, updated):
        customer = self.random.choice(customers)
        billing = copy.deepcopy(customer["Addresses"][0]["Contact"])
        shipping = copy.deepcopy(customer["Addresses"][-1]["Contact"])
        shipping.pop("Email1", None)
        shipping.pop("Phone1", None)
        tax_rate = next(
            (Decimal(rate) for city, region, _p, rate in self.CITIES
             if (city, region) == (shipping["Address"]["City"], shipping["Address"]["RegionCode"])),
            Decimal("0"),
        ) if customer["Account"]["IsTaxable"] else Decimal("0")
        sellable = self.sellable_items(products)
        lines = []
        for line_id, (sku, name, price) in enumerate(
            self.random.sample(sellable, k=min(len(sellable), self.random.randint(1, 3))), start=1
        ):
            quantity = self.random.randint(1, 5)
            core = money(price)
            promo = self.random.random() < 0.3
            sold = money(core * Decimal("0.9")) if promo else core
            extended = money(sold * quantity)
            lines.append({
                "ID": line_id, "Sku": sku, "ProductKey": sku, "Name": name, "Quantity": quantity,
                "UnitCorePrice": float(core), "UnitSoldPrice": float(sold), "ExtendedPrice": float(extended),
                "ExtendedTaxAmount": float(money(extended * tax_rate)),
                "Discounts": [{"DiscountKey": "SPRING10", "DiscountName": "Spring 10%",
                               "DiscountTotal": float(money((sold - core) * quantity))}] if promo else [],
            })
        carrier, method, shipping_price = self.random.choice(self.CARRIERS)
        order_discounts = []
        if self.random.random() < 0.25:
            order_discounts.append({"DiscountKey": "SHIP5", "DiscountName": "$5 off shipping", "DiscountTotal": -5.00})
        totals = self.totals(lines, shipping_price, order_discounts)
        status = self.random.choice(("Pending", "Confirmed", "Confirmed", "Processing"))
        return {
            "UpdatedDate": format_datetime(updated), "CreatedDate": format_datetime(updated - timedelta(minutes=3)),
            "StatusKey": status, "AccountKey": customer["Account"]["CustomKey"],
            "PurchaseOrderNumber": f"PO-{self.random.randint(1000, 9999)}", "CurrencyKey": "USD",
            "BillingContact": billing, "ShippingContact": shipping,
            "ShippingDetail": {"CarrierName": carrier, "CarrierMethodName": method, "TrackingNumber": None},
            "SalesItems": lines, "Discounts": order_discounts, "Totals": totals,
            "SalesOrderPayments": [{"Slave": {
                "PaymentMethodKey": "CreditCard", "CardType": self.random.choice(self.CARD_TYPES),
                "Last4CardDigits": f"{self.random.randint(0, 9999):04d}", "Amount": totals["Total"],
                "CurrencyKey": "USD", "TransactionID": f"txn_{self.random.getrandbits(40):010x}",
                "Authorized": True, "Received": status != "Pending",
            }}],
            "SerializableAttributes": {"SalesChannel": {"Key": "SalesChannel", "Value": "B2B-Web"}},
        }

    @staticmethod
    def totals(lines, shipping="0", order_discounts=(), handling="0", fees="0"):
        """Totals where Total is the plain sum of the other fields (Discounts negative)."""
        sub_total = sum((money(line["ExtendedPrice"]) for line in lines), Decimal("0"))
        tax = sum((money(line["ExtendedTaxAmount"]) for line in lines), Decimal("0"))
        discounts = sum((money(d["DiscountTotal"]) for d in order_discounts), Decimal("0"))
        parts = {"SubTotal": sub_total, "Shipping": money(shipping), "Handling": money(handling),
                 "Fees": money(fees), "Discounts": discounts, "Tax": tax}
        total = sum(parts.values(), Decimal("0"))
        return {**{name: float(value) for name, value in parts.items()}, "Total": float(total)}


# -- webhooks ------------------------------------------------------------------------------
@dataclass
class WebhookDelivery:
    """One HTTP delivery of a webhook event (a resend is a new delivery with the same id)."""

    event_id: str
    event: str
    url: str
    timestamp: int
    body: bytes
    headers: dict
    status: int = 0
    response_body: str = ""
    kind: str = "original"  # original | resend | duplicate | forged | stale

    def json(self):
        return json.loads(self.body.decode("utf-8"))


@dataclass
class _ScriptedFault:
    kind: str
    remaining: int
    retry_after: int = None  # seconds; None: a 429 uses fault_retry_after, a 503 sends none
    operation: str = None


@dataclass
class _Token:
    client_id: str
    expires_at: float
    scope: str = ""


# -- the simulator -------------------------------------------------------------------------
class ClaritySimulator(SimulatorServer):
    """In-memory Clarity store behind the `/api/v1` façade, plus a webhook sender."""

    def __init__(self, host="127.0.0.1", port=0, faults=None, *, client_id="odoo-connector",
                 client_secret="clarity-secret", webhook_secret="clarity-webhook-secret",
                 store_key="STORE-1", token_ttl=3600, rate_limit_per_minute=120, rate_limit_burst=None,
                 fault_retry_after=1, clock=None):
        super().__init__(host=host, port=port, faults=faults)
        self.clients = {client_id: client_secret}
        self.webhook_secret = webhook_secret
        self.store_key = store_key
        self.token_ttl = token_ttl
        self.fault_retry_after = fault_retry_after
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._handlers = {route_[2]: route_[3] for route_ in self._routes}
        self._lock = threading.RLock()
        self._tokens = {}
        self._buckets = {}
        self._scripted_faults = []
        self.set_rate_limit(rate_limit_per_minute, rate_limit_burst)
        # the store
        self.orders = {}
        self.products = {}  # master CustomKey -> product
        self.customers = {}  # Account.CustomKey -> customer
        self.returns = {}  # ID -> return
        self.categories = {}  # CustomKey -> category
        self.inventory = {}  # (Sku, LocationKey) -> stock record
        self.locations = {DEFAULT_LOCATION}
        self.shipments = {}  # CustomKey -> shipment
        self.status_changes = []  # (order ID, previous StatusKey, new StatusKey, note)
        self.business_failures = {}  # order ID / SKU / customer key -> message
        self.sent_webhooks = []
        self._next_ids = {}

    # -- configuration used by tests -------------------------------------------------------
    def set_rate_limit(self, per_minute, burst=None):
        """Requests per minute per client; `burst` (default: one minute's worth) starts full."""
        with self._lock:
            self.rate_limit_per_minute = per_minute
            self.rate_limit_burst = burst if burst is not None else per_minute
            self._buckets.clear()

    def expire_tokens(self):
        """Make every issued token invalid now, as if its lifetime had run out."""
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = 0.0

    def fail_next(self, kind, times=1, retry_after=None, operation=None):
        """Answer the next `times` calls with a fault instead of the real response.

        `kind` is one of SCRIPTED_FAULT_KINDS ("503", "timeout", "429", "malformed", ...).
        `operation` limits it to one route ("get_order", "oauth_token", ...); by default any
        `/api/v1` call. `retry_after` adds a Retry-After header (a 429 always has one).
        Deterministic, unlike the FaultConfig rates.
        """
        if kind not in SCRIPTED_FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {SCRIPTED_FAULT_KINDS}")
        with self._lock:
            self._scripted_faults.append(_ScriptedFault(kind, times, retry_after, operation))

    def fail_business(self, *keys, message="Rejected by a store business rule"):
        """Writes touching these order IDs, order CustomKeys, SKUs or customer keys fail with
        200 ActionSucceeded:false (inventory items get Status "error")."""
        with self._lock:
            for key in keys:
                self.business_failures[str(key)] = message

    def clear_business_failures(self):
        with self._lock:
            self.business_failures.clear()

    def reset(self):
        """Forget scripted faults, business failures and recorded calls (between tests)."""
        with self._lock:
            self._scripted_faults.clear()
            self.business_failures.clear()
            self._buckets.clear()
        self.recorder.clear()

    def _business_failure(self, *keys):
        return next((self.business_failures[str(k)] for k in keys if str(k) in self.business_failures), None)

    # -- seeding ---------------------------------------------------------------------------
    def _new_id(self, kind, start):
        self._next_ids[kind] = self._next_ids.get(kind, start) + 1
        return self._next_ids[kind] - 1

    def _claim_id(self, kind, start, value):
        """Keep the ID counter ahead of an explicitly seeded ID."""
        self._next_ids[kind] = max(self._next_ids.get(kind, start), int(value) + 1)

    def _assign_id(self, record, kind, start):
        """Keep a seeded ID (and never hand it out again) or assign the next one."""
        if record.get("ID") is not None:
            self._claim_id(kind, start, record["ID"])
        else:
            record["ID"] = self._new_id(kind, start)

    def _stamp(self, record, created=False):
        now = format_datetime(self.clock())
        if created:
            record.setdefault("CreatedDate", now)
            record.setdefault("UpdatedDate", record["CreatedDate"])
        else:
            record["UpdatedDate"] = now

    def add_order(self, order):
        """Seed an order shaped like §7; fills ID, CustomKey, StatusKey and dates when absent."""
        order = copy.deepcopy(order)
        with self._lock:
            self._assign_id(order, "order", 10001)
            order.setdefault("CustomKey", f"SO-{order['ID']}")
            order.setdefault("StatusKey", "Pending")
            order.setdefault("SalesItems", [])
            order.setdefault("Discounts", [])
            order.setdefault("ShippingDetail", {"CarrierName": None, "CarrierMethodName": None, "TrackingNumber": None})
            for line_id, line in enumerate(order["SalesItems"], start=1):
                line.setdefault("ID", line_id)
                line.setdefault("ProductKey", line.get("Sku"))
                line.setdefault("UnitSoldPrice", line.get("UnitCorePrice", 0.0))
                line.setdefault("UnitCorePrice", line["UnitSoldPrice"])
                line.setdefault("ExtendedPrice", float(money(line["UnitSoldPrice"]) * line.get("Quantity", 0)))
                line.setdefault("ExtendedTaxAmount", 0.0)
                line.setdefault("Discounts", [])
            order.setdefault("Totals", ClarityDataGenerator.totals(order["SalesItems"],
                                                                   order_discounts=order["Discounts"]))
            self._stamp(order, created=True)
            self.orders[order["ID"]] = order
            return copy.deepcopy(order)

    def add_product(self, product):
        """Seed a product (a VARIANT-MASTER when it has Variants); its SKUs become stockable."""
        product = copy.deepcopy(product)
        with self._lock:
            self._store_product(product, existing=None)
            return copy.deepcopy(product)

    def _store_product(self, product, existing):
        if existing:
            product["ID"] = existing["ID"]
            product.setdefault("CreatedDate", existing.get("CreatedDate"))
        else:
            self._assign_id(product, "product", 5001)
        product.setdefault("TypeKey", "VARIANT-MASTER" if product.get("Variants") else "GENERAL")
        product.setdefault("Active", True)
        known_variants = {v["CustomKey"]: v for v in (existing or {}).get("Variants", [])}
        for variant in product.get("Variants") or []:
            variant.setdefault("TypeKey", "VARIANT")
            if variant["CustomKey"] in known_variants:
                variant["ID"] = known_variants[variant["CustomKey"]]["ID"]
            else:
                self._assign_id(variant, "product", 5001)
        self._stamp(product, created=existing is None)
        self.products[product["CustomKey"]] = product

    def add_customer(self, customer):
        """Seed a customer `{"Account","User","Addresses"}` keyed by Account.CustomKey."""
        customer = copy.deepcopy(customer)
        with self._lock:
            self._store_customer(customer, existing=None)
            return copy.deepcopy(customer)

    def _store_customer(self, customer, existing):
        account = customer["Account"]
        if existing:
            account["ID"] = existing["Account"]["ID"]
            account.setdefault("CreatedDate", existing["Account"].get("CreatedDate"))
        else:
            self._assign_id(account, "account", 301)
        account.setdefault("Active", True)
        user = customer.get("User")
        if user:
            user.setdefault("ID", ((existing or {}).get("User") or {}).get("ID"))
            self._assign_id(user, "user", 901)
            user.setdefault("AccountKey", account["CustomKey"])
        customer.setdefault("Addresses", [])
        self._stamp(account, created=existing is None)
        self.customers[account["CustomKey"]] = customer

    def add_return(self, sales_return):
        """Seed a return: ReturnKey (= CustomKey), SalesOrderID, StatusKey, SalesItems, RefundAmount."""
        sales_return = copy.deepcopy(sales_return)
        with self._lock:
            self._assign_id(sales_return, "return", 701)
            sales_return.setdefault("ReturnKey", sales_return.get("CustomKey") or f"RMA-{sales_return['ID']}")
            sales_return.setdefault("CustomKey", sales_return["ReturnKey"])
            sales_return.setdefault("StatusKey", "Pending")
            sales_return.setdefault("CurrencyKey", "USD")
            sales_return.setdefault("SalesItems", [])
            self._stamp(sales_return, created=True)
            self.returns[sales_return["ID"]] = sales_return
            return copy.deepcopy(sales_return)

    def add_category(self, category):
        category = copy.deepcopy(category)
        with self._lock:
            self._assign_id(category, "category", 101)
            category.setdefault("Name", category["CustomKey"])
            category.setdefault("DisplayName", category["Name"])
            category.setdefault("ParentID", None)
            category.setdefault("SeoUrl", category["CustomKey"].lower())
            category.setdefault("SortOrder", len(self.categories) + 1)
            category.setdefault("Active", True)
            self._stamp(category, created=True)
            self.categories[category["CustomKey"]] = category
            return copy.deepcopy(category)

    def add_location(self, location_key):
        with self._lock:
            self.locations.add(location_key)

    def set_stock(self, sku, quantity, location_key=DEFAULT_LOCATION, allocated=0):
        with self._lock:
            self.locations.add(location_key)
            self.inventory[(sku, location_key)] = {
                "Sku": sku, "LocationKey": location_key, "Quantity": quantity,
                "QuantityAllocated": allocated, "UpdatedDate": format_datetime(self.clock()),
            }

    def seed_demo_data(self, orders=25, products=8, customers=4, seed=0):
        """A small consistent store: categories, products with stock, customers and orders."""
        generator = ClarityDataGenerator(seed)
        catalog = generator.products(products)
        accounts = generator.customers(customers)
        for product in catalog:
            for link in product["ProductCategories"]:
                if link["SlaveKey"] not in self.categories:
                    self.add_category({"CustomKey": link["SlaveKey"], "Name": link["SlaveKey"].title()})
            self.add_product(product)
        for sku, _name, _price in generator.sellable_items(catalog):
            self.set_stock(sku, generator.random.randint(0, 250))
        for customer in accounts:
            self.add_customer(customer)
        for order in generator.orders(orders, accounts, catalog):
            self.add_order(order)
        return generator

    # -- reading the store (tests) ---------------------------------------------------------
    def get_order(self, order_id):
        with self._lock:
            return copy.deepcopy(self.orders.get(int(order_id)))

    def get_product(self, sku):
        with self._lock:
            return copy.deepcopy(self.products.get(sku))

    def get_customer(self, key):
        with self._lock:
            return copy.deepcopy(self.customers.get(key))

    def stock(self, sku, location_key=DEFAULT_LOCATION):
        with self._lock:
            return copy.deepcopy(self.inventory.get((sku, location_key)))

    def known_skus(self):
        with self._lock:
            skus = set()
            for product in self.products.values():
                skus.add(product["CustomKey"])
                skus.update(v["CustomKey"] for v in product.get("Variants") or [])
            return skus

    # -- auth, limits, faults --------------------------------------------------------------
    def _client_for(self, request):
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value:
            return None
        with self._lock:
            token = self._tokens.get(value.strip())
            if token is None or time.time() >= token.expires_at:
                return None
            return token.client_id

    def _bucket(self, client_id):
        with self._lock:
            bucket = self._buckets.get(client_id)
            if bucket is None:
                bucket = self._buckets[client_id] = TokenBucket(
                    self.rate_limit_per_minute / 60.0, self.rate_limit_burst)
            return bucket

    def _take_scripted_fault(self, operation):
        with self._lock:
            for fault in self._scripted_faults:
                applies = fault.operation == operation if fault.operation else operation != "oauth_token"
                if applies and fault.remaining > 0:
                    fault.remaining -= 1
                    return fault
            return None

    def inject_fault(self, request, operation):
        if operation != "oauth_token":
            client_id = self._client_for(request)
            if client_id is None:
                response = response_status(401, "Unauthorized", "A valid bearer token is required")
                response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
                return response
            bucket = self._bucket(client_id)
            if not bucket.take():
                wait = max(1, math.ceil(bucket.seconds_until_token()))
                return self._too_many_requests(wait)
        scripted = self._take_scripted_fault(operation)
        if scripted is not None:
            return self._scripted_response(scripted, request, operation)
        faulty = super().inject_fault(request, operation)  # random timeout / 5xx
        if faulty is not None or operation == "oauth_token":
            return faulty
        if self.draw(self.faults.rate_429):
            return self._too_many_requests(self.fault_retry_after)
        if self.draw(self.faults.rate_malformed):
            return self._malformed(request, operation)
        return None

    @staticmethod
    def _too_many_requests(retry_after):
        response = response_status(429, "TooManyRequests", f"Rate limit exceeded; retry in {retry_after} s")
        response.headers["Retry-After"] = str(retry_after)
        return response

    def _scripted_response(self, fault, request, operation):
        if fault.kind == "timeout":
            time.sleep(self.faults.timeout_seconds)
            return Response(504, {"error": "simulated timeout"})
        if fault.kind == "429":
            return self._too_many_requests(self.fault_retry_after if fault.retry_after is None else fault.retry_after)
        if fault.kind == "malformed":
            return self._malformed(request, operation)
        status = int(fault.kind)
        response = Response(status, f"<html><body>{status} (simulated)</body></html>")
        if fault.retry_after is not None:
            response.headers["Retry-After"] = str(fault.retry_after)
        return response

    def _malformed(self, request, operation):
        """Run the real handler (a write does happen) and cut its JSON body in half."""
        try:
            response = self._handlers[operation](request)
        except Exception as exc:  # same contract as dispatch: a simulator bug is a 500
            return Response(500, {"error": f"simulator error: {exc!r}"})
        payload, _headers = response.encoded()
        if not 200 <= response.status < 300 or len(payload) < 2:
            return response
        return Response(response.status, payload[: len(payload) // 2],
                        {"Content-Type": "application/json; charset=utf-8"})

    # -- OAuth -----------------------------------------------------------------------------
    @route("POST", "/oauth/token", "oauth_token")
    def handle_token(self, request):
        form = request.form()
        if form.get("grant_type") != "client_credentials":
            return Response(400, {"error": "unsupported_grant_type",
                                  "error_description": "only client_credentials is supported"})
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        expected = self.clients.get(client_id or "")
        if expected is None or not hmac.compare_digest(expected.encode(), (client_secret or "").encode()):
            return Response(401, {"error": "invalid_client", "error_description": "client authentication failed"})
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[access_token] = _Token(client_id, time.time() + self.token_ttl, form.get("scope", ""))
        return Response(200, {"access_token": access_token, "token_type": "Bearer",
                              "expires_in": self.token_ttl, "scope": form.get("scope", "")},
                        {"Cache-Control": "no-store"})

    # -- paging ----------------------------------------------------------------------------
    def _page(self, request, records, updated_of=lambda r: r["UpdatedDate"], id_of=lambda r: r["ID"]):
        """Filter on ModifiedSince (inclusive), sort by (UpdatedDate, ID), cut one page."""
        errors = []
        try:
            page_number = int(request.arg("StartIndex", "1"))
            if page_number < 1:
                raise ValueError
        except ValueError:
            errors.append(field_error("StartIndex", "StartIndex is a 1-based page number"))
        try:
            size = int(request.arg("Size", str(DEFAULT_PAGE_SIZE)))
            if size < 1:
                raise ValueError
        except ValueError:
            errors.append(field_error("Size", "Size must be a positive integer"))
        since = request.arg("ModifiedSince")
        if since:
            try:
                since = parse_datetime(since)
            except ValueError:
                errors.append(field_error("ModifiedSince", "ModifiedSince must be an ISO-8601 date-time"))
        if errors:
            return validation_failed(errors, "Invalid paging or filter parameters")
        size = min(size, MAX_PAGE_SIZE)
        if since:
            records = [r for r in records if parse_datetime(updated_of(r)) >= since]
        records = sorted(records, key=lambda r: (parse_datetime(updated_of(r)), id_of(r)))
        total = len(records)
        chunk = records[(page_number - 1) * size: page_number * size]
        return Response(200, {
            "Results": copy.deepcopy(chunk), "CurrentPage": page_number, "CurrentCount": len(chunk),
            "TotalPages": math.ceil(total / size), "TotalCount": total,
        })

    @staticmethod
    def _int_param(request, name):
        try:
            return int(unquote(request.params[name]))
        except ValueError:
            return None

    @staticmethod
    def _json_object(request):
        """(body, None) or (None, a 400 Response) for a body that must be a JSON object."""
        try:
            body = request.json()
        except ValueError:
            return None, validation_failed([], "The request body is not valid JSON")
        if not isinstance(body, dict):
            return None, validation_failed([], "The request body must be a JSON object")
        return body, None

    # -- orders ----------------------------------------------------------------------------
    @route("GET", "/api/v1/orders", "list_orders")
    def handle_list_orders(self, request):
        with self._lock:
            orders = list(self.orders.values())
        for name in ("CustomKey", "StatusKey", "AccountKey"):
            value = request.arg(name)
            if value:
                orders = [o for o in orders if o.get(name) == value]
        return self._page(request, orders)

    @route("GET", r"/api/v1/orders/(?P<order_id>[^/]+)", "get_order")
    def handle_get_order(self, request):
        order_id = self._int_param(request, "order_id")
        order = self.get_order(order_id) if order_id is not None else None
        return Response(200, order) if order else not_found("SalesOrder", unquote(request.params["order_id"]))

    @route("POST", r"/api/v1/orders/(?P<order_id>[^/]+)/status", "set_order_status")
    def handle_set_order_status(self, request):
        body, error = self._json_object(request)
        if error:
            return error
        status_key, note = body.get("StatusKey"), body.get("Note")
        errors = []
        if status_key not in ORDER_STATUSES:
            errors.append(field_error("StatusKey", f"Unknown order status {status_key!r}"))
        if note is not None and not isinstance(note, str):
            errors.append(field_error("Note", "Note must be a string"))
        if errors:
            return validation_failed(errors)
        order_id = self._int_param(request, "order_id")
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                return not_found("SalesOrder", unquote(request.params["order_id"]))
            failure = self._business_failure(order["ID"], order["CustomKey"])
            if failure:
                return action(None, succeeded=False, messages=[failure])
            previous = order["StatusKey"]
            if previous in FINAL_ORDER_STATUSES and status_key != previous:
                return action(None, succeeded=False,
                              messages=[f"Order {order['CustomKey']} is {previous}; its status cannot change"])
            if status_key != previous:
                order["StatusKey"] = status_key
                self._stamp(order)
            self.status_changes.append((order["ID"], previous, status_key, note))
            return action(copy.deepcopy(order))

    @route("POST", r"/api/v1/orders/(?P<order_id>[^/]+)/shipments", "create_shipment")
    def handle_create_shipment(self, request):
        body, error = self._json_object(request)
        if error:
            return error
        errors = self._shipment_errors(body)
        if errors:
            return validation_failed(errors)
        order_id = self._int_param(request, "order_id")
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                return not_found("SalesOrder", unquote(request.params["order_id"]))
            existing = self.shipments.get(body["CustomKey"])
            if existing is not None:
                if order["ID"] not in existing["SalesOrderIDs"]:
                    return response_status(409, "Conflict",
                                           f"Shipment {body['CustomKey']} belongs to another order")
                return action(copy.deepcopy(existing),
                              messages=[f"Shipment {body['CustomKey']} already exists; nothing changed"])
            failure = self._business_failure(order["ID"], order["CustomKey"])
            if failure:
                return action(None, succeeded=False, messages=[failure])
            if order["StatusKey"] in FINAL_ORDER_STATUSES:
                return action(None, succeeded=False,
                              messages=[f"Order {order['CustomKey']} is {order['StatusKey']}; it cannot ship"])
            remaining = self._remaining_to_ship(order)
            requested = {}
            for line in body["Lines"]:
                requested[line["Sku"]] = requested.get(line["Sku"], 0) + line["Quantity"]
            unknown = [sku for sku in requested if sku not in remaining]
            if unknown:
                return validation_failed([field_error("Lines.Sku", f"SKU {sku} is not on order {order['CustomKey']}")
                                          for sku in unknown])
            over = [f"{sku}: {qty} requested, {remaining[sku]} left to ship"
                    for sku, qty in requested.items() if qty > remaining[sku]]
            if over:
                return action(None, succeeded=False, messages=["More than remains to ship"] + over)
            shipment = {
                "ID": self._new_id("shipment", 8001), "CustomKey": body["CustomKey"],
                "TrackingNumber": body.get("TrackingNumber"), "CarrierName": body.get("CarrierName"),
                "ShipMethod": body.get("ShipMethod"), "ShipCarrierKey": body.get("ShipCarrierKey"),
                "ShipDate": body.get("ShipDate") or format_datetime(self.clock()),
                "SalesOrderIDs": [order["ID"]],
                "ShipmentLines": [{"Sku": sku, "Quantity": qty} for sku, qty in requested.items()],
            }
            self.shipments[shipment["CustomKey"]] = shipment
            order["TrackingNumber"] = shipment["TrackingNumber"]
            order["ActualShipDate"] = shipment["ShipDate"]
            previous_detail = order.get("ShippingDetail") or {}
            order["ShippingDetail"] = {
                **previous_detail,
                "CarrierName": shipment["CarrierName"] or previous_detail.get("CarrierName"),
                "CarrierMethodName": shipment["ShipMethod"] or previous_detail.get("CarrierMethodName"),
                "TrackingNumber": shipment["TrackingNumber"],
            }
            if all(left == 0 for left in self._remaining_to_ship(order).values()):
                order["StatusKey"] = "Shipped"
            self._stamp(order)
            return action(copy.deepcopy(shipment))

    @staticmethod
    def _shipment_errors(body):
        errors = []
        if not isinstance(body.get("CustomKey"), str) or not body["CustomKey"].strip():
            errors.append(field_error("CustomKey", "CustomKey (the idempotency key) is required"))
        lines = body.get("Lines")
        if not isinstance(lines, list) or not lines:
            errors.append(field_error("Lines", "At least one line is required"))
            return errors
        for index, line in enumerate(lines):
            if not isinstance(line, dict) or not isinstance(line.get("Sku"), str) or not line["Sku"]:
                errors.append(field_error(f"Lines[{index}].Sku", "Sku is required"))
            elif not _is_quantity(line.get("Quantity"), allow_zero=False):
                errors.append(field_error(f"Lines[{index}].Quantity", "Quantity must be a positive integer"))
        return errors

    def _remaining_to_ship(self, order):
        remaining = {}
        for line in order["SalesItems"]:
            remaining[line["Sku"]] = remaining.get(line["Sku"], 0) + line["Quantity"]
        for shipment in self.shipments.values():
            if order["ID"] in shipment["SalesOrderIDs"]:
                for line in shipment["ShipmentLines"]:
                    remaining[line["Sku"]] = remaining.get(line["Sku"], 0) - line["Quantity"]
        return remaining

    # -- products --------------------------------------------------------------------------
    @route("GET", "/api/v1/products", "list_products")
    def handle_list_products(self, request):
        with self._lock:
            products = list(self.products.values())
        sku = request.arg("Sku")
        if sku:
            products = [p for p in products
                        if p["CustomKey"] == sku or any(v["CustomKey"] == sku for v in p.get("Variants") or [])]
        return self._page(request, products)

    @route("GET", r"/api/v1/products/(?P<sku>[^/]+)", "get_product")
    def handle_get_product(self, request):
        sku = unquote(request.params["sku"])
        product = self.get_product(sku)
        return Response(200, product) if product else not_found("Product", sku)

    @route("PUT", r"/api/v1/products/(?P<sku>[^/]+)", "upsert_product")
    def handle_upsert_product(self, request):
        sku = unquote(request.params["sku"])
        body, error = self._json_object(request)
        if error:
            return error
        with self._lock:
            existing = self.products.get(sku)
            errors = self._product_errors(sku, body, creating=existing is None)
            if errors:
                return validation_failed(errors)
            owners = {v["CustomKey"]: p["CustomKey"] for p in self.products.values() for v in p.get("Variants") or []}
            taken = [v["CustomKey"] for v in body.get("Variants") or [] if owners.get(v["CustomKey"], sku) != sku]
            if taken or (sku in owners and owners[sku] != sku):
                return response_status(409, "Conflict", "SKU already used by another product",
                                       [field_error("Variants.CustomKey", f"{key} belongs to another product",
                                                    "Conflict") for key in taken or [sku]])
            failure = self._business_failure(sku, *(v["CustomKey"] for v in body.get("Variants") or []))
            if failure:
                return action(None, succeeded=False, messages=[failure])
            product = {**copy.deepcopy(existing or {}), **copy.deepcopy(body), "CustomKey": sku}
            product.pop("UpdatedDate", None)
            self._store_product(product, existing=existing)
            return action(copy.deepcopy(product))

    @staticmethod
    def _product_errors(sku, body, creating):
        errors = []
        if body.get("CustomKey") not in (None, sku):
            errors.append(field_error("CustomKey", f"CustomKey {body['CustomKey']!r} does not match the URL SKU"))
        if creating and (not isinstance(body.get("Name"), str) or not body["Name"].strip()):
            errors.append(field_error("Name", "Name is required for a new product"))
        if "PriceBase" in body and not _is_amount(body["PriceBase"]):
            errors.append(field_error("PriceBase", "PriceBase must be a number >= 0"))
        variants = body.get("Variants")
        if variants is not None:
            if not isinstance(variants, list):
                errors.append(field_error("Variants", "Variants must be a list"))
            else:
                for index, variant in enumerate(variants):
                    if not isinstance(variant, dict) or not isinstance(variant.get("CustomKey"), str):
                        errors.append(field_error(f"Variants[{index}].CustomKey", "CustomKey (the SKU) is required"))
                    elif "PriceBase" in variant and not _is_amount(variant["PriceBase"]):
                        errors.append(field_error(f"Variants[{index}].PriceBase", "PriceBase must be a number >= 0"))
        return errors

    # -- customers -------------------------------------------------------------------------
    @route("GET", "/api/v1/customers", "list_customers")
    def handle_list_customers(self, request):
        with self._lock:
            customers = list(self.customers.values())
        return self._page(request, customers, updated_of=lambda c: c["Account"]["UpdatedDate"],
                          id_of=lambda c: c["Account"]["ID"])

    @route("GET", r"/api/v1/customers/(?P<key>[^/]+)", "get_customer")
    def handle_get_customer(self, request):
        key = unquote(request.params["key"])
        customer = self.get_customer(key)
        return Response(200, customer) if customer else not_found("Customer", key)

    @route("PUT", r"/api/v1/customers/(?P<key>[^/]+)", "upsert_customer")
    def handle_upsert_customer(self, request):
        key = unquote(request.params["key"])
        body, error = self._json_object(request)
        if error:
            return error
        with self._lock:
            existing = self.customers.get(key)
            errors = self._customer_errors(key, body, creating=existing is None)
            if errors:
                return validation_failed(errors)
            failure = self._business_failure(key)
            if failure:
                return action(None, succeeded=False, messages=[failure])
            customer = copy.deepcopy(existing) if existing else {}
            customer["Account"] = {**customer.get("Account", {}), **copy.deepcopy(body["Account"]), "CustomKey": key}
            customer["Account"].pop("UpdatedDate", None)
            if "User" in body:
                customer["User"] = {**(customer.get("User") or {}), **copy.deepcopy(body["User"] or {})}
            if "Addresses" in body:
                customer["Addresses"] = copy.deepcopy(body["Addresses"])
            self._store_customer(customer, existing=existing)
            return action(copy.deepcopy(customer))

    @staticmethod
    def _customer_errors(key, body, creating):
        account = body.get("Account")
        if not isinstance(account, dict):
            return [field_error("Account", "Account is required")]
        errors = []
        if account.get("CustomKey") not in (None, key):
            errors.append(field_error("Account.CustomKey", "Account.CustomKey does not match the URL key"))
        if creating and (not isinstance(account.get("Name"), str) or not account["Name"].strip()):
            errors.append(field_error("Account.Name", "Name is required for a new customer"))
        user = body.get("User")
        if user is not None:
            if not isinstance(user, dict):
                errors.append(field_error("User", "User must be an object"))
            elif "Email" in user and "@" not in str(user["Email"] or ""):
                errors.append(field_error("User.Email", "Email is not a valid address"))
        addresses = body.get("Addresses")
        if addresses is not None and (not isinstance(addresses, list)
                                      or not all(isinstance(a, dict) and isinstance(a.get("Contact"), dict)
                                                 for a in addresses)):
            errors.append(field_error("Addresses", "Addresses must be a list of {IsPrimary, IsBilling, Contact}"))
        return errors

    # -- returns, categories ---------------------------------------------------------------
    @route("GET", "/api/v1/returns", "list_returns")
    def handle_list_returns(self, request):
        with self._lock:
            returns = list(self.returns.values())
        return self._page(request, returns)

    @route("GET", r"/api/v1/returns/(?P<return_id>[^/]+)", "get_return")
    def handle_get_return(self, request):
        return_id = self._int_param(request, "return_id")
        with self._lock:
            found = self.returns.get(return_id) or next(
                (r for r in self.returns.values() if r["ReturnKey"] == unquote(request.params["return_id"])), None)
            found = copy.deepcopy(found)
        return Response(200, found) if found else not_found("SalesReturn", unquote(request.params["return_id"]))

    @route("GET", "/api/v1/categories", "list_categories")
    def handle_list_categories(self, request):
        with self._lock:
            categories = list(self.categories.values())
        return self._page(request, categories)

    # -- inventory -------------------------------------------------------------------------
    @route("POST", "/api/v1/inventory", "push_inventory")
    def handle_push_inventory(self, request):
        body, error = self._json_object(request)
        if error:
            return error
        items = body.get("Items")
        if not isinstance(items, list):
            return validation_failed([field_error("Items", "Items must be a list")])
        if len(items) > MAX_INVENTORY_ITEMS:
            return response_status(413, "PayloadTooLarge",
                                   f"{len(items)} items sent; at most {MAX_INVENTORY_ITEMS} per call")
        with self._lock:
            skus = self.known_skus()
            results = [self._apply_stock_item(item, skus) for item in items]
        return Response(200, {"Results": results})

    def _apply_stock_item(self, item, skus):
        if not isinstance(item, dict):
            return {"Sku": None, "LocationKey": None, "Status": "error", "Message": "Item must be an object"}
        sku, location, quantity = item.get("Sku"), item.get("LocationKey") or DEFAULT_LOCATION, item.get("Quantity")
        result = {"Sku": sku, "LocationKey": location, "Status": "ok", "Message": ""}
        if not _is_quantity(quantity):
            return {**result, "Status": "error", "Message": "Quantity must be an integer >= 0 (absolute on-hand)"}
        if sku not in skus:
            return {**result, "Status": "not_found", "Message": f"Unknown SKU {sku}"}
        if location not in self.locations:
            return {**result, "Status": "not_found", "Message": f"Unknown location {location}"}
        failure = self._business_failure(sku)
        if failure:
            return {**result, "Status": "error", "Message": failure}
        previous = self.inventory.get((sku, location)) or {}
        self.inventory[(sku, location)] = {
            "Sku": sku, "LocationKey": location, "Quantity": quantity,
            "QuantityAllocated": previous.get("QuantityAllocated", 0), "UpdatedDate": format_datetime(self.clock()),
        }
        return result

    # -- webhooks --------------------------------------------------------------------------
    def build_event(self, event, data, event_id=None, created_at=None):
        """(event id, raw body bytes) of a §6 webhook event."""
        event_id = event_id or str(uuid.uuid4())
        envelope = {
            "Id": event_id, "Event": event, "CreatedAt": created_at or format_datetime(self.clock()),
            "ApiVersion": "v1", "StoreKey": self.store_key, "Data": data,
        }
        return event_id, json.dumps(envelope, separators=(",", ":")).encode("utf-8")

    def send_webhook(self, url, event, data, *, event_id=None, timestamp=None, secret=None):
        """Sign and POST one event; returns (HTTP status, response text)."""
        event_id, raw_body = self.build_event(event, data, event_id)
        delivery = self._deliver(url, event_id, event, raw_body, timestamp, secret, "original")
        return delivery.status, delivery.response_body

    def resend(self, event_id, url=None, *, timestamp=None):
        """Deliver an already sent event again: same Id and body, fresh timestamp and signature,
        as a provider's retry does."""
        first = next((d for d in self.sent_webhooks if d.event_id == event_id), None)
        if first is None:
            raise KeyError(f"no webhook with id {event_id} was sent")
        delivery = self._deliver(url or first.url, event_id, first.event, first.body, timestamp, None, "resend")
        return delivery.status, delivery.response_body

    def send_duplicates(self, url, event, data, copies=2):
        """The same event `copies` times in a row (at-least-once delivery)."""
        event_id, raw_body = self.build_event(event, data)
        return [
            (d.status, d.response_body)
            for d in (self._deliver(url, event_id, event, raw_body, None, None,
                                    "original" if i == 0 else "duplicate") for i in range(copies))
        ]

    def deliver_shuffled(self, url, events, seed=None):
        """Build every (event, data) pair, then send them in a seeded random order.

        Returns [(event id, event, status, response text)] in the order they were sent.
        """
        built = [(event, *self.build_event(event, data)) for event, data in events]
        random.Random(self.faults.seed if seed is None else seed).shuffle(built)
        results = []
        for event, event_id, raw_body in built:
            delivery = self._deliver(url, event_id, event, raw_body, None, None, "original")
            results.append((event_id, event, delivery.status, delivery.response_body))
        return results

    def send_forged(self, url, event, data):
        """A correctly shaped event signed with the wrong secret."""
        event_id, raw_body = self.build_event(event, data)
        delivery = self._deliver(url, event_id, event, raw_body, None, "not-" + str(self.webhook_secret), "forged")
        return delivery.status, delivery.response_body

    def send_stale(self, url, event, data, age_seconds=600):
        """A correctly signed event whose timestamp is `age_seconds` old (beyond the 300 s window)."""
        event_id, raw_body = self.build_event(event, data)
        delivery = self._deliver(url, event_id, event, raw_body, int(time.time()) - age_seconds, None, "stale")
        return delivery.status, delivery.response_body

    def _deliver(self, url, event_id, event, raw_body, timestamp, secret, kind):
        timestamp = int(time.time()) if timestamp is None else int(timestamp)
        signature = compute_signature(self.webhook_secret if secret is None else secret, timestamp, raw_body)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Clarity-Webhooks/1.0 (simulator)",
            "X-Clarity-Event-Id": event_id,
            "X-Clarity-Event": event,
            "X-Clarity-Timestamp": str(timestamp),
            "X-Clarity-Signature": f"v1={signature}",
        }
        delivery = WebhookDelivery(event_id, event, url, timestamp, raw_body, headers, kind=kind)
        try:
            response = requests.post(url, data=raw_body, headers=headers, timeout=10)
            delivery.status, delivery.response_body = response.status_code, response.text
        except requests.RequestException as exc:  # the receiver is down: recorded, not raised
            delivery.status, delivery.response_body = 0, f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.sent_webhooks.append(delivery)
        return delivery


# -- command line --------------------------------------------------------------------------
def build_parser():
    parser = argparse.ArgumentParser(description="Clarity eCommerce /api/v1 simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--client-id", default="odoo-connector")
    parser.add_argument("--client-secret", default="clarity-secret")
    parser.add_argument("--webhook-secret", default="clarity-webhook-secret")
    parser.add_argument("--store-key", default="STORE-1")
    parser.add_argument("--token-ttl", type=int, default=3600, help="access token lifetime (s)")
    parser.add_argument("--rate-limit", type=int, default=120, help="requests per minute per client")
    parser.add_argument("--rate-5xx", type=float, default=0.0)
    parser.add_argument("--rate-timeout", type=float, default=0.0)
    parser.add_argument("--rate-429", type=float, default=0.0)
    parser.add_argument("--rate-malformed", type=float, default=0.0)
    parser.add_argument("--timeout-seconds", type=float, default=5.0, help="how long a simulated timeout hangs")
    parser.add_argument("--seed", type=int, default=0, help="seeds the fault draws and the demo data")
    parser.add_argument("--demo-orders", type=int, default=25, help="demo orders to generate (0: empty store)")
    parser.add_argument("--stream", type=float, default=0, metavar="SECONDS",
                        help="every SECONDS: a new order, sometimes an update or a return, each sent as a "
                             "webhook to --webhook-url (0: no stream)")
    parser.add_argument("--webhook-url", help="where the stream's webhooks go (Odoo's backend webhook URL)")
    parser.add_argument("--location", action="append", default=[], metavar="KEY",
                        help="an inventory location key the store knows besides MAIN (repeatable)")
    return parser


def build_simulator(args):
    faults = FaultConfig(rate_5xx=args.rate_5xx, rate_timeout=args.rate_timeout, rate_429=args.rate_429,
                         rate_malformed=args.rate_malformed, timeout_seconds=args.timeout_seconds, seed=args.seed)
    simulator = ClaritySimulator(
        host=args.host, port=args.port, faults=faults, client_id=args.client_id,
        client_secret=args.client_secret, webhook_secret=args.webhook_secret, store_key=args.store_key,
        token_ttl=args.token_ttl, rate_limit_per_minute=args.rate_limit,
    )
    if args.demo_orders:
        simulator.seed_demo_data(orders=args.demo_orders, seed=args.seed)
    return simulator


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.stream and not args.webhook_url:
        parser.error("--stream needs --webhook-url")
    simulator = build_simulator(args)
    for key in args.location:
        simulator.add_location(key)
    simulator.start()
    print(f"Clarity simulator listening on {simulator.url}", flush=True)
    if args.stream:
        from .stream import ClarityStream, run_every  # here: stream.py imports this module

        stream = ClarityStream(simulator, args.webhook_url)
        run_every(args.stream, stream.tick, "clarity-stream")
        print(f"Clarity stream: an order every {args.stream:g} s, webhooks to {args.webhook_url}", flush=True)
    simulator.serve_forever()


if __name__ == "__main__":
    main()
