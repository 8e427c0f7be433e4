"""SP-API simulator family: FBA Inventory v1: getInventorySummaries.

Composed into :class:`~.spapi.SpApiSimulator`; see ``spapi_common`` for the conventions.
Model file: ``spapi_models/fbaInventory.json`` (copied unchanged from Amazon's models).

The fulfilment-centre stock is seeded with :meth:`FbaInventoryMixin.set_fba_inventory`.
Pages hold ``fba_page_size`` summaries (Amazon: 50); a nextToken is bound to the request's
filters and expires 30 seconds after it was issued, as Amazon's do.
"""

import base64
import binascii
import hashlib
import json
from datetime import timedelta

from .base import Response
from .spapi_common import InvalidInput, isoformat, sp_api_operation
from .spapi_schema import parse_datetime

FBA_INVENTORY = "fbaInventory.json"
NEXT_TOKEN_TTL = timedelta(seconds=30)


class FbaInventoryMixin:
    """Inventory summaries per seller SKU of the simulator's marketplace."""

    def _init_fba_inventory(self):
        self.fba_page_size = 50
        self._fba_inventory = {}  # seller SKU -> stored summary fields

    # -- helpers for tests -------------------------------------------------------------------
    def set_fba_inventory(self, sku, fulfillable=0, reserved=0, inbound=0, unfulfillable=0, researching=0,
                          fnsku=None, asin=None, product_name=None, condition="NewItem"):
        """Set the FBA quantities of ``sku`` (inbound counts as shipped-to-Amazon units)."""
        for name, value in (("fulfillable", fulfillable), ("reserved", reserved), ("inbound", inbound),
                            ("unfulfillable", unfulfillable), ("researching", researching)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number of at least 0, got {value!r}")
        with self._lock:
            self._fba_inventory[sku] = {
                "sku": sku, "fnsku": fnsku or f"X00{hashlib.sha256(sku.encode()).hexdigest()[:7].upper()}",
                "asin": asin or f"B0{hashlib.sha256(b'asin' + sku.encode()).hexdigest()[:8].upper()}",
                "product_name": product_name or sku, "condition": condition, "fulfillable": fulfillable,
                "reserved": reserved, "inbound": inbound, "unfulfillable": unfulfillable,
                "researching": researching, "updated": self.now()}

    def fba_inventory(self, sku):
        with self._lock:
            stored = self._fba_inventory.get(sku)
            return dict(stored) if stored else None

    # -- FBA Inventory v1 --------------------------------------------------------------------
    @sp_api_operation(FBA_INVENTORY, "getInventorySummaries")
    def get_inventory_summaries(self, call):
        params = call.params
        if params["granularityType"] != "Marketplace":
            raise InvalidInput("granularityType must be Marketplace.")
        if params["granularityId"] not in params["marketplaceIds"]:
            raise InvalidInput("granularityId must be the marketplace of marketplaceIds.")
        if params["granularityId"] != self.marketplace_id:
            raise InvalidInput(f"The seller does not sell in marketplace {params['granularityId']}.")
        since = parse_datetime(params["startDateTime"]) if "startDateTime" in params else None
        skus = set(params.get("sellerSkus", ())) | ({params["sellerSku"]} if "sellerSku" in params else set())
        filters = {k: params[k] for k in sorted(params) if k not in ("nextToken", "details")}
        fingerprint = hashlib.sha256(json.dumps(filters, sort_keys=True, default=str).encode()).hexdigest()[:16]
        now = self.now()
        offset = self._read_inventory_token(params["nextToken"], fingerprint, now) if "nextToken" in params else 0
        with self._lock:
            matches = [stored for sku, stored in sorted(self._fba_inventory.items())
                       if (not skus or sku in skus) and (since is None or stored["updated"] >= since)]
            page = matches[offset:offset + self.fba_page_size]
            summaries = [_summary(stored, params.get("details", False)) for stored in page]
        body = {"payload": {"granularity": {"granularityType": "Marketplace",
                                            "granularityId": params["granularityId"]},
                            "inventorySummaries": summaries}}
        if offset + len(page) < len(matches):
            state = {"filters": fingerprint, "offset": offset + len(page), "issued": isoformat(now)}
            body["pagination"] = {"nextToken": base64.urlsafe_b64encode(json.dumps(state).encode()).decode()}
        return Response(200, body)

    @staticmethod
    def _read_inventory_token(value, fingerprint, now):
        try:
            state = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
            offset, issued = int(state["offset"]), parse_datetime(state["issued"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise InvalidInput("The nextToken is invalid.") from None
        if state.get("filters") != fingerprint:
            raise InvalidInput("The nextToken was issued for other parameters.")
        if now - issued > NEXT_TOKEN_TTL:
            raise InvalidInput("The nextToken has expired.")
        return offset


def _summary(stored, details):
    total = sum(stored[k] for k in ("fulfillable", "reserved", "inbound", "unfulfillable", "researching"))
    summary = {"asin": stored["asin"], "fnSku": stored["fnsku"], "sellerSku": stored["sku"],
               "condition": stored["condition"], "lastUpdatedTime": isoformat(stored["updated"]),
               "productName": stored["product_name"], "totalQuantity": total}
    if details:
        summary["inventoryDetails"] = {
            "fulfillableQuantity": stored["fulfillable"],
            "inboundWorkingQuantity": 0,
            "inboundShippedQuantity": stored["inbound"],
            "inboundReceivingQuantity": 0,
            "reservedQuantity": {"totalReservedQuantity": stored["reserved"],
                                 "pendingCustomerOrderQuantity": stored["reserved"],
                                 "pendingTransshipmentQuantity": 0, "fcProcessingQuantity": 0},
            "researchingQuantity": {"totalResearchingQuantity": stored["researching"],
                                    "researchingQuantityBreakdown": []},
            "unfulfillableQuantity": {"totalUnfulfillableQuantity": stored["unfulfillable"],
                                      "customerDamagedQuantity": stored["unfulfillable"],
                                      "warehouseDamagedQuantity": 0, "distributorDamagedQuantity": 0,
                                      "carrierDamagedQuantity": 0,
                                      "defectiveQuantity": 0, "expiredQuantity": 0},
        }
    return summary
