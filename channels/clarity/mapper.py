"""Clarity payloads <-> the canonical model. Plain Python: no ORM, no I/O.

Malformed input raises :class:`PayloadValidationError` naming the offending field path, so a
failed job tells the user exactly what to fix.
"""

import math

from ...core import canonical as c
from ...core.dates import format_datetime, parse_datetime
from ...core.errors import PayloadValidationError
from ...core.outbound import whole_units
from ...core.payload import storable_text

CHANNEL = "clarity"


class _Reader:
    """Typed access to a JSON object with the field path in every error message."""

    def __init__(self, data, path="Data"):
        if not isinstance(data, dict):
            raise PayloadValidationError(f"{path}: expected an object, got {type(data).__name__}")
        self.data = data
        self.path = path

    def _get(self, key, required):
        value = self.data.get(key)
        if value is None and required:
            raise PayloadValidationError(f"{self.path}.{key}: required field is missing")
        return value

    def text(self, key, required=False, default=""):
        value = self._get(key, required)
        if value is None:
            return default
        if isinstance(value, (dict, list, bool)):
            raise PayloadValidationError(f"{self.path}.{key}: expected text, got {type(value).__name__}")
        return storable_text(str(value).strip(), f"{self.path}.{key}")

    def number(self, key, required=False, default=0.0):
        value = self._get(key, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise PayloadValidationError(f"{self.path}.{key}: expected a number, got {type(value).__name__}")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):  # "NaN", "Infinity" and 1e999 parse as floats but are no amount
            raise PayloadValidationError(f"{self.path}.{key}: {value!r} is not a number")
        return number

    def boolean(self, key, default=None):
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise PayloadValidationError(f"{self.path}.{key}: expected true or false, got {value!r}")
        return value

    def date(self, key, required=False):
        value = self._get(key, required)
        if value is None:
            return None
        return parse_datetime(value, f"{self.path}.{key}")

    def obj(self, key, required=False):
        value = self._get(key, required)
        if value is None:
            return None
        return _Reader(value, f"{self.path}.{key}")

    def objects(self, key, required=False):
        value = self._get(key, required)
        if value is None:
            return []
        if not isinstance(value, list):
            raise PayloadValidationError(f"{self.path}.{key}: expected a list, got {type(value).__name__}")
        return [_Reader(item, f"{self.path}.{key}[{index}]") for index, item in enumerate(value)]


def flatten_attributes(reader):
    """``SerializableAttributes`` {name: {Key, Value, ...}} -> {name: value}."""
    attributes = reader.data.get("SerializableAttributes") if reader else None
    if not attributes:
        return {}
    if not isinstance(attributes, dict):
        raise PayloadValidationError(f"{reader.path}.SerializableAttributes: expected an object")
    flat = {}
    for name, entry in attributes.items():
        flat[name] = entry.get("Value") if isinstance(entry, dict) else entry
    return flat


def _address(contact):
    """A Clarity Contact {FirstName, LastName, Email1, Phone1, Address{...}} -> Address."""
    if contact is None:
        return c.Address()
    address = contact.obj("Address") or _Reader({}, f"{contact.path}.Address")
    name = " ".join(p for p in (contact.text("FirstName"), contact.text("LastName")) if p)
    streets = [address.text(k) for k in ("Street1", "Street2", "Street3")]
    return c.Address(
        name=name or address.text("Company"),
        company=address.text("Company"),
        street=streets[0],
        # Odoo has two street lines: Street2 and Street3 share the second one.
        street2=", ".join(s for s in streets[1:] if s),
        city=address.text("City"),
        state_code=address.text("RegionCode").upper(),
        zip=address.text("PostalCode"),
        country_code=address.text("CountryCode").upper(),
        email=contact.text("Email1") or contact.text("Email"),
        phone=contact.text("Phone1"),
    )


def _discounts(items):
    return [
        c.Discount(code=d.text("DiscountKey"), name=d.text("DiscountName") or d.text("DiscountKey"),
                   amount=-abs(d.number("DiscountTotal")))
        for d in items
    ]


def order_from_clarity(data):
    """A Clarity Order (§7) -> canonical Order."""
    order = _Reader(data)
    order_id = order.text("ID", required=True)
    billing_contact = order.obj("BillingContact")
    shipping_contact = order.obj("ShippingContact") or billing_contact
    billing = _address(billing_contact)
    shipping = _address(shipping_contact)
    account_key = order.text("AccountKey")
    customer = c.Customer(
        external_id=account_key or f"guest:{billing.email or order_id}",
        name=billing.company or billing.name or account_key,
        email=billing.email,
        phone=billing.phone,
        is_company=bool(billing.company),
        address=billing,
        billing=billing,
        shipping=[shipping],
    )
    items = order.objects("SalesItems", required=True)
    if not items:
        raise PayloadValidationError(f"{order.path}.SalesItems: an order needs at least one line")
    lines = []
    for item in items:
        quantity = item.number("Quantity", required=True)
        if quantity <= 0:
            raise PayloadValidationError(f"{item.path}.Quantity: must be positive, got {quantity:g}")
        sku = item.text("Sku") or item.text("ProductKey")
        if not sku:
            raise PayloadValidationError(f"{item.path}.Sku: required field is missing")
        lines.append(c.OrderLine(
            external_id=item.text("ID") or sku,
            sku=sku,
            name=item.text("Name") or sku,
            quantity=quantity,
            unit_price=item.number("UnitSoldPrice", required=True),
            list_price=item.number("UnitCorePrice", default=None),
            tax_amount=item.number("ExtendedTaxAmount"),
            discounts=_discounts(item.objects("Discounts")),
            attributes=flatten_attributes(item),
        ))
    totals = order.obj("Totals", required=True)
    shipping_detail = order.obj("ShippingDetail")
    payments = order.objects("SalesOrderPayments")
    payment_method = ""
    if payments:
        first = payments[0].obj("Slave") or payments[0]
        payment_method = first.text("PaymentMethodKey")
    return c.Order(
        channel=CHANNEL,
        external_id=order_id,
        reference=order.text("CustomKey") or order_id,
        status=order.text("StatusKey", required=True),
        currency=order.text("CurrencyKey").upper(),
        updated_at=order.date("UpdatedDate"),
        date_order=order.date("CreatedDate") or order.date("UpdatedDate"),
        customer=customer,
        billing=billing,
        shipping=shipping,
        lines=lines,
        shipping_amount=totals.number("Shipping") + totals.number("Handling"),
        shipping_carrier=shipping_detail.text("CarrierName") if shipping_detail else "",
        shipping_method=shipping_detail.text("CarrierMethodName") if shipping_detail else "",
        fees_amount=totals.number("Fees"),
        discounts=_discounts(order.objects("Discounts")),
        tax_total=totals.number("Tax"),
        total=totals.number("Total", required=True),
        payment_method=payment_method,
        client_order_ref=order.text("PurchaseOrderNumber"),
        attributes=flatten_attributes(order),
        raw=data,
    )


def status_change_from_clarity(data):
    """``order.updated`` / ``order.cancelled`` data -> OrderStatusChange."""
    event = _Reader(data)
    return c.OrderStatusChange(
        external_id=event.text("ID", required=True),
        status=event.text("StatusKey", required=True),
        updated_at=event.date("UpdatedDate"),
        reason=event.text("Reason"),
    )


def return_from_clarity(data, refund_only=False):
    """``order.returned`` / ``order.refunded`` data -> OrderReturn."""
    event = _Reader(data)
    lines = []
    for item in event.objects("SalesItems"):
        quantity = item.number("Quantity", required=True)
        if quantity <= 0:
            raise PayloadValidationError(f"{item.path}.Quantity: must be positive, got {quantity:g}")
        lines.append(c.ReturnLine(sku=item.text("Sku", required=True), quantity=quantity))
    return c.OrderReturn(
        external_id=event.text("ReturnKey", required=True),
        order_external_id=event.text("SalesOrderID", required=True),
        status=event.text("StatusKey"),
        lines=lines,
        refund_amount=event.number("RefundAmount"),
        currency=event.text("CurrencyKey").upper(),
        refund_only=refund_only,
    )


def customer_from_clarity(data):
    """A Clarity Customer (§7: Account + User + Addresses) -> canonical Customer."""
    customer = _Reader(data)
    account = customer.obj("Account", required=True)
    user = customer.obj("User")
    addresses = customer.objects("Addresses")
    billing = None
    shipping = []
    for entry in addresses:
        address = _address(entry.obj("Contact"))
        if entry.boolean("IsBilling") or (billing is None and entry.boolean("IsPrimary")):
            billing = address
        else:
            shipping.append(address)
    key = account.text("CustomKey") or account.text("ID", required=True)
    email = user.text("Email") if user else ""
    return c.Customer(
        external_id=key,
        name=account.text("Name") or key,
        email=email or (billing.email if billing else ""),
        is_company=True,
        address=billing or c.Address(),
        billing=billing,
        shipping=shipping,
        taxable=account.boolean("IsTaxable"),
        updated_at=account.date("UpdatedDate") or customer.date("UpdatedDate"),
        raw=data,
    )


def product_from_clarity(data):
    """A Clarity Product (§7), with its Variants -> canonical Product."""
    product = _Reader(data)
    sku = product.text("CustomKey", required=True)
    variants = []
    for variant in product.objects("Variants"):
        variants.append(c.ProductVariant(
            sku=variant.text("CustomKey", required=True),
            price=variant.number("PriceBase", default=None),
            attributes={k: str(v) for k, v in flatten_attributes(variant).items() if v is not None},
            external_id=variant.text("ID"),
        ))
    return c.Product(
        external_id=product.text("ID") or sku,
        sku=sku,
        name=product.text("Name") or sku,
        price=product.number("PriceBase", default=None),
        active=product.boolean("Active", default=True),
        taxable=product.boolean("IsTaxable"),
        uom=product.text("UnitOfMeasure"),
        categories=[cat.text("SlaveKey") for cat in product.objects("ProductCategories") if cat.text("SlaveKey")],
        attributes=flatten_attributes(product),
        variants=variants,
        updated_at=product.date("UpdatedDate"),
        raw=data,
    )


# -- outbound ----------------------------------------------------------------------------

def _whole_quantity(quantity, path):
    """Clarity quantities are integers: a fractional shipped quantity cannot be expressed."""
    units = round(quantity)
    if abs(quantity - units) > 1e-6:
        raise PayloadValidationError(f"{path}: Clarity ships whole units, got {quantity:g}")
    return int(units)


def shipment_to_clarity(shipment):
    """Canonical Shipment -> the body of POST /api/v1/orders/{id}/shipments (§5)."""
    return {
        "CustomKey": shipment.reference,
        "CarrierName": shipment.carrier,
        "ShipMethod": shipment.method,
        "TrackingNumber": shipment.tracking_number,
        "ShipDate": format_datetime(shipment.ship_date),
        "Lines": [{"Sku": line.sku, "Quantity": _whole_quantity(line.quantity, f"Lines[{index}].Quantity")}
                  for index, line in enumerate(shipment.lines)],
    }


def stock_levels_to_clarity(levels):
    """Canonical StockLevels -> the Items of POST /api/v1/inventory (absolute quantities)."""
    # Clarity counts whole units: a fraction cannot be sold, so it is not published.
    return [{"Sku": level.sku, "LocationKey": level.location_key, "Quantity": whole_units(level.quantity)}
            for level in levels]


def product_to_clarity(product):
    """Canonical Product -> the body of PUT /api/v1/products/{sku} (upsert)."""
    return {"CustomKey": product.sku, "Name": product.name, "PriceBase": product.price, "Active": product.active}
