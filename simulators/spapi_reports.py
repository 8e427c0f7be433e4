"""SP-API simulator family: Reports 2021-06-30: getReports, getReport, getReportDocument (settlement reports).

Composed into :class:`~.spapi.SpApiSimulator`; see ``spapi_common`` for the conventions.
Model file: ``spapi_models/reports_2021-06-30.json`` (copied unchanged from Amazon's models).

Settlement reports are made by Amazon, never on request: tests add them with
:meth:`ReportsMixin.add_settlement_report` (a TSV of their own, or
:meth:`ReportsMixin.generate_settlement` built from the simulator's shipped orders). A
document is served from a plain GET route, as S3 would serve the presigned URL.
"""

import base64
import binascii
import gzip
import json
import secrets
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from .base import Response, route
from .spapi_common import InvalidInput, amazon_error, isoformat, sp_api_operation
from .spapi_schema import parse_datetime

REPORTS = "reports_2021-06-30.json"
SETTLEMENT_REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
SETTLEMENT_COLUMNS = (
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount", "currency",
    "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id", "marketplace-name",
    "amount-type", "amount-description", "amount", "fulfillment-id", "posted-date", "posted-date-time",
    "order-item-code", "merchant-order-item-id", "merchant-adjustment-item-id", "sku", "quantity-purchased",
    "promotion-id")
DOCUMENT_PATH = "/simulator/reports/documents"
COMMISSION_RATE = Decimal("0.15")
FBA_FEE_PER_UNIT = Decimal("3.22")
_CENT = Decimal("0.01")


def round_cents(amount):
    return Decimal(amount).quantize(_CENT, ROUND_HALF_UP)


def _breakdowns(item):
    return {b["type"]: Decimal(b["subtotal"]["amount"]) for b in item.get("proceeds", {}).get("breakdowns", ())}


def order_charges(order):
    """What Amazon books for a shipped order, per item: ``[(item, amount-type, amount-description, amount)]``.

    The same rules feed the settlement generator and the Finances simulator, so financial
    events and settlements of one order agree: proceeds from the order's breakdowns, tax
    withheld where Amazon is the marketplace facilitator, a 15 % commission and an FBA fee
    per unit for orders fulfilled by Amazon.
    """
    charges = []
    by_amazon = order.get("fulfillment", {}).get("fulfilledBy") == "AMAZON"
    for item in order["orderItems"]:
        amounts = _breakdowns(item)
        facilitated = any(c.get("model") == "MarketplaceFacilitator"
                          for c in item.get("tax", {}).get("taxCollections", ()))
        rows = [("ItemPrice", "Principal", amounts.get("ITEM", Decimal(0)))]
        if amounts.get("SHIPPING"):
            rows.append(("ItemPrice", "Shipping", amounts["SHIPPING"]))
        if amounts.get("GIFT_WRAP"):
            rows.append(("ItemPrice", "GiftWrap", amounts["GIFT_WRAP"]))
        if amounts.get("TAX"):
            rows.append(("ItemPrice", "Tax", amounts["TAX"]))
            if facilitated:
                rows.append(("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", -amounts["TAX"]))
        if amounts.get("DISCOUNT"):
            rows.append(("Promotion", "Principal", amounts["DISCOUNT"]))
        sold = amounts.get("ITEM", Decimal(0)) + amounts.get("SHIPPING", Decimal(0)) + amounts.get("DISCOUNT", Decimal(0))
        rows.append(("ItemFees", "Commission", -round_cents(sold * COMMISSION_RATE)))
        if by_amazon:
            rows.append(("ItemFees", "FBAPerUnitFulfillmentFee", -round_cents(FBA_FEE_PER_UNIT * item["quantityOrdered"])))
        charges.extend((item, kind, description, amount) for kind, description, amount in rows)
    return charges


def _fmt_amount(amount):
    return f"{amount:.2f}"


def _fmt_time(moment):
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def settlement_tsv(rows, settlement_id, start, end, deposit_date, currency, columns=SETTLEMENT_COLUMNS):
    """A settlement report's bytes (UTF-8 text) from amount rows (dicts keyed by column name)."""
    total = sum((Decimal(str(row["amount"])) for row in rows), Decimal(0))
    summary = {"settlement-id": settlement_id, "settlement-start-date": _fmt_time(start),
               "settlement-end-date": _fmt_time(end), "deposit-date": _fmt_time(deposit_date),
               "total-amount": _fmt_amount(total), "currency": currency}
    lines = ["\t".join(columns), "\t".join(summary.get(column, "") for column in columns)]
    for row in rows:
        values = dict(row, **{"settlement-id": settlement_id})
        values["amount"] = _fmt_amount(Decimal(str(values["amount"])))
        lines.append("\t".join(str(values.get(column, "") or "") for column in columns))
    return ("\n".join(lines) + "\n").encode("utf-8")


def offset_token(filters, offset):
    """A paging token carrying the first request's filters and the next offset."""
    return base64.urlsafe_b64encode(json.dumps({"f": filters, "o": offset}).encode()).decode().rstrip("=")


def read_offset_token(value, name):
    """``(filters, offset)`` of a token made by :func:`offset_token`; InvalidInput otherwise."""
    try:
        state = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        return state["f"], int(state["o"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidInput(f"The {name} is invalid.") from None


class ReportsMixin:
    """Settlement reports: listed, fetched and downloaded; the generator makes them from orders."""

    def _init_reports(self):
        self._reports = {}  # reportId -> Report (the model's object)
        self._report_documents = {}  # reportDocumentId -> (body bytes, compression or None, charset or None)

    # -- helpers for tests -----------------------------------------------------------------
    def add_settlement_report(self, tsv_bytes_or_rows, marketplace_ids=None, created=None, compress=False,
                              charset="utf-8", send_charset=True, processing_status="DONE", settlement=None):
        """Publish a settlement report as Amazon does every two weeks; return its reportId.

        ``tsv_bytes_or_rows`` is the document (bytes, or text encoded in ``charset``) or a list
        of amount rows (dicts by column name) rendered with ``settlement`` = ``{"settlement_id",
        "start", "end", "deposit_date", "currency"}``. ``compress`` gzips it (compressionAlgorithm
        GZIP); ``send_charset`` False leaves the charset out of the download's Content-Type.
        """
        if isinstance(tsv_bytes_or_rows, (list, tuple)):
            now = self.now()
            options = {"settlement_id": str(secrets.randbelow(10**11) + 10**10), "start": now - timedelta(days=14),
                       "end": now, "deposit_date": now + timedelta(days=2), "currency": "USD", **(settlement or {})}
            body = settlement_tsv(tsv_bytes_or_rows, **options).decode("utf-8").encode(charset)
        elif isinstance(tsv_bytes_or_rows, str):
            body = tsv_bytes_or_rows.encode(charset)
        else:
            body = bytes(tsv_bytes_or_rows)
        created = created or self.now()
        with self._lock:
            report_id = str(50000000000 + len(self._reports) + secrets.randbelow(1000) * 10**6)
            document_id = f"amzn1.spdoc.1.4.na.{secrets.token_hex(8)}"
            self._report_documents[document_id] = (gzip.compress(body) if compress else body,
                                                   "GZIP" if compress else None, charset if send_charset else None)
            self._reports[report_id] = {
                "reportId": report_id, "reportType": SETTLEMENT_REPORT_TYPE,
                "marketplaceIds": list(marketplace_ids or [self.marketplace_id]),
                "createdTime": isoformat(created), "processingStatus": processing_status,
                "dataStartTime": isoformat(created - timedelta(days=14)), "dataEndTime": isoformat(created),
            }
            if processing_status == "DONE":
                self._reports[report_id]["reportDocumentId"] = document_id
        return report_id

    def settlement_rows(self, order_ids=None, lines=None, marketplace_name="Amazon.com", refunds=(),
                        account_lines=True):
        """Amount rows of a settlement for shipped orders of the simulator (all, or ``order_ids``).

        With ``lines``, orders are used (and generated when there are too few) until the rows
        reach that count. ``refunds`` lists ``(order_id, sku, amount)`` refunds of principal.
        """
        with self._lock:
            candidates = [oid for oid in (order_ids or list(self._orders))
                          if self._orders[oid]["fulfillment"]["fulfillmentStatus"] == "SHIPPED"]
        rows = []
        position = 0
        while True:
            if lines is not None and len(rows) >= lines:
                break
            if position >= len(candidates):
                if lines is None or order_ids:
                    break
                candidates.extend(oid for oid in self.generate_orders(max(50, (lines - len(rows)) // 6))
                                  if self._orders[oid]["fulfillment"]["fulfillmentStatus"] == "SHIPPED")
                continue
            rows.extend(self._order_rows(candidates[position], marketplace_name))
            position += 1
        for order_id, sku, amount in refunds:
            rows.extend(self._refund_rows(order_id, sku, Decimal(str(amount)), marketplace_name))
        if account_lines:
            moment = self.now()
            for description, amount in (("Subscription Fee", "-39.99"), ("Storage Fee", "-3.17")):
                rows.append({"transaction-type": "other-transaction", "marketplace-name": marketplace_name,
                             "amount-type": "other-transaction", "amount-description": description,
                             "amount": Decimal(amount), "posted-date": moment.strftime("%Y-%m-%d"),
                             "posted-date-time": _fmt_time(moment)})
        if lines is not None:
            rows = rows[:lines]
        return rows

    def generate_settlement(self, lines=None, order_ids=None, marketplace_ids=None, compress=True, refunds=(),
                            currency=None, settlement_id=None, account_lines=True, charset="utf-8"):
        """Publish a settlement report of the simulator's shipped orders; return ``(reportId, settlement_id)``."""
        from .spapi import MARKETPLACES  # the composed simulator's marketplaces (import cycle otherwise)

        market = MARKETPLACES.get((marketplace_ids or [self.marketplace_id])[0], MARKETPLACES["ATVPDKIKX0DER"])
        rows = self.settlement_rows(order_ids, lines, market.name, refunds, account_lines)
        now = self.now()
        settlement_id = settlement_id or str(10**10 + secrets.randbelow(9 * 10**10))
        body = settlement_tsv(rows, settlement_id, now - timedelta(days=14), now, now + timedelta(days=2),
                              currency or market.currency)
        if charset != "utf-8":
            body = body.decode("utf-8").encode(charset)
        report_id = self.add_settlement_report(body, marketplace_ids, compress=compress, charset=charset)
        return report_id, settlement_id

    def _order_rows(self, order_id, marketplace_name):
        order = self._orders[order_id]
        shipped = order.get("lastUpdatedTime")
        moment = parse_datetime(shipped) if shipped else self.now()
        alias = next((a["aliasId"] for a in order.get("orderAliases", ()) if a.get("aliasType") == "SELLER_ORDER_ID"),
                     "")
        common = {"transaction-type": "Order", "order-id": order_id, "merchant-order-id": alias,
                  "shipment-id": f"S{order_id[-7:]}", "marketplace-name": marketplace_name,
                  "fulfillment-id": "AFN" if order["fulfillment"]["fulfilledBy"] == "AMAZON" else "MFN",
                  "posted-date": moment.strftime("%Y-%m-%d"), "posted-date-time": _fmt_time(moment)}
        return [dict(common, **{"amount-type": kind, "amount-description": description, "amount": amount,
                                "order-item-code": item["orderItemId"], "sku": item["product"]["sellerSku"],
                                "quantity-purchased": item["quantityOrdered"]})
                for item, kind, description, amount in order_charges(order)]

    def _refund_rows(self, order_id, sku, amount, marketplace_name):
        order = self._orders[order_id]
        item = next(i for i in order["orderItems"] if i["product"]["sellerSku"] == sku)
        moment = self.now()
        common = {"transaction-type": "Refund", "order-id": order_id, "adjustment-id": f"amzn1:crow:{order_id}",
                  "marketplace-name": marketplace_name, "posted-date": moment.strftime("%Y-%m-%d"),
                  "posted-date-time": _fmt_time(moment), "order-item-code": item["orderItemId"], "sku": sku,
                  "fulfillment-id": "AFN" if order["fulfillment"]["fulfilledBy"] == "AMAZON" else "MFN",
                  "merchant-adjustment-item-id": f"ADJ{item['orderItemId'][-6:]}"}
        commission = round_cents(amount * COMMISSION_RATE)
        return [dict(common, **{"amount-type": "ItemPrice", "amount-description": "Principal", "amount": -amount}),
                dict(common, **{"amount-type": "ItemFees", "amount-description": "Commission", "amount": commission}),
                dict(common, **{"amount-type": "ItemFees", "amount-description": "RefundCommission",
                                "amount": -min(round_cents(commission * Decimal("0.2")), Decimal("5.00"))})]

    def reports(self):
        with self._lock:
            return [dict(report) for report in self._reports.values()]

    # -- operations ------------------------------------------------------------------------
    @sp_api_operation(REPORTS, "getReports")
    def get_reports(self, call):
        params = call.params
        if "nextToken" in params:
            filters, offset = read_offset_token(params["nextToken"], "nextToken")
        else:
            if "reportTypes" not in params:
                raise InvalidInput("Either reportTypes or nextToken is required.")
            filters = {"reportTypes": list(params["reportTypes"]),
                       "processingStatuses": list(params.get("processingStatuses", ())),
                       "marketplaceIds": list(params.get("marketplaceIds", ())),
                       "createdSince": params.get("createdSince"), "createdUntil": params.get("createdUntil"),
                       "pageSize": params.get("pageSize", 10)}
            offset = 0
        if not 1 <= filters["pageSize"] <= 100:
            raise InvalidInput("pageSize must be between 1 and 100.")
        since = parse_datetime(filters["createdSince"]) if filters["createdSince"] else self.now() - timedelta(days=90)
        until = parse_datetime(filters["createdUntil"]) if filters["createdUntil"] else self.now()
        with self._lock:
            matches = sorted(
                (r for r in self._reports.values()
                 if r["reportType"] in filters["reportTypes"]
                 and (not filters["processingStatuses"] or r["processingStatus"] in filters["processingStatuses"])
                 and (not filters["marketplaceIds"] or set(r["marketplaceIds"]) & set(filters["marketplaceIds"]))
                 and since <= parse_datetime(r["createdTime"]) <= until),
                key=lambda r: (r["createdTime"], r["reportId"]), reverse=True)
            page = [dict(r) for r in matches[offset:offset + filters["pageSize"]]]
        body = {"reports": page}
        if offset + filters["pageSize"] < len(matches):
            body["nextToken"] = offset_token(filters, offset + filters["pageSize"])
        return Response(200, body)

    @sp_api_operation(REPORTS, "getReport")
    def get_report(self, call):
        with self._lock:
            report = self._reports.get(call.params["reportId"])
        if report is None:
            return amazon_error(404, "NotFound", f"Report {call.params['reportId']} was not found.")
        return Response(200, dict(report))

    @sp_api_operation(REPORTS, "getReportDocument")
    def get_report_document(self, call):
        document_id = call.params["reportDocumentId"]
        with self._lock:
            document = self._report_documents.get(document_id)
        if document is None:
            return amazon_error(404, "NotFound", f"Report document {document_id} was not found.")
        body = {"reportDocumentId": document_id, "url": f"{self.url}{DOCUMENT_PATH}/{document_id}"}
        if document[1]:
            body["compressionAlgorithm"] = document[1]
        return Response(200, body)

    @route("GET", DOCUMENT_PATH + r"/(?P<document_id>[^/]+)", "downloadReportDocument")
    def download_report_document(self, request):
        with self._lock:
            document = self._report_documents.get(request.params["document_id"])
        if document is None:
            return Response(404, b"<Error><Code>NoSuchKey</Code></Error>", {"Content-Type": "application/xml"})
        body, _compression, charset = document
        content_type = "text/tab-separated-values" + (f"; charset={charset}" if charset else "")
        return Response(200, body, {"Content-Type": content_type})
