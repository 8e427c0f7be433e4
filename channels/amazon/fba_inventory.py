"""FBA Inventory v1: the fulfilment-centre quantities of a seller's SKUs (plain Python)."""

from dataclasses import dataclass

from sp_api.api import Inventories

from ...core.errors import PayloadValidationError
from .client import _connector_class

INVENTORY_API = _connector_class(Inventories)


@dataclass(frozen=True)
class FbaStock:
    """Quantities of one SKU in Amazon's fulfilment centres (units)."""

    sku: str
    fnsku: str
    asin: str
    fulfillable: int
    reserved: int
    inbound: int  # working + shipped + receiving
    unfulfillable: int
    researching: int


def inventory_summaries(client, marketplace_id, next_token=None):
    """One page of getInventorySummaries with details: ``(summaries, next_token)``.

    Amazon's nextToken expires 30 seconds after it is issued: read the pages one after the
    other, never store a token for later.
    """
    params = {"details": "true", "granularityType": "Marketplace", "granularityId": marketplace_id,
              "marketplaceIds": [marketplace_id]}
    if next_token:
        params["nextToken"] = next_token
    payload, response = client._call(
        "getInventorySummaries", lambda api: api.get_inventory_summary_marketplace(**params),
        expect="inventorySummaries", api_class=INVENTORY_API, with_response=True)
    summaries = payload["inventorySummaries"]
    if not isinstance(summaries, list):
        raise PayloadValidationError("Amazon getInventorySummaries: inventorySummaries is not a list")
    return summaries, response.next_token


def stock_of(summary):
    """The FbaStock of one InventorySummary (with inventoryDetails)."""
    if not isinstance(summary, dict) or not isinstance(summary.get("sellerSku"), str) or not summary["sellerSku"]:
        raise PayloadValidationError(f"an inventory summary has no sellerSku: {str(summary)[:200]}")
    details = summary.get("inventoryDetails")
    if not isinstance(details, dict):
        raise PayloadValidationError(f"the inventory summary of {summary['sellerSku']} has no inventoryDetails")

    def units(container, key):
        value = (container or {}).get(key) or 0
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise PayloadValidationError(f"{summary['sellerSku']}: {key} is not a whole number of units: {value!r}")
        return value

    return FbaStock(
        sku=summary["sellerSku"], fnsku=summary.get("fnSku") or "", asin=summary.get("asin") or "",
        fulfillable=units(details, "fulfillableQuantity"),
        reserved=units(details.get("reservedQuantity"), "totalReservedQuantity"),
        inbound=sum(units(details, key) for key in (
            "inboundWorkingQuantity", "inboundShippedQuantity", "inboundReceivingQuantity")),
        unfulfillable=units(details.get("unfulfillableQuantity"), "totalUnfulfillableQuantity"),
        researching=units(details.get("researchingQuantity"), "totalResearchingQuantity"),
    )
