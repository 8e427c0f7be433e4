"""SP-API simulator family: Listings Items 2021-08-01: putListingsItem, patchListingsItem, getListingsItem.

Composed into :class:`~.spapi.SpApiSimulator`; see ``spapi_common`` for the conventions.
Model file: ``spapi_models/listingsItems_2021-08-01.json`` (copied unchanged from Amazon's models).

Each product type requires some attributes (:data:`PRODUCT_TYPE_REQUIREMENTS`, changed with
:meth:`ListingsMixin.set_product_type_requirements`); an offer (``requirements`` LISTING or
LISTING_OFFER_ONLY) also needs a condition and a price. A submission missing one, or with a
malformed value, answers ``INVALID`` with Amazon's ``issues`` and changes nothing; otherwise it
is ``ACCEPTED`` and the listing is stored (``VALID`` in ``VALIDATION_PREVIEW`` mode, not stored).
"""

import copy
import hashlib
import uuid

from .base import Response
from .spapi_common import InvalidInput, amazon_error, isoformat, sp_api_operation

LISTINGS_ITEMS = "listingsItems_2021-08-01.json"

PRODUCT_TYPE_REQUIREMENTS = {
    "PRODUCT": ("item_name", "brand"),
    "KITCHEN": ("item_name", "brand", "bullet_point", "product_description"),
    "DRINKING_CUP": ("item_name", "brand", "bullet_point", "material"),
    "COFFEE": ("item_name", "brand", "bullet_point"),
}
OFFER_REQUIREMENTS = ("condition_type", "purchasable_offer")
CONDITION_TYPES = (
    "new_new", "new_open_box", "new_oem", "refurbished_refurbished", "used_like_new", "used_very_good", "used_good",
    "used_acceptable", "collectible_like_new", "collectible_very_good", "collectible_good", "collectible_acceptable",
    "club_club",
)
PATCH_OPERATIONS = ("add", "replace", "merge", "delete")


def _issue(code, message, attribute=None, category="INVALID_ATTRIBUTE", severity="ERROR"):
    issue = {"code": code, "message": message, "severity": severity, "categories": [category]}
    if attribute:
        issue["attributeNames"] = [attribute]
    return issue


class ListingsMixin:
    """Listings of seller SKUs, per seller, validated against the product type's requirements."""

    def _init_listings(self):
        self._listings = {}  # (sellerId, sku) -> {"productType", "attributes", "createdDate", "lastUpdatedDate", "asin"}
        self._product_type_requirements = {name: tuple(attrs) for name, attrs in PRODUCT_TYPE_REQUIREMENTS.items()}

    # -- helpers for tests -------------------------------------------------------------------
    def listing(self, seller_id, sku):
        """A copy of the stored listing of ``sku``, or None."""
        with self._lock:
            return copy.deepcopy(self._listings.get((seller_id, sku)))

    def listing_skus(self, seller_id):
        with self._lock:
            return sorted(sku for seller, sku in self._listings if seller == seller_id)

    def set_product_type_requirements(self, product_type, attributes):
        with self._lock:
            self._product_type_requirements[product_type] = tuple(attributes)

    # -- operations --------------------------------------------------------------------------
    @sp_api_operation(LISTINGS_ITEMS, "putListingsItem")
    def put_listings_item(self, call):
        body = call.body
        requirements = body.get("requirements", "LISTING")
        issues = self._listing_issues(body["productType"], body["attributes"], requirements,
                                      call.params["marketplaceIds"])
        return self._submit(call, body["productType"], body["attributes"], issues)

    @sp_api_operation(LISTINGS_ITEMS, "patchListingsItem")
    def patch_listings_item(self, call):
        key = (call.params["sellerId"], call.params["sku"])
        with self._lock:
            stored = copy.deepcopy(self._listings.get(key))
        if stored is None:
            issues = [_issue("4000004", f"The SKU {call.params['sku']} has no listing to patch; create it with "
                                        "putListingsItem first.", category="INVALID_SKU")]
            return self._submit(call, call.body["productType"], {}, issues)
        attributes = stored["attributes"]
        for patch in call.body["patches"]:
            path = patch["path"]
            if not path.startswith("/attributes/") or path.count("/") != 2:
                raise InvalidInput(f"Patch path {path!r} must be /attributes/<attribute name>.")
            name = path.split("/")[2]
            if patch["op"] == "delete":
                attributes.pop(name, None)
            elif "value" not in patch:
                raise InvalidInput(f"Patch {patch['op']} of {path} needs a value.")
            else:
                attributes[name] = patch["value"]
        issues = self._listing_issues(call.body["productType"], attributes, "LISTING", call.params["marketplaceIds"])
        return self._submit(call, call.body["productType"], attributes, issues)

    @sp_api_operation(LISTINGS_ITEMS, "getListingsItem")
    def get_listings_item(self, call):
        sku = call.params["sku"]
        with self._lock:
            stored = copy.deepcopy(self._listings.get((call.params["sellerId"], sku)))
        if stored is None:
            return amazon_error(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace "
                                                  f"{','.join(call.params['marketplaceIds'])}")
        included = set(call.params.get("includedData") or ("summaries",))
        item = {"sku": sku}
        marketplace_id = call.params["marketplaceIds"][0]
        attributes = stored["attributes"]
        if "summaries" in included:
            summary = {"marketplaceId": marketplace_id, "asin": stored["asin"], "productType": stored["productType"],
                       "status": ["BUYABLE"] if "purchasable_offer" in attributes else ["DISCOVERABLE"],
                       "createdDate": stored["createdDate"], "lastUpdatedDate": stored["lastUpdatedDate"]}
            condition = _first_value(attributes.get("condition_type"))
            if condition in CONDITION_TYPES:
                summary["conditionType"] = condition
            name = _first_value(attributes.get("item_name"))
            if name:
                summary["itemName"] = str(name)
            item["summaries"] = [summary]
        if "attributes" in included:
            item["attributes"] = attributes
        if "issues" in included:
            item["issues"] = []
        if "offers" in included and "purchasable_offer" in attributes:
            offer = attributes["purchasable_offer"][0]
            price = offer["our_price"][0]["schedule"][0]["value_with_tax"]
            item["offers"] = [{"marketplaceId": marketplace_id, "offerType": "B2C",
                               "price": {"currencyCode": offer.get("currency", "USD"), "amount": str(price)}}]
        if "productTypes" in included:
            item["productTypes"] = [{"marketplaceId": marketplace_id, "productType": stored["productType"]}]
        return Response(200, item)

    # -- internals ---------------------------------------------------------------------------
    def _submit(self, call, product_type, attributes, issues):
        sku = call.params["sku"]
        preview = call.params.get("mode") == "VALIDATION_PREVIEW"
        invalid = any(issue["severity"] == "ERROR" for issue in issues)
        body = {"sku": sku, "status": "INVALID" if invalid else ("VALID" if preview else "ACCEPTED"),
                "submissionId": uuid.uuid4().hex, "issues": issues}
        if not invalid and not preview:
            key = (call.params["sellerId"], sku)
            moment = isoformat(self.now())
            with self._lock:
                stored = self._listings.get(key)
                asin = stored["asin"] if stored else "B0" + hashlib.sha256(sku.encode()).hexdigest()[:8].upper()
                self._listings[key] = {"productType": product_type, "attributes": copy.deepcopy(attributes),
                                       "createdDate": stored["createdDate"] if stored else moment,
                                       "lastUpdatedDate": moment, "asin": asin}
            if "identifiers" in (call.params.get("includedData") or ()):
                body["identifiers"] = [{"marketplaceId": m, "asin": asin} for m in call.params["marketplaceIds"]]
        return Response(200, body)

    def _listing_issues(self, product_type, attributes, requirements, marketplace_ids):
        with self._lock:
            required = self._product_type_requirements.get(product_type)
        if required is None:
            return [_issue("4000003", f"The product type '{product_type}' is not a valid product type in "
                                      f"marketplace {','.join(marketplace_ids)}.", category="INVALID_PRODUCT_TYPE")]
        if not isinstance(attributes, dict):
            raise InvalidInput("attributes must be an object keyed by attribute name.")
        wanted = {"LISTING": required + OFFER_REQUIREMENTS, "LISTING_PRODUCT_ONLY": required,
                  "LISTING_OFFER_ONLY": OFFER_REQUIREMENTS}[requirements]
        issues = [_issue("90220", f"'{name}' is required but not supplied.", name, category="MISSING_ATTRIBUTE")
                  for name in wanted if not attributes.get(name)]
        for name, values in attributes.items():
            problem = _attribute_problem(name, values)
            if problem:
                issues.append(_issue("90244", f"The value provided for '{name}' is invalid: {problem}.", name))
        return issues


def _first_value(values):
    if isinstance(values, list) and values and isinstance(values[0], dict):
        return values[0].get("value")
    return None


def _attribute_problem(name, values):
    """Why ``values`` is no valid attribute value list (Amazon's JSON schema in short), or ''."""
    if not isinstance(values, list) or not values or not all(isinstance(v, dict) for v in values):
        return "an attribute is a non-empty list of objects"
    if name == "purchasable_offer":
        for offer in values:
            try:
                price = offer["our_price"][0]["schedule"][0]["value_with_tax"]
            except (KeyError, IndexError, TypeError):
                return "our_price[0].schedule[0].value_with_tax is required"
            if isinstance(price, bool) or not isinstance(price, (int, float)) or price < 0:
                return f"value_with_tax must be a number of at least 0, not {price!r}"
            if not offer.get("currency"):
                return "currency is required"
        return ""
    for value in values:
        if value.get("value") in (None, ""):
            return "every entry needs a value"
    if name == "condition_type" and any(v["value"] not in CONDITION_TYPES for v in values):
        return f"condition_type must be one of {', '.join(CONDITION_TYPES)}"
    return ""
