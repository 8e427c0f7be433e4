"""SP-API simulator family: Fulfillment Outbound 2020-07-01 (Multi-Channel Fulfilment).

Composed into :class:`~.spapi.SpApiSimulator`; see ``spapi_common`` for the conventions.
Model file: ``spapi_models/fulfillmentOutbound_2020-07-01.json`` (copied unchanged from Amazon's models).

A fulfillment order moves Received -> Planning -> Processing -> Complete when a test calls
:meth:`FulfillmentOutboundMixin.advance_fulfillment_order`; :meth:`ship_fulfillment_package`
ships part of it in a package of its own (a partial shipment) and :meth:`make_unfulfillable`
makes the fulfilment centre give up on what is left, with a reason in the shipment's
``shippingNotes``. As at Amazon, a seller can cancel only while the order is Received or Planning.
"""

import copy
from datetime import timedelta

from .base import Response
from .spapi_common import InvalidInput, amazon_error, isoformat, sp_api_operation
from .spapi_schema import parse_datetime

FULFILLMENT_OUTBOUND = "fulfillmentOutbound_2020-07-01.json"

RECEIVED, PLANNING, PROCESSING = "Received", "Planning", "Processing"
COMPLETE, COMPLETE_PARTIALLED = "Complete", "CompletePartialled"
CANCELLED, UNFULFILLABLE = "Cancelled", "Unfulfillable"
_NEXT_FULFILLMENT_STATUS = {RECEIVED: PLANNING, PLANNING: PROCESSING, PROCESSING: COMPLETE}
SELLER_CANCELLABLE = (RECEIVED, PLANNING)  # "The seller cannot cancel a fulfillment order that has a status of Processing"
FINAL_STATUSES = (COMPLETE, COMPLETE_PARTIALLED, CANCELLED, UNFULFILLABLE)
TRANSIT_DAYS = {"Standard": 5, "Expedited": 2, "Priority": 1, "ScheduledDelivery": 2}
CARRIER_PHONES = {"UPS": "+1 800 742 5877", "USPS": "+1 800 275 8777", "FedEx": "+1 800 463 3339"}
FIRST_PACKAGE_NUMBER = 212794778


class FulfillmentOutboundMixin:
    """createFulfillmentOrder, getFulfillmentOrder, cancelFulfillmentOrder, getPackageTrackingDetails."""

    def _init_fulfillment(self):
        self._fulfillment_orders = {}  # sellerFulfillmentOrderId -> {"order", "items", "shipments"}
        self._fulfillment_packages = {}  # packageNumber -> {"order_id", "carrier", "tracking", "ship_date"}
        self._next_package_number = FIRST_PACKAGE_NUMBER
        self._next_shipment_number = 1

    # -- helpers for tests -------------------------------------------------------------------
    def fulfillment_order(self, order_id):
        """A copy of what the simulator keeps for ``order_id`` (order, items with shipped quantities, shipments)."""
        with self._lock:
            return copy.deepcopy(self._fulfillment(order_id))

    def fulfillment_order_ids(self):
        with self._lock:
            return list(self._fulfillment_orders)

    def advance_fulfillment_order(self, order_id, status=None):
        """Move to the next status (or straight to ``status``); reaching Complete ships what is left in one package."""
        with self._lock:
            state = self._fulfillment(order_id)
            current = state["order"]["fulfillmentOrderStatus"]
            target = status or _NEXT_FULFILLMENT_STATUS.get(current)
            if current in FINAL_STATUSES or target not in (PLANNING, PROCESSING, COMPLETE):
                raise ValueError(f"fulfillment order {order_id} cannot go from {current} to {target}")
            if target == COMPLETE:
                remaining = self._remaining(state)
                if remaining:
                    self._ship(state, remaining, "UPS", None)
                return state["order"]["fulfillmentOrderStatus"]
            self._set_fulfillment_status(state, target)
            return target

    def ship_fulfillment_package(self, order_id, quantities=None, carrier="UPS", tracking_number=None):
        """Ship ``{sku: quantity}`` (default: all that is left) in one package; returns its package number."""
        with self._lock:
            state = self._fulfillment(order_id)
            if state["order"]["fulfillmentOrderStatus"] in FINAL_STATUSES:
                raise ValueError(f"fulfillment order {order_id} is {state['order']['fulfillmentOrderStatus']}")
            remaining = dict(self._remaining(state))
            if quantities is None:
                return self._ship(state, list(remaining.items()), carrier, tracking_number)
            to_ship = []
            for sku, quantity in quantities.items():
                index = next((i for i in remaining if state["items"][i]["sellerSku"] == sku), None)
                if index is None or not 1 <= quantity <= remaining[index]:
                    raise ValueError(f"{sku}: {quantity} is more than is left to ship of {order_id}")
                to_ship.append((index, quantity))
            return self._ship(state, to_ship, carrier, tracking_number)

    def make_unfulfillable(self, order_id, reason):
        """The fulfilment centre cannot ship what is left: Unfulfillable (CompletePartialled if some shipped)."""
        with self._lock:
            state = self._fulfillment(order_id)
            remaining = self._remaining(state)
            if state["order"]["fulfillmentOrderStatus"] in FINAL_STATUSES or not remaining:
                raise ValueError(f"fulfillment order {order_id} has nothing left to fulfil")
            for index, quantity in remaining:
                state["items"][index]["unfulfillableQuantity"] += quantity
            state["shipments"].append({
                "amazonShipmentId": self._shipment_id(),
                "fulfillmentCenterId": "RNO4",
                "fulfillmentShipmentStatus": "CANCELLED_BY_FULFILLER",
                "shippingNotes": [reason],
                "fulfillmentShipmentItem": [self._shipment_item(state["items"][i], q) for i, q in remaining],
            })
            shipped = any(s["fulfillmentShipmentStatus"] == "SHIPPED" for s in state["shipments"])
            self._set_fulfillment_status(state, COMPLETE_PARTIALLED if shipped else UNFULFILLABLE)

    # -- operations --------------------------------------------------------------------------
    @sp_api_operation(FULFILLMENT_OUTBOUND, "createFulfillmentOrder")
    def create_fulfillment_order(self, call):
        body = call.body
        order_id = body["sellerFulfillmentOrderId"]
        if not body["items"]:
            raise InvalidInput("items must list at least one item.")
        item_ids = [item["sellerFulfillmentOrderItemId"] for item in body["items"]]
        if len(set(item_ids)) != len(item_ids):
            raise InvalidInput("sellerFulfillmentOrderItemId must be unique within the fulfillment order.")
        for item in body["items"]:
            if item["quantity"] < 1:
                raise InvalidInput(f"quantity of {item['sellerSku']} must be at least 1.")
        address = body["destinationAddress"]
        if address["countryCode"] != "JP" and not address.get("city"):
            raise InvalidInput("destinationAddress.city is required outside Japan.")
        if len(address["countryCode"]) != 2:
            raise InvalidInput("destinationAddress.countryCode must be an ISO 3166-1 alpha-2 code.")
        parse_datetime(body["displayableOrderDate"])
        moment = self.now()
        with self._lock:
            if order_id in self._fulfillment_orders:
                raise InvalidInput(f"A fulfillment order with sellerFulfillmentOrderId {order_id} already exists.")
            order = {key: copy.deepcopy(body[key]) for key in (
                "sellerFulfillmentOrderId", "displayableOrderId", "displayableOrderDate", "displayableOrderComment",
                "shippingSpeedCategory", "destinationAddress", "fulfillmentAction", "fulfillmentPolicy",
                "notificationEmails") if key in body}
            order.update(marketplaceId=body.get("marketplaceId") or self.marketplace_id, receivedDate=isoformat(moment),
                         fulfillmentOrderStatus=RECEIVED, statusUpdatedDate=isoformat(moment))
            items = [{"sellerSku": item["sellerSku"], "sellerFulfillmentOrderItemId": item["sellerFulfillmentOrderItemId"],
                      "quantity": item["quantity"], "cancelledQuantity": 0, "unfulfillableQuantity": 0,
                      "shippedQuantity": 0, **({"giftMessage": item["giftMessage"]} if item.get("giftMessage") else {}),
                      **({"displayableComment": item["displayableComment"]} if item.get("displayableComment") else {})}
                     for item in body["items"]]
            self._fulfillment_orders[order_id] = {"order": order, "items": items, "shipments": []}
        return Response(200, {})

    @sp_api_operation(FULFILLMENT_OUTBOUND, "getFulfillmentOrder")
    def get_fulfillment_order(self, call):
        order_id = call.params["sellerFulfillmentOrderId"]
        with self._lock:
            state = self._fulfillment_orders.get(order_id)
            if state is None:
                return amazon_error(404, "NotFound", f"Fulfillment order {order_id} was not found.")
            speed = state["order"]["shippingSpeedCategory"]
            items = []
            for item in state["items"]:
                rendered = {k: v for k, v in item.items() if k != "shippedQuantity"}
                if state["order"]["fulfillmentOrderStatus"] not in FINAL_STATUSES:
                    estimate = parse_datetime(state["order"]["receivedDate"]) + timedelta(days=1)
                    rendered["estimatedShipDate"] = isoformat(estimate)
                    rendered["estimatedArrivalDate"] = isoformat(estimate + timedelta(days=TRANSIT_DAYS[speed]))
                items.append(rendered)
            payload = {"fulfillmentOrder": copy.deepcopy(state["order"]), "fulfillmentOrderItems": items,
                       "fulfillmentShipments": copy.deepcopy(state["shipments"]),
                       "returnItems": [], "returnAuthorizations": []}
        return Response(200, {"payload": payload})

    @sp_api_operation(FULFILLMENT_OUTBOUND, "cancelFulfillmentOrder")
    def cancel_fulfillment_order(self, call):
        order_id = call.params["sellerFulfillmentOrderId"]
        with self._lock:
            state = self._fulfillment_orders.get(order_id)
            if state is None:
                return amazon_error(404, "NotFound", f"Fulfillment order {order_id} was not found.")
            status = state["order"]["fulfillmentOrderStatus"]
            if status == CANCELLED:
                return Response(200, {})
            if status not in SELLER_CANCELLABLE:
                raise InvalidInput(f"Fulfillment order {order_id} is {status}: only Received or Planning orders "
                                   "can be cancelled.")
            for item in state["items"]:
                item["cancelledQuantity"] = item["quantity"]
            self._set_fulfillment_status(state, CANCELLED)
        return Response(200, {})

    @sp_api_operation(FULFILLMENT_OUTBOUND, "getPackageTrackingDetails")
    def get_package_tracking_details(self, call):
        number = call.params["packageNumber"]
        with self._lock:
            package = self._fulfillment_packages.get(number)
            if package is None:
                return amazon_error(404, "NotFound", f"Package {number} was not found.")
            order = self._fulfillment_orders[package["order_id"]]["order"]
            address = order["destinationAddress"]
            ship_date = package["ship_date"]
            arrival = ship_date + timedelta(days=TRANSIT_DAYS[order["shippingSpeedCategory"]])
            delivered = self.now() >= arrival
            where = {"city": address.get("city", ""), "state": address.get("stateOrRegion", ""),
                     "country": address["countryCode"]}
            events = [{"eventDate": isoformat(ship_date), "eventAddress": {"city": "Reno", "state": "NV", "country": "US"},
                       "eventCode": "EVENT_101", "eventDescription": "Carrier picked up the package."}]
            if delivered:
                events.append({"eventDate": isoformat(arrival), "eventAddress": where, "eventCode": "EVENT_301",
                               "eventDescription": "Package has been delivered."})
            details = {
                "packageNumber": number,
                "trackingNumber": package["tracking"],
                "customerTrackingLink": f"https://www.swiship.com/track?id={package['tracking']}",
                "carrierCode": package["carrier"],
                "carrierURL": f"https://www.{package['carrier'].lower()}.com",
                "shipDate": isoformat(ship_date),
                "estimatedArrivalDate": isoformat(arrival),
                "shipToAddress": where,
                "currentStatus": "DELIVERED" if delivered else "IN_TRANSIT",
                "trackingEvents": events,
            }
            if package["carrier"] in CARRIER_PHONES:
                details["carrierPhoneNumber"] = CARRIER_PHONES[package["carrier"]]
        return Response(200, {"payload": details})

    # -- internals ---------------------------------------------------------------------------
    def _fulfillment(self, order_id):
        state = self._fulfillment_orders.get(order_id)
        if state is None:
            raise KeyError(f"no fulfillment order {order_id}")
        return state

    @staticmethod
    def _remaining(state):
        """[(item index, quantity neither shipped, cancelled nor unfulfillable)] of the items with some left."""
        left = []
        for index, item in enumerate(state["items"]):
            quantity = item["quantity"] - item["shippedQuantity"] - item["cancelledQuantity"] \
                - item["unfulfillableQuantity"]
            if quantity > 0:
                left.append((index, quantity))
        return left

    def _set_fulfillment_status(self, state, status):
        state["order"]["fulfillmentOrderStatus"] = status
        state["order"]["statusUpdatedDate"] = isoformat(self.now())

    def _shipment_id(self):
        number = self._next_shipment_number
        self._next_shipment_number += 1
        return f"D{number:06d}GdS"

    @staticmethod
    def _shipment_item(item, quantity, package_number=None):
        line = {"sellerSku": item["sellerSku"], "sellerFulfillmentOrderItemId": item["sellerFulfillmentOrderItemId"],
                "quantity": quantity}
        if package_number is not None:
            line["packageNumber"] = package_number
        return line

    def _ship(self, state, quantities, carrier, tracking_number):
        moment = self.now()
        number = self._next_package_number
        self._next_package_number += 1
        tracking = tracking_number or f"TBA{number:012d}"
        arrival = moment + timedelta(days=TRANSIT_DAYS[state["order"]["shippingSpeedCategory"]])
        for index, quantity in quantities:
            state["items"][index]["shippedQuantity"] += quantity
        state["shipments"].append({
            "amazonShipmentId": self._shipment_id(),
            "fulfillmentCenterId": "RNO4",
            "fulfillmentShipmentStatus": "SHIPPED",
            "shippingDate": isoformat(moment),
            "estimatedArrivalDate": isoformat(arrival),
            "fulfillmentShipmentItem": [self._shipment_item(state["items"][i], q, number) for i, q in quantities],
            "fulfillmentShipmentPackage": [{"packageNumber": number, "carrierCode": carrier, "trackingNumber": tracking,
                                            "estimatedArrivalDate": isoformat(arrival)}],
        })
        self._fulfillment_packages[number] = {"order_id": state["order"]["sellerFulfillmentOrderId"],
                                              "carrier": carrier, "tracking": tracking, "ship_date": moment}
        self._set_fulfillment_status(state, PROCESSING if self._remaining(state) else COMPLETE)
        return number
