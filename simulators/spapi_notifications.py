"""SP-API simulator family: Notifications v1: destinations, subscriptions and an EventBridge emitter.

Composed into :class:`~.spapi.SpApiSimulator`; see ``spapi_common`` for the conventions.
Model file: ``spapi_models/notifications.json`` (copied unchanged from Amazon's models).

As at Amazon, the destination and ``*ById`` operations are grantless (a token for scope
``sellingpartnerapi::notifications``), while createSubscription and getSubscription act for the
seller (a refresh-token access token). A seller has one subscription per notification type.

The emitter plays the part of an EventBridge *API destination*: it POSTs the event envelope
(``{"version", "id", "detail-type", "source", ..., "detail": <notification>}``) to a URL with the
secret header the destination's *connection* adds. Every notification it builds is validated
against Amazon's notification schema first (``channels/amazon/schemas/notifications/``): an
invalid one is a simulator bug. Deliveries can be repeated (Amazon delivers at least once),
reordered, or sent with a wrong secret; each is recorded in ``sent_notifications``.
"""

import copy
import json
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import requests

from .base import Response
from .spapi_common import InvalidInput, amazon_error, isoformat, sp_api_operation

NOTIFICATIONS = "notifications.json"
GRANTLESS = ("grantless",)
_SCHEMAS = Path(__file__).resolve().parent.parent / "channels" / "amazon" / "schemas" / "notifications"
SCHEMA_FILES = {
    "ORDER_CHANGE": "OrderChangeNotification.json",
    "FBA_INVENTORY_AVAILABILITY_CHANGES": "FBAInventoryAvailabilityChangeNotification.json",
    "FEED_PROCESSING_FINISHED": "FeedProcessingFinishedNotification.json",
    "REPORT_PROCESSING_FINISHED": "ReportProcessingFinishedNotification.json",
    "FULFILLMENT_ORDER_STATUS": "FulfillmentOrderStatusNotification.json",
}
_VALIDATORS = {kind: jsonschema.Draft7Validator(json.loads((_SCHEMAS / name).read_text(encoding="utf-8")))
               for kind, name in SCHEMA_FILES.items()}
# EventBridge detail-type of each notification type
DETAIL_TYPES = {
    "ORDER_CHANGE": "OrderChange",
    "FBA_INVENTORY_AVAILABILITY_CHANGES": "FBAInventoryAvailabilityChanges",
    "FEED_PROCESSING_FINISHED": "FeedProcessingFinished",
    "REPORT_PROCESSING_FINISHED": "ReportProcessingFinished",
    "FULFILLMENT_ORDER_STATUS": "FulfillmentOrderStatus",
}
# Orders 2026-01-01 fulfillmentStatus -> the v0 OrderStatus notifications carry
ORDER_STATUSES = {
    "PENDING": "Pending", "PENDING_AVAILABILITY": "PendingAvailability", "UNSHIPPED": "Unshipped",
    "PARTIALLY_SHIPPED": "PartiallyShipped", "SHIPPED": "Shipped", "CANCELLED": "Canceled",
    "UNFULFILLABLE": "Unfulfillable",
}
DEFAULT_SELLER_ID = "A3SELLERSIM"
DEFAULT_APPLICATION_ID = "amzn1.sellerapps.app.simulator-0000-4000-8000-000000000001"


@dataclass
class NotificationDelivery:
    """One POST of an envelope to a receiver, as sent and as answered (status 0: no answer)."""

    url: str
    envelope: dict
    body: bytes
    headers: dict
    secret_header: str
    status: int = 0
    response_body: str = ""

    @property
    def notification_id(self):
        return notification_id_of(self.envelope["detail"])


def notification_id_of(notification):
    metadata = notification.get("NotificationMetadata") or notification.get("notificationMetadata") or {}
    return metadata.get("NotificationId") or metadata.get("notificationId")


class NotificationsMixin:
    """Destinations, subscriptions, and EventBridge deliveries of notifications to a URL."""

    def _init_notifications(self):
        self.seller_id = DEFAULT_SELLER_ID
        self.application_id = DEFAULT_APPLICATION_ID
        self._destinations = {}  # destinationId -> Destination
        self._subscriptions = {}  # notificationType -> Subscription (one per type and seller)
        self.sent_notifications = []  # NotificationDelivery, in sending order

    # -- helpers for tests -------------------------------------------------------------------
    def destinations(self):
        with self._lock:
            return copy.deepcopy(list(self._destinations.values()))

    def subscriptions(self):
        """``{notificationType: Subscription}`` of the seller."""
        with self._lock:
            return copy.deepcopy(self._subscriptions)

    # -- destinations (grantless) ------------------------------------------------------------
    @sp_api_operation(NOTIFICATIONS, "createDestination", accepts=GRANTLESS)
    def create_destination(self, call):
        spec = call.body["resourceSpecification"]
        kinds = [kind for kind in ("sqs", "eventBridge") if spec.get(kind)]
        if len(kinds) != 1:
            raise InvalidInput("resourceSpecification must name exactly one of sqs and eventBridge.")
        if kinds == ["sqs"]:
            resource = {"sqs": {"arn": spec["sqs"]["arn"]}}
        else:
            account, region = spec["eventBridge"]["accountId"], spec["eventBridge"]["region"]
            resource = {"eventBridge": {"accountId": account, "region": region,
                                        "name": f"aws.partner/sellingpartnerapi.amazon.com/{account}/"
                                                f"{self.application_id}"}}
        with self._lock:
            if any(d["resource"] == resource for d in self._destinations.values()):
                return amazon_error(409, "Conflict", "A destination already exists for this resource.")
            destination = {"destinationId": str(uuid.uuid4()), "name": call.body["name"], "resource": resource}
            self._destinations[destination["destinationId"]] = destination
            return Response(200, {"payload": copy.deepcopy(destination)})

    @sp_api_operation(NOTIFICATIONS, "getDestinations", accepts=GRANTLESS)
    def get_destinations(self, call):
        with self._lock:
            return Response(200, {"payload": copy.deepcopy(list(self._destinations.values()))})

    @sp_api_operation(NOTIFICATIONS, "getDestination", accepts=GRANTLESS)
    def get_destination(self, call):
        with self._lock:
            destination = self._destinations.get(call.params["destinationId"])
            if destination is None:
                return amazon_error(404, "NotFound", f"Destination {call.params['destinationId']} was not found.")
            return Response(200, {"payload": copy.deepcopy(destination)})

    @sp_api_operation(NOTIFICATIONS, "deleteDestination", accepts=GRANTLESS)
    def delete_destination(self, call):
        with self._lock:
            if self._destinations.pop(call.params["destinationId"], None) is None:
                return amazon_error(404, "NotFound", f"Destination {call.params['destinationId']} was not found.")
            return Response(200, {})

    # -- subscriptions -----------------------------------------------------------------------
    @sp_api_operation(NOTIFICATIONS, "createSubscription", accepts=("access",))
    def create_subscription(self, call):
        kind = call.params["notificationType"]
        if kind not in SCHEMA_FILES and kind not in ("ANY_OFFER_CHANGED", "FBA_OUTBOUND_SHIPMENT_STATUS",
                                                     "LISTINGS_ITEM_MFN_QUANTITY_CHANGE"):
            raise InvalidInput(f"Unknown notificationType {kind}.")
        with self._lock:
            if call.body["destinationId"] not in self._destinations:
                raise InvalidInput(f"Destination {call.body['destinationId']} does not exist.")
            if kind in self._subscriptions:
                return amazon_error(409, "Conflict", f"A subscription for {kind} already exists.")
            subscription = {"subscriptionId": str(uuid.uuid4()), "payloadVersion": call.body["payloadVersion"],
                            "destinationId": call.body["destinationId"]}
            if call.body.get("processingDirective"):
                subscription["processingDirective"] = call.body["processingDirective"]
            self._subscriptions[kind] = subscription
            return Response(200, {"payload": copy.deepcopy(subscription)})

    @sp_api_operation(NOTIFICATIONS, "getSubscription", accepts=("access",))
    def get_subscription(self, call):
        with self._lock:
            subscription = self._subscriptions.get(call.params["notificationType"])
            if subscription is None:
                return amazon_error(404, "NotFound", f"No subscription for {call.params['notificationType']}.")
            return Response(200, {"payload": copy.deepcopy(subscription)})

    @sp_api_operation(NOTIFICATIONS, "getSubscriptionById", accepts=GRANTLESS)
    def get_subscription_by_id(self, call):
        with self._lock:
            subscription = self._subscription_by_id(call)
            if subscription is None:
                return amazon_error(404, "NotFound", f"Subscription {call.params['subscriptionId']} was not found.")
            return Response(200, {"payload": copy.deepcopy(subscription)})

    @sp_api_operation(NOTIFICATIONS, "deleteSubscriptionById", accepts=GRANTLESS)
    def delete_subscription_by_id(self, call):
        with self._lock:
            if self._subscription_by_id(call) is None:
                return amazon_error(404, "NotFound", f"Subscription {call.params['subscriptionId']} was not found.")
            del self._subscriptions[call.params["notificationType"]]
            return Response(200, {})

    def _subscription_by_id(self, call):
        subscription = self._subscriptions.get(call.params["notificationType"])
        if subscription and subscription["subscriptionId"] == call.params["subscriptionId"]:
            return subscription
        return None

    # -- notifications -----------------------------------------------------------------------
    def _metadata(self, kind, camel):
        with self._lock:
            subscription_id = (self._subscriptions.get(kind) or {}).get("subscriptionId") or str(uuid.uuid4())
        metadata = {"ApplicationId": self.application_id, "SubscriptionId": subscription_id,
                    "PublishTime": self._now_ms(), "NotificationId": str(uuid.uuid4())}
        return {k[0].lower() + k[1:]: v for k, v in metadata.items()} if camel else metadata

    def _now_ms(self):
        moment = self.now()
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def _notification(self, kind, version, payload, camel=False):
        keys = ("notificationVersion", "notificationType", "payloadVersion", "eventTime", "payload",
                "notificationMetadata")
        values = (version, kind, version, self._now_ms(), payload, self._metadata(kind, camel))
        notification = {(k if camel else k[0].upper() + k[1:]): v for k, v in zip(keys, values)}
        error = jsonschema.exceptions.best_match(_VALIDATORS[kind].iter_errors(notification))
        if error is not None:
            raise AssertionError(f"simulator bug: invalid {kind} notification: {error.message}")
        return notification

    def order_change_notification(self, order_id, change_type="OrderStatusChange", reason="Order status changed"):
        """An ORDER_CHANGE notification of the order as it is now (a snapshot: emit it any time later)."""
        with self._lock:
            order = copy.deepcopy(self._stored(order_id))
        fulfillment = order["fulfillment"]
        items = []
        for item in order["orderItems"]:
            shipped = item.get("fulfillment", {}).get("quantityFulfilled", 0)
            items.append({  # the item status enum has only these two
                "OrderItemId": item["orderItemId"], "SellerSKU": item["product"]["sellerSku"], "SupplySourceId": "",
                "OrderItemStatus": "Shipped" if shipped >= item["quantityOrdered"] else "Unshipped",
                "Quantity": item["quantityOrdered"], "QuantityShipped": shipped})
        shipped = sum(item["QuantityShipped"] for item in items)
        summary = {
            "MarketplaceId": order["salesChannel"]["marketplaceId"],
            "OrderStatus": ORDER_STATUSES[fulfillment["fulfillmentStatus"]],
            "PurchaseDate": order["createdTime"],
            "DestinationPostalCode": order.get("recipient", {}).get("deliveryAddress", {}).get("postalCode", ""),
            "FulfillmentType": "AFN" if fulfillment["fulfilledBy"] == "AMAZON" else "MFN",
            "OrderType": "StandardOrder",
            "NumberOfItemsShipped": shipped,
            "NumberOfItemsUnshipped": sum(item["Quantity"] for item in items) - shipped,
            "OrderItems": items,
        }
        payload = {"OrderChangeNotification": {
            "NotificationLevel": "OrderLevel", "SellerId": self.seller_id, "AmazonOrderId": order_id,
            "OrderChangeType": change_type,
            "OrderChangeTrigger": {"TimeOfOrderChange": order["lastUpdatedTime"], "ChangeReason": reason},
            "Summary": summary,
        }}
        return self._notification("ORDER_CHANGE", "1.0", payload)

    def fba_inventory_notification(self, sku, fulfillable, marketplace_id=None, asin="B000SIMASIN", fnsku=None):
        payload = {"SellerId": self.seller_id, "FNSKU": fnsku or f"X00{sku[:7]}", "ASIN": asin, "SKU": sku,
                   "FulfillmentInventoryByMarketplace": [{
                       "MarketplaceId": marketplace_id or self.marketplace_id, "ItemName": sku,
                       "FulfillmentInventory": {
                           "InboundQuantityBreakdown": {"Working": 0, "Shipped": 0, "Receiving": 0},
                           "Fulfillable": fulfillable, "Unfulfillable": 0, "Researching": 0,
                           "ReservedQuantityBreakdown": {"WarehouseProcessing": 0, "WarehouseTransfer": 0,
                                                         "PendingCustomerOrder": 0},
                           "FutureSupplyBuyable": 0, "PendingCustomerOrderInTransit": 0}}]}
        return self._notification("FBA_INVENTORY_AVAILABILITY_CHANGES", "1.0", payload)

    def feed_processing_notification(self, feed_id, feed_type=None, processing_status=None, result_document_id=None):
        """FEED_PROCESSING_FINISHED; type, status and result document default to the simulator's feed."""
        feed = self._family_state("_feeds", feed_id).get("feed", {})
        body = {"sellerId": self.seller_id, "accountId": f"amzn1.merchant.o.{self.seller_id}", "feedId": feed_id,
                "feedType": feed_type or feed.get("feedType", "JSON_LISTINGS_FEED"),
                "processingStatus": processing_status or feed.get("processingStatus", "DONE")}
        if result_document_id or feed.get("resultFeedDocumentId"):
            body["resultFeedDocumentId"] = result_document_id or feed["resultFeedDocumentId"]
        return self._notification("FEED_PROCESSING_FINISHED", "2020-09-04",
                                  {"feedProcessingFinishedNotification": body}, camel=True)

    def report_processing_notification(self, report_id, report_type=None, processing_status=None,
                                       report_document_id=None):
        """REPORT_PROCESSING_FINISHED; type, status and document default to the simulator's report."""
        report = self._family_state("_reports", report_id)
        body = {"sellerId": self.seller_id, "accountId": f"amzn1.merchant.o.{self.seller_id}",
                "reportId": report_id, "reportType": report_type or report.get("reportType", "GET_REPORT"),
                "processingStatus": processing_status or report.get("processingStatus", "DONE")}
        if report_document_id or report.get("reportDocumentId"):
            body["reportDocumentId"] = report_document_id or report["reportDocumentId"]
        return self._notification("REPORT_PROCESSING_FINISHED", "2020-09-04",
                                  {"reportProcessingFinishedNotification": body}, camel=True)

    def fulfillment_order_status_notification(self, seller_fulfillment_order_id, status=None, packages=()):
        """FULFILLMENT_ORDER_STATUS; the status defaults to the simulator's fulfilment order's."""
        order = self._family_state("_fulfillment_orders", seller_fulfillment_order_id).get("order", {})
        status = status or order.get("fulfillmentOrderStatus", "Received")
        packages = [{"PackageNumber": int(p["PackageNumber"]), "CarrierCode": p["CarrierCode"],
                     "TrackingNumber": p["TrackingNumber"]} for p in packages] or [
            {"PackageNumber": 0, "CarrierCode": "", "TrackingNumber": ""}]
        payload = {"FulfillmentOrderStatusNotification": {
            "SellerId": self.seller_id, "EventType": "Order", "StatusUpdatedDateTime": self._now_ms(),
            "SellerFulfillmentOrderId": seller_fulfillment_order_id, "FulfillmentOrderStatus": status.upper(),
            "FulfillmentShipment": {"FulfillmentShipmentStatus": status.upper(), "AmazonShipmentId": "",
                                    "EstimatedArrivalDateTime": self._now_ms(), "info": dict(packages[0]),
                                    "FulfillmentShipmentPackages": packages},
            "FulfillmentReturnItem": {"ReceivedDateTime": self._now_ms(), "ReturnedQuantity": 0, "SellerSKU": ""},
        }}
        return self._notification("FULFILLMENT_ORDER_STATUS", "1.0", payload)

    def _family_state(self, attribute, key):
        """What another family keeps for ``key`` (empty when that family or the record is absent)."""
        with self._lock:
            return copy.deepcopy((getattr(self, attribute, None) or {}).get(key) or {})

    def eventbridge_envelope(self, notification, account_id="123456789012", region="us-east-1"):
        """The EventBridge event a partner event source puts on the bus for ``notification``."""
        kind = notification.get("NotificationType") or notification.get("notificationType")
        return {
            "version": "0", "id": str(uuid.uuid4()), "detail-type": DETAIL_TYPES.get(kind, kind),
            "source": f"aws.partner/sellingpartnerapi.amazon.com/{account_id}/{self.application_id}",
            "account": account_id, "time": isoformat(self.now()), "region": region, "resources": [],
            "detail": notification,
        }

    # -- delivery (the EventBridge API destination) ------------------------------------------
    def emit(self, notification, url, secret_header_name, secret, *, duplicate=False, bad_secret=False,
             envelope=None):
        """POST ``notification`` in an envelope; return the deliveries (two with ``duplicate``).

        A duplicate is the same event delivered again (Amazon delivers at least once): same
        envelope, same notificationId. ``bad_secret`` sends a wrong secret value.
        """
        envelope = envelope or self.eventbridge_envelope(notification)
        if bad_secret:
            secret = f"wrong-{secrets.token_hex(8)}"
        return [self._post_envelope(url, envelope, secret_header_name, secret) for _ in range(2 if duplicate else 1)]

    def emit_out_of_order(self, notifications, url, secret_header_name, secret):
        """Deliver ``notifications`` (oldest first, as built) newest first."""
        return [delivery for notification in reversed(notifications)
                for delivery in self.emit(notification, url, secret_header_name, secret)]

    def resend(self, delivery):
        """Deliver a recorded envelope again, byte for byte (a redelivery after a lost answer)."""
        return self._post_envelope(delivery.url, delivery.envelope, delivery.secret_header,
                                   delivery.headers[delivery.secret_header])

    def emit_order_change(self, order_id, url, secret_header_name, secret, duplicate=False, bad_secret=False,
                          change_type="OrderStatusChange"):
        return self.emit(self.order_change_notification(order_id, change_type), url, secret_header_name, secret,
                         duplicate=duplicate, bad_secret=bad_secret)

    def emit_fba_inventory_change(self, sku, fulfillable, url, secret_header_name, secret, duplicate=False,
                                  bad_secret=False, marketplace_id=None):
        return self.emit(self.fba_inventory_notification(sku, fulfillable, marketplace_id), url, secret_header_name,
                         secret, duplicate=duplicate, bad_secret=bad_secret)

    def emit_feed_processing_finished(self, feed_id, url, secret_header_name, secret, duplicate=False,
                                      bad_secret=False, **fields):
        return self.emit(self.feed_processing_notification(feed_id, **fields), url, secret_header_name, secret,
                         duplicate=duplicate, bad_secret=bad_secret)

    def emit_report_processing_finished(self, report_id, url, secret_header_name, secret, duplicate=False,
                                        bad_secret=False, **fields):
        return self.emit(self.report_processing_notification(report_id, **fields), url, secret_header_name,
                         secret, duplicate=duplicate, bad_secret=bad_secret)

    def emit_fulfillment_order_status(self, seller_fulfillment_order_id, url, secret_header_name, secret,
                                      duplicate=False, bad_secret=False, **fields):
        return self.emit(self.fulfillment_order_status_notification(seller_fulfillment_order_id, **fields), url,
                         secret_header_name, secret, duplicate=duplicate, bad_secret=bad_secret)

    def emit_to_sqs(self, notification, sqs, *, duplicate=False):
        """Deliver ``notification`` to the SQS destination its subscription names, as Amazon does:
        the notification JSON itself is the message body. ``sqs`` is a ``simulators.sqs``
        simulator holding the destination's queue; returns the message ids."""
        kind = notification.get("NotificationType") or notification.get("notificationType")
        with self._lock:
            subscription = self._subscriptions.get(kind)
            destination = self._destinations.get((subscription or {}).get("destinationId")) or {}
        arn = (destination.get("resource") or {}).get("sqs", {}).get("arn")
        if not arn:
            raise AssertionError(f"no subscription of {kind} to an SQS destination")
        queue_name = arn.rsplit(":", 1)[-1]
        if sqs.queue_arn(queue_name) != arn:
            raise AssertionError(f"the SQS simulator has no queue {arn}")
        return sqs.deliver_notification(queue_name, notification, duplicate=duplicate)

    def post_raw(self, url, body, secret_header_name, secret):
        """POST any bytes as if they were an event (malformed deliveries for receiver tests)."""
        headers = {"Content-Type": "application/json", "User-Agent": "Amazon EventBridge ApiDestinations (simulator)",
                   secret_header_name: secret}
        return self._send(NotificationDelivery(url, {}, body, headers, secret_header_name))

    def _post_envelope(self, url, envelope, secret_header_name, secret):
        body = json.dumps(envelope).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Amazon EventBridge ApiDestinations (simulator)",
                   secret_header_name: secret}
        return self._send(NotificationDelivery(url, copy.deepcopy(envelope), body, headers, secret_header_name))

    def _send(self, delivery):
        try:
            response = requests.post(delivery.url, data=delivery.body, headers=delivery.headers, timeout=10)
            delivery.status, delivery.response_body = response.status_code, response.text
        except requests.RequestException as exc:  # the receiver is down: recorded, not raised
            delivery.status, delivery.response_body = 0, f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.sent_notifications.append(delivery)
        return delivery
