"""Demo data of the `make run` sandbox: a Clarity and an Amazon backend wired to the simulators.

Run through Odoo's shell (tools/run.sh does it), with the simulators' URLs in the environment:

    SANDBOX_CLARITY_URL=http://127.0.0.1:PORT SANDBOX_SPAPI_URL=http://127.0.0.1:PORT \\
        odoo-bin shell -c odoo.cfg -d commerce < tools/sandbox_seed.py

It is idempotent: records are found by name (backends, taxes, the FBA warehouse, the crons) or
SKU (products, offers) and updated, so running it at every start only refreshes the URLs
(the simulators' ports change) and tops the stock up. It prints ``SANDBOX_WEBHOOK_URL=<url>``,
the Clarity backend's webhook route, for the simulator's stream, and
``SANDBOX_CLARITY_LOCATION=<key>``, the location key Odoo publishes stock under.
"""

import json
import os
from datetime import timedelta

from odoo import fields

from odoo.addons.commerce_connector.channels.clarity import mapper as clarity_mapper
from odoo.addons.commerce_connector.core.outbound import IMPORT_BACKEND_CONTEXT_KEY
from odoo.addons.commerce_connector.simulators import spapi
from odoo.addons.commerce_connector.simulators.clarity import ClaritySimulator

CLARITY_BACKEND = "Sandbox Clarity store"
AMAZON_BACKEND = "Sandbox Amazon seller"
AMAZON_SELLER_ID = "A3SANDBOXSELLER"
MARKETPLACE_XMLID = "commerce_connector.amazon_marketplace_atvpdkikx0der"
FBA_WAREHOUSE_CODE = "FBA"
# The simulators' command-line defaults (simulators/clarity.py build_parser, spapi.py main)
CLARITY_CLIENT_ID = "odoo-connector"
CLARITY_CLIENT_SECRET = "clarity-secret"
CLARITY_WEBHOOK_SECRET = "clarity-webhook-secret"
# Sales tax the Clarity simulator charges per ship-to state (ClarityDataGenerator.CITIES)
CLARITY_STATE_TAXES = {"TX": 8.25, "CO": 8.81, "IL": 10.25, "NC": 7.25}
STOCK_TARGET = 200  # units per SKU and warehouse; topped up again when below a quarter of it
CRON_MINUTES = {  # short intervals, so a newcomer sees each flow within a minute or two
    "commerce_connector.ir_cron_job_runner": 1,
    "commerce_connector.ir_cron_clarity_poll": 1,
    "commerce_connector.ir_cron_amazon_orders": 1,
    "commerce_connector.ir_cron_stock_orphaned_changes": 2,
    "commerce_connector.ir_cron_amazon_settlements": 2,
}


def seed(env, clarity_url, spapi_url, odoo_url="http://127.0.0.1:8069", clarity_seed=0):
    """Create or refresh the sandbox; return {"clarity": backend, "amazon": backend, "webhook_url": str}.

    ``clarity_seed`` must be the Clarity simulator's ``--seed``: its catalogue (SKUs, record IDs,
    prices) is rebuilt here from the same generator, so the products exist before the store
    is reachable and are bound exactly as a poll of that store would bind them.
    """
    env = env(context=dict(env.context, tracking_disable=True, mail_create_nolog=True, mail_notrack=True))
    company = env.ref("base.main_company")
    usd = env.ref("base.USD")
    usd.active = True
    warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], order="id", limit=1)
    fba_warehouse = _fba_warehouse(env, company)
    env["ir.config_parameter"].sudo().set_param("web.base.url", odoo_url)

    clarity = _upsert(env["commerce.backend"], [("name", "=", CLARITY_BACKEND), ("company_id", "=", company.id)], {
        "name": CLARITY_BACKEND, "channel": "clarity", "company_id": company.id, "active": True,
        "clarity_base_url": clarity_url, "clarity_token_url": f"{clarity_url}/oauth/token",
        "clarity_client_id": CLARITY_CLIENT_ID, "clarity_client_secret": CLARITY_CLIENT_SECRET,
        "clarity_webhook_secret": CLARITY_WEBHOOK_SECRET,
        "warehouse_id": warehouse.id, "currency_id": usd.id,
        "clarity_location_ids": [(6, 0, warehouse.lot_stock_id.ids)],
    })
    if not clarity.tax_rule_ids:  # rules a user changed since are theirs to keep
        clarity.tax_rule_ids = _clarity_tax_rules(env, company)
    marketplace = env.ref(MARKETPLACE_XMLID)
    amazon_domain = [("name", "=", AMAZON_BACKEND), ("company_id", "=", company.id)]
    first_amazon_run = not env["commerce.backend"].with_context(active_test=False).search_count(amazon_domain)
    amazon_vals = {
        "name": AMAZON_BACKEND, "channel": "amazon", "company_id": company.id, "active": True,
        "amazon_endpoint": spapi_url, "amazon_lwa_url": f"{spapi_url}/auth/o2/token",
        "amazon_lwa_client_id": spapi.DEFAULT_CLIENT_ID, "amazon_lwa_client_secret": spapi.DEFAULT_CLIENT_SECRET,
        "amazon_refresh_token": spapi.DEFAULT_REFRESH_TOKEN, "amazon_seller_id": AMAZON_SELLER_ID,
        "amazon_marketplace_ids": [(6, 0, marketplace.ids)],
        "warehouse_id": warehouse.id, "amazon_fba_warehouse_id": fba_warehouse.id, "currency_id": usd.id,
    }
    if first_amazon_run:
        # the simulator's starting orders lie 30 to 32 days back: the first sync shows them
        amazon_vals["amazon_import_start_date"] = fields.Datetime.now() - timedelta(days=40)
    amazon = _upsert(env["commerce.backend"], amazon_domain, amazon_vals)

    clarity_products = _clarity_catalogue(env, clarity, clarity_seed)
    amazon_products = _amazon_catalogue(env, amazon, marketplace, company)
    for product in clarity_products | amazon_products:
        _top_up(env, product, warehouse.lot_stock_id)
    for product in amazon_products:
        _top_up(env, product, fba_warehouse.lot_stock_id)
    _demo_crons(env)
    return {"clarity": clarity, "amazon": amazon,
            "webhook_url": f"{odoo_url.rstrip('/')}/commerce_connector/clarity/{clarity.id}/webhook",
            # the key Odoo publishes the stock under: the store must know this location
            "clarity_location": env["commerce.stock.exporter"].location_key(warehouse.lot_stock_id)}


def _upsert(model, domain, vals):
    record = model.with_context(active_test=False).search(domain, limit=1)
    if record:
        record.write(vals)
        return record
    return model.create(vals)


def _fba_warehouse(env, company):
    Warehouse = env["stock.warehouse"].with_context(active_test=False)
    return Warehouse.search([("code", "=", FBA_WAREHOUSE_CODE), ("company_id", "=", company.id)], limit=1) \
        or Warehouse.create({"name": "Amazon FBA", "code": FBA_WAREHOUSE_CODE, "company_id": company.id})


def _clarity_tax_rules(env, company):
    """Tax-exempt orders get no tax; taxed ones their state's rate, as the store computes it."""
    us = env.ref("base.us")
    rules = [(0, 0, {"name": "Tax-exempt", "taxable": "exempt", "sequence": 1})]
    Tax = env["account.tax"].with_context(active_test=False)
    for code, rate in CLARITY_STATE_TAXES.items():
        name = f"Sandbox {code} sales tax {rate}%"
        tax = Tax.search([("name", "=", name), ("company_id", "=", company.id)], limit=1) or Tax.create({
            "name": name, "amount": rate, "amount_type": "percent", "type_tax_use": "sale",
            "company_id": company.id})
        state = env["res.country.state"].search([("country_id", "=", us.id), ("code", "=", code)], limit=1)
        rules.append((0, 0, {"name": code, "country_id": us.id, "state_ids": [(6, 0, state.ids)],
                             "tax_ids": [(6, 0, tax.ids)], "sequence": 10}))
    return rules


def _clarity_catalogue(env, backend, clarity_seed):
    """The Clarity simulator's products, imported as the store's product poll would import them."""
    store = ClaritySimulator()  # never started: only its seeded, deterministic store is read
    store.seed_demo_data(orders=0, seed=clarity_seed)
    importer = env["commerce.product.importer"].with_context(**{IMPORT_BACKEND_CONTEXT_KEY: backend.id})
    products = env["product.product"]
    for record in store.products.values():
        template = importer.import_product(backend, clarity_mapper.product_from_clarity(record))
        products |= template.product_variant_ids
    return products


def _amazon_catalogue(env, backend, marketplace, company):
    """One storable product per SKU of the SP-API simulator's CATALOG, each with its offer."""
    Product = env["product.product"].with_context(active_test=False)
    found = {}
    for sku, _asin, title, price in spapi.CATALOG:
        product = Product.search([("default_code", "=", sku), ("company_id", "in", (False, company.id))], limit=1)
        if not product:
            product = Product.create({"name": title, "default_code": sku, "type": "consu", "is_storable": True,
                                      "list_price": float(price), "taxes_id": [(5, 0, 0)]})
        found[sku] = product
    env["commerce.amazon.offer"].ensure_offers(backend, marketplace, found,
                                               {sku: asin for sku, asin, _t, _p in spapi.CATALOG})
    return Product.browse([p.id for p in found.values()])


def _top_up(env, product, location):
    """Bring the on-hand quantity back to STOCK_TARGET when it fell below a quarter of it."""
    Quant = env["stock.quant"].with_context(inventory_mode=True)
    on_hand = sum(Quant.search([("product_id", "=", product.id), ("location_id", "=", location.id)])
                  .mapped("quantity"))
    if on_hand >= STOCK_TARGET / 4:
        return
    quant = Quant.search([("product_id", "=", product.id), ("location_id", "=", location.id)], limit=1)
    if quant:
        quant.inventory_quantity = STOCK_TARGET
    else:
        quant = Quant.create({"product_id": product.id, "location_id": location.id,
                              "inventory_quantity": STOCK_TARGET})
    quant.action_apply_inventory()


def _demo_crons(env):
    now = fields.Datetime.now()
    for xmlid, minutes in CRON_MINUTES.items():
        env.ref(xmlid).write({"interval_number": minutes, "interval_type": "minutes", "active": True,
                              "nextcall": now})


if __name__ == "__main__" and "env" in globals():  # odoo-bin shell < tools/sandbox_seed.py
    result = seed(env, os.environ["SANDBOX_CLARITY_URL"], os.environ["SANDBOX_SPAPI_URL"],  # noqa: F821
                  os.environ.get("SANDBOX_ODOO_URL", "http://127.0.0.1:8069"),
                  int(os.environ.get("SANDBOX_CLARITY_SEED", "0")))
    env.cr.commit()  # noqa: F821 -- the shell rolls back whatever is not committed
    print(json.dumps({"clarity_backend": result["clarity"].id, "amazon_backend": result["amazon"].id}))
    print(f"SANDBOX_WEBHOOK_URL={result['webhook_url']}", flush=True)
    print(f"SANDBOX_CLARITY_LOCATION={result['clarity_location']}", flush=True)
