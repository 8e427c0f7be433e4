"""The canonical REST API, v1: ``/commerce_connector/api/v1/`` (OpenAPI: ``openapi.json``).

Authentication is Odoo's API-key bearer scheme (``auth='bearer'``); the key's user needs
the connector's User group to read and its Manager group to write. Every request of a key
draws from a token bucket held in this process; bad input gets a 4xx with field paths, in
the shape ``{"error": {"code", "message", "details": [{"path", "message"}]}}``.
"""

import hashlib
import json
import logging
import math
import os
import threading

from odoo import http
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request

from ..channels.amazon.client import TokenBucket
from ..core import canonical
from ..core.canonical_json import from_json
from ..core.dates import parse_datetime
from ..core.errors import BusinessError, PayloadValidationError

_logger = logging.getLogger(__name__)

PREFIX = "/commerce_connector/api/v1"
OPENAPI_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "static", "api", "openapi_v1.json")
MAX_BODY = 1024 * 1024
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
USER_GROUP = "commerce_connector.group_commerce_user"
MANAGER_GROUP = "commerce_connector.group_commerce_manager"
ROUTE = {"type": "http", "auth": "bearer", "csrf": False, "save_session": False}

_BUCKETS = {}
_BUCKETS_LOCK = threading.Lock()


class ApiError(Exception):
    def __init__(self, status, code, message, details=None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.headers = headers or {}


def _bucket(token):
    """The token bucket of an API key (keyed by its hash: the key itself is never kept)."""
    param = request.env["ir.config_parameter"].sudo().get_param
    rate = float(param("commerce_connector.api_rate_limit", 300)) / 60.0
    burst = int(param("commerce_connector.api_rate_burst", 60))
    key = hashlib.sha256(token.encode()).hexdigest()
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get(key)
        if bucket is None or (bucket.rate, bucket.burst) != (rate, max(1, burst)):
            bucket = _BUCKETS[key] = TokenBucket(rate, burst)
        return bucket


def _rate_limit():
    header = request.httprequest.headers.get("Authorization", "")
    token = header.split(None, 1)[1] if " " in header else f"session:{request.env.uid}"
    bucket = _bucket(token)
    wait = bucket.reserve()
    if wait > 0:
        bucket.give_back()
        raise ApiError(429, "rate_limited", "too many requests for this API key",
                       headers={"Retry-After": str(max(1, math.ceil(wait)))})


def _query_params(args, filters=()):
    """limit / offset / modified_since (and the route's ``filters``) from the query string."""
    details = []
    params = {"limit": DEFAULT_LIMIT, "offset": 0}
    for name, low, high in (("limit", 1, MAX_LIMIT), ("offset", 0, None)):
        if name in args:
            try:
                value = int(args[name])
                if value < low or (high is not None and value > high):
                    raise ValueError
                params[name] = value
            except ValueError:
                bound = f"between {low} and {high}" if high else f"at least {low}"
                details.append({"path": f"query.{name}", "message": f"must be an integer {bound}"})
    if args.get("modified_since"):
        try:
            params["modified_since"] = parse_datetime(args["modified_since"], "modified_since")
        except PayloadValidationError:
            details.append({"path": "query.modified_since", "message": "must be an ISO-8601 date-time"})
    for name in filters:
        if args.get(name):
            params[name] = args[name]
    if details:
        raise ApiError(400, "invalid_query", details[0]["path"] + ": " + details[0]["message"], details)
    return params


def _body():
    raw = request.httprequest.get_data(cache=False)
    if len(raw) > MAX_BODY:
        raise ApiError(413, "payload_too_large", f"the body exceeds {MAX_BODY} bytes")
    try:
        return json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {error}",
                       [{"path": "", "message": "not valid JSON"}]) from None


def _business_details(error, order=None):
    """Field paths of a business refusal, where it names them (unknown SKUs -> their lines)."""
    detail = error.detail if isinstance(error.detail, dict) else {}
    unknown = set(detail.get("unknown_skus") or ())
    if order is not None and unknown:
        return [{"path": f"lines[{index}].sku", "message": "unknown SKU"}
                for index, line in enumerate(order.lines) if line.sku in unknown]
    return []


class CommerceApiV1(http.Controller):
    def _serve(self, handler, write=False):
        """Run ``handler(api, company_ids)`` -> ``(status, body)``; every failure becomes a JSON error."""
        try:
            _rate_limit()
            user = request.env.user
            if not user.has_group(MANAGER_GROUP if write else USER_GROUP):
                role = "Manager" if write else "User"
                raise ApiError(403, "forbidden", f"the key's user is not a Commerce Connector {role}")
            env = request.env(su=True)
            with env.cr.savepoint():
                status, body = handler(env["commerce.api"], user.company_ids.ids)
            return request.make_json_response(body, status=status)
        except ApiError as error:
            return self._error(error.status, error.code, error.message, error.details, error.headers)
        except PayloadValidationError as error:
            details = error.detail if isinstance(error.detail, list) else []
            return self._error(400, "invalid_payload", error.message, details)
        except BusinessError as error:
            return self._error(422, "business_rule", error.message,
                               _business_details(error, getattr(error, "api_order", None)))
        except MissingError as error:
            return self._error(404, "not_found", str(error))
        except AccessError as error:
            return self._error(403, "forbidden", str(error))
        except ValidationError as error:
            return self._error(422, "invalid_value", str(error))
        except UserError as error:
            return self._error(409, "conflict", str(error))

    def _error(self, status, code, message, details=(), headers=None):
        body = {"error": {"code": code, "message": message, "details": list(details)}}
        return request.make_json_response(body, headers=list((headers or {}).items()), status=status)

    def _read(self, cls):
        data = _body()
        return from_json(cls, data)

    # -- contract --------------------------------------------------------------------------
    @http.route(f"{PREFIX}/openapi.json", type="http", auth="public", methods=["GET"], readonly=True)
    def openapi(self):
        with open(OPENAPI_PATH, "rb") as handle:
            return request.make_response(handle.read(), [("Content-Type", "application/json; charset=utf-8")])

    # -- products --------------------------------------------------------------------------
    @http.route(f"{PREFIX}/products", methods=["GET"], **ROUTE)
    def products(self, **kwargs):
        def handler(api, companies):
            return 200, api.list_products(companies, _query_params(request.httprequest.args))
        return self._serve(handler)

    @http.route(f"{PREFIX}/products/<string:sku>", methods=["GET"], **ROUTE)
    def product(self, sku, **kwargs):
        return self._serve(lambda api, companies: (200, api.product_json(api.get_product(companies, sku))))

    @http.route(f"{PREFIX}/products/<string:sku>", methods=["PUT"], **ROUTE)
    def put_product(self, sku, **kwargs):
        def handler(api, companies):
            product, created = api.upsert_product(companies, sku, self._read(canonical.Product))
            return 201 if created else 200, api.product_json(product)
        return self._serve(handler, write=True)

    # -- customers -------------------------------------------------------------------------
    @http.route(f"{PREFIX}/customers", methods=["GET"], **ROUTE)
    def customers(self, **kwargs):
        def handler(api, companies):
            return 200, api.list_customers(companies, _query_params(request.httprequest.args))
        return self._serve(handler)

    @http.route(f"{PREFIX}/customers/<string:key>", methods=["GET"], **ROUTE)
    def customer(self, key, **kwargs):
        return self._serve(lambda api, companies: (200, api.customer_json(api.get_customer(companies, key))))

    @http.route(f"{PREFIX}/customers/<string:key>", methods=["PUT"], **ROUTE)
    def put_customer(self, key, **kwargs):
        def handler(api, companies):
            partner, created = api.upsert_customer(companies, key, self._read(canonical.Customer))
            return 201 if created else 200, api.customer_json(partner)
        return self._serve(handler, write=True)

    # -- sales orders ----------------------------------------------------------------------
    @http.route(f"{PREFIX}/sales_orders", methods=["GET"], **ROUTE)
    def sales_orders(self, **kwargs):
        def handler(api, companies):
            return 200, api.list_orders(companies, _query_params(request.httprequest.args, ("channel", "external_id")))
        return self._serve(handler)

    @http.route(f"{PREFIX}/sales_orders/<int:order_id>", methods=["GET"], **ROUTE)
    def sales_order(self, order_id, **kwargs):
        return self._serve(lambda api, companies: (200, api.order_json(api.get_order(companies, order_id))))

    @http.route(f"{PREFIX}/sales_orders", methods=["POST"], **ROUTE)
    def post_sales_order(self, **kwargs):
        def handler(api, companies):
            order = self._read(canonical.Order)
            try:
                body, created = api.create_order(companies, order)
            except BusinessError as error:
                error.api_order = order  # to name the lines of unknown SKUs
                raise
            return 201 if created else 200, body
        return self._serve(handler, write=True)

    # -- invoices --------------------------------------------------------------------------
    @http.route(f"{PREFIX}/invoices", methods=["GET"], **ROUTE)
    def invoices(self, **kwargs):
        def handler(api, companies):
            return 200, api.list_invoices(companies, self._order_id(request.httprequest.args, "query."))
        return self._serve(handler)

    @http.route(f"{PREFIX}/invoices", methods=["POST"], **ROUTE)
    def post_invoice(self, **kwargs):
        def handler(api, companies):
            data = _body()
            if not isinstance(data, dict):
                raise ApiError(400, "invalid_payload", "expected an object", [{"path": "", "message": "expected an object"}])
            return 201, api.invoice_order(companies, self._order_id(data, ""))
        return self._serve(handler, write=True)

    def _order_id(self, source, prefix):
        value = source.get("sales_order_id")
        try:
            if isinstance(value, bool) or value is None or int(value) < 1:
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            path = f"{prefix}sales_order_id"
            raise ApiError(400, "invalid_payload" if not prefix else "invalid_query",
                           f"{path}: a sales order id (positive integer) is required",
                           [{"path": path, "message": "a positive integer is required"}]) from None
