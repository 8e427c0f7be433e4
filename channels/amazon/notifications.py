"""SP-API Notifications v1 (destinations, subscriptions) and the notifications Amazon sends.

Plain Python, no Odoo import. Calls go through :meth:`AmazonClient._call` with the library's
``Notifications`` class. The destination operations and ``deleteSubscriptionById`` are
*grantless*: they use an LWA token for scope ``sellingpartnerapi::notifications`` obtained with
the application's client id and secret only; createSubscription and getSubscription act for
the seller (refresh-token access token).

Two library shortcomings are fixed in :class:`NOTIFICATIONS_API`:

- ``_request_grantless_operation`` builds its own headers with ``host: endpoint[8:]`` (the
  Host-header bug of the other operations) and the library calls ``deleteSubscriptionById``
  with the seller's token although Amazon requires a grantless one;
- a non-2xx answer without Amazon's ``errors`` body does not raise (the payload is ``{}``):
  the deletes, whose success payload is ``{}`` too, could not tell success from an error page.

A cached grantless token Amazon refuses (403) is dropped so the client's re-authentication
retry gets a fresh one.
"""

import json
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
from sp_api.api import Notifications
from sp_api.auth import access_token_client
from sp_api.base import SellingApiForbiddenException
from sp_api.base.exceptions import get_exception_for_code
from sp_api.base.helpers import fill_query_params

from ...core.errors import BusinessError, PayloadValidationError
from .client import _HostHeaderMixin

ORDER_CHANGE = "ORDER_CHANGE"
FBA_INVENTORY_AVAILABILITY_CHANGES = "FBA_INVENTORY_AVAILABILITY_CHANGES"
FEED_PROCESSING_FINISHED = "FEED_PROCESSING_FINISHED"
REPORT_PROCESSING_FINISHED = "REPORT_PROCESSING_FINISHED"
FULFILLMENT_ORDER_STATUS = "FULFILLMENT_ORDER_STATUS"
# notification type -> (payload version subscribed to, schema file in schemas/notifications/)
NOTIFICATION_TYPES = {
    ORDER_CHANGE: ("1.0", "OrderChangeNotification.json"),
    FBA_INVENTORY_AVAILABILITY_CHANGES: ("1.0", "FBAInventoryAvailabilityChangeNotification.json"),
    FEED_PROCESSING_FINISHED: ("2020-09-04", "FeedProcessingFinishedNotification.json"),
    REPORT_PROCESSING_FINISHED: ("2020-09-04", "ReportProcessingFinishedNotification.json"),
    FULFILLMENT_ORDER_STATUS: ("1.0", "FulfillmentOrderStatusNotification.json"),
}
JOB_PREFIX = "amazon.notification."
# An authenticated delivery that names no notification type we subscribe to (or is no event).
UNKNOWN_JOB_TYPE = JOB_PREFIX + "unknown"
# The header the EventBridge connection of the API destination adds (API key authorization).
SECRET_HEADER = "X-Commerce-Notification-Secret"
MAX_BODY_BYTES = 256 * 1024  # EventBridge events are at most 256 KB

_SCHEMA_DIR = Path(__file__).with_name("schemas") / "notifications"
_VALIDATORS = {}


def job_type_of(notification_type):
    """``amazon.notification.order_change`` for ``ORDER_CHANGE``; the unknown type otherwise."""
    if notification_type in NOTIFICATION_TYPES:
        return JOB_PREFIX + notification_type.lower()
    return UNKNOWN_JOB_TYPE


def job_type_kind(job_type):
    """The notification type a job type handles: ``ORDER_CHANGE`` for ``amazon.notification.order_change``."""
    return job_type.removeprefix(JOB_PREFIX).upper()


def _validator(notification_type):
    validator = _VALIDATORS.get(notification_type)
    if validator is None:
        schema = json.loads((_SCHEMA_DIR / NOTIFICATION_TYPES[notification_type][1]).read_text(encoding="utf-8"))
        validator = _VALIDATORS[notification_type] = jsonschema.Draft7Validator(schema)
    return validator


def _get(mapping, name):
    """``name`` in PascalCase or camelCase: feed and report notifications use camelCase keys."""
    if not isinstance(mapping, dict):
        return None
    value = mapping.get(name)
    return value if value is not None else mapping.get(name[0].lower() + name[1:])


def peek(body):
    """``(notification type, notification id)`` of a raw delivery, or Nones; never raises.

    The webhook route uses it to choose the job type and the idempotency key; validation
    happens in the job, where a bad payload is kept and can be fixed.
    """
    try:
        envelope = json.loads(body)
    except (TypeError, ValueError, RecursionError):
        return None, None
    detail = notification_in(envelope)
    kind = _get(detail, "NotificationType")
    notification_id = notification_id_of(detail)
    return (kind if isinstance(kind, str) else None,
            notification_id if isinstance(notification_id, str) and notification_id else None)


def parse_notification(body, expected_type):
    """The validated notification of a stored delivery (see :func:`notification_in`).

    Raises PayloadValidationError naming what is wrong: not JSON, neither an EventBridge event
    nor a notification, another type than ``expected_type``, or not valid against Amazon's
    schema of that type.
    """
    try:
        envelope = json.loads(body or "")
    except (ValueError, RecursionError) as error:
        raise PayloadValidationError(f"the notification is not valid JSON: {error}") from None
    notification = notification_in(envelope)
    if notification is None:
        raise PayloadValidationError("the delivery is neither an EventBridge event (no 'detail' object) nor an "
                                     "SP-API notification (no 'NotificationType')")
    kind = _get(notification, "NotificationType")
    if kind != expected_type:
        raise PayloadValidationError(f"the notification type is {kind!r}, not {expected_type}")
    errors = sorted(_validator(kind).iter_errors(notification), key=lambda e: list(e.absolute_path))
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise PayloadValidationError(f"{kind} notification invalid at {where}: {error.message}")
    return notification


def notification_in(document):
    """The notification a delivery carries, or None.

    EventBridge (the route) wraps it in an event: it is the event's ``detail``. For an SQS
    destination Amazon puts the notification itself in the message body.
    """
    if not isinstance(document, dict):
        return None
    if "detail" in document:
        return document["detail"] if isinstance(document["detail"], dict) else None
    return document if _get(document, "NotificationType") is not None else None


def notification_id_of(notification):
    return _get(_get(notification, "NotificationMetadata"), "NotificationId")


def seller_of(notification):
    """The seller a notification is about: ``SellerId`` in the payload or in its one inner object."""
    payload = _get(notification, "Payload")
    seller = _get(payload, "SellerId")
    if seller is None and isinstance(payload, dict):
        inner = [value for value in payload.values() if isinstance(value, dict)]
        seller = _get(inner[0], "SellerId") if len(inner) == 1 else None
    return seller


def payload_of(notification, name):
    """The ``Payload.<name>`` object (``payload.<name>`` in camelCase notifications)."""
    return _get(_get(notification, "Payload"), name)


# -- the API ---------------------------------------------------------------------------------

class _ConnectorNotifications(_HostHeaderMixin, Notifications):

    def _request_grantless_operation(self, path, *, data=None, params=None):
        headers = {
            "host": urlsplit(self.endpoint).netloc,
            "user-agent": self.user_agent,
            "x-amz-access-token": self.grantless_auth.access_token,
            "x-amz-date": datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ"),
            "content-type": "application/json",
        }
        try:
            return self._request(path, data=data, params=params, headers=headers)
        except SellingApiForbiddenException:
            access_token_client.grantless_cache.pop(self._auth._get_cache_key(self.grantless_scope), None)
            raise

    def delete_subscription_grantless(self, notification_type, subscription_id):
        path = fill_query_params("/notifications/v1/subscriptions/{}/{}", notification_type, subscription_id)
        return self._request_grantless_operation(path, params={"method": "DELETE"})

    def _check_response(self, res, *args, **kwargs):
        response = super()._check_response(res, *args, **kwargs)  # raises when the body has errors
        if not 200 <= res.status_code < 300:
            raise get_exception_for_code(res.status_code)(
                [{"code": str(res.status_code), "message": "answer without Amazon's error body"}], headers=res.headers)
        return response


NOTIFICATIONS_API = _ConnectorNotifications


def _status(error):
    return (getattr(error, "detail", None) or {}).get("status")


def eventbridge_resource(account_id, region):
    return {"eventBridge": {"accountId": account_id, "region": region}}


def sqs_resource(queue_arn):
    return {"sqs": {"arn": queue_arn}}


def resource_matches(destination, resource):
    """Whether a Destination delivers to ``resource`` (Amazon adds keys, e.g. the event source name)."""
    target = destination.get("resource") or {}
    return all(set(spec.items()) <= set((target.get(kind) or {}).items()) for kind, spec in resource.items())


def create_destination(client, name, resource):
    """The destination id of a new destination for ``resource`` (or of the existing one for it)."""
    def request(api):
        if "eventBridge" in resource:
            spec = resource["eventBridge"]
            return api.create_destination(name, account_id=spec["accountId"], region=spec["region"])
        return api.create_destination(name, arn=resource["sqs"]["arn"])

    try:
        payload = client._call("createDestination", request, expect="destinationId", api_class=NOTIFICATIONS_API)
        return payload["destinationId"]
    except BusinessError as error:
        if _status(error) != 409:
            raise
    # Amazon allows one destination per resource: it exists already (an earlier setup).
    for destination in get_destinations(client):
        if resource_matches(destination, resource):
            return destination["destinationId"]
    raise BusinessError(f"Amazon refused destination {name!r} as a conflict, and no destination has its resource")


def get_destinations(client):
    _payload, response = client._call("getDestinations", lambda api: api.get_destinations(), expect=None,
                                      api_class=NOTIFICATIONS_API, with_response=True)
    payload = response.payload
    if payload == {}:  # the library turns an empty list into {}
        return []
    if not isinstance(payload, list):
        raise PayloadValidationError("Amazon getDestinations: unexpected answer: the payload is not a list")
    return payload


def delete_destination(client, destination_id):
    """Delete a destination; False when Amazon no longer has it."""
    try:
        client._call("deleteDestination", lambda api: api.delete_destination(destination_id), expect=None,
                     api_class=NOTIFICATIONS_API)
    except BusinessError as error:
        if _status(error) == 404:
            return False
        raise
    return True


def create_subscription(client, notification_type, destination_id):
    """The Subscription of ``notification_type`` to ``destination_id`` (the existing one on a conflict)."""
    version = NOTIFICATION_TYPES[notification_type][0]
    try:
        return client._call("createSubscription", lambda api: api.create_subscription(
            notification_type, destinationId=destination_id, payload_version=version),
            expect="subscriptionId", api_class=NOTIFICATIONS_API)
    except BusinessError as error:
        if _status(error) != 409:
            raise
    return get_subscription(client, notification_type, version)


def get_subscription(client, notification_type, payload_version=None):
    params = {"payloadVersion": payload_version} if payload_version else {}
    return client._call("getSubscription", lambda api: api.get_subscription(notification_type, **params),
                        expect="subscriptionId", api_class=NOTIFICATIONS_API)


def delete_subscription(client, notification_type, subscription_id):
    """Delete a subscription (grantless); False when Amazon no longer has it."""
    try:
        client._call("deleteSubscriptionById", lambda api: api.delete_subscription_grantless(
            notification_type, subscription_id), expect=None, api_class=NOTIFICATIONS_API)
    except BusinessError as error:
        if _status(error) == 404:
            return False
        raise
    return True
