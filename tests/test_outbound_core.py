"""The ORM-free parts of the outbound flows: stock levels, shipment lines, batching, mapping."""

from datetime import datetime

import pytest

from ..channels.clarity import mapper
from ..core.canonical import Shipment, ShipmentLine, StockLevel
from ..core.errors import PayloadValidationError
from ..core.outbound import available_stock_levels, batched, shipment_lines, whole_units


def test_batches_keep_order_and_never_exceed_the_size():
    assert batched(range(1001), 500) == [list(range(500)), list(range(500, 1000)), [1000]]
    assert batched([], 500) == []
    with pytest.raises(ValueError):
        batched([1], 0)


@pytest.mark.parametrize(("quantity", "units"), [(7.0, 7), (2.9999999996, 3), (2.5, 2), (-4.0, 0), (0, 0), (None, 0)])
def test_whole_units_never_promise_a_fraction_or_a_negative(quantity, units):
    assert whole_units(quantity) == units


def test_available_levels_cover_every_sku_and_location_and_are_absolute():
    levels = available_stock_levels(
        skus={1: "WID", 2: "CAB", 3: "WID"},  # products 1 and 3 share a SKU
        location_keys={10: "WHSTOCK", 20: "SHOP"},
        totals={(1, 10): (10.0, 3.0), (3, 10): (2.0, 0.0), (2, 20): (1.0, 4.0)},
    )
    assert levels == [
        StockLevel("CAB", "SHOP", 0),  # more reserved than on hand
        StockLevel("CAB", "WHSTOCK", 0),  # no quant at all: still published, as zero
        StockLevel("WID", "SHOP", 0),
        StockLevel("WID", "WHSTOCK", 9),
    ]


def test_shipment_lines_group_by_sku_and_drop_nothing_shipped():
    assert shipment_lines([("WID", 1.0), ("CAB", 0.0), ("WID", 1.0)]) == [ShipmentLine("WID", 2.0)]


def test_clarity_quantities_are_integers():
    items = mapper.stock_levels_to_clarity([StockLevel("WID", "WHSTOCK", 0), StockLevel("CAB", "WHSTOCK", 3.0)])
    assert [type(item["Quantity"]) for item in items] == [int, int]
    shipment = Shipment(reference="WH/OUT/00042", order_external_id="10452", carrier="UPS",
                        tracking_number="1Z", ship_date=datetime(2025, 3, 5, 9, 30, 15, 123456),
                        lines=[ShipmentLine("WID", 2.0)])
    body = mapper.shipment_to_clarity(shipment)
    assert body["Lines"] == [{"Sku": "WID", "Quantity": 2}]
    assert body["ShipDate"] == "2025-03-05T09:30:15Z"
    assert body["CustomKey"] == "WH/OUT/00042"


def test_a_fractional_shipped_quantity_is_refused_with_its_path():
    shipment = Shipment(reference="WH/OUT/1", order_external_id="1", lines=[ShipmentLine("ROPE", 2.5)])
    with pytest.raises(PayloadValidationError, match=r"Lines\[0\]\.Quantity"):
        mapper.shipment_to_clarity(shipment)
