"""The plain-Python mapping layer: paths, combinations and conversions."""

from datetime import date, datetime

import pytest

from ..core import transform
from ..core.errors import PayloadValidationError

ORDER = {
    "PurchaseOrderNumber": "PO-7781",
    "BillingContact": {"FirstName": "Jane", "LastName": "Doe"},
    "SalesItems": [{"Sku": "A", "Quantity": 2}, {"Sku": "B", "Quantity": 1}],
    "SerializableAttributes": {"SalesChannel": {"Key": "SalesChannel", "Value": "B2B-Web"},
                               "Gift": {"Value": "yes"}, "Due": {"Value": "2025-03-04T15:21:40Z"}},
}


def test_dotted_path_one_to_one():
    assert transform.extract(ORDER, "SerializableAttributes.SalesChannel.Value") == "B2B-Web"
    assert transform.extract(ORDER, "SalesItems[1].Sku") == "B"
    assert transform.extract(ORDER, "SalesItems[-1].Quantity") == 1


def test_missing_steps_give_none():
    assert transform.extract(ORDER, "SerializableAttributes.Nope.Value") is None
    assert transform.extract(ORDER, "SalesItems[9].Sku") is None
    assert transform.extract(ORDER, "PurchaseOrderNumber.Deeper") is None


def test_star_spreads_over_a_list():
    assert transform.extract(ORDER, "SalesItems[*].Sku") == ["A", "B"]
    assert transform.convert(transform.extract(ORDER, "SalesItems[*].Sku"), "str") == "A, B"


def test_many_to_one_combination():
    assert transform.extract_combined(ORDER, "BillingContact.FirstName + BillingContact.LastName") == "Jane Doe"
    assert transform.extract_combined(ORDER, "BillingContact.FirstName + Nope.X", separator="/") == "Jane"
    assert transform.extract_combined(ORDER, "Nope.A + Nope.B") is None


def test_conversions():
    assert transform.convert("3", "int") == 3
    assert transform.convert(3.0, "int") == 3
    assert transform.convert("2.50", "float") == 2.5
    assert transform.convert("yes", "bool") is True
    assert transform.convert("off", "bool") is False
    assert transform.convert("2025-03-04T15:21:40Z", "date") == date(2025, 3, 4)
    assert transform.convert("2025-03-04T17:21:40+02:00", "datetime") == datetime(2025, 3, 4, 15, 21, 40)


@pytest.mark.parametrize("value, kind", [("3.5", "int"), ("lots", "float"), ("maybe", "bool"),
                                         ("yesterday", "date"), (True, "int")])
def test_bad_values_name_the_path(value, kind):
    with pytest.raises(PayloadValidationError, match="Some.Path"):
        transform.convert(value, kind, "Some.Path")
