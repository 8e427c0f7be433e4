"""Listings Items 2021-08-01: listing attributes from mapped product values, put/patch calls, results.

Plain Python. The ORM side reads the product through the backend's outbound field mappings
into ``{Amazon attribute name: value}`` (``productType`` included); this module shapes those
values the way Amazon's product type schemas want them and reads Amazon's answer.
"""

from dataclasses import dataclass, field

from sp_api.api.listings_items.listings_items_2021_08_01 import ListingsItemsV20210801

from ...core.errors import BusinessError, PayloadValidationError
from .client import _connector_class
from .mapper import _list, _text

LISTINGS_API = _connector_class(ListingsItemsV20210801)

PRODUCT_TYPE = "productType"  # a mapping to this path gives the product type, not an attribute
PRICE_ATTRIBUTE = "purchasable_offer"
MULTI_VALUE_ATTRIBUTES = ("bullet_point",)  # one entry per line of the mapped text
# Attributes whose values are codes or numbers, not text in a language.
UNLOCALIZED_ATTRIBUTES = ("condition_type", "list_price", "item_package_quantity", "number_of_items",
                          "merchant_suggested_asin", "supplier_declared_dg_hz_regulation")
MAX_BULLET_POINTS = 5
LANGUAGE_TAGS = {"US": "en_US", "CA": "en_CA", "MX": "es_MX", "GB": "en_GB", "IE": "en_IE", "DE": "de_DE",
                 "FR": "fr_FR", "IT": "it_IT", "ES": "es_ES", "NL": "nl_NL", "SE": "sv_SE", "PL": "pl_PL",
                 "BE": "fr_BE", "JP": "ja_JP", "AU": "en_AU", "IN": "en_IN"}
SUBMISSION_STATUSES = ("ACCEPTED", "INVALID", "VALID")


@dataclass
class ListingIssue:
    code: str
    message: str
    severity: str
    attributes: list = field(default_factory=list)

    def __str__(self):
        names = f" [{', '.join(self.attributes)}]" if self.attributes else ""
        return f"{self.severity} {self.code}{names}: {self.message}"


@dataclass
class ListingResult:
    sku: str
    status: str  # ACCEPTED, INVALID, VALID
    submission_id: str
    issues: list = field(default_factory=list)  # of ListingIssue

    @property
    def errors(self):
        return [issue for issue in self.issues if issue.severity == "ERROR"]


def language_tag(country_code):
    return LANGUAGE_TAGS.get(country_code or "", "en_US")


def price_value(value):
    """A mapped price as a number; BusinessError for what is none (e.g. a wrong default value)."""
    try:
        price = float(value)
    except (TypeError, ValueError):
        raise BusinessError(f"{PRICE_ATTRIBUTE}: {value!r} is not a price") from None
    if price < 0:
        raise BusinessError(f"{PRICE_ATTRIBUTE}: a price cannot be negative ({price})")
    return price


def listing_attributes(values, marketplace_id, language, currency):
    """``{attribute: value}`` -> Amazon's attribute JSON: every attribute a list of value objects."""
    attributes = {}
    for name, value in values.items():
        if value in (None, "", []) or value is False:
            continue
        if name == PRICE_ATTRIBUTE:
            attributes[name] = [{"marketplace_id": marketplace_id, "currency": currency,
                                 "our_price": [{"schedule": [{"value_with_tax": round(price_value(value), 2)}]}]}]
            continue
        entries = value if isinstance(value, list) else [value]
        if name in MULTI_VALUE_ATTRIBUTES:
            entries = [line.strip(" -•\t") for entry in entries for line in str(entry).splitlines()]
            entries = [line for line in entries if line][:MAX_BULLET_POINTS]
        localized = name not in UNLOCALIZED_ATTRIBUTES
        attributes[name] = [{"value": entry, "marketplace_id": marketplace_id,
                             **({"language_tag": language} if localized else {})} for entry in entries]
    return attributes


def split_product_type(values):
    """``(product type, the other values)``; BusinessError when no mapping gives a product type."""
    values = dict(values)
    product_type = values.pop(PRODUCT_TYPE, None)
    if not product_type:
        raise BusinessError(f"no product type: map a field, a product attribute or a default value to {PRODUCT_TYPE}")
    return str(product_type).strip().upper(), values


def put_body(product_type, attributes):
    return {"productType": product_type, "requirements": "LISTING", "attributes": attributes}


def patch_body(product_type, attributes):
    """Replace each mapped attribute of an existing listing (the others stay as they are)."""
    return {"productType": product_type,
            "patches": [{"op": "replace", "path": f"/attributes/{name}", "value": value}
                        for name, value in attributes.items()]}


def submission_result(payload):
    status = _text(payload, "status", "submission", required=True)
    if status not in SUBMISSION_STATUSES:
        raise PayloadValidationError(f"submission.status: unknown status {status!r}")
    issues = [ListingIssue(code=_text(issue, "code", "issues"), message=_text(issue, "message", "issues"),
                           severity=_text(issue, "severity", "issues") or "ERROR",
                           attributes=[str(name) for name in issue.get("attributeNames") or ()])
              for issue in _list(payload, "issues", "submission")]
    return ListingResult(sku=_text(payload, "sku", "submission"), status=status,
                         submission_id=_text(payload, "submissionId", "submission"), issues=issues)


# -- calls -----------------------------------------------------------------------------------

def put_listings_item(client, seller_id, sku, body):
    payload = client._call("putListingsItem", lambda api: api.put_listings_item(
        seller_id, sku, marketplaceIds=[client.marketplace_id], body=body), expect="status", api_class=LISTINGS_API)
    return submission_result(payload)


def patch_listings_item(client, seller_id, sku, body):
    payload = client._call("patchListingsItem", lambda api: api.patch_listings_item(
        seller_id, sku, marketplaceIds=[client.marketplace_id], body=body), expect="status", api_class=LISTINGS_API)
    return submission_result(payload)
