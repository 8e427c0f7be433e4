"""REST client of the Clarity eCommerce `/api/v1` façade (contract: clarity-ecommerce-api.md).

Plain Python on `requests` + `tenacity`; no Odoo import. Every failure leaves as one of the
:mod:`core.errors` kinds so the job engine can decide what happens next:

=================================  ====================================================
HTTP outcome                       Raised
=================================  ====================================================
2xx, ``ActionSucceeded: false``    BusinessError (the Messages)
2xx with a malformed JSON body     TransientError (retried in-call first)
401 after one token re-fetch, 403  AuthError (403: the client lacks a permission)
400, 409, 413, 422                 PayloadValidationError (ResponseStatus message)
404                                BusinessError (the record does not exist remotely)
other 4xx                          BusinessError
429, 502, 503, 504, timeouts,      retried in-call with backoff + jitter, then
connection errors                  TransientError(retry_after=...)
500 and other 5xx                  TransientError at once: a server-side bug is not
                                   fixed by hammering it; the job engine retries later
=================================  ====================================================

Every write of the contract is idempotent (absolute stock, upserts, shipments keyed by
CustomKey, setting a status), so retrying a call whose answer was lost is safe.
"""

import logging
import random
import threading
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import requests
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from ...core import audit
from ...core.errors import AuthError, BusinessError, PayloadValidationError, TransientError

_logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 500
MAX_INVENTORY_BATCH = 500
TOKEN_RENEWAL_FRACTION = 0.9  # renew before expiry so a call never leaves with a dying token
DEFAULT_TOKEN_LIFETIME = 3600
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
VALIDATION_STATUSES = frozenset({400, 409, 413, 422})


class _RetryableError(TransientError):
    """A TransientError worth retrying within the same call (tenacity retries only these)."""


class ClarityClient:
    """Calls one Clarity store with OAuth2 client credentials.

    ``wait_min``/``wait_max`` bound the exponential backoff (seconds); ``retry_after_cap`` is
    the longest Retry-After honoured in-call (default ``wait_max``): a server asking for more
    gets a TransientError carrying its Retry-After at once, for the job engine to schedule.
    ``on_call(operation, status, duration, size)`` is called after every HTTP exchange,
    token requests included; ``status`` is the HTTP code or "timeout"/"connection_error",
    ``duration`` is in seconds and ``size`` is the response body length in bytes.
    ``observer(record)`` gets the same exchanges as :class:`core.audit.CallRecord` (method,
    request size and request id too) for the audit trail.
    """

    def __init__(self, base_url, client_id, client_secret, token_url=None, timeout=30, session=None, *,
                 scope=None, max_attempts=5, wait_min=1.0, wait_max=60.0, retry_after_cap=None,
                 on_call=None, observer=None, clock=time.monotonic, sleep=time.sleep, rng=None):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.api_url = f"{self.base_url}/api/v1"
        self.token_url = token_url or f"{self.base_url}/oauth/token"
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self.timeout = timeout
        self.session = session or requests.Session()
        self._owns_session = session is None
        self.max_attempts = max_attempts
        self.wait_min = float(wait_min)
        self.wait_max = float(wait_max)
        self.retry_after_cap = self.wait_max if retry_after_cap is None else float(retry_after_cap)
        self.on_call = on_call
        self.observer = observer
        self._clock = clock
        self._sleep = sleep
        self._random = rng or random.Random()
        self._token = None
        self._token_renew_at = 0.0
        self._token_lock = threading.Lock()

    def __repr__(self):  # never the secret or the token
        return f"<ClarityClient {self.base_url} client_id={self.client_id!r}>"

    def close(self):
        if self._owns_session:
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- public API ------------------------------------------------------------------------
    def test_connection(self):
        """Fetch a fresh token and make one cheap authenticated call; raises on failure."""
        self.invalidate_token()
        page = self._call("GET", "/categories", "test_connection", params={"StartIndex": 1, "Size": 1})
        return {"ok": True, "categories": page.get("TotalCount") if isinstance(page, dict) else None}

    def iter_orders(self, modified_since=None, page_size=100):
        return self._iter_pages("/orders", "list_orders", modified_since, page_size)

    def iter_products(self, modified_since=None, page_size=100):
        return self._iter_pages("/products", "list_products", modified_since, page_size)

    def iter_customers(self, modified_since=None, page_size=100):
        return self._iter_pages("/customers", "list_customers", modified_since, page_size)

    def iter_returns(self, modified_since=None, page_size=100):
        return self._iter_pages("/returns", "list_returns", modified_since, page_size)

    def get_order(self, order_id):
        return self._call("GET", f"/orders/{_segment(order_id)}", "get_order")

    def set_order_status(self, order_id, status_key, note=None):
        body = {"StatusKey": status_key}
        if note is not None:
            body["Note"] = note
        return self._write("POST", f"/orders/{_segment(order_id)}/status", "set_order_status", body)

    def create_shipment(self, order_id, body):
        """`body` per §5 (CustomKey is the idempotency key); returns the Shipment."""
        return self._write("POST", f"/orders/{_segment(order_id)}/shipments", "create_shipment", body)

    def find_product(self, sku):
        """The product owning `sku` (itself, or the VARIANT-MASTER of a variant), or None."""
        page = self._call("GET", "/products", "find_product", params={"Sku": sku, "StartIndex": 1, "Size": 1})
        results = page.get("Results") if isinstance(page, dict) else None
        if not isinstance(results, list):
            raise TransientError("Clarity answered find_product without a Results list",
                                 detail={"operation": "find_product"})
        return results[0] if results else None

    def upsert_product(self, sku, body):
        return self._write("PUT", f"/products/{_segment(sku)}", "upsert_product", body)

    def upsert_customer(self, key, body):
        return self._write("PUT", f"/customers/{_segment(key)}", "upsert_customer", body)

    def push_inventory(self, items, batch_size=MAX_INVENTORY_BATCH):
        """Send absolute stock levels `[{"Sku","LocationKey","Quantity"}]` in batches of at most
        500; returns the per-item results (`Status` ok | not_found | error) in input order."""
        if not 1 <= batch_size <= MAX_INVENTORY_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_INVENTORY_BATCH}")
        items = list(items)
        results = []
        for start in range(0, len(items), batch_size):
            batch = items[start:start + batch_size]
            reply = self._call("POST", "/inventory", "push_inventory", json_body={"Items": batch})
            batch_results = reply.get("Results") if isinstance(reply, dict) else None
            if not isinstance(batch_results, list) or len(batch_results) != len(batch):
                raise TransientError(
                    "Clarity answered push_inventory without one result per item",
                    detail={"operation": "push_inventory", "sent": len(batch),
                            "received": len(batch_results) if isinstance(batch_results, list) else None},
                )
            results.extend(batch_results)
        return results

    def invalidate_token(self):
        with self._token_lock:
            self._token = None
            self._token_renew_at = 0.0

    # -- paging ----------------------------------------------------------------------------
    def _iter_pages(self, path, operation, modified_since, page_size):
        """Yield records page by page (StartIndex is the 1-based page number).

        Offset paging over a live store: a record updated during the scan moves behind the
        cursor and may be yielded twice, so consumers must apply records idempotently.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        params = {"Size": page_size}
        if modified_since is not None:
            params["ModifiedSince"] = _format_since(modified_since)
        page_number = 1
        while True:
            page = self._call("GET", path, operation, params={**params, "StartIndex": page_number})
            if not isinstance(page, dict) or not isinstance(page.get("Results"), list):
                raise TransientError(f"Clarity answered {operation} without a Results list",
                                     detail={"operation": operation, "page": page_number})
            yield from page["Results"]
            total_pages = page.get("TotalPages")
            last_page = page_number >= total_pages if isinstance(total_pages, int) else len(page["Results"]) < page_size
            if last_page or not page["Results"]:
                return
            page_number += 1

    # -- calls -----------------------------------------------------------------------------
    def _write(self, method, path, operation, body):
        """A write answering `{"ActionSucceeded","Messages","Result"}`: returns the Result."""
        reply = self._call(method, path, operation, json_body=body)
        return reply.get("Result") if isinstance(reply, dict) and "ActionSucceeded" in reply else reply

    def _call(self, method, path, operation, params=None, json_body=None):
        """One logical API call with in-call retries; returns the decoded JSON body."""
        attempts = 0

        def attempt():
            nonlocal attempts
            attempts += 1
            return self._authorized_request(method, path, operation, params, json_body)

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._backoff,
            retry=retry_if_exception(self._should_retry),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _RetryableError as exc:
            # hand the job engine a plain TransientError, saying why we stopped
            if exc.retry_after is not None and exc.retry_after > self.retry_after_cap:
                reason = f"Retry-After {exc.retry_after:g} s exceeds the in-call cap"
            else:
                reason = f"gave up after {attempts} attempt(s)"
            raise TransientError(f"{exc.message} ({reason})", detail=exc.detail,
                                 retry_after=exc.retry_after) from exc

    def _should_retry(self, exc):
        if not isinstance(exc, _RetryableError):
            return False
        return exc.retry_after is None or exc.retry_after <= self.retry_after_cap

    def _backoff(self, retry_state):
        """Retry-After when the server gave one, else exponential backoff with full jitter
        above `wait_min` (spreads clients that failed together)."""
        exc = retry_state.outcome.exception()
        if getattr(exc, "retry_after", None) is not None:
            return min(max(0.0, exc.retry_after), self.retry_after_cap)
        ceiling = min(self.wait_max, self.wait_min * 2 ** retry_state.attempt_number)
        return self._random.uniform(self.wait_min, max(self.wait_min, ceiling))

    def _authorized_request(self, method, path, operation, params, json_body):
        response = self._send(method, self.api_url + path, operation, params=params, json=json_body,
                              headers=self._auth_headers(self._access_token()))
        if response.status_code == 401:
            # the token may have been revoked or expired early: one fresh token, one more try
            self.invalidate_token()
            response = self._send(method, self.api_url + path, operation, params=params, json=json_body,
                                  headers=self._auth_headers(self._access_token()))
            if response.status_code == 401:
                raise AuthError(f"Clarity refused a freshly issued token on {operation}",
                                detail=_error_detail(response, operation))
        return _decode(response, operation)

    @staticmethod
    def _auth_headers(token):
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def _send(self, method, url, operation, **kwargs):
        started = self._clock()
        started_at = time.time()
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout as exc:
            self._report(operation, "timeout", started, 0, (method, started_at, None))
            raise _RetryableError(f"Clarity {operation} timed out after {self.timeout} s",
                                  detail={"operation": operation}) from exc
        except requests.ConnectionError as exc:
            self._report(operation, "connection_error", started, 0, (method, started_at, None))
            raise _RetryableError(f"Cannot reach Clarity for {operation}: {type(exc).__name__}",
                                  detail={"operation": operation}) from exc
        self._report(operation, response.status_code, started, len(response.content),
                     (method, started_at, response))
        return response

    def _report(self, operation, status, started, size, exchange):
        duration = self._clock() - started
        _logger.debug("Clarity %s -> %s in %.3f s (%d bytes)", operation, status, duration, size)
        if self.observer is not None:
            method, started_at, response = exchange
            body = response.request.body if response is not None else None
            audit.notify(self.observer, audit.CallRecord(
                "clarity", operation, str(status), round(duration * 1000.0, 3), method=method,
                request_size=len(body or b""), response_size=size if response is not None else None,
                request_id=(audit.header(response.headers, "X-Request-Id") or "") if response is not None else "",
                started_at=started_at))
        if self.on_call is None:
            return
        try:
            self.on_call(operation, status, duration, size)
        except Exception:  # an audit hook must never break the sync it observes
            _logger.exception("Clarity on_call hook failed for %s", operation)

    # -- token -----------------------------------------------------------------------------
    def _access_token(self):
        with self._token_lock:
            if self._token is None or self._clock() >= self._token_renew_at:
                self._token, lifetime = self._fetch_token()
                self._token_renew_at = self._clock() + lifetime * TOKEN_RENEWAL_FRACTION
            return self._token

    def _fetch_token(self):
        form = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self._client_secret}
        if self.scope:
            form["scope"] = self.scope
        response = self._send("POST", self.token_url, "oauth_token", data=form,
                              headers={"Accept": "application/json"})
        if response.status_code in (400, 401, 403):
            error = _json_or_none(response)
            code = error.get("error") if isinstance(error, dict) else None
            raise AuthError(f"Clarity rejected the client credentials ({code or response.status_code})",
                            detail={"operation": "oauth_token", "status": response.status_code, "error": code})
        body = _decode(response, "oauth_token")
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise _RetryableError("Clarity token response has no access_token", detail={"operation": "oauth_token"})
        lifetime = body.get("expires_in")
        if not isinstance(lifetime, (int, float)) or isinstance(lifetime, bool) or lifetime < 0:
            lifetime = DEFAULT_TOKEN_LIFETIME
        return token, float(lifetime)


# -- response decoding ---------------------------------------------------------------------
def _decode(response, operation):
    """The decoded body of a 2xx, or the matching CommerceError."""
    status = response.status_code
    if 200 <= status < 300:
        if not response.content:
            return None
        try:
            body = response.json()
        except ValueError as exc:
            raise _RetryableError(f"Clarity answered {operation} with malformed JSON (HTTP {status})",
                                  detail={"operation": operation, "status": status,
                                          "size": len(response.content)}) from exc
        if isinstance(body, dict) and body.get("ActionSucceeded") is False:
            messages = [str(m) for m in body.get("Messages") or []]
            raise BusinessError(f"Clarity refused {operation}: " + ("; ".join(messages) or "no reason given"),
                                detail={"operation": operation, "status": status, "messages": messages})
        return body
    detail = _error_detail(response, operation)
    message = f"Clarity {operation} failed with HTTP {status}: {detail['message']}"
    if status in RETRYABLE_STATUSES:
        raise _RetryableError(message, detail=detail, retry_after=_retry_after(response))
    if status >= 500:
        raise TransientError(message, detail=detail, retry_after=_retry_after(response))
    if status in (401, 403):
        raise AuthError(message, detail=detail)
    if status in VALIDATION_STATUSES:
        raise PayloadValidationError(message, detail=detail)
    raise BusinessError(message, detail=detail)


def _error_detail(response, operation):
    """Status, ResponseStatus code/message and field errors; a short excerpt of non-JSON bodies."""
    detail = {"operation": operation, "status": response.status_code, "error_code": None, "errors": []}
    body = _json_or_none(response)
    status_block = body.get("ResponseStatus") if isinstance(body, dict) else None
    if isinstance(status_block, dict):
        detail["error_code"] = status_block.get("ErrorCode")
        errors = [e for e in status_block.get("Errors") or [] if isinstance(e, dict)]
        detail["errors"] = [{"field": e.get("FieldName"), "code": e.get("ErrorCode"), "message": e.get("Message")}
                            for e in errors]
        parts = [str(status_block.get("Message") or status_block.get("ErrorCode") or "error")]
        parts += [f"{e['field']}: {e['message']}" if e["field"] else str(e["message"]) for e in detail["errors"]]
        detail["message"] = "; ".join(parts)
    elif isinstance(body, dict) and body.get("error"):
        detail["error_code"] = body["error"]
        detail["message"] = str(body.get("error_description") or body["error"])
    else:
        detail["message"] = (response.text or response.reason or "").strip()[:200] or "no error body"
    return detail


def _json_or_none(response):
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after(response):
    """Retry-After as seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().replace(".", "", 1).isdigit():  # delta-seconds, the usual form
        return max(0.0, float(value))
    try:  # else an HTTP date
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _format_since(value):
    """ModifiedSince as ISO-8601 UTC; naive datetimes are UTC (Odoo stores them so)."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _segment(value):
    """A path segment, percent-encoded so SKUs with '/' or spaces stay one segment."""
    return quote(str(value), safe="")
