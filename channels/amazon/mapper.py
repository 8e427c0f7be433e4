"""Orders 2026-01-01 ``Order`` documents -> the canonical model. Plain Python: no ORM, no I/O.

Malformed input raises :class:`PayloadValidationError` naming the field path, so a failed job
says exactly what is wrong.

Money: each item's proceeds breakdown (ITEM, SHIPPING, GIFT_WRAP, DISCOUNT, TAX, ...) gives
the lines: the item at its unit price, gift wrap and promotions as lines of their own taxed
like the item, shipping summed into the order's shipping line, other charges as fees. Tax
that Amazon collects and remits itself (marketplace facilitator) is not the seller's: such
orders are imported without tax and their total excludes it.
"""

import copy
import math
from decimal import Decimal, InvalidOperation

from ...core import canonical as c
from ...core.dates import format_datetime, parse_datetime  # noqa: F401 - models use mapper.format_datetime
from ...core.errors import PayloadValidationError
from ...core.payload import storable_text
from . import const

# The non-personal part of a delivery address: kept even when PII may not be stored.
NON_PERSONAL_ADDRESS_KEYS = ("city", "districtOrCounty", "stateOrRegion", "municipality", "postalCode",
                             "countryCode", "addressType")
# Rounding error of one rounded tax amount, Odoo's or Amazon's.
HALF_CENT = 0.005


def _get(data, key, path, kind=None, required=False):
    value = data.get(key) if isinstance(data, dict) else None
    if value is None:
        if required:
            raise PayloadValidationError(f"{path}.{key}: required field is missing")
        return None
    if kind is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        expected = getattr(kind, "__name__", None) or "/".join(k.__name__ for k in kind)
        raise PayloadValidationError(f"{path}.{key}: expected {expected}, got {type(value).__name__}")
    return value


def _obj(data, key, path, required=False):
    return _get(data, key, path, dict, required) or {}


def _list(data, key, path, required=False):
    return _get(data, key, path, list, required) or []


def _text(data, key, path, required=False):
    value = _get(data, key, path, (str, int), required)
    return "" if value is None else storable_text(str(value).strip(), f"{path}.{key}")


def _money(data, path):
    """A Money object -> (amount, currency)."""
    if not isinstance(data, dict):
        raise PayloadValidationError(f"{path}: expected a Money object")
    try:
        amount = Decimal(str(data.get("amount")))
    except InvalidOperation:
        raise PayloadValidationError(f"{path}.amount: {data.get('amount')!r} is not a number") from None
    if not amount.is_finite():
        raise PayloadValidationError(f"{path}.amount: {data.get('amount')!r} is not a number")
    return amount, _text(data, "currencyCode", path).upper()


def status_of(data):
    return _text(_obj(data, "fulfillment", "order"), "fulfillmentStatus", "order.fulfillment")


def shipped_quantities(data):
    """{seller SKU: quantity Amazon reports fulfilled} of an order (FULFILLMENT dataset)."""
    shipped = {}
    for index, item in enumerate(_list(data, "orderItems", "order")):
        path = f"order.orderItems[{index}]"
        sku = _text(_obj(item, "product", path), "sellerSku", f"{path}.product", required=True)
        quantity = _get(_obj(item, "fulfillment", path), "quantityFulfilled", f"{path}.fulfillment", (int, float))
        shipped[sku] = shipped.get(sku, 0) + (quantity or 0)
    return shipped


def normalize_phone(phone):
    """One space between groups, a leading + kept: Amazon sends what the buyer typed."""
    return " ".join((phone or "").replace("\u00a0", " ").split())


def without_personal_data(data):
    """A copy of the order without the buyer and with only the non-personal address fields.

    This is what the poller stores in a job: PII only ever enters Odoo on the partner, and
    only when the backend allows it.
    """
    reduced = copy.deepcopy(data)
    reduced.pop("buyer", None)
    recipient = reduced.get("recipient")
    if isinstance(recipient, dict):
        address = recipient.get("deliveryAddress")
        reduced["recipient"] = {}
        if isinstance(address, dict):
            reduced["recipient"]["deliveryAddress"] = {k: address[k] for k in NON_PERSONAL_ADDRESS_KEYS
                                                       if k in address}
    return reduced


def _address(data, path, personal_data):
    if not data:
        return c.Address()
    lines = [_text(data, key, path) for key in ("addressLine1", "addressLine2", "addressLine3")]
    city = _text(data, "city", path) or _text(data, "municipality", path)
    address = c.Address(
        city=city,
        state_code=_text(data, "stateOrRegion", path),  # a code or a name: the backend resolves it
        zip=_text(data, "postalCode", path).upper(),
        country_code=_text(data, "countryCode", path).upper(),
    )
    if personal_data:
        address.name = _text(data, "name", path)
        address.company = _text(data, "companyName", path)
        address.street = lines[0]
        # Odoo has two street lines: the second and third share the second one.
        address.street2 = ", ".join(line for line in lines[1:] if line)
        address.phone = normalize_phone(_text(data, "phone", path))
    return address


def _customer(order_id, marketplace_id, marketplace_name, buyer, shipping, personal_data):
    if not personal_data or not buyer:
        # One shared customer per marketplace: the delivery address keeps the ship-to region.
        return c.Customer(external_id=f"anonymous:{marketplace_id}",
                          name=f"Amazon customer ({marketplace_name or marketplace_id})")
    email = _text(buyer, "buyerEmail", "order.buyer").lower()
    company = _text(buyer, "buyerCompanyName", "order.buyer")
    name = company or _text(buyer, "buyerName", "order.buyer") or shipping.name
    # Amazon's relay address (…@marketplace.amazon.com) is stable per buyer and seller: it
    # identifies a returning buyer. Without one (FBA), every order has its own customer.
    return c.Customer(
        external_id=f"buyer:{email}" if email else f"order:{order_id}",
        name=name or f"Amazon buyer {order_id}",
        email=email,
        phone=shipping.phone,
        is_company=bool(company),
        address=shipping,
    )


def _breakdowns(item, path):
    """{type: amount} of an item's proceeds (amounts summed per type) and their currency."""
    proceeds = _obj(item, "proceeds", path)
    amounts, currency = {}, ""
    for index, entry in enumerate(_list(proceeds, "breakdowns", f"{path}.proceeds")):
        entry_path = f"{path}.proceeds.breakdowns[{index}]"
        kind = _text(entry, "type", entry_path, required=True).upper()
        amount, currency = _money(_obj(entry, "subtotal", entry_path, required=True), f"{entry_path}.subtotal")
        amounts[kind] = amounts.get(kind, Decimal(0)) + amount
    return amounts, currency


def _collected_by_marketplace(item, path):
    collections = _list(_obj(item, "tax", path), "taxCollections", f"{path}.tax")
    return any(isinstance(entry, dict) and entry.get("model") == const.MARKETPLACE_FACILITATOR
               for entry in collections)


def order_from_amazon(data, personal_data=False, marketplace_name=""):
    """An Orders 2026-01-01 ``Order`` -> canonical Order.

    ``personal_data``: buyer names, e-mails, streets and phones are used only when True.
    """
    path = "order"
    if not isinstance(data, dict):
        raise PayloadValidationError(f"{path}: expected an object, got {type(data).__name__}")
    order_id = _text(data, "orderId", path, required=True)
    fulfillment = _obj(data, "fulfillment", path, required=True)
    status = _text(fulfillment, "fulfillmentStatus", f"{path}.fulfillment", required=True)
    channel = _obj(data, "salesChannel", path)
    marketplace_id = _text(channel, "marketplaceId", f"{path}.salesChannel")
    marketplace_name = _text(channel, "marketplaceName", f"{path}.salesChannel") or marketplace_name
    by_amazon = _text(fulfillment, "fulfilledBy", f"{path}.fulfillment") == const.FULFILLED_BY_AMAZON
    shipping = _address(_obj(_obj(data, "recipient", path), "deliveryAddress", f"{path}.recipient"),
                        f"{path}.recipient.deliveryAddress", personal_data)
    buyer = _obj(data, "buyer", path)

    items = _list(data, "orderItems", path, required=True)
    if not items:
        raise PayloadValidationError(f"{path}.orderItems: an order needs at least one item")
    lines, currencies = [], set()
    totals = {}
    charge_count = 0
    collects_tax = True
    for index, item in enumerate(items):
        item_path = f"{path}.orderItems[{index}]"
        product = _obj(item, "product", item_path, required=True)
        sku = _text(product, "sellerSku", f"{item_path}.product", required=True)
        quantity = _get(item, "quantityOrdered", item_path, (int, float), required=True)
        if not math.isfinite(quantity):  # JSON's NaN / Infinity literals load as floats
            raise PayloadValidationError(f"{item_path}.quantityOrdered: {quantity!r} is not a number")
        if quantity <= 0:
            raise PayloadValidationError(f"{item_path}.quantityOrdered: must be positive, got {quantity}")
        amounts, currency = _breakdowns(item, item_path)
        unit_price_data = _obj(product, "price", f"{item_path}.product").get("unitPrice")
        if unit_price_data is not None:
            unit_price, price_currency = _money(unit_price_data, f"{item_path}.product.price.unitPrice")
            currency = currency or price_currency
        elif "ITEM" in amounts:
            unit_price = amounts["ITEM"] / Decimal(quantity)
        else:
            raise PayloadValidationError(f"{item_path}.product.price.unitPrice: required field is missing")
        currencies.add(currency)
        for kind, amount in amounts.items():
            totals[kind] = totals.get(kind, Decimal(0)) + amount
        collects_tax = collects_tax and _collected_by_marketplace(item, item_path)

        packing = _obj(_obj(item, "fulfillment", item_path), "packing", f"{item_path}.fulfillment")
        gift = _obj(packing, "giftOption", f"{item_path}.fulfillment.packing")
        promotions = [_text(p, "promotionId", f"{item_path}.promotion.breakdowns")
                      for p in _list(_obj(item, "promotion", item_path), "breakdowns", f"{item_path}.promotion")]
        charges = []
        if amounts.get("GIFT_WRAP"):
            level = _text(gift, "giftWrapLevel", f"{item_path}.giftOption")
            charges.append(c.Charge("gift_wrap", f"Gift wrap{f' ({level.title()})' if level else ''}: {sku}",
                                    float(amounts["GIFT_WRAP"])))
        if amounts.get("DISCOUNT"):
            label = ", ".join(p for p in promotions if p) or "Amazon promotion"
            charges.append(c.Charge("discount", f"Promotion {label}: {sku}", float(amounts["DISCOUNT"])))
        charge_count += len(charges)
        item_fulfillment = _obj(item, "fulfillment", item_path)
        lines.append(c.OrderLine(
            external_id=_text(item, "orderItemId", item_path, required=True),
            sku=sku,
            name=_text(product, "title", f"{item_path}.product") or sku,
            quantity=float(quantity),
            unit_price=float(unit_price),
            tax_amount=float(amounts.get("TAX", 0)),
            discounts=[c.Discount(code=p, name=p, amount=float(amounts["DISCOUNT"])) for p in promotions if p]
            if amounts.get("DISCOUNT") else [],
            charges=charges,
            attributes={
                "order_item_id": _text(item, "orderItemId", item_path),
                "asin": _text(product, "asin", f"{item_path}.product"),
                "gift_message": _text(gift, "giftMessage", f"{item_path}.giftOption"),
                "quantity_shipped": float(item_fulfillment.get("quantityFulfilled") or 0),
            },
        ))
    currencies.discard("")
    if len(currencies) > 1:
        raise PayloadValidationError(f"{path}.orderItems: several currencies {sorted(currencies)}")

    tax = totals.get("TAX", Decimal(0))
    grand_total = _obj(data, "proceeds", path).get("grandTotal")
    if grand_total is not None:
        total, total_currency = _money(grand_total, f"{path}.proceeds.grandTotal")
        currencies.add(total_currency)
        currencies.discard("")
    else:
        total = sum(totals.values(), Decimal(0)) if totals else sum(
            (Decimal(str(line.unit_price)) * Decimal(str(line.quantity)) for line in lines), Decimal(0))
    # Charges only a marketplace order-level breakdown knows (e.g. a delivery tip) are fees.
    item_level = {"ITEM", "SHIPPING", "GIFT_WRAP", "DISCOUNT", "TAX"}
    fees = sum((amount for kind, amount in totals.items() if kind not in item_level), Decimal(0))
    fees += total - sum(totals.values(), Decimal(0)) if totals and grand_total is not None else Decimal(0)
    collects_tax = collects_tax and bool(tax)
    shipping_amount = totals.get("SHIPPING", Decimal(0))
    service_level = _text(fulfillment, "fulfillmentServiceLevel", f"{path}.fulfillment")
    programs = [str(p) for p in _list(data, "programs", path)]
    seller_order_ids = [_text(a, "aliasId", f"{path}.orderAliases") for a in _list(data, "orderAliases", path)
                        if isinstance(a, dict) and a.get("aliasType") == "SELLER_ORDER_ID"]
    priced_lines = len(lines) + charge_count + (1 if shipping_amount else 0)
    return c.Order(
        channel=const.CHANNEL,
        external_id=order_id,
        reference=order_id,
        status=status,
        currency=(currencies.pop() if currencies else ""),
        updated_at=parse_datetime(_get(data, "lastUpdatedTime", path, str, required=True), f"{path}.lastUpdatedTime"),
        date_order=parse_datetime(data["createdTime"], f"{path}.createdTime") if data.get("createdTime") else None,
        customer=_customer(order_id, marketplace_id, marketplace_name, buyer, shipping, personal_data),
        billing=c.Address(),  # Amazon gives no billing address: the customer's own is used
        shipping=shipping,
        lines=lines,
        shipping_amount=float(shipping_amount),
        shipping_method=f"Amazon {service_level.replace('_', ' ').title()}" if service_level else "",
        fees_amount=float(fees),
        tax_total=0.0 if collects_tax else float(tax),
        total=float(total - tax if collects_tax else total),
        client_order_ref=order_id,
        attributes={
            "programs": programs,
            "is_prime": "PRIME" in programs,
            "is_business": "AMAZON_BUSINESS" in programs or bool(_text(buyer, "buyerCompanyName", "order.buyer")),
            "purchase_order_number": _text(buyer, "buyerPurchaseOrderNumber", "order.buyer") if personal_data else "",
            "seller_order_id": ", ".join(s for s in seller_order_ids if s),
            "marketplace_tax": float(tax) if collects_tax else 0.0,
            "service_level": service_level,
        },
        raw=data,
        marketplace_id=marketplace_id,
        fulfillment_channel="marketplace" if by_amazon else "merchant",
        channel_collects_tax=collects_tax,
        # Amazon rounds tax per item, Odoo per line: each rounded amount is off by half a cent.
        tax_rounding_tolerance=0.0 if collects_tax or not tax else HALF_CENT * (priced_lines + len(lines)),
    )
