"""SP-API simulator family: Finances v0: listFinancialEvents.

Composed into :class:`~.spapi.SpApiSimulator`; see ``spapi_common`` for the conventions.
Model file: ``spapi_models/financesV0.json`` (copied unchanged from Amazon's models).

Events are added by tests: :meth:`FinancesMixin.add_shipment_events` builds a
``ShipmentEvent`` per shipped order from the same charge rules as the settlement generator
(``spapi_reports.order_charges``), :meth:`FinancesMixin.add_refund_event` a ``RefundEvent``.
"""

import json
from datetime import timedelta
from decimal import Decimal

from .base import Response
from .spapi_common import InvalidInput, isoformat, sp_api_operation
from .spapi_reports import COMMISSION_RATE, round_cents, offset_token, order_charges, read_offset_token
from .spapi_schema import parse_datetime

FINANCES = "financesV0.json"
# Amazon: "Orders from the last 48 hours might not be included"; PostedBefore must be 2 min back.
POSTED_SETTLE = timedelta(minutes=2)


def _money(amount, currency):
    return {"CurrencyCode": currency, "CurrencyAmount": float(Decimal(amount))}


class FinancesMixin:
    """Shipment and refund events per order, listed by posted date with NextToken paging."""

    def _init_finances(self):
        self._financial_events = []  # (posted datetime, list name, event dict)

    # -- helpers for tests -----------------------------------------------------------------
    def add_shipment_events(self, order_ids=None, posted=None):
        """One ShipmentEvent per shipped order (all, or ``order_ids``); return the order ids used."""
        used = []
        with self._lock:
            for order_id in order_ids or list(self._orders):
                order = self._orders[order_id]
                if order["fulfillment"]["fulfillmentStatus"] != "SHIPPED":
                    continue
                moment = posted or self.now() - timedelta(minutes=10)
                self._financial_events.append((moment, "ShipmentEventList", self._shipment_event(order, moment)))
                used.append(order_id)
        return used

    def add_refund_event(self, order_id, sku, amount, posted=None):
        """A RefundEvent: ``amount`` of principal refunded on ``sku``, the commission returned less Amazon's fee."""
        with self._lock:
            order = self._orders[order_id]
            item = next(i for i in order["orderItems"] if i["product"]["sellerSku"] == sku)
            currency = item["product"]["price"]["unitPrice"]["currencyCode"]
            amount = Decimal(str(amount))
            commission = round_cents(amount * COMMISSION_RATE)
            moment = posted or self.now() - timedelta(minutes=10)
            event = {
                "AmazonOrderId": order_id, "MarketplaceName": order["salesChannel"].get("marketplaceName"),
                "PostedDate": isoformat(moment),
                "ShipmentItemAdjustmentList": [{
                    "SellerSKU": sku, "OrderAdjustmentItemId": f"ADJ{item['orderItemId'][-6:]}",
                    "ItemChargeAdjustmentList": [{"ChargeType": "Principal", "ChargeAmount": _money(-amount, currency)}],
                    "ItemFeeAdjustmentList": [
                        {"FeeType": "Commission", "FeeAmount": _money(commission, currency)},
                        {"FeeType": "RefundCommission",
                         "FeeAmount": _money(-min(round_cents(commission * Decimal("0.2")), Decimal("5.00")), currency)}],
                }],
            }
            self._financial_events.append((moment, "RefundEventList", event))
        return event

    def _shipment_event(self, order, moment):
        items = {}
        currency = None
        for item, kind, description, amount in order_charges(order):
            currency = item["product"]["price"]["unitPrice"]["currencyCode"]
            entry = items.setdefault(item["orderItemId"], {
                "SellerSKU": item["product"]["sellerSku"], "OrderItemId": item["orderItemId"],
                "QuantityShipped": item["quantityOrdered"], "ItemChargeList": [], "ItemFeeList": [],
                "ItemTaxWithheldList": [], "PromotionList": []})
            if kind == "ItemPrice":
                entry["ItemChargeList"].append({"ChargeType": description, "ChargeAmount": _money(amount, currency)})
            elif kind == "ItemFees":
                entry["ItemFeeList"].append({"FeeType": description, "FeeAmount": _money(amount, currency)})
            elif kind == "ItemWithheldTax":
                entry["ItemTaxWithheldList"].append({
                    "TaxCollectionModel": "MarketplaceFacilitator",
                    "TaxesWithheld": [{"ChargeType": description, "ChargeAmount": _money(amount, currency)}]})
            elif kind == "Promotion":
                entry["PromotionList"].append({"PromotionType": description, "PromotionId": "SIM-PROMO",
                                               "PromotionAmount": _money(amount, currency)})
        return {"AmazonOrderId": order["orderId"], "MarketplaceName": order["salesChannel"].get("marketplaceName"),
                "PostedDate": isoformat(moment), "ShipmentItemList": list(items.values())}

    def financial_events(self):
        with self._lock:
            return [(kind, json.loads(json.dumps(event))) for _moment, kind, event in self._financial_events]

    # -- operations ------------------------------------------------------------------------
    @sp_api_operation(FINANCES, "listFinancialEvents")
    def list_financial_events(self, call):
        params = call.params
        if "NextToken" in params:
            filters, offset = read_offset_token(params["NextToken"], "NextToken")
        else:
            filters = {"after": params.get("PostedAfter"), "before": params.get("PostedBefore"),
                       "size": params.get("MaxResultsPerPage", 100)}
            offset = 0
        if not 1 <= filters["size"] <= 100:
            raise InvalidInput("MaxResultsPerPage must be between 1 and 100.")
        settled = self.now() - POSTED_SETTLE
        after = parse_datetime(filters["after"]) if filters["after"] else None
        before = parse_datetime(filters["before"]) if filters["before"] else settled
        if before > settled:
            raise InvalidInput("PostedBefore must be at least two minutes before the time of the request.")
        if after is not None and after > before:
            raise InvalidInput("PostedAfter must be before PostedBefore.")
        with self._lock:
            matches = sorted((e for e in self._financial_events if (after is None or e[0] >= after) and e[0] <= before),
                             key=lambda e: e[0])
            page = matches[offset:offset + filters["size"]]
            events = {"ShipmentEventList": [], "RefundEventList": []}
            for _moment, kind, event in page:
                events[kind].append(json.loads(json.dumps(event)))
        payload = {"FinancialEvents": events}
        if offset + filters["size"] < len(matches):
            payload["NextToken"] = offset_token(filters, offset + filters["size"])
        return Response(200, {"payload": payload})
