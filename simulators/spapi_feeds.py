"""SP-API simulator family: Feeds 2021-06-30: createFeedDocument, upload, createFeed, getFeed, processing reports.

Composed into :class:`~.spapi.SpApiSimulator`; see ``spapi_common`` for the conventions.
Model file: ``spapi_models/feeds_2021-06-30.json`` (copied unchanged from Amazon's models).

Only ``JSON_LISTINGS_FEED`` is processed. A feed waits ``feed_queue_seconds`` IN_QUEUE, then
``feed_processing_seconds`` IN_PROGRESS on the simulator's clock (``advance_clock``), or is
finished at once by :meth:`FeedsMixin.process_feeds`. Processing validates the uploaded
document against the listings feed schemas, applies the ``fulfillment_availability``
quantities of known SKUs to the simulator's merchant listings and writes a processing report
(``listings-feed-processing-report-schema-v2.json``) with one ERROR issue per refused message.
"""

import copy
import gzip
import json
import secrets
from datetime import timedelta
from pathlib import Path

import jsonschema

from .base import Response, route
from .spapi_common import InvalidInput, amazon_error, isoformat, sp_api_operation

FEEDS = "feeds_2021-06-30.json"
LISTINGS_FEED = "JSON_LISTINGS_FEED"
_SCHEMAS = Path(__file__).resolve().parent.parent / "channels" / "amazon" / "schemas"
_FEED_SCHEMA = json.loads((_SCHEMAS / "listings-feed-schema-v2.json").read_text(encoding="utf-8"))
_MESSAGE_SCHEMA = json.loads((_SCHEMAS / "listings-feed-message-schema-v2.json").read_text(encoding="utf-8"))
_REPORT_SCHEMA = json.loads((_SCHEMAS / "listings-feed-processing-report-schema-v2.json").read_text(encoding="utf-8"))
# The envelope alone: messages are checked one by one, so one bad message refuses only itself.
_ENVELOPE_SCHEMA = dict(_FEED_SCHEMA, properties=dict(
    _FEED_SCHEMA["properties"], messages={k: v for k, v in _FEED_SCHEMA["properties"]["messages"].items()
                                          if k != "items"}))
_ENVELOPE = jsonschema.Draft7Validator(_ENVELOPE_SCHEMA)
_MESSAGE = jsonschema.Draft7Validator(_MESSAGE_SCHEMA)
_REPORT = jsonschema.Draft7Validator(_REPORT_SCHEMA)
FULFILLMENT_AVAILABILITY = "/attributes/fulfillment_availability"
UPLOAD_PATH = "/_simulator/feed-documents"

# Issue codes of the processing report (Amazon's own are undocumented numbers).
CODE_INVALID_MESSAGE = "4000001"
CODE_UNKNOWN_SKU = "4000002"
CODE_INVALID_QUANTITY = "4000003"


class FeedsMixin:
    """Feed documents, feeds and the merchant-fulfilled quantities the feeds set."""

    def _init_feeds(self):
        self.feed_queue_seconds = 5
        self.feed_processing_seconds = 5
        self.feed_report_compression = None  # "GZIP" to gzip processing reports as Amazon may
        self._feed_documents = {}  # id -> {"content_type", "content" (bytes or None), "compression"}
        self._feeds = {}  # id -> {"created", "feed": the Feed plus "_input" (its document), "report"}
        self._feed_sequence = 50000000000
        self._forced_fatal_feeds = 0
        self._refused_feed_skus = {}  # SKU -> issue Amazon reports for it (listing problems)
        # SKU -> merchant-fulfilled quantity (None: listing known, quantity never set)
        self._merchant_listings = {sku: None for sku in self._catalog_skus()}

    @staticmethod
    def _catalog_skus():
        from .spapi import CATALOG  # the order catalogue: its SKUs are listed by default

        return [sku for sku, *_rest in CATALOG]

    # -- helpers for tests -------------------------------------------------------------------
    def add_merchant_listings(self, skus, quantity=None):
        """Make ``skus`` known listings of the seller (feeds for unknown SKUs are refused)."""
        with self._lock:
            for sku in skus:
                self._merchant_listings.setdefault(sku, quantity)

    def merchant_quantity(self, sku):
        """The merchant-fulfilled quantity a feed last set for ``sku`` (None: never set or unknown)."""
        with self._lock:
            return self._merchant_listings.get(sku)

    def refuse_feed_sku(self, sku, message, code="90220", attribute_name=None):
        """Report an ERROR for every feed message of ``sku`` (e.g. a listing Amazon blocks)."""
        issue = {"code": code, "message": message}
        if attribute_name:
            issue["attributeName"] = attribute_name
        with self._lock:
            self._refused_feed_skus[sku] = issue

    def clear_feed_refusals(self):
        with self._lock:
            self._refused_feed_skus.clear()

    def fail_next_feeds(self, count=1):
        """The next ``count`` feeds to be processed end FATAL, without a processing report."""
        with self._lock:
            self._forced_fatal_feeds += count

    def feed(self, feed_id):
        """The feed as getFeed returns it now."""
        with self._lock:
            self._advance_feeds()
            return {k: copy.deepcopy(v) for k, v in self._feeds[feed_id]["feed"].items() if not k.startswith("_")}

    def feed_ids(self):
        with self._lock:
            return list(self._feeds)

    def feed_content(self, feed_id):
        """The uploaded document of a feed, decoded (JSON), as the simulator received it."""
        with self._lock:
            document = self._feed_documents[self._feeds[feed_id]["feed"]["_input"]]
        return json.loads(document["content"].decode("utf-8"))

    def feed_report(self, feed_id):
        with self._lock:
            return copy.deepcopy(self._feeds[feed_id].get("report"))

    def process_feeds(self):
        """Finish every waiting feed now, whatever the clock says."""
        with self._lock:
            for state in self._feeds.values():
                if state["feed"]["processingStatus"] in ("IN_QUEUE", "IN_PROGRESS"):
                    self._finish_feed(state)

    # -- processing --------------------------------------------------------------------------
    def _advance_feeds(self):
        now = self.now()
        for state in self._feeds.values():
            feed = state["feed"]
            if feed["processingStatus"] not in ("IN_QUEUE", "IN_PROGRESS"):
                continue
            started = state["created"] + timedelta(seconds=self.feed_queue_seconds)
            if now >= started + timedelta(seconds=self.feed_processing_seconds):
                self._finish_feed(state)
            elif now >= started and feed["processingStatus"] == "IN_QUEUE":
                feed["processingStatus"] = "IN_PROGRESS"
                feed["processingStartTime"] = isoformat(started)

    def _finish_feed(self, state):
        feed = state["feed"]
        now = self.now()
        feed.setdefault("processingStartTime", isoformat(now))
        feed["processingEndTime"] = isoformat(now)
        document = self._feed_documents.get(feed["_input"]) or {}
        content = document.get("content")
        parsed = None
        if content is not None and self._forced_fatal_feeds <= 0:
            try:
                parsed = json.loads(content.decode("utf-8"))
            except ValueError:
                parsed = None
        if self._forced_fatal_feeds > 0:
            self._forced_fatal_feeds -= 1
        if parsed is None or next(_ENVELOPE.iter_errors(parsed), None) is not None:
            # Not uploaded, not UTF-8 JSON, or no valid header: Amazon gives up on the whole feed.
            feed["processingStatus"] = "FATAL"
            return
        report = self._apply_listings_feed(feed["feedId"], parsed)
        _REPORT.validate(report)  # a report off its schema is a simulator bug
        state["report"] = report
        body = json.dumps(report).encode("utf-8")
        compression = self.feed_report_compression
        document_id = self._new_document_id()
        self._feed_documents[document_id] = {
            "content_type": "application/json; charset=UTF-8", "compression": compression,
            "content": gzip.compress(body) if compression == "GZIP" else body}
        feed["resultFeedDocumentId"] = document_id
        feed["processingStatus"] = "DONE"

    def _apply_listings_feed(self, feed_id, document):
        issues = []
        accepted = 0
        for message in document["messages"]:
            problem = self._message_problem(message)
            if problem is None:
                self._merchant_listings[message["sku"]] = _quantity_of(message)
                accepted += 1
                continue
            issue = {"severity": "ERROR", **problem}
            if isinstance(message, dict) and isinstance(message.get("messageId"), int) and message["messageId"] >= 1:
                issue["messageId"] = message["messageId"]
            if isinstance(message, dict) and isinstance(message.get("sku"), str) and message["sku"]:
                issue["sku"] = message["sku"]
            issues.append(issue)
        processed = len(document["messages"])
        return {
            "header": {"sellerId": document["header"]["sellerId"], "version": "2.0", "feedId": feed_id},
            "issues": issues,
            "summary": {"errors": len(issues), "warnings": 0, "messagesProcessed": processed,
                        "messagesAccepted": accepted, "messagesInvalid": processed - accepted},
        }

    def _message_problem(self, message):
        """The issue (code, message, maybe attributeName) refusing a feed message; None when it is applied."""
        error = next(_MESSAGE.iter_errors(message), None)
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "message"
            return {"code": CODE_INVALID_MESSAGE,
                    "message": f"The message does not match the listings feed message schema at {where}: "
                               f"{error.message[:300]}"}
        if message["sku"] not in self._merchant_listings:
            return {"code": CODE_UNKNOWN_SKU,
                    "message": f"The SKU '{message['sku']}' does not match any listing of this seller."}
        refused = self._refused_feed_skus.get(message["sku"])
        if refused:
            return dict(refused)
        if message["operationType"] != "PATCH":
            return {"code": CODE_INVALID_MESSAGE, "message": "The simulator only processes PATCH messages."}
        patches = message["patches"]
        if len(patches) != 1 or patches[0]["path"] != FULFILLMENT_AVAILABILITY \
                or patches[0]["op"] not in ("replace", "add", "merge"):
            return {"code": CODE_INVALID_MESSAGE,
                    "message": f"The simulator only processes one replace of {FULFILLMENT_AVAILABILITY}."}
        if _quantity_of(message) is None:
            return {"code": CODE_INVALID_QUANTITY, "attributeName": "fulfillment_availability",
                    "message": "fulfillment_availability needs one DEFAULT entry with a whole quantity of at least 0."}
        return None

    def _new_document_id(self):
        return f"amzn1.tortuga.4.na.{secrets.token_hex(12)}"

    # -- Feeds 2021-06-30 --------------------------------------------------------------------
    @sp_api_operation(FEEDS, "createFeedDocument")
    def create_feed_document(self, call):
        content_type = call.body["contentType"]
        document_id = self._new_document_id()
        with self._lock:
            self._feed_documents[document_id] = {"content_type": content_type, "content": None, "compression": None}
        return Response(201, {"feedDocumentId": document_id, "url": f"{self.url}{UPLOAD_PATH}/{document_id}"})

    @route("PUT", f"{UPLOAD_PATH}/(?P<document_id>[^/]+)", "uploadFeedDocument")
    def upload_feed_document(self, request):
        """The presigned S3 URL of a feed document: takes the bytes once, as S3 would any PUT."""
        with self._lock:
            document = self._feed_documents.get(request.params["document_id"])
            if document is None or document.get("compression"):
                return Response(404, "<Error><Code>NoSuchKey</Code></Error>", {"Content-Type": "application/xml"})
            document["content"] = bytes(request.body)
            document["uploaded_content_type"] = request.headers.get("content-type", "")
        return Response(200, b"", {"ETag": f'"{secrets.token_hex(16)}"'})

    @route("GET", f"{UPLOAD_PATH}/(?P<document_id>[^/]+)", "downloadFeedDocument")
    def download_feed_document(self, request):
        with self._lock:
            document = self._feed_documents.get(request.params["document_id"])
        if document is None or document.get("content") is None:
            return Response(404, "<Error><Code>NoSuchKey</Code></Error>", {"Content-Type": "application/xml"})
        return Response(200, document["content"], {"Content-Type": document["content_type"]})

    @sp_api_operation(FEEDS, "createFeed")
    def create_feed(self, call):
        body = call.body
        with self._lock:
            document = self._feed_documents.get(body["inputFeedDocumentId"])
            if document is None:
                raise InvalidInput(f"The feed document {body['inputFeedDocumentId']} does not exist.")
            if body["feedType"] != LISTINGS_FEED:
                raise InvalidInput(f"The simulator only processes {LISTINGS_FEED} feeds.")
            if not body["marketplaceIds"]:
                raise InvalidInput("marketplaceIds must list at least one marketplace.")
            self._feed_sequence += 1
            feed_id = str(self._feed_sequence)
            now = self.now()
            self._feeds[feed_id] = {"created": now, "feed": {
                "feedId": feed_id, "feedType": body["feedType"], "marketplaceIds": list(body["marketplaceIds"]),
                "createdTime": isoformat(now), "processingStatus": "IN_QUEUE",
                "_input": body["inputFeedDocumentId"]}}
        return Response(202, {"feedId": feed_id})

    @sp_api_operation(FEEDS, "getFeed")
    def get_feed(self, call):
        with self._lock:
            self._advance_feeds()
            state = self._feeds.get(call.params["feedId"])
            if state is None:
                return amazon_error(404, "NotFound", f"Feed {call.params['feedId']} was not found.")
            feed = {k: v for k, v in state["feed"].items() if not k.startswith("_")}
        return Response(200, feed)

    @sp_api_operation(FEEDS, "getFeedDocument")
    def get_feed_document(self, call):
        document_id = call.params["feedDocumentId"]
        with self._lock:
            document = self._feed_documents.get(document_id)
        if document is None or document.get("content") is None:
            return amazon_error(404, "NotFound", f"Feed document {document_id} was not found.")
        body = {"feedDocumentId": document_id, "url": f"{self.url}{UPLOAD_PATH}/{document_id}"}
        if document.get("compression"):
            body["compressionAlgorithm"] = document["compression"]
        return Response(200, body)


def _quantity_of(message):
    """The DEFAULT (merchant-fulfilled) quantity a valid PATCH message sets, or None."""
    values = message["patches"][0].get("value") or []
    entries = [v for v in values if v.get("fulfillment_channel_code") == "DEFAULT"]
    if len(entries) != 1:
        return None
    quantity = entries[0].get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
        return None
    return quantity
