"""Streaming parser of the settlement report ``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``.

Plain Python, no Odoo import. The report is tab-separated: a header line of column names, a
summary row (settlement id, period, deposit date, total, currency) and one amount per row.
:func:`read_settlement` reads a binary stream line by line (gzip or not) in the report's
charset, so a report of any size is never held in memory, and yields typed rows. Columns are
mapped by header name; the sum of the amounts must equal the summary's ``total-amount``
(checked when the last row has been read). A malformed row raises
:class:`PayloadValidationError` naming the line number and the column.
"""

import codecs
import gzip
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from ...core.errors import PayloadValidationError

REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
REQUIRED_COLUMNS = ("settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount",
                    "currency", "transaction-type", "amount-type", "amount-description", "amount")
V1_COLUMNS = ("price-type", "item-related-fee-type")  # the retired V1 flat file
# Charset names Amazon uses that Python spells differently.
CHARSET_ALIASES = {"windows-31j": "cp932", "x-sjis": "shift_jis"}

_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H:%M:%S", "%Y/%m/%d %H:%M:%S",
                     "%m/%d/%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M")
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d", "%m/%d/%y", "%m/%d/%Y")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_COMMA_LOCALE_DATE = re.compile(r"^\d{2}\.\d{2}\.\d{4}")


@dataclass(frozen=True)
class SettlementHeader:
    settlement_id: str
    start: datetime
    end: datetime
    deposit_date: datetime
    total_amount: Decimal
    currency: str
    columns: tuple


@dataclass(slots=True)
class SettlementRow:
    line_number: int
    transaction_type: str
    order_id: str
    merchant_order_id: str
    adjustment_id: str
    shipment_id: str
    marketplace_name: str
    amount_type: str
    amount_description: str
    amount: Decimal
    fulfillment_id: str
    posted_date: object  # datetime.date or None
    posted_datetime: object  # naive UTC datetime or None
    order_item_code: str
    merchant_order_item_id: str
    merchant_adjustment_item_id: str
    sku: str
    quantity: object  # int or None
    promotion_id: str


def python_charset(charset):
    """The codec name Python knows for ``charset``; a validation error for an unknown one."""
    name = (charset or "utf-8").strip().strip('"').lower()
    name = CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise PayloadValidationError(f"settlement report: unknown character set {charset!r}") from None


def _strip_utc(value):
    value = value.strip()
    for suffix in (" UTC", "UTC", "Z", "+00:00"):
        if value.endswith(suffix):
            return value[: -len(suffix)].strip()
    return value


def parse_datetime(value, line_number, column):
    """A settlement timestamp (US, EU or JP style, ``UTC`` suffix) -> naive UTC datetime."""
    text = _strip_utc(value)
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise PayloadValidationError(f"settlement report line {line_number}, column {column}: {value!r} is not a date",
                                 detail={"line": line_number, "column": column})


def parse_date(value, line_number, column):
    """A posted-date (``2024-05-03``, ``03.05.2018``, ``2024/05/03``, ``05/03/24``) -> date."""
    text = _strip_utc(value)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return parse_datetime(value, line_number, column).date()


def parse_amount(value, line_number, column, decimal_comma):
    """An amount in the marketplace's number format -> Decimal (``1,234.56``, ``1.234,56``, ``95,00``)."""
    text = value.strip().replace(" ", "").replace("\u00a0", "")
    if decimal_comma:
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    if not _NUMBER.match(text):
        raise PayloadValidationError(
            f"settlement report line {line_number}, column {column}: {value!r} is not an amount",
            detail={"line": line_number, "column": column})
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        raise PayloadValidationError(f"settlement report line {line_number}, column {column}: {value!r}") from None


def _is_decimal_comma(start_date, total):
    """Comma locales (EU) show themselves by their dd.mm.yyyy dates or a ``,dd`` total."""
    if _COMMA_LOCALE_DATE.match(start_date.strip()):
        return True
    total = total.strip()
    return "," in total and "." not in total and not re.search(r",\d{3}$", total)


class SettlementReader:
    """Reads one settlement report from ``stream`` (binary, file-like, iterated by line).

    ``header`` is read on construction; iterate :meth:`rows` once for the amount rows. The
    checksum (sum of the amounts == total-amount) is verified after the last row.
    """

    def __init__(self, stream, charset="utf-8", compression=None):
        if compression and str(compression).upper() == "GZIP":
            stream = gzip.GzipFile(fileobj=stream, mode="rb")
        elif compression:
            raise PayloadValidationError(f"settlement report: unsupported compression {compression!r}")
        self._lines = enumerate(stream, start=1)
        self._charset = python_charset(charset)
        self.columns = self._read_columns()
        self._index = {name: position for position, name in enumerate(self.columns)}
        self.header = self._read_summary()
        self.row_count = 0
        self.row_sum = Decimal(0)

    # -- lines -----------------------------------------------------------------------------
    def _next_line(self):
        try:
            number, raw = next(self._lines)
        except StopIteration:
            return None, None
        except (OSError, EOFError) as exc:  # a truncated or corrupt gzip stream
            raise PayloadValidationError(f"settlement report: the compressed document is unreadable: {exc}") from None
        try:
            text = raw.decode(self._charset)
        except UnicodeDecodeError as exc:
            raise PayloadValidationError(
                f"settlement report line {number}: not valid {self._charset} text ({exc.reason} at byte "
                f"{exc.start})", detail={"line": number}) from None
        return number, text.rstrip("\r\n")

    def _read_columns(self):
        number, text = self._next_line()
        if text is None or not text.strip():
            raise PayloadValidationError("settlement report: the document is empty")
        columns = tuple(name.strip().lower() for name in text.lstrip("\ufeff").split("\t"))
        if any(column in columns for column in V1_COLUMNS):
            raise PayloadValidationError("settlement report: this is the retired V1 flat file (price-type, "
                                         "item-related-fee-type columns); only V2 is supported")
        missing = [column for column in REQUIRED_COLUMNS if column not in columns]
        if missing:
            raise PayloadValidationError(f"settlement report line {number}: missing column(s) {', '.join(missing)}",
                                         detail={"line": number, "columns": missing})
        return columns

    def _cells(self, number, text):
        cells = text.split("\t")
        if len(cells) > len(self.columns):
            raise PayloadValidationError(
                f"settlement report line {number}: {len(cells)} fields for {len(self.columns)} columns",
                detail={"line": number})
        return cells + [""] * (len(self.columns) - len(cells))

    def _get(self, cells, column):
        position = self._index.get(column)
        return cells[position].strip() if position is not None else ""

    def _read_summary(self):
        number, text = self._next_line()
        if text is None:
            raise PayloadValidationError("settlement report: no summary row after the column names")
        cells = self._cells(number, text)
        get = self._get
        for column in ("settlement-id", "settlement-start-date", "settlement-end-date", "total-amount", "currency"):
            if not get(cells, column):
                raise PayloadValidationError(f"settlement report line {number}, column {column}: required in the "
                                             "summary row", detail={"line": number, "column": column})
        self._decimal_comma = _is_decimal_comma(get(cells, "settlement-start-date"), get(cells, "total-amount"))
        deposit = get(cells, "deposit-date")
        return SettlementHeader(
            settlement_id=get(cells, "settlement-id"),
            start=parse_datetime(get(cells, "settlement-start-date"), number, "settlement-start-date"),
            end=parse_datetime(get(cells, "settlement-end-date"), number, "settlement-end-date"),
            deposit_date=parse_datetime(deposit, number, "deposit-date") if deposit else None,
            total_amount=parse_amount(get(cells, "total-amount"), number, "total-amount", self._decimal_comma),
            currency=get(cells, "currency").upper(),
            columns=self.columns,
        )

    # -- rows ------------------------------------------------------------------------------
    def rows(self):
        """Yield every amount row as a :class:`SettlementRow`, then check the checksum."""
        settlement_id = self.header.settlement_id
        get = self._get
        while True:
            number, text = self._next_line()
            if text is None:
                break
            if not text.strip():
                continue
            cells = self._cells(number, text)
            row_settlement = get(cells, "settlement-id")
            if row_settlement != settlement_id:
                raise PayloadValidationError(
                    f"settlement report line {number}, column settlement-id: {row_settlement!r} is not the "
                    f"settlement {settlement_id} of the summary row", detail={"line": number, "column": "settlement-id"})
            amount_text = get(cells, "amount")
            if not amount_text:
                raise PayloadValidationError(f"settlement report line {number}, column amount: required",
                                             detail={"line": number, "column": "amount"})
            amount = parse_amount(amount_text, number, "amount", self._decimal_comma)
            posted_date = get(cells, "posted-date")
            posted_datetime = get(cells, "posted-date-time")
            quantity = get(cells, "quantity-purchased")
            if quantity:
                try:
                    quantity = int(quantity)
                except ValueError:
                    raise PayloadValidationError(
                        f"settlement report line {number}, column quantity-purchased: {quantity!r} is not a number",
                        detail={"line": number, "column": "quantity-purchased"}) from None
            row = SettlementRow(
                line_number=number,
                transaction_type=get(cells, "transaction-type"),
                order_id=get(cells, "order-id"),
                merchant_order_id=get(cells, "merchant-order-id"),
                adjustment_id=get(cells, "adjustment-id"),
                shipment_id=get(cells, "shipment-id"),
                marketplace_name=get(cells, "marketplace-name"),
                amount_type=get(cells, "amount-type"),
                amount_description=get(cells, "amount-description"),
                amount=amount,
                fulfillment_id=get(cells, "fulfillment-id"),
                posted_date=parse_date(posted_date, number, "posted-date") if posted_date else None,
                posted_datetime=parse_datetime(posted_datetime, number, "posted-date-time") if posted_datetime
                else None,
                order_item_code=get(cells, "order-item-code"),
                merchant_order_item_id=get(cells, "merchant-order-item-id"),
                merchant_adjustment_item_id=get(cells, "merchant-adjustment-item-id"),
                sku=get(cells, "sku"),
                quantity=quantity if quantity != "" else None,
                promotion_id=get(cells, "promotion-id"),
            )
            if not row.transaction_type or not row.amount_type:
                column = "transaction-type" if not row.transaction_type else "amount-type"
                raise PayloadValidationError(f"settlement report line {number}, column {column}: required",
                                             detail={"line": number, "column": column})
            self.row_count += 1
            self.row_sum += amount
            yield row
        if self.row_sum != self.header.total_amount:
            raise PayloadValidationError(
                f"settlement report {settlement_id}: the {self.row_count} amounts add up to {self.row_sum}, "
                f"the summary row says total-amount {self.header.total_amount}",
                detail={"rows": self.row_count, "sum": str(self.row_sum), "total": str(self.header.total_amount)})


def read_settlement(stream, charset="utf-8", compression=None):
    """A :class:`SettlementReader` on ``stream``: ``reader.header``, then ``for row in reader.rows()``."""
    return SettlementReader(stream, charset, compression)
