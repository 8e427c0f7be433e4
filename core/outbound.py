"""Plain-Python helpers of the outbound flows: stock levels, shipment lines, batching.

The ORM side reads quantities and moves; these functions turn them into canonical records
without knowing where they came from, so they are tested without a database.
"""

import math

from .canonical import ShipmentLine, StockLevel

# Context key under which a backend's jobs run (set by the job engine). Whatever they change
# in Odoo came from that backend, so the outbound flows never send it back there.
IMPORT_BACKEND_CONTEXT_KEY = "commerce_import_backend_id"

# Quantities computed in floating point (2.9999999996 after UoM conversions) are whole units.
_UNIT_TOLERANCE = 1e-6


def whole_units(quantity):
    """Whole units that can be promised: fractions are dropped, never rounded up; never < 0."""
    if not quantity or quantity < 0:
        return 0
    return int(math.floor(quantity + _UNIT_TOLERANCE))


def batched(items, size):
    """Consecutive lists of at most ``size`` items (the last one may be shorter)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    items = list(items)
    return [items[start:start + size] for start in range(0, len(items), size)]


def available_stock_levels(skus, location_keys, totals):
    """Absolute available stock of every SKU at every published location.

    :param skus: ``{product_id: sku}``, the products to publish
    :param location_keys: ``{location_id: location key}``, the published locations
    :param totals: ``{(product_id, location_id): (on_hand, reserved)}`` summed over each
        published location and its children; a missing pair means no stock there
    :return: StockLevels sorted by (sku, location key), one per pair, zero included: a
        product whose last unit left must be published as 0, not skipped. Products sharing
        a SKU are added together.
    """
    available = {}
    for product_id, sku in skus.items():
        for location_id, location_key in location_keys.items():
            on_hand, reserved = totals.get((product_id, location_id), (0.0, 0.0))
            key = (sku, location_key)
            available[key] = available.get(key, 0.0) + (on_hand - reserved)
    return [StockLevel(sku=sku, location_key=location_key, quantity=whole_units(quantity))
            for (sku, location_key), quantity in sorted(available.items())]


def shipment_lines(shipped):
    """``[(sku, quantity)]`` of shipped moves -> ShipmentLines, one per SKU in first-seen
    order, zero quantities left out (a move cancelled inside a done picking ships nothing)."""
    quantities = {}
    for sku, quantity in shipped:
        quantities[sku] = quantities.get(sku, 0.0) + quantity
    return [ShipmentLine(sku=sku, quantity=quantity) for sku, quantity in quantities.items() if quantity > 0]
