"""Amazon available-to-sell push: 10,000 SKU changes in a burst.

* Feed build: the JSON_LISTINGS_FEED of 10,000 SKUs built, validated against Amazon's listings
  feed schemas and encoded (``channels/amazon/feeds.py``, plain Python). Goal: < 5 s.
* createFeed calls: 10,000 merchant-fulfilled offers whose stock changes in twenty stock
  transactions (each running the automation's server action), then the runner and Amazon
  (the SP-API simulator over HTTP) process everything. createFeed allows one call per two
  minutes once its burst is spent: the debounce must turn the burst into at most 2 feeds.
  Everything the run creates is rolled back.
"""

import time
from datetime import timedelta

from odoo import SUPERUSER_ID, Command, api, fields

from ..channels.amazon import client as amazon_client
from ..channels.amazon import feeds
from ..simulators.spapi import SpApiSimulator
from .odoo_env import open_registry

COUNT = 10000


def feed_build_seconds(count=COUNT):
    """Seconds to build, validate and encode the feed of ``count`` SKUs (best of three)."""
    lines = [(f"BENCH-{n:05d}", n % 40) for n in range(1, count + 1)]
    best = None
    for _run in range(3):
        started = time.perf_counter()
        document = feeds.build_inventory_feed("A3SELLERBENCH", lines)
        feeds.validate_feed(document)
        feeds.encode_feed(document)
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best


def create_bulk_offers(env, backend, marketplace, location, count, prefix, quantity=3):
    """``count`` storable products with ``quantity`` units in ``location`` and a merchant-fulfilled
    offer each (SKU ``<prefix>-00001``...), written in SQL: the ORM needs minutes for 10,000
    products. Returns the quants (``stock.quant``) and the SKUs."""
    seed = env["product.product"].create({"name": prefix, "default_code": f"{prefix}-SEED", "is_storable": True})
    env.flush_all()
    cr = env.cr

    def columns(table, *skipped):
        cr.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,))
        return [row[0] for row in cr.fetchall() if row[0] not in ("id", *skipped)]

    template_columns = columns("product_template", "default_code")
    variant_columns = columns("product_product", "default_code", "product_tmpl_id")
    cr.execute(f"""
        WITH templates AS (
            INSERT INTO product_template (default_code, {", ".join(template_columns)})
            SELECT %(prefix)s || '-' || lpad(n::text, 5, '0'), {", ".join(template_columns)}
              FROM product_template, generate_series(1, %(count)s) AS n WHERE id = %(template)s
         RETURNING id, default_code)
        INSERT INTO product_product (product_tmpl_id, default_code, {", ".join(variant_columns)})
        SELECT templates.id, templates.default_code, {", ".join(f"seed.{c}" for c in variant_columns)}
          FROM templates, product_product seed WHERE seed.id = %(variant)s
     RETURNING id, default_code
    """, {"prefix": prefix, "count": count, "template": seed.product_tmpl_id.id, "variant": seed.id})
    rows = cr.fetchall()
    product_ids, skus = [row[0] for row in rows], [row[1] for row in rows]
    cr.execute("""
        INSERT INTO commerce_amazon_offer (backend_id, company_id, marketplace_id, product_id, seller_sku,
                                           fulfillment_channel, active, published_quantity)
        SELECT %s, %s, %s, product_id, sku, 'MERCHANT', TRUE, 0
          FROM unnest(%s::int[], %s::varchar[]) AS t(product_id, sku)
    """, (backend.id, backend.company_id.id, marketplace.id, product_ids, skus))
    cr.execute("""
        INSERT INTO stock_quant (product_id, location_id, company_id, quantity, reserved_quantity, in_date)
        SELECT product_id, %s, %s, %s, 0, NOW() AT TIME ZONE 'UTC' FROM unnest(%s::int[]) AS product_id
     RETURNING id
    """, (location.id, location.company_id.id or env.company.id, quantity, product_ids))
    quant_ids = [row[0] for row in cr.fetchall()]
    env.invalidate_all()
    return env["stock.quant"].browse(quant_ids), skus


def burst_create_feed_calls(registry, count=COUNT, transactions=20):
    """(createFeed calls, seconds until every feed is processed) for a burst of ``count`` changes."""
    simulator = SpApiSimulator().start()
    amazon_client.reset_rate_limits()
    amazon_client.access_token_client.cache.clear()
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            try:
                warehouse = env["stock.warehouse"].search([("company_id", "=", env.company.id)], limit=1)
                marketplace = env.ref("commerce_connector.amazon_marketplace_atvpdkikx0der")
                backend = env["commerce.backend"].create({
                    "name": "Amazon feed benchmark", "channel": "amazon", "amazon_seller_id": "A3SELLERBENCH",
                    "amazon_endpoint": simulator.url, "amazon_lwa_url": f"{simulator.url}/auth/o2/token",
                    "amazon_lwa_client_id": simulator.client_id,
                    "amazon_lwa_client_secret": simulator.client_secret,
                    "amazon_refresh_token": simulator.refresh_token,
                    "amazon_marketplace_ids": [Command.set(marketplace.ids)], "warehouse_id": warehouse.id})
                quants, skus = create_bulk_offers(env, backend, marketplace, warehouse.lot_stock_id, count,
                                                  "BENCHFEED")
                simulator.add_merchant_listings(skus)
                started = time.perf_counter()
                size = -(-count // transactions)
                for start in range(0, count, size):
                    quants[start:start + size]._commerce_publish_stock()
                    cr.flush()  # the commit of one stock transaction: its changes are recorded
                Job = env["commerce.job"]
                for _round in range(3):  # the debounced export, then the poll once Amazon is done
                    Job.search([("state", "=", "pending"), ("backend_id", "=", backend.id)]).write(
                        {"eta": fields.Datetime.now() - timedelta(seconds=1)})
                    Job._run_jobs(time_budget=600, auto_commit=False)
                    simulator.process_feeds()
                elapsed = time.perf_counter() - started
                feed_states = env["commerce.amazon.feed"].search([("backend_id", "=", backend.id)]).mapped("state")
                if feed_states != ["done"] * len(feed_states) or not feed_states:
                    raise RuntimeError(f"the benchmark's feeds did not all finish: {feed_states}")
            finally:
                cr.rollback()
        calls = [c for c in simulator.recorder.calls(operation="createFeed") if c.status == 202]
        return len(calls), elapsed
    finally:
        simulator.stop()


def measure(config, database, _jobs):
    """Rows for ``bench/run.py``: feed build time and createFeed calls of a 10,000-SKU burst."""
    registry = open_registry(config, database)
    build = feed_build_seconds()
    calls, seconds = burst_create_feed_calls(registry)
    print(f"amazon feed: build of {COUNT} SKUs {build:.2f} s; burst of {COUNT} changes -> {calls} createFeed "
          f"call(s), everything processed in {seconds:.1f} s")
    return [
        {"measure": f"Amazon feed build, {COUNT} SKUs (s)", "value": build, "reference": 5.0,
         "reference_name": "goal (s)", "ratio": build / 5.0, "goal": "< 5 s", "passed": build < 5.0},
        {"measure": f"createFeed calls, {COUNT} SKU changes", "value": float(calls), "reference": 2.0,
         "reference_name": "allowed calls", "ratio": calls / 2.0, "goal": "<= 2 feeds", "passed": 0 < calls <= 2},
    ]
