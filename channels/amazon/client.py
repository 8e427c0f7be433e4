"""Amazon Selling Partner API client: a thin, strict wrapper over python-amazon-sp-api.

Plain Python, no Odoo import. The library does the HTTP and the LWA token exchange; this
wrapper adds what it lacks and turns every failure into a :mod:`core.errors` kind:

==========================================  =============================================
Outcome                                     Raised
==========================================  =============================================
429 (SellingApiRequestThrottledException)   waits one token of the rate in the
                                            x-amzn-RateLimit-Limit header and retries; a
                                            wait above ``wait_max`` -> TransientError
                                            (retry_after) for the job engine to schedule
500/503/504, httpx.TransportError, an       retried in-call with exponential backoff, then
empty payload (non-JSON error body)         TransientError
403                                         the cached access token of this refresh token
                                            is dropped and the call repeated once; a
                                            second 403 -> AuthError
LWA AuthorizationError (invalid_grant, ...) AuthError; an LWA 429/5xx -> TransientError
400, 413, 415                               PayloadValidationError (Amazon's message)
404, 409 and any other 4xx                  BusinessError
==========================================  =============================================

Each operation also has a client-side token bucket (Amazon's usage plan, per SP-API
account and process), so a poller spaces its calls instead of collecting 429s. Restricted
data tokens are cached the same way (process memory only, per account and endpoint): one
RDT for the generic order path reads the personal data of every order until it nears expiry.
"""

import logging
import os
import random
import threading
import time
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
from sp_api.api import Tokens
from sp_api.api.orders.orders_2026_01_01 import OrdersV20260101
from sp_api.auth import AccessTokenClient, access_token_client
from sp_api.auth._core import build_cache_key
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import (
    SellingApiBadRequestException,
    SellingApiException,
    SellingApiForbiddenException,
    SellingApiNotFoundException,
    SellingApiRequestThrottledException,
    SellingApiServerException,
    SellingApiTemporarilyUnavailableException,
    SellingApiTooLargeException,
    SellingApiUnsupportedFormatException,
)
from sp_api.base.credential_provider import FromCodeCredentialProvider
from sp_api.base.exceptions import SellingApiGatewayTimeoutException
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from ...core import audit
from ...core.errors import AuthError, BusinessError, PayloadValidationError, TransientError
from . import const

# httpx logs every request at INFO with its full URL: in Odoo's log at the default level that
# is one line per SP-API call. The call log (commerce.call.log) records them instead.
logging.getLogger("httpx").setLevel(logging.WARNING)

_SERVER_ERRORS = (SellingApiServerException, SellingApiTemporarilyUnavailableException,
                  SellingApiGatewayTimeoutException)
_VALIDATION_ERRORS = (SellingApiBadRequestException, SellingApiTooLargeException,
                      SellingApiUnsupportedFormatException)


# The payload python-amazon-sp-api gives for a 2xx without a body (operations answering 204,
# e.g. confirmShipment): ``_call(..., expect=NO_CONTENT)``. An error page never has this key,
# so it is still told apart from success.
NO_CONTENT = "status_code"


class _RetryableError(TransientError):
    """A TransientError worth retrying within the same call (tenacity retries only these)."""


# -- client-side rate limiting ---------------------------------------------------------------

class TokenBucket:
    """Amazon's usage-plan model: ``burst`` tokens, refilled at ``rate`` per second."""

    def __init__(self, rate, burst, clock=time.monotonic):
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self._tokens = float(self.burst)
        self._clock = clock
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self):
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def reserve(self):
        """Take a token; return the seconds to wait before using it (0 when one was there)."""
        with self._lock:
            self._refill()
            self._tokens -= 1
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self.rate

    def give_back(self):
        """Undo a reservation the caller will not use (it would have waited too long)."""
        with self._lock:
            self._tokens = min(self.burst, self._tokens + 1)

    def drain(self, rate=None):
        """The server said 429: it has no token left; adopt its rate when it told us one."""
        with self._lock:
            if rate:
                self.rate = float(rate)
            self._refill()
            self._tokens = min(self._tokens, 0.0)

    def seconds_per_token(self):
        return 1.0 / self.rate


_BUCKETS = {}
_BUCKETS_LOCK = threading.Lock()


def _bucket(account_key, operation):
    """The process-wide bucket of one operation of one SP-API account."""
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get((account_key, operation))
        if bucket is None:
            rate, burst = const.RATE_PLANS[operation]
            bucket = _BUCKETS[(account_key, operation)] = TokenBucket(rate, burst)
        return bucket


def reset_rate_limits():
    """Forget every bucket (tests; a changed usage plan)."""
    with _BUCKETS_LOCK:
        _BUCKETS.clear()


# (account key, endpoint) -> (restricted data token, expiry on the caller's clock); never stored
# anywhere else, never logged.
_RESTRICTED_DATA_TOKENS = {}
_RESTRICTED_DATA_TOKENS_LOCK = threading.Lock()


def forget_restricted_data_tokens():
    """Drop every cached restricted data token (tests; revoked PII roles)."""
    with _RESTRICTED_DATA_TOKENS_LOCK:
        _RESTRICTED_DATA_TOKENS.clear()


def forget_access_token(refresh_token):
    """Drop the library's cached access token of ``refresh_token``: the next call exchanges it.

    The cache is module-global and keyed on the refresh token only, and a 403 never evicts it.
    """
    access_token_client.cache.pop(build_cache_key(refresh_token), None)


def _rate_from_headers(headers):
    try:
        rate = float((headers or {}).get("x-amzn-RateLimit-Limit"))
    except (TypeError, ValueError):
        return None
    return rate if rate > 0 else None


def _lwa_client_class(lwa_url):
    """An AccessTokenClient posting to ``lwa_url``: the library builds the URL from class attributes."""
    parts = urlsplit(lwa_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PayloadValidationError(f"the LWA token URL {lwa_url!r} is not an http(s) URL")
    return type("ConnectorAccessTokenClient", (AccessTokenClient,), {
        "scheme": f"{parts.scheme}://", "host": parts.netloc, "path": parts.path or "/auth/o2/token"})


class _HostHeaderMixin:
    """The library sends ``host: endpoint[8:]``, which is wrong for any non-https endpoint."""

    @property
    def headers(self):
        return {**super().headers, "host": urlsplit(self.endpoint).netloc}


def _connector_class(api_class):
    return type(f"Connector{api_class.__name__}", (_HostHeaderMixin, api_class), {})


ORDERS_API = _connector_class(OrdersV20260101)
TOKENS_API = _connector_class(Tokens)


class AmazonClient:
    """Calls SP-API for one seller account and one marketplace.

    ``max_attempts``/``wait_min``/``wait_max`` bound the in-call retries (seconds): a throttle
    or backoff longer than ``wait_max`` is left to the job engine (TransientError.retry_after).
    """

    def __init__(self, endpoint, marketplace_id, *, lwa_client_id, lwa_client_secret, refresh_token,
                 lwa_url=const.DEFAULT_LWA_URL, region="us-east-1", timeout=30, max_attempts=5,
                 wait_min=1.0, wait_max=60.0, sleep=time.sleep, rng=None, observer=None,
                 clock=time.monotonic):
        missing = [name for name, value in (("endpoint", endpoint), ("LWA client ID", lwa_client_id),
                                            ("LWA client secret", lwa_client_secret),
                                            ("refresh token", refresh_token)) if not value]
        if missing:
            raise AuthError(f"Amazon credentials incomplete: set the {', '.join(missing)}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.endpoint = endpoint.rstrip("/")
        self.marketplace_id = marketplace_id
        self.region = region
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.wait_min = float(wait_min)
        self.wait_max = float(wait_max)
        self._refresh_token = refresh_token
        self._credentials = {"lwa_app_id": lwa_client_id, "lwa_client_secret": lwa_client_secret,
                             "refresh_token": refresh_token}
        self._lwa_class = _lwa_client_class(lwa_url)
        self._account_key = build_cache_key(refresh_token)  # the bucket key: no secret in memory twice
        self._sleep = sleep
        self._clock = clock  # expiry of cached restricted data tokens
        self._random = rng or random.Random()
        self.observer = observer  # gets a core.audit.CallRecord per SP-API request

    def __repr__(self):  # never a secret
        return f"<AmazonClient {self.endpoint} marketplace={self.marketplace_id}>"

    # -- public API ------------------------------------------------------------------------
    def test_connection(self):
        """A real LWA exchange (the cache is bypassed) and one cheap authenticated call."""
        forget_access_token(self._refresh_token)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))
        payload = self._call("searchOrders", lambda api: api.search_orders(
            createdAfter=since, marketplaceIds=[self.marketplace_id], maxResultsPerPage=1), expect="orders")
        return {"ok": True, "orders_last_day": len(payload["orders"])}

    def search_orders(self, last_updated_after, marketplace_ids=None, pagination_token=None, page_size=100,
                      included_data=const.SEARCH_INCLUDED_DATA):
        """One page of searchOrders by lastUpdatedAfter: ``(orders, next_token, last_updated_before)``.

        Every filter is repeated with a paginationToken, as Amazon requires; lastUpdatedBefore
        is never sent, so Amazon's own window end (two minutes back) comes back to be the next
        watermark.
        """
        params = {"lastUpdatedAfter": last_updated_after,
                  "marketplaceIds": list(marketplace_ids or [self.marketplace_id]),
                  "maxResultsPerPage": page_size, "includedData": list(included_data)}
        if pagination_token:
            params["paginationToken"] = pagination_token
        payload, response = self._call("searchOrders", lambda api: api.search_orders(**params),
                                       expect="orders", with_response=True)
        if not isinstance(payload["orders"], list):
            raise _invalid_payload("searchOrders", "orders is not a list")
        return payload["orders"], response.next_token, payload.get("lastUpdatedBefore")

    def get_order(self, order_id, included_data=const.SEARCH_INCLUDED_DATA, restricted_data_token=None):
        payload = self._call("getOrder", lambda api: api.get_order(order_id, includedData=list(included_data)),
                             expect="order", restricted_data_token=restricted_data_token)
        return payload["order"]

    def get_order_with_personal_data(self, order_id, included_data=const.PII_INCLUDED_DATA):
        """The order with buyer and recipient PII, read with the account's restricted data token.

        One token for the generic order path serves every order until it nears its expiry. A
        token Amazon refuses before that (revoked, expired early) is replaced once.
        """
        token = self._restricted_data_token()
        try:
            return self.get_order(order_id, included_data, restricted_data_token=token)
        except AuthError:
            self._forget_restricted_data_token(token)
            return self.get_order(order_id, included_data, restricted_data_token=self._restricted_data_token())

    def _restricted_data_token(self):
        key = (self._account_key, self.endpoint)
        with _RESTRICTED_DATA_TOKENS_LOCK:
            token, expires_at = _RESTRICTED_DATA_TOKENS.get(key, (None, 0.0))
        if token and expires_at - self._clock() > const.RDT_RENEW_MARGIN:
            return token
        requested_at = self._clock()
        payload = self._call("createRestrictedDataToken", lambda api: api.create_restricted_data_token(
            restrictedResources=[{"method": "GET", "path": const.ORDER_PATH,
                                  "dataElements": list(const.PII_DATA_ELEMENTS)}]),
            expect="restrictedDataToken", api_class=TOKENS_API)
        token, lifetime = payload["restrictedDataToken"], payload.get("expiresIn")
        if not isinstance(token, str) or not token:
            raise _invalid_payload("createRestrictedDataToken", "restrictedDataToken is not a token")
        if isinstance(lifetime, (int, float)) and not isinstance(lifetime, bool):
            with _RESTRICTED_DATA_TOKENS_LOCK:
                _RESTRICTED_DATA_TOKENS[key] = (token, requested_at + lifetime)
        return token

    def _forget_restricted_data_token(self, token):
        key = (self._account_key, self.endpoint)
        with _RESTRICTED_DATA_TOKENS_LOCK:
            if _RESTRICTED_DATA_TOKENS.get(key, (None,))[0] == token:
                del _RESTRICTED_DATA_TOKENS[key]

    # -- plumbing --------------------------------------------------------------------------
    def _api(self, api_class=None, restricted_data_token=None):
        marketplace = SimpleNamespace(endpoint=self.endpoint, marketplace_id=self.marketplace_id, region=self.region)
        try:
            api = (api_class or ORDERS_API)(
                marketplace, credentials=dict(self._credentials), credential_providers=[FromCodeCredentialProvider],
                auth_token_client_class=self._lwa_class, restricted_data_token=restricted_data_token,
                timeout=self.timeout)
        except KeyError:
            if not os.environ.get("SP_API_DEFAULT_MARKETPLACE"):
                raise
            raise BusinessError(f"the environment variable SP_API_DEFAULT_MARKETPLACE="
                                f"{os.environ['SP_API_DEFAULT_MARKETPLACE']!r} names no marketplace python-amazon-"
                                f"sp-api knows: unset it (the connector chooses the marketplace)") from None
        # SP_API_DEFAULT_MARKETPLACE, when set, replaces the marketplace given to the constructor;
        # AWS_ENV only switches the library's built-in Marketplaces, which are never used here.
        api.endpoint, api.marketplace_id, api.region = self.endpoint, self.marketplace_id, self.region
        return api

    def _call(self, operation, request, expect, api_class=None, restricted_data_token=None, with_response=False):
        """Run ``request(api)`` under the bucket and the retry policy; return the checked payload."""

        def attempt():
            self._wait_for_token(operation)
            for reauthenticated in (False, True):
                started, started_at = time.monotonic(), time.time()
                try:
                    response = request(self._api(api_class, restricted_data_token))
                    self._audit(operation, started, started_at, response.headers,
                                "2xx" if isinstance(response.payload, dict) and expect in response.payload
                                else "no_payload")
                    break
                except SellingApiForbiddenException as exc:
                    self._audit(operation, started, started_at, exc.headers, _status_of(exc))
                    if reauthenticated:
                        raise AuthError(f"Amazon {operation}: access refused after a fresh LWA exchange: "
                                        f"{getattr(exc, 'message', '')}", detail=_detail(operation, exc)) from None
                    # Usually an expired token still in the library's cache: exchange again.
                    forget_access_token(self._refresh_token)
                except Exception as exc:
                    self._audit(operation, started, started_at, getattr(exc, "headers", None), _status_of(exc))
                    self._raise_classified(operation, exc)
            payload = response.payload
            # expect=None: an operation whose success has no payload (createFulfillmentOrder).
            if expect is not None and (not isinstance(payload, dict) or expect not in payload):
                # An HTML or gateway error body: the library returns {} and loses the status.
                raise _RetryableError(f"Amazon {operation} answered without {expect!r} (an error page?)",
                                      detail={"operation": operation})
            return payload, response

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._backoff,
            retry=retry_if_exception_type(_RetryableError),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            payload, response = retrying(attempt)
        except _RetryableError as exc:
            raise TransientError(exc.message, detail=exc.detail, retry_after=exc.retry_after) from None
        return (payload, response) if with_response else payload

    def _audit(self, operation, started, started_at, headers, status):
        if self.observer is None:
            return
        audit.notify(self.observer, audit.CallRecord(
            "amazon", operation, status, audit.elapsed_ms(started),
            response_size=audit.int_or_none(audit.header(headers, "content-length")),
            request_id=audit.header(headers, "x-amzn-RequestId") or "",
            rate_limit=audit.float_or_none(audit.header(headers, "x-amzn-RateLimit-Limit")),
            started_at=started_at))

    def _wait_for_token(self, operation):
        bucket = _bucket(self._account_key, operation)
        wait = bucket.reserve()
        if wait > self.wait_max:
            bucket.give_back()
            raise TransientError(f"Amazon {operation}: client-side rate limit, next call possible in {wait:.1f} s",
                                 detail={"operation": operation}, retry_after=wait)
        if wait:
            self._sleep(wait)

    def _raise_classified(self, operation, exc):
        """Re-raise a library exception as the error kind it is."""
        detail = _detail(operation, exc)
        message = f"Amazon {operation}: {exc}"
        if isinstance(exc, SellingApiException):
            message = " ".join(str(part) for part in (f"Amazon {operation}:", exc.code, getattr(exc, "amzn_code", ""),
                                                      getattr(exc, "message", "")) if part)
        if isinstance(exc, SellingApiRequestThrottledException):
            bucket = _bucket(self._account_key, operation)
            bucket.drain(_rate_from_headers(exc.headers))
            wait = bucket.seconds_per_token()
            error_class = _RetryableError if wait <= self.wait_max else TransientError
            raise error_class(message, detail=detail, retry_after=wait) from None
        if isinstance(exc, _SERVER_ERRORS):
            raise _RetryableError(message, detail=detail) from None
        if isinstance(exc, _VALIDATION_ERRORS):
            raise PayloadValidationError(message, detail=detail) from None
        if isinstance(exc, SellingApiNotFoundException):
            raise BusinessError(message, detail=detail) from None
        if isinstance(exc, SellingApiException):
            if exc.code and exc.code >= 500:
                raise _RetryableError(message, detail=detail) from None
            raise BusinessError(message, detail=detail) from None
        if isinstance(exc, AuthorizationError):
            lwa = f"Amazon LWA refused the credentials: {exc.status_code} {exc.error_code}: {exc.message}"
            if exc.status_code == 429 or (exc.status_code or 0) >= 500:
                raise _RetryableError(lwa, detail={"operation": "lwaToken"}) from None
            raise AuthError(lwa, detail={"operation": "lwaToken", "error": exc.error_code}) from None
        if isinstance(exc, httpx.TransportError):
            raise _RetryableError(f"Amazon {operation}: network error {type(exc).__name__}: {exc}",
                                  detail=detail) from None
        if isinstance(exc, ValueError):  # the LWA answer was not JSON (a proxy's error page)
            raise _RetryableError(f"Amazon {operation}: unreadable answer: {exc}", detail=detail) from None
        raise exc

    def _backoff(self, retry_state):
        """Honour the throttle's token time; else exponential backoff with full jitter."""
        exc = retry_state.outcome.exception()
        if getattr(exc, "retry_after", None) is not None:
            return min(exc.retry_after, self.wait_max)
        ceiling = min(self.wait_max, self.wait_min * 2 ** retry_state.attempt_number)
        return self._random.uniform(self.wait_min, max(self.wait_min, ceiling))


def _status_of(exc):
    """The audit status of a failed attempt (the library keeps no status on success)."""
    if isinstance(exc, SellingApiException):
        return str(exc.code)
    if isinstance(exc, AuthorizationError):
        return f"lwa_{exc.status_code}"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.TransportError):
        return "network_error"
    return type(exc).__name__


def _detail(operation, exc):
    detail = {"operation": operation}
    if isinstance(exc, SellingApiException):
        detail.update(status=exc.code, amazon_code=getattr(exc, "amzn_code", None),
                      request_id=(exc.headers or {}).get("x-amzn-RequestId"))
    return detail


def _invalid_payload(operation, reason):
    return PayloadValidationError(f"Amazon {operation}: unexpected answer: {reason}",
                                  detail={"operation": operation})
