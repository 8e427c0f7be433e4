"""Shipments of merchant-fulfilled orders back to Amazon: Orders v0 ``confirmShipment``.

Plain Python, no Odoo import. :func:`package_detail` turns a canonical Shipment into Amazon's
``PackageDetail``; :func:`confirm_package` sends it once. A package Amazon already has (the
same ``packageReferenceId``, e.g. a job retried after its answer was lost) counts as done.
"""

from sp_api.api import OrdersV0

from ...core.dates import format_datetime
from ...core.errors import BusinessError, PayloadValidationError
from . import const
from .client import NO_CONTENT, _connector_class

ORDERS_V0_API = _connector_class(OrdersV0)
OTHER_CARRIER = "Other"  # Amazon's carrierCode for a carrier it has no code for; carrierName names it
_UNIT_TOLERANCE = 1e-6


def package_detail(shipment, order_items, package_reference_id, carrier_code=None, carrier_name=""):
    """Amazon's PackageDetail of ``shipment``.

    :param order_items: ``[(sku, orderItemId, quantity still to ship)]`` of the order, in order
        of the lines; a SKU sold on several items fills them one after the other
    :param package_reference_id: positive number (as text) unique within the order: the same
        shipment always gets the same one, so Amazon refuses a second confirmation
    :param carrier_code: Amazon's code of the carrier, None when unmapped: then ``Other`` with
        ``carrier_name``, as Amazon expects
    :raise BusinessError: what Amazon would refuse, before any call
    """
    if not str(package_reference_id).isdigit() or int(package_reference_id) < 1:
        raise ValueError(f"packageReferenceId must be a positive number, got {package_reference_id!r}")
    reference = shipment.reference
    if not shipment.tracking_number:
        raise BusinessError(f"{reference}: no tracking number; Amazon needs one to confirm the shipment")
    if not carrier_code and not carrier_name:
        raise BusinessError(f"{reference}: no carrier; set the delivery's carrier (mapped to an Amazon carrier "
                            f"code by a value map of kind carrier)")
    if shipment.ship_date is None:
        raise BusinessError(f"{reference}: no ship date")
    open_quantities = [[sku, item_id, quantity] for sku, item_id, quantity in order_items]
    shipped = {}  # orderItemId -> units, in first-seen order
    for line in shipment.lines:
        units = round(line.quantity)
        if abs(line.quantity - units) > _UNIT_TOLERANCE:
            raise BusinessError(f"{reference}: {line.quantity:g} units of {line.sku}; Amazon confirms whole units")
        for entry in open_quantities:
            if units <= 0:
                break
            if entry[0] != line.sku or entry[2] < 1 - _UNIT_TOLERANCE:
                continue
            taken = min(units, int(entry[2] + _UNIT_TOLERANCE))
            entry[2] -= taken
            units -= taken
            shipped[entry[1]] = shipped.get(entry[1], 0) + taken
        if units > 0 and not any(entry[0] == line.sku for entry in open_quantities):
            raise BusinessError(f"{reference}: {line.sku} is not an item of the Amazon order "
                                f"{shipment.order_external_id}")
        if units > 0:
            raise BusinessError(f"{reference}: {line.sku} ships {units} unit(s) more than the Amazon order "
                                f"{shipment.order_external_id} has left to ship")
    detail = {
        "packageReferenceId": str(package_reference_id),
        "carrierCode": carrier_code or OTHER_CARRIER,
        "trackingNumber": shipment.tracking_number,
        "shipDate": format_datetime(shipment.ship_date),
        "orderItems": [{"orderItemId": item_id, "quantity": units} for item_id, units in shipped.items()],
    }
    if not carrier_code:
        detail["carrierName"] = carrier_name
    if shipment.method:
        detail["shippingMethod"] = shipment.method
    return detail


def confirm_package(client, order_id, detail):
    """Confirm one package of ``order_id`` (marketplace: the client's); return what happened.

    Amazon answers 400 for a package it already has, and for an order it no longer ships
    (cancelled, shipped another way). The order then tells which: the package is there with
    the same tracking number -> ``already_confirmed``; SHIPPED without it -> ``already_shipped``
    (confirmed outside Odoo, nothing is left to confirm); CANCELLED, or the reference taken by
    another package -> BusinessError with Amazon's message; otherwise Amazon's refusal stands.
    """
    try:
        client._call("confirmShipment", lambda api: api.confirm_shipment(
            order_id, marketplaceId=client.marketplace_id, packageDetail=detail),
            expect=NO_CONTENT, api_class=ORDERS_V0_API)
    except PayloadValidationError as refusal:
        order = client.get_order(order_id, included_data=("FULFILLMENT", "PACKAGES"))
        same = [package for package in order.get("packages") or ()
                if package.get("packageReferenceId") == detail["packageReferenceId"]]
        if any(package.get("trackingNumber") == detail["trackingNumber"] for package in same):
            return "already_confirmed"
        if same:  # numbered by someone else (Seller Central, another tool): not ours
            raise BusinessError(f"{refusal.message} (Amazon's package {detail['packageReferenceId']} of this "
                                f"order has another tracking number)", detail=refusal.detail) from None
        status = (order.get("fulfillment") or {}).get("fulfillmentStatus")
        if status == const.STATUS_SHIPPED:
            return "already_shipped"
        if status == const.STATUS_CANCELLED:
            raise BusinessError(f"{refusal.message} (the order is cancelled on Amazon)",
                                detail=refusal.detail) from None
        open_lines = _still_unshipped(detail["orderItems"], order)
        if open_lines == []:
            return "already_shipped"  # these items were all shipped outside Odoo
        if open_lines is not None and open_lines != detail["orderItems"]:
            # Part shipped outside Odoo: confirm what Amazon still waits for, once.
            confirm_package(client, order_id, dict(detail, orderItems=open_lines))
            return "confirmed_unshipped_part"
        raise
    return "confirmed"


def _still_unshipped(lines, order):
    """``lines`` cut to the quantities Amazon still has unshipped (items it has none of left
    out); None when the order does not say (no item fulfilment data)."""
    unshipped = {item.get("orderItemId"): (item.get("fulfillment") or {}).get("quantityUnfulfilled")
                 for item in order.get("orderItems") or ()}
    if any(unshipped.get(line["orderItemId"]) is None for line in lines):
        return None
    return [dict(line, quantity=min(line["quantity"], unshipped[line["orderItemId"]]))
            for line in lines if unshipped[line["orderItemId"]] > 0]
