"""Audit trail of outbound calls: what a channel client reports after each HTTP exchange.

Plain Python, no ORM. A client given an ``observer`` calls it with one :class:`CallRecord`
per HTTP attempt (retries are separate records). A record holds metadata only: never a URL
query, a header value other than the request id and rate limit, or a body.
"""

import logging
import time
from dataclasses import dataclass

_logger = logging.getLogger(__name__)


@dataclass
class CallRecord:
    channel: str
    operation: str
    status: str  # the HTTP status code as text, or "timeout" / "network_error"
    duration_ms: float
    method: str = ""
    request_size: int | None = None  # bytes sent in the body, None when the library hides it
    response_size: int | None = None
    request_id: str = ""
    rate_limit: float | None = None  # requests/s the server announced (x-amzn-RateLimit-Limit)
    started_at: float = 0.0  # time.time() when the attempt began


def elapsed_ms(started_monotonic, clock=time.monotonic):
    return round((clock() - started_monotonic) * 1000.0, 3)


def notify(observer, record):
    """Hand ``record`` to ``observer``; an audit failure never breaks the call it observes."""
    if observer is None:
        return
    try:
        observer(record)
    except Exception:
        _logger.exception("audit observer failed for %s %s", record.channel, record.operation)


def header(headers, name):
    """A response header, case-insensitively, from a dict-like (httpx/requests headers or dict)."""
    if not headers:
        return None
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def float_or_none(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
