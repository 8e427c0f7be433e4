"""Fulfillment Outbound 2020-07-01 (Multi-Channel Fulfilment): the calls and the canonical <-> Amazon mapping.

Plain Python. Amazon ships an order of another channel from the seller's FBA stock: a
:class:`~core.canonical.FulfillmentRequest` becomes a createFulfillmentOrder body, and
getFulfillmentOrder answers become a :class:`~core.canonical.FulfillmentState` whose packages
are canonical Shipments (carrier and tracking number from getPackageTrackingDetails).
"""

from sp_api.api import FulfillmentOutbound

from ...core.canonical import FulfillmentState, Shipment, ShipmentLine
from ...core.dates import format_datetime, parse_datetime
from ...core.errors import BusinessError, PayloadValidationError
from .client import _connector_class
from .mapper import _list, _obj, _text

FULFILLMENT_API = _connector_class(FulfillmentOutbound)

SHIPPING_SPEEDS = ("Standard", "Expedited", "Priority", "ScheduledDelivery")
DEFAULT_SHIPPING_SPEED = "Standard"
# Amazon lets the seller cancel until picking starts (Processing).
CANCELLABLE_STATUSES = ("New", "Received", "Planning")
CANCELLED_STATUS = "Cancelled"
UNFULFILLABLE_STATUSES = ("Unfulfillable", "Invalid")
FINAL_STATUSES = ("Complete", "CompletePartialled", "Cancelled", "Unfulfillable", "Invalid")
MAX_ORDER_ID_LENGTH = 40  # sellerFulfillmentOrderId, displayableOrderId
MAX_COMMENT_LENGTH = 750  # displayableOrderComment


# -- canonical -> Amazon ---------------------------------------------------------------------

def destination_address(address):
    """A canonical Address -> Amazon's Address; BusinessError naming what the partner lacks."""
    missing = [label for label, value in (("name", address.name or address.company), ("street", address.street),
                                          ("zip", address.zip), ("country", address.country_code))
               if not value]
    if address.country_code != "JP" and not address.city:
        missing.append("city")  # required everywhere but Japan
    if missing:
        raise BusinessError(f"the delivery address has no {', '.join(missing)}")
    name = ", ".join(dict.fromkeys(part for part in (address.name, address.company) if part))
    amazon = {"name": name, "addressLine1": address.street, "addressLine2": address.street2, "city": address.city,
              "stateOrRegion": address.state_code, "postalCode": address.zip, "countryCode": address.country_code,
              "phone": address.phone}
    return {key: value for key, value in amazon.items() if value}


def fulfillment_order_body(request, marketplace_id):
    """The createFulfillmentOrder body of a canonical FulfillmentRequest (validated before any call)."""
    if len(request.reference) > MAX_ORDER_ID_LENGTH:
        raise BusinessError(f"{request.reference}: a fulfillment order ID has at most {MAX_ORDER_ID_LENGTH} characters")
    if request.shipping_speed not in SHIPPING_SPEEDS:
        raise BusinessError(f"{request.shipping_speed!r} is no Amazon shipping speed ({', '.join(SHIPPING_SPEEDS)})")
    if not request.lines:
        raise BusinessError(f"{request.reference}: nothing to ship")
    items = []
    for index, line in enumerate(request.lines, start=1):
        if line.quantity != int(line.quantity) or line.quantity < 1:
            raise BusinessError(f"{line.sku}: Amazon ships whole units, not {line.quantity}")
        items.append({"sellerSku": line.sku, "sellerFulfillmentOrderItemId": f"{index}-{line.sku}"[:50],
                      "quantity": int(line.quantity)})
    body = {
        "marketplaceId": marketplace_id,
        "sellerFulfillmentOrderId": request.reference,
        "displayableOrderId": (request.displayable_reference or request.reference)[:MAX_ORDER_ID_LENGTH],
        "displayableOrderDate": format_datetime(request.order_date),
        "displayableOrderComment": (request.comment or f"Order {request.displayable_reference}")[:MAX_COMMENT_LENGTH],
        "shippingSpeedCategory": request.shipping_speed,
        "destinationAddress": destination_address(request.address),
        "fulfillmentAction": "Ship",
        "fulfillmentPolicy": "FillOrKill",
        "items": items,
    }
    if request.notification_emails:
        body["notificationEmails"] = list(request.notification_emails)
    return body


# -- Amazon -> canonical ---------------------------------------------------------------------

def fulfillment_state(payload):
    """A getFulfillmentOrder payload -> FulfillmentState (packages without tracking details yet)."""
    order = _obj(payload, "fulfillmentOrder", "payload", required=True)
    reference = _text(order, "sellerFulfillmentOrderId", "fulfillmentOrder", required=True)
    status = _text(order, "fulfillmentOrderStatus", "fulfillmentOrder", required=True)
    packages = {}
    notes = []
    for index, shipment in enumerate(_list(payload, "fulfillmentShipments", "payload")):
        path = f"fulfillmentShipments[{index}]"
        shipment_status = _text(shipment, "fulfillmentShipmentStatus", path, required=True)
        if shipment_status == "CANCELLED_BY_FULFILLER":
            notes.extend(str(note) for note in _list(shipment, "shippingNotes", path) if note)
        if shipment_status != "SHIPPED":
            continue
        shipped_at = parse_datetime(shipment["shippingDate"], f"{path}.shippingDate") \
            if shipment.get("shippingDate") else None
        for package in _list(shipment, "fulfillmentShipmentPackage", path):
            number = _text(package, "packageNumber", f"{path}.fulfillmentShipmentPackage", required=True)
            packages[number] = Shipment(reference=number, order_external_id=reference,
                                        carrier=_text(package, "carrierCode", path),
                                        tracking_number=_text(package, "trackingNumber", path), ship_date=shipped_at)
        for item in _list(shipment, "fulfillmentShipmentItem", path):
            number = _text(item, "packageNumber", f"{path}.fulfillmentShipmentItem", required=True)
            if number not in packages:
                raise PayloadValidationError(f"{path}: item {item.get('sellerSku')} is in unknown package {number}")
            packages[number].lines.append(ShipmentLine(sku=_text(item, "sellerSku", path, required=True),
                                                       quantity=item["quantity"]))
    unfulfilled = [ShipmentLine(sku=_text(item, "sellerSku", "fulfillmentOrderItems", required=True),
                                quantity=item.get("unfulfillableQuantity") or 0)
                   for item in _list(payload, "fulfillmentOrderItems", "payload") if item.get("unfulfillableQuantity")]
    reason = "; ".join(dict.fromkeys(notes))
    if not reason and status in UNFULFILLABLE_STATUSES:
        reason = f"Amazon reports the fulfillment order {status}"
    return FulfillmentState(reference=reference, status=status, packages=list(packages.values()),
                            unfulfilled=unfulfilled, reason=reason)


def apply_tracking(package, details):
    """Complete a package Shipment with getPackageTrackingDetails (carrier name, tracking, ship date)."""
    package.carrier = _text(details, "carrierCode", "packageTrackingDetails") or package.carrier
    package.tracking_number = _text(details, "trackingNumber", "packageTrackingDetails") or package.tracking_number
    if details.get("shipDate"):
        package.ship_date = parse_datetime(details["shipDate"], "packageTrackingDetails.shipDate")
    return package


# -- calls -----------------------------------------------------------------------------------

def create_fulfillment_order(client, body):
    """createFulfillmentOrder; Amazon answers success with an empty body."""
    client._call("createFulfillmentOrder", lambda api: api.create_fulfillment_order(**body), expect=None,
                 api_class=FULFILLMENT_API)


def get_fulfillment_order(client, order_id):
    return client._call("getFulfillmentOrder", lambda api: api.get_fulfillment_order(order_id),
                        expect="fulfillmentOrder", api_class=FULFILLMENT_API)


def find_fulfillment_order(client, order_id):
    """getFulfillmentOrder, or None when Amazon has no such order (404)."""
    try:
        return get_fulfillment_order(client, order_id)
    except BusinessError as error:
        if (error.detail or {}).get("status") == 404:
            return None
        raise


def cancel_fulfillment_order(client, order_id):
    client._call("cancelFulfillmentOrder", lambda api: api.cancel_fulfillment_order(order_id), expect=None,
                 api_class=FULFILLMENT_API)


def get_package_tracking_details(client, package_number):
    return client._call("getPackageTrackingDetails",
                        lambda api: api.get_package_tracking_details(packageNumber=int(package_number)),
                        expect="packageNumber", api_class=FULFILLMENT_API)
