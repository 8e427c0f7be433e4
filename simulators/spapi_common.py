"""What every SP-API simulator family shares: errors, tokens, validated calls, routing.

The simulator is one server composed of one mixin per API family (``spapi_orders`` lives in
``spapi.py``; Feeds, Reports, FBA Inventory, ... each in their own ``spapi_<family>.py``).
A family mixin routes handlers with :func:`sp_api_operation`, keeps its state in attributes it
creates in ``_init_<family>()`` (called by :class:`~.spapi.SpApiSimulator` ``__init__``) and may
use the server's ``self._lock``, ``self.now()``, ``self._issue(...)`` and ``self.url``.
"""

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum

from .base import FaultConfig, Response, route
from .spapi_schema import operation_spec


def isoformat(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def amazon_error(status, code, message, details=None, headers=None):
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return Response(status, {"errors": [error]}, dict(headers or {}))


class InvalidInput(Exception):
    """A request Amazon would refuse with 400 InvalidInput."""


class Fault(str, Enum):
    """Faults a test can inject, at random (:class:`SpApiFaultConfig`) or on demand (``fail_next``)."""

    SERVER_ERROR = "server_error"  # 500 with Amazon's JSON errors body: SellingApiServerException
    SERVER_ERROR_HTML = "server_error_html"  # 500 with an HTML page: the library returns payload {}
    UNAVAILABLE = "unavailable"  # 503 JSON: SellingApiTemporarilyUnavailableException
    UNAVAILABLE_HTML = "unavailable_html"  # 503 HTML: payload {} again
    TIMEOUT = "timeout"  # holds the connection for timeout_seconds, then 504
    THROTTLED = "throttled"  # 429 QuotaExceeded whatever the bucket says
    MALFORMED = "malformed"  # a 502 from "the gateway" whose body has no errors list
    EXPIRED_TOKEN = "expired_token"  # 403 expired, and the presented token stays expired


@dataclass
class SpApiFaultConfig(FaultConfig):
    """FaultConfig plus the SP-API specific faults."""

    rate_expired_token: float = 0.0
    html_share_of_5xx: float = 0.5  # share of the rate_5xx faults answered with HTML, not JSON


@dataclass
class IssuedToken:
    value: str
    kind: str  # "access" (refresh-token grant), "grantless" or "restricted" (RDT)
    expires_at: datetime
    scope: str = ""
    resources: tuple = ()  # RDT only: (method, compiled path regex) pairs it authorizes
    expired: bool = False  # forced by a test or a fault, whatever expires_at says


@dataclass
class ValidationFailure:
    operation: str
    status: int
    problems: list
    method: str = ""
    path: str = ""


@dataclass
class SpApiCall:
    """One authorized, validated SP-API request, as handlers receive it."""

    request: object
    operation: str
    params: dict  # path and query parameters the model declares, coerced to their types
    body: object  # decoded JSON body, None without one
    token: IssuedToken


def sp_api_operation(model, operation_id, accepts=("access", "restricted")):
    """Route a handler to ``operation_id`` of ``model``; path and method come from the model.

    ``accepts`` lists the token kinds allowed in ``x-amz-access-token``.
    """
    spec = operation_spec(model, operation_id)
    if spec.rate_plan is None:
        raise ValueError(f"{operation_id} has no usage plan in {model}: give it one before routing it")

    def decorate(func):
        func = route(spec.method, spec.path_regex, operation_id)(func)
        func._sp_api_spec = spec
        func._sp_api_accepts = tuple(accepts)
        return func

    return decorate
