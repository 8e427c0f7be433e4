"""Feeds 2021-06-30 and the JSON_LISTINGS_FEED that sets merchant-fulfilled quantities.

Plain Python, no Odoo import. The feed builder is kept to dicts and one ``json.dumps``; with
its validation against Amazon's listings feed schemas (``schemas/``, copied unchanged) a feed
of 10,000 SKUs takes about 1.5 s (``bench/amazon_feed.py``), validation being most of it. The calls go through
:meth:`AmazonClient._call` (token buckets, retries, error classification); the upload to and
download from the presigned document URLs are plain HTTP outside SP-API.
"""

import functools
import gzip
import json
from pathlib import Path

import httpx
import jsonschema
from sp_api.api.feeds.feeds_2021_06_30 import FeedsV20210630
from sp_api.base import fill_query_params, sp_endpoint

from ...core.errors import BusinessError, PayloadValidationError, TransientError
from ...core.outbound import whole_units
from .client import _connector_class

SCHEMAS_DIR = Path(__file__).with_name("schemas")
FEED_SCHEMA = "listings-feed-schema-v2.json"
MESSAGE_SCHEMA = "listings-feed-message-schema-v2.json"
REPORT_SCHEMA = "listings-feed-processing-report-schema-v2.json"

LISTINGS_FEED = "JSON_LISTINGS_FEED"
CONTENT_TYPE = "application/json; charset=UTF-8"
# Amazon's generic product type: a PATCH of offer attributes needs no real product type.
PRODUCT_TYPE = "PRODUCT"
FULFILLMENT_AVAILABILITY = "/attributes/fulfillment_availability"
MERCHANT_CHANNEL_CODE = "DEFAULT"  # fulfillment_channel_code of merchant-fulfilled quantities
MAX_MESSAGES = 25000  # maxItems of the feed schema's messages

# processingStatus values of a feed
IN_QUEUE, IN_PROGRESS, DONE, FATAL, CANCELLED = "IN_QUEUE", "IN_PROGRESS", "DONE", "FATAL", "CANCELLED"
FINAL_STATUSES = (DONE, FATAL, CANCELLED)


class _Feeds(FeedsV20210630):
    """The library's ``get_feed_document`` downloads and returns text, losing the response:
    this returns getFeedDocument's own answer (URL and compression) like any other call."""

    @sp_endpoint("/feeds/2021-06-30/documents/{}", method="GET")
    def get_feed_document_info(self, feedDocumentId, **kwargs):
        return self._request(fill_query_params(kwargs.pop("path"), feedDocumentId), params=kwargs,
                             add_marketplace=False)


FEEDS_API = _connector_class(_Feeds)


# -- quantities and the feed document --------------------------------------------------------

def offer_quantity(on_hand, reserved=0.0, safety_stock=0, cap=0):
    """Units to promise on Amazon: on hand - reserved - safety stock, whole, never below 0,
    at most ``cap`` when a cap is set (0 or None: no cap)."""
    quantity = whole_units((on_hand or 0.0) - (reserved or 0.0) - (safety_stock or 0))
    return min(quantity, cap) if cap and cap > 0 else quantity


def build_inventory_feed(seller_id, quantities, issue_locale="en_US"):
    """The JSON_LISTINGS_FEED document setting ``quantities`` (``[(sku, quantity)]``).

    Message ids are 1..n in the order given: the processing report refers to them.
    """
    messages = [{
        "messageId": number,
        "sku": sku,
        "operationType": "PATCH",
        "productType": PRODUCT_TYPE,
        "patches": [{"op": "replace", "path": FULFILLMENT_AVAILABILITY,
                     "value": [{"fulfillment_channel_code": MERCHANT_CHANNEL_CODE, "quantity": quantity}]}],
    } for number, (sku, quantity) in enumerate(quantities, start=1)]
    header = {"sellerId": seller_id or "", "version": "2.0"}
    if issue_locale:
        header["issueLocale"] = issue_locale
    return {"header": header, "messages": messages}


@functools.cache
def _schema(name):
    return json.loads((SCHEMAS_DIR / name).read_text(encoding="utf-8"))


@functools.cache
def _validator(name):
    return jsonschema.Draft7Validator(_schema(name))


@functools.cache
def _envelope_validator():
    """The feed schema without the messages' item schema: every message is checked against the
    message schema on its own, checking it again through the feed schema's copy would double
    the time."""
    schema = _schema(FEED_SCHEMA)
    messages = {k: v for k, v in schema["properties"]["messages"].items() if k != "items"}
    return jsonschema.Draft7Validator(dict(schema, properties=dict(schema["properties"], messages=messages)))


@functools.cache
def _message_validator(operation_type):
    """The message schema for messages of one operationType: of its ``oneOf`` branches, each
    bound to an operationType ``const``, only that type's can match, so the others are
    dropped (the same verdict, in half the time on 10,000 messages)."""
    schema = _schema(MESSAGE_SCHEMA)
    branches = [branch for branch in schema["oneOf"]
                if branch.get("properties", {}).get("operationType", {}).get("const") == operation_type]
    if len(branches) != 1:
        return _validator(MESSAGE_SCHEMA)
    specialised = {k: v for k, v in schema.items() if k != "oneOf"}
    specialised["allOf"] = branches
    return jsonschema.Draft7Validator(specialised)


def validate_feed(document):
    """Raise PayloadValidationError unless ``document`` matches the listings feed schema (header,
    1 to 25,000 messages) and each message the listings feed message schema."""
    problems = [_problem(error) for error in _envelope_validator().iter_errors(document)][:5]
    if not problems:
        for message in document["messages"]:
            kind = message.get("operationType") if isinstance(message, dict) else None
            validator = _message_validator(kind) if isinstance(kind, str) else _validator(MESSAGE_SCHEMA)
            problems.extend(f"message {message.get('messageId') if isinstance(message, dict) else '?'}: "
                            f"{_problem(error)}" for error in validator.iter_errors(message))
            if len(problems) >= 5:
                break
    if problems:
        raise PayloadValidationError("the listings feed does not match Amazon's schema: " + "; ".join(problems[:5]))


def encode_feed(document):
    """The document as the UTF-8 bytes to upload (never ISO-8859-1, whatever the SKUs hold)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _problem(error):
    where = "/".join(str(part) for part in error.absolute_path) or "(document)"
    return f"{where}: {error.message[:200]}"


# -- processing report ------------------------------------------------------------------------

def parse_processing_report(text):
    """The processing report (JSON text) checked against its schema: ``(summary, issues)``."""
    try:
        report = json.loads(text)
    except ValueError as error:
        raise PayloadValidationError(f"the feed processing report is not JSON: {error}") from None
    problems = [_problem(error) for error in _validator(REPORT_SCHEMA).iter_errors(report)][:5]
    if problems:
        raise PayloadValidationError("the feed processing report does not match Amazon's schema: "
                                     + "; ".join(problems))
    return report["summary"], report["issues"]


def issues_by_sku(issues, skus, severity="ERROR"):
    """``{sku: [issue, ...]}`` of the issues of ``severity``; an issue without a SKU is matched
    through its messageId (``skus`` lists the feed's SKUs in message order). Issues naming no
    message are returned under the key None (they concern the whole feed)."""
    found = {}
    for issue in issues:
        if issue.get("severity") != severity:
            continue
        sku = issue.get("sku")
        number = issue.get("messageId")
        if not sku and isinstance(number, int) and 1 <= number <= len(skus):
            sku = skus[number - 1]
        found.setdefault(sku or None, []).append(issue)
    return found


# -- calls ------------------------------------------------------------------------------------

def submit_feed(client, content, marketplace_ids, feed_type=LISTINGS_FEED, content_type=CONTENT_TYPE):
    """createFeedDocument, upload ``content`` (bytes), createFeed: ``(document_id, feed_id)``."""
    document = client._call("createFeedDocument", lambda api: api.create_feed_document(None, content_type),
                            expect="feedDocumentId", api_class=FEEDS_API)
    upload_document(document["url"], content, content_type, timeout=client.timeout)
    created = client._call("createFeed", lambda api: api.create_feed(
        feed_type, document["feedDocumentId"], marketplaceIds=list(marketplace_ids)),
        expect="feedId", api_class=FEEDS_API)
    return document["feedDocumentId"], created["feedId"]


def upload_document(url, content, content_type, timeout=30):
    """PUT the bytes to a presigned document URL."""
    try:
        response = httpx.put(url, content=content, headers={"Content-Type": content_type}, timeout=timeout)
    except httpx.TransportError as error:
        raise TransientError(f"Amazon feed document upload: network error {type(error).__name__}") from None
    if response.status_code >= 500 or response.status_code in (403, 408, 429):
        # 403: the presigned URL expired (a slow retry); a new document is created next time.
        raise TransientError(f"Amazon feed document upload answered {response.status_code}",
                             retry_after=60 if response.status_code == 429 else None)
    if response.status_code >= 300:
        raise BusinessError(f"Amazon feed document upload answered {response.status_code}: {response.text[:200]}")


def get_feed(client, feed_id):
    """The Feed: processingStatus, resultFeedDocumentId, processing times."""
    return client._call("getFeed", lambda api: api.get_feed(feed_id), expect="processingStatus",
                        api_class=FEEDS_API)


def get_feed_document(client, document_id):
    """The text of a feed document (a processing report), gunzipped when Amazon gzipped it."""
    info = client._call("getFeedDocument", lambda api: api.get_feed_document_info(document_id), expect="url",
                        api_class=FEEDS_API)
    try:
        response = httpx.get(info["url"], timeout=client.timeout)
    except httpx.TransportError as error:
        raise TransientError(f"Amazon feed document download: network error {type(error).__name__}") from None
    if response.status_code >= 500:
        raise TransientError(f"Amazon feed document download answered {response.status_code}")
    if response.status_code >= 300:
        raise BusinessError(f"Amazon feed document download answered {response.status_code}")
    content = response.content
    if info.get("compressionAlgorithm") == "GZIP":
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError) as error:
            raise PayloadValidationError(f"the feed document {document_id} is not valid GZIP: {error}") from None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PayloadValidationError(f"the feed document {document_id} is not UTF-8: {error}") from None
