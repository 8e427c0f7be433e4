"""Amazon benchmark: importing simulated orders under Amazon's default rate plans.

The connector's path is the real one: the orders cron, the poll job paging through
``searchOrders`` on the SP-API simulator over HTTP (client-side token buckets and the
simulator's own buckets both at Amazon's default plans), one import job per order, the
runner. The goal from the issue: total time <= the rate-limit floor of the calls made plus
1.25 x a bare ORM create+confirm of the same orders, with no 429 left unrecovered. "The same
orders" includes validating the delivery of the orders Amazon shipped itself (FBA): the
connector must leave them delivered, so the reference does that work too; the ratio against
create+confirm alone is printed beside it.

The floor is what the usage plans alone impose on the calls the run made: per operation,
``max(0, (calls - burst) / rate)``; operations have independent buckets, so the floor of
the run is the largest of them.
"""

import os
import time
from collections import Counter
from datetime import timedelta

from odoo import SUPERUSER_ID, Command, api, fields

from ..channels.amazon import client as amazon_client
from ..channels.amazon import const as amazon_const
from ..channels.amazon import mapper
from ..simulators.spapi import CATALOG, SpApiSimulator
from .odoo_env import open_registry

BACKEND_NAME = "Amazon benchmark"
ROUND_SECONDS = 10
IMPORT_FLOW = ("amazon.orders.poll", "amazon.order.import")


def rate_limit_floor(operation_counts, plans=amazon_const.RATE_PLANS):
    """Seconds the default usage plans force on ``operation_counts`` (operation -> calls)."""
    floors = {op: max(0.0, (calls - plans[op][1]) / plans[op][0]) for op, calls in operation_counts.items()
              if op in plans}
    return max(floors.values(), default=0.0), floors


def _setup(env, simulator, count):
    env.ref("base.USD").active = True
    env.company.currency_id = env.ref("base.USD")
    warehouse = env["stock.warehouse"].search([("company_id", "=", env.company.id)], limit=1)
    fba = env["stock.warehouse"].search([("code", "=", "BFBA")], limit=1) or env["stock.warehouse"].create(
        {"name": "Bench FBA", "code": "BFBA"})
    for sku, _asin, title, price in CATALOG:
        if not env["product.product"].search([("default_code", "=", sku)]):
            env["product.product"].create({"name": title, "default_code": sku, "type": "consu", "is_storable": True,
                                           "list_price": float(price), "taxes_id": [Command.clear()]})
    backend = env["commerce.backend"].search([("name", "=", BACKEND_NAME)], limit=1)
    values = {
        "name": BACKEND_NAME, "channel": "amazon", "amazon_seller_id": "A3SELLERBENCH",
        "amazon_endpoint": simulator.url, "amazon_lwa_url": f"{simulator.url}/auth/o2/token",
        "amazon_lwa_client_id": simulator.client_id, "amazon_lwa_client_secret": simulator.client_secret,
        "amazon_refresh_token": simulator.refresh_token,
        "amazon_marketplace_ids": [Command.set(env.ref("commerce_connector.amazon_marketplace_atvpdkikx0der").ids)],
        "amazon_fba_warehouse_id": fba.id, "warehouse_id": warehouse.id, "currency_id": env.ref("base.USD").id,
        "amazon_import_start_date": simulator.now().replace(tzinfo=None) - timedelta(days=max(40, count // 20)),
    }
    if backend:
        backend.write(values)
    else:
        backend = env["commerce.backend"].create(values)
    return backend


def _reference_values(env, backend, orders):
    """The same orders as bare ``(sale.order values, {product id: quantity Amazon shipped})``,
    every lookup done before the clock starts. Orders Amazon shipped itself (FBA) come from
    the seller's warehouse and have their delivery validated, as the connector must do for them."""
    products = {p.default_code: p for p in env["product.product"].search([("default_code", "in", [c[0] for c in CATALOG])])}
    partner = env["res.partner"].create({"name": "Bench reference buyer"})
    carrier_product = backend.carrier_id.product_id or env.ref("commerce_connector.carrier_commerce_shipping").product_id
    prepared = []
    for data in orders:
        order = mapper.order_from_amazon(data)
        lines = [Command.create({"product_id": products[line.sku].id, "product_uom_qty": line.quantity,
                                 "price_unit": line.unit_price, "tax_id": [Command.clear()]}) for line in order.lines]
        if order.shipping_amount:
            lines.append(Command.create({"product_id": carrier_product.id, "price_unit": order.shipping_amount,
                                         "is_delivery": True, "tax_id": [Command.clear()]}))
        fulfillment = data["fulfillment"]
        by_amazon = fulfillment["fulfilledBy"] == amazon_const.FULFILLED_BY_AMAZON
        shipped = {}
        if by_amazon and fulfillment["fulfillmentStatus"] in (amazon_const.STATUS_SHIPPED,
                                                              amazon_const.STATUS_PARTIALLY_SHIPPED):
            for sku, quantity in mapper.shipped_quantities(data).items():
                shipped[products[sku].id] = shipped.get(products[sku].id, 0) + quantity
            if fulfillment["fulfillmentStatus"] == amazon_const.STATUS_SHIPPED:
                shipped = {products[line.sku].id: line.quantity for line in order.lines}
        # The seller's own warehouse for every reference order: from the FBA warehouse, an order
        # that is not Amazon's would be sent to Multi-Channel Fulfilment, work the import has not.
        prepared.append(({"partner_id": partner.id, "client_order_ref": order.client_order_ref or order.external_id,
                          "warehouse_id": backend.warehouse_id.id, "order_line": lines}, shipped))
    return prepared


def _validate_delivery(sale_order, shipped):
    """Bare delivery of what Amazon shipped: quantities on the moves, then validate."""
    for picking in sale_order.picking_ids:
        for move in picking.move_ids:
            move.quantity = min(move.product_uom_qty, shipped.get(move.product_id.id, 0))
            move.picked = bool(move.quantity)
        picking.with_context(skip_backorder=True, skip_sms=True).button_validate()


def _is_importable(order):
    statuses = amazon_const.DEFAULT_IMPORT_STATUSES.split(",")
    return order["fulfillment"]["fulfillmentStatus"] in statuses


def _generate_importable(simulator, count):
    """Generate orders until ``count`` of them have a status the backend imports (the
    generator also makes pending and cancelled ones, which are polled but not imported)."""
    start = simulator.now() - timedelta(days=40)
    while True:
        importable = sum(1 for order_id in simulator.order_ids() if _is_importable(simulator.order(order_id)))
        if importable >= count:
            return importable
        missing = count - importable
        simulator.generate_orders(missing, start=start, minutes_between=(1, 3))
        start += timedelta(minutes=3 * missing)  # after the last one: gaps are at most 3 minutes


def order_import(config, database, registry, count=1000):
    for name in ("SP_API_DEFAULT_MARKETPLACE", "AWS_ENV"):  # they would override the loopback endpoint
        os.environ.pop(name, None)
    amazon_client.access_token_client.cache.clear()
    amazon_client.reset_rate_limits()
    simulator = SpApiSimulator(rate_multiplier=1.0, seed=17).start()
    try:
        importable = _generate_importable(simulator, count)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            backend = _setup(env, simulator, count)
            cr.commit()
            Job = env["commerce.job"]
            Binding = env["commerce.binding"]
            orders = [simulator.order(order_id) for order_id in simulator.order_ids()
                      if _is_importable(simulator.order(order_id))]
            prepared = _reference_values(env, backend, orders)
            cr.commit()
            # Interleaved rounds: the connector runs for a few seconds, then the bare reference
            # creates as many orders as the connector imported in that round. Both sides see the
            # same machine load, whatever else it is doing.
            connector_seconds = bare_seconds = delivery_seconds = 0.0
            started = time.perf_counter()
            env["commerce.backend"]._cron_amazon_orders()
            cr.commit()
            connector_seconds += time.perf_counter() - started
            imported = 0
            while True:
                started = time.perf_counter()
                Job._run_jobs(time_budget=ROUND_SECONDS, batch_size=20, auto_commit=True)
                pending = Job.search([("backend_id", "=", backend.id), ("state", "in", ("pending", "started")),
                                      ("job_type", "in", IMPORT_FLOW)], order="eta", limit=1)
                if pending.eta and pending.eta > fields.Datetime.now():
                    time.sleep(min(5.0, (pending.eta - fields.Datetime.now()).total_seconds()))  # throttled: wait
                connector_seconds += time.perf_counter() - started
                now_imported = Binding.search_count([("backend_id", "=", backend.id), ("res_model", "=", "sale.order")])
                for values, shipped in prepared[imported:now_imported]:
                    started = time.perf_counter()
                    sale_order = env["sale.order"].create(values)
                    sale_order.action_confirm()
                    cr.commit()
                    confirmed = time.perf_counter()
                    bare_seconds += confirmed - started
                    if shipped:
                        _validate_delivery(sale_order, shipped)
                        cr.commit()
                        delivery_seconds += time.perf_counter() - confirmed
                imported = now_imported
                if not pending:
                    break
            failed = Job.search_count([("backend_id", "=", backend.id), ("state", "!=", "done"),
                                       ("job_type", "in", IMPORT_FLOW)])
            if failed or imported != importable:
                raise RuntimeError(f"Amazon bench: {imported}/{importable} orders imported, {failed} jobs not done")

            calls = simulator.recorder.calls()
            throttled = sum(1 for c in calls if c.status == 429)
            operations = Counter(c.operation for c in calls if c.operation and c.status != 429)
            floor, _per_operation = rate_limit_floor(operations)
    finally:
        simulator.stop()
    same_work = bare_seconds + delivery_seconds
    budget = floor + 1.25 * same_work
    calls_text = ", ".join(f"{op} {n}" for op, n in sorted(operations.items()))
    return [
        {"measure": f"Amazon order import, {count} orders (s)", "value": connector_seconds,
         "reference": budget, "reference_name": f"floor {floor:.1f} s + 1.25 x bare {same_work:.1f} s",
         "ratio": connector_seconds / budget, "goal": "<= floor + 1.25x bare", "passed": connector_seconds <= budget},
        {"measure": "  net of the floor vs bare ORM", "value": connector_seconds - floor, "reference": same_work,
         "reference_name": "bare create+confirm+FBA delivery (s)", "ratio": (connector_seconds - floor) / same_work,
         "goal": "<= 1.25x", "passed": connector_seconds - floor <= 1.25 * same_work},
        {"measure": "  vs create+confirm only", "value": connector_seconds - floor, "reference": bare_seconds,
         "reference_name": "bare create+confirm, no delivery (s)", "ratio": (connector_seconds - floor) / bare_seconds,
         "goal": "(informative)", "passed": True},
        {"measure": "  429s answered / left unrecovered", "value": throttled, "reference": 0,
         "reference_name": calls_text, "ratio": 0.0, "goal": "0 unrecovered", "passed": not failed},
    ]


def measure(config, database, _jobs):
    count = int(os.environ.get("BENCH_AMAZON_ORDERS", 1000))
    return order_import(config, database, open_registry(config, database), count)
