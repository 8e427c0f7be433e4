"""Finances v0 calls of the connector: listFinancialEvents, and the per-order totals it gives.

Plain Python, no Odoo import. :func:`order_totals` turns the Shipment and Refund event lists
into what each order is expected to bring (proceeds), cost (fees), the tax Amazon withholds
and the refunds, so the margin is known before the settlement arrives.
"""

from decimal import Decimal

from sp_api.api import FinancesV0

from ...core.errors import PayloadValidationError
from .client import _connector_class

FINANCES_API = _connector_class(FinancesV0)
EVENT_LISTS = ("ShipmentEventList", "RefundEventList")


def list_financial_events(client, posted_after=None, next_token=None, page_size=100):
    """One page: ``(FinancialEvents dict, next_token)``; paging repeats only the NextToken."""
    params = {"NextToken": next_token} if next_token else {"PostedAfter": posted_after, "MaxResultsPerPage": page_size}
    payload, response = client._call("listFinancialEvents", lambda api: api.list_financial_events(**params),
                                     expect="FinancialEvents", api_class=FINANCES_API, with_response=True)
    events = payload["FinancialEvents"]
    if not isinstance(events, dict):
        raise PayloadValidationError("Amazon listFinancialEvents: FinancialEvents is not an object")
    # The library moves NextToken out of the payload into the response.
    return events, response.next_token or payload.get("NextToken")


def _amount(money):
    try:
        return Decimal(str((money or {}).get("CurrencyAmount", 0) or 0))
    except ArithmeticError:
        raise PayloadValidationError(f"Amazon listFinancialEvents: {money!r} is not an amount") from None


def _sum(components, key):
    return sum((_amount(c.get(key)) for c in components or ()), Decimal(0))


def event_key(kind, event):
    """A stable identity of one event (events are re-read when windows overlap)."""
    items = event.get("ShipmentItemList") or event.get("ShipmentItemAdjustmentList") or ()
    item_ids = ",".join(sorted(str(i.get("OrderAdjustmentItemId") or i.get("OrderItemId") or "") for i in items))
    return f"{kind}|{event.get('AmazonOrderId')}|{event.get('PostedDate')}|{item_ids}"


def event_totals(kind, event):
    """``{"proceeds", "fees", "withheld", "refunds", "currency"}`` of one Shipment/Refund event (Decimal)."""
    adjusting = kind == "RefundEventList"
    items = event.get("ShipmentItemAdjustmentList" if adjusting else "ShipmentItemList") or ()
    charges = fees = withheld = promotions = Decimal(0)
    currency = None
    for item in items:
        charge_list = item.get("ItemChargeAdjustmentList" if adjusting else "ItemChargeList") or ()
        fee_list = item.get("ItemFeeAdjustmentList" if adjusting else "ItemFeeList") or ()
        promotion_list = item.get("PromotionAdjustmentList" if adjusting else "PromotionList") or ()
        charges += _sum(charge_list, "ChargeAmount")
        fees += _sum(fee_list, "FeeAmount")
        promotions += _sum(promotion_list, "PromotionAmount")
        for tax in item.get("ItemTaxWithheldList") or ():
            withheld += _sum(tax.get("TaxesWithheld"), "ChargeAmount")
        for component in (*charge_list, *fee_list):
            money = component.get("ChargeAmount") or component.get("FeeAmount") or {}
            currency = currency or money.get("CurrencyCode")
    fee_key = "ShipmentFeeAdjustmentList" if adjusting else "ShipmentFeeList"
    order_fee_key = "OrderFeeAdjustmentList" if adjusting else "OrderFeeList"
    fees += _sum(event.get(fee_key), "FeeAmount") + _sum(event.get(order_fee_key), "FeeAmount")
    proceeds = charges + promotions
    if adjusting:
        return {"proceeds": Decimal(0), "fees": fees, "withheld": withheld, "refunds": proceeds, "currency": currency}
    return {"proceeds": proceeds, "fees": fees, "withheld": withheld, "refunds": Decimal(0), "currency": currency}
