"""Clarity benchmarks.

* Webhook intake: signed events POSTed to the real route of a running Odoo server, against
  Odoo's own trivial route (/web/health) in the same server and the same load.
* Order import: the connector's path (stored job -> runner -> mapper -> importer) against a
  bare ORM create + confirm of the same orders with everything pre-resolved.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid

import requests

from odoo import SUPERUSER_ID, Command, api

from ..channels.clarity.webhook import compute_signature
from ..simulators.clarity import ClarityDataGenerator
from .odoo_env import open_registry

SECRET = "bench-webhook-secret"
TAX_RATES = {"TX": 8.25, "CO": 8.81, "IL": 10.25, "NC": 7.25}


def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _load(url, count, concurrency, make_request):
    """POST/GET ``count`` requests from ``concurrency`` threads; return (req/s, p99 ms)."""
    latencies = []
    lock = threading.Lock()
    per_thread = count // concurrency

    def worker(index):
        session = requests.Session()
        local = []
        for n in range(per_thread):
            method, kwargs = make_request(index, n)
            started = time.perf_counter()
            response = session.request(method, url, timeout=30, **kwargs)
            local.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:200]}")
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, _percentile(latencies, 0.99)


def _setup_backend(env):
    backend = env["commerce.backend"].search([("name", "=", "Clarity benchmark")], limit=1)
    if not backend:
        backend = env["commerce.backend"].create({
            "name": "Clarity benchmark", "channel": "clarity", "clarity_base_url": "http://127.0.0.1:9",
            "clarity_webhook_secret": SECRET, "currency_id": env.ref("base.USD").id})
    return backend


def webhook_intake(config, database, registry, requests_count=2000, concurrency=4):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        backend_id = _setup_backend(env).id
    port = 18000 + os.getpid() % 1000
    server = subprocess.Popen(
        [sys.executable, os.path.join(os.environ["ODOO_SRC"], "odoo-bin"), "-c", config, "-d", database,
         "--http-port", str(port), "--max-cron-threads", "0", "--log-level", "warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if requests.get(f"{base}/web/health", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        body_template = json.dumps({"Event": "order.updated", "ApiVersion": "v1",
                                    "Data": {"ID": 1, "StatusKey": "Processing", "UpdatedDate": "2025-03-04T15:21:40Z"}})

        def signed(_index, _n):
            body = body_template.encode()
            timestamp = str(int(time.time()))
            return "POST", {"data": body, "headers": {
                "X-Clarity-Event-Id": str(uuid.uuid4()), "X-Clarity-Event": "order.updated",
                "X-Clarity-Timestamp": timestamp, "Content-Type": "application/json",
                "X-Clarity-Signature": "v1=" + compute_signature(SECRET, timestamp, body)}}

        _load(f"{base}/web/health", 200, concurrency, lambda i, n: ("GET", {}))  # warm up
        health_rps, health_p99 = _load(f"{base}/web/health", requests_count, concurrency, lambda i, n: ("GET", {}))
        hook_rps, hook_p99 = _load(f"{base}/commerce_connector/clarity/{backend_id}/webhook",
                                   requests_count, concurrency, signed)
    finally:
        server.terminate()
        server.wait(30)
    return [
        {"measure": "Clarity webhook intake (req/s)", "value": hook_rps, "reference": health_rps,
         "reference_name": "Odoo /web/health (req/s)", "ratio": hook_rps / health_rps, "goal": ">= 0.7x",
         "passed": hook_rps / health_rps >= 0.7},
        {"measure": "Clarity webhook intake p99 (ms)", "value": hook_p99, "reference": health_p99,
         "reference_name": "Odoo /web/health p99 (ms)", "ratio": hook_p99 / health_p99, "goal": "p99 < 50 ms",
         "passed": hook_p99 < 50},
    ]


def _catalogue(env, generator, backend):
    catalog = generator.products(4)
    skus = [sku for sku, _name, _price in generator.sellable_items(catalog)]
    for sku, name, price in generator.sellable_items(catalog):
        if not env["product.product"].search([("default_code", "=", sku)]):
            env["product.product"].create({"name": name, "default_code": sku, "list_price": float(price),
                                           "type": "consu", "taxes_id": [Command.clear()]})
    us = env.ref("base.us")
    rules = [Command.clear(), Command.create({"name": "Exempt", "taxable": "exempt", "sequence": 1})]
    for code, rate in TAX_RATES.items():
        tax = env["account.tax"].create({"name": f"bench {code}", "amount": rate, "type_tax_use": "sale"})
        state = env["res.country.state"].search([("country_id", "=", us.id), ("code", "=", code)])
        rules.append(Command.create({"name": code, "country_id": us.id, "state_ids": [Command.set(state.ids)],
                                     "tax_ids": [Command.set(tax.ids)]}))
    backend.tax_rule_ids = rules
    return catalog, skus


def order_import(config, database, registry, count=200):
    generator = ClarityDataGenerator(seed=11)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        env.ref("base.USD").active = True
        env.company.currency_id = env.ref("base.USD")
        backend = _setup_backend(env)
        catalog, _skus = _catalogue(env, generator, backend)
        customers = generator.customers(4)
        orders = generator.orders(count, customers, catalog)
        for number, order in enumerate(orders, start=50000):
            order.update(ID=number, CustomKey=f"SO-{number}", StatusKey="Confirmed")
        cr.commit()

        # the connector: stored events, then the runner does everything
        for order in orders:
            env["commerce.job"].enqueue(backend, "clarity.order.import",
                                        payload={"Event": "order.created", "Data": order},
                                        idempotency_key=f"bench-{order['ID']}")
        cr.commit()
        started = time.perf_counter()
        env["commerce.job"]._run_jobs(time_budget=600, batch_size=20, auto_commit=True)
        connector_seconds = time.perf_counter() - started
        failed = env["commerce.job"].search_count([("backend_id", "=", backend.id), ("state", "!=", "done")])
        if failed:
            raise RuntimeError(f"{failed} order import jobs did not finish")

        # the reference: the same orders created and confirmed directly, lookups done before the clock
        products = {p.default_code: p for p in env["product.product"].search([("default_code", "!=", False)])}
        partner = env["res.partner"].create({"name": "Bench reference customer"})
        carrier = env.ref("commerce_connector.carrier_commerce_shipping")
        taxes = {r.state_ids[:1].code: r.tax_ids for r in backend.tax_rule_ids if r.state_ids}
        prepared = []
        for order in orders:
            tax = taxes.get(order["ShippingContact"]["Address"]["RegionCode"]) if order["Totals"]["Tax"] else None
            lines = [Command.create({"product_id": products[i["Sku"]].id, "product_uom_qty": i["Quantity"],
                                     "price_unit": i["UnitSoldPrice"],
                                     "tax_id": [Command.set(tax.ids if tax else [])]}) for i in order["SalesItems"]]
            lines.append(Command.create({"product_id": carrier.product_id.id, "price_unit": order["Totals"]["Shipping"],
                                         "is_delivery": True, "tax_id": [Command.clear()]}))
            prepared.append({"partner_id": partner.id, "client_order_ref": order["PurchaseOrderNumber"],
                             "order_line": lines})
        cr.commit()
        started = time.perf_counter()
        for values in prepared:
            env["sale.order"].create(values).action_confirm()
            cr.commit()
        bare_seconds = time.perf_counter() - started
    ratio = connector_seconds / bare_seconds
    return [{"measure": f"Clarity order import, {count} orders (s)", "value": connector_seconds,
             "reference": bare_seconds, "reference_name": "bare ORM create+confirm (s)", "ratio": ratio,
             "goal": "<= 1.25x", "passed": ratio <= 1.25}]


def measure(config, database, _jobs):
    registry = open_registry(config, database)
    return order_import(config, database, registry) + webhook_intake(config, database, registry)
