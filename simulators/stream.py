"""A steady stream of channel activity for the `make run` sandbox.

Each simulator's command line runs one of these in a background thread (``--stream SECONDS``):
the Clarity store takes a new order every tick and announces it with a signed webhook, now
and then confirms or voids a pending order or takes a return of a shipped one; Amazon buyers
place orders that the Odoo cron finds by polling, Amazon takes their payment (PENDING ->
UNSHIPPED) and ships those it fulfils (FBA); the seller's own ship when Odoo confirms them.
Every few ticks Amazon publishes a settlement report paying the orders shipped meanwhile.
Ids are made unique across runs (a restarted simulator forgets its store, the Odoo database
does not), so every streamed order is a new one in Odoo.
"""

import copy
import logging
import random
import threading
import time
from datetime import timedelta

from .clarity import ClarityDataGenerator, format_datetime
from .spapi import OrderGenerator, set_fulfillment_status

_logger = logging.getLogger(__name__)


def run_every(seconds, tick, name):
    """Call ``tick()`` every ``seconds`` in a daemon thread (it ends with the process); return it.

    A failing tick is logged and the stream goes on: one bad draw must not end the demo.
    """

    def loop():
        while True:
            time.sleep(seconds)
            try:
                tick()
            except Exception:
                _logger.exception("%s: tick failed", name)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread


class ClarityStream:
    """Store-side activity of a :class:`~.clarity.ClaritySimulator`, pushed to ``webhook_url``."""

    def __init__(self, simulator, webhook_url, seed=None, update_rate=0.35, return_rate=0.3, void_rate=0.05):
        self.simulator = simulator
        self.webhook_url = webhook_url
        self.random = random.Random(seed)
        self.generator = ClarityDataGenerator(self.random.getrandbits(32))
        self.update_rate = update_rate
        self.return_rate = return_rate
        self.void_rate = void_rate
        self._last_id = 0
        self.events = []  # (event, order ID, HTTP status of the delivery)

    def tick(self):
        self.new_order()
        if self.random.random() < self.update_rate:
            self.update_pending_order()
        if self.random.random() < self.return_rate:
            self.return_shipped_order()

    def _order_id(self):
        # epoch seconds: larger than any earlier run's and than the seeded 10001.. range
        self._last_id = max(self._last_id + 1, int(time.time()))
        return self._last_id

    def _send(self, event, data):
        status, _text = self.simulator.send_webhook(self.webhook_url, event, data)
        self.events.append((event, data.get("ID") or data.get("SalesOrderID"), status))
        return status

    def new_order(self):
        sim = self.simulator
        with sim._lock:
            customers = copy.deepcopy(list(sim.customers.values()))
            products = copy.deepcopy(list(sim.products.values()))
        order = self.generator.order(customers, products, sim.clock())
        order_id = self._order_id()
        order.update(ID=order_id, CustomKey=f"SO-{order_id}")
        order = sim.add_order(order)
        self._send("order.created", order)
        return order

    def _pick(self, predicate):
        with self.simulator._lock:
            candidates = [o["ID"] for o in self.simulator.orders.values() if predicate(o)]
        return self.random.choice(candidates) if candidates else None

    def update_pending_order(self):
        """A pending order gets paid (Confirmed) or, rarely, voided."""
        order_id = self._pick(lambda o: o["StatusKey"] == "Pending")
        if order_id is None:
            return None
        # both rates are per tick; voids are the part of the updates void_rate says
        void = self.random.random() < self.void_rate / max(self.update_rate, 1e-9)
        status = "Void" if void else "Confirmed"
        sim = self.simulator
        with sim._lock:
            order = sim.orders[order_id]
            order["StatusKey"] = status
            order["UpdatedDate"] = format_datetime(sim.clock())
            data = {"ID": order_id, "CustomKey": order["CustomKey"], "StatusKey": status,
                    "UpdatedDate": order["UpdatedDate"]}
        self._send("order.cancelled" if void else "order.updated", data)
        return status

    def return_shipped_order(self):
        """The buyer sends back one unit of a line of an order Odoo shipped (one return per order)."""
        sim = self.simulator
        with sim._lock:
            returned = {r["SalesOrderID"] for r in sim.returns.values()}
        order_id = self._pick(lambda o: o["StatusKey"] == "Shipped" and o["ID"] not in returned)
        if order_id is None:
            return None
        order = sim.get_order(order_id)
        line = self.random.choice(order["SalesItems"])
        sales_return = sim.add_return({
            "ReturnKey": f"RMA-{order_id}", "SalesOrderID": order_id, "StatusKey": "Confirmed",
            "SalesItems": [{"Sku": line["Sku"], "Quantity": 1}], "RefundAmount": line["UnitSoldPrice"],
            "CurrencyKey": order.get("CurrencyKey") or "USD",
        })
        self._send("order.returned", sales_return)
        return sales_return


class SpApiStream:
    """Buyer and Amazon activity in a :class:`~.spapi.SpApiSimulator`; Odoo sees it by polling."""

    def __init__(self, simulator, seed=None, orders_per_tick=(1, 2), advance_rate=0.6, settle_every=8):
        self.simulator = simulator
        self.random = random.Random(seed)
        # a generator of its own, seeded per run: the simulator's is seeded the same every run
        self.generator = OrderGenerator(self.random.getrandbits(32))
        self.orders_per_tick = orders_per_tick
        self.advance_rate = advance_rate
        self.settle_every = settle_every
        self.created = []
        self.settled = set()
        self.settlements = []  # (reportId, settlement id)
        self._ticks = 0

    def tick(self):
        self._ticks += 1
        for _ in range(self.random.randint(*self.orders_per_tick)):
            self.new_order()
        if self.random.random() < self.advance_rate:
            self.advance_one()
        if self.settle_every and self._ticks % self.settle_every == 0:
            self.settle()

    def new_order(self):
        """A just-placed order: PENDING, or UNSHIPPED once paid, nothing shipped yet."""
        sim = self.simulator
        now = sim.now().replace(microsecond=0)
        order_id = self.generator.order_id()
        while order_id in sim.order_ids():
            order_id = self.generator.order_id()
        order = self.generator.order(order_id, now - timedelta(minutes=1), sim.marketplace_id)
        # the generator draws any life stage; a new order starts at the beginning
        order.pop("packages", None)
        for item in order["orderItems"]:
            item.pop("cancellation", None)
            item["fulfillment"].update(quantityFulfilled=0, quantityUnfulfilled=item["quantityOrdered"])
        set_fulfillment_status(order, self.random.choice(("PENDING", "UNSHIPPED", "UNSHIPPED")), now)
        sim.add_order(order)
        self.created.append(order_id)
        return order_id

    def advance_one(self):
        """One streamed order moves a step: paid (UNSHIPPED), or shipped when Amazon fulfils it.

        Merchant-fulfilled orders ship when Odoo confirms their shipment (confirmShipment).
        """
        movable = []
        for order_id in self.created:
            fulfillment = self.simulator.order(order_id)["fulfillment"]
            status = fulfillment["fulfillmentStatus"]
            if status == "PENDING" or (status == "UNSHIPPED" and fulfillment["fulfilledBy"] == "AMAZON"):
                movable.append(order_id)
        if not movable:
            return None
        order_id = self.random.choice(movable)
        return order_id, self.simulator.advance_order_status(order_id)

    def settle(self):
        """Amazon pays out: a settlement report of the streamed orders shipped since the last one."""
        shipped = [order_id for order_id in self.created if order_id not in self.settled
                   and self.simulator.order(order_id)["fulfillment"]["fulfillmentStatus"] == "SHIPPED"]
        if not shipped:
            return None
        report = self.simulator.generate_settlement(order_ids=shipped)
        self.settled.update(shipped)
        self.settlements.append(report)
        return report
