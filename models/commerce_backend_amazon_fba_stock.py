from odoo import api, fields, models
from odoo.tools import float_compare

from ..channels.amazon import const, fba_inventory
from ..core.job_registry import register
from ..core.outbound import IMPORT_BACKEND_CONTEXT_KEY

FBA_IMPORT_JOB = "amazon.fba.inventory.import"
REPORTED_SKUS = 20
_OFFER_QUANTITIES = {  # offer field -> FbaStock attribute
    "fba_fulfillable_qty": "fulfillable", "fba_reserved_qty": "reserved", "fba_inbound_qty": "inbound",
    "fba_unfulfillable_qty": "unfulfillable", "fba_researching_qty": "researching",
}


class CommerceBackend(models.Model):
    """FBA stock into Odoo: Amazon's fulfillable quantities become the on-hand stock of the FBA
    warehouse (inventory adjustments), the other quantities are shown on the offers."""

    _inherit = "commerce.backend"

    @api.model
    def _cron_amazon_inventory(self):
        """Entry point of ir_cron_amazon_inventory: one import job per backend with an FBA warehouse."""
        Job = self.env["commerce.job"]
        backends = self.search([("channel", "=", const.CHANNEL), ("amazon_fba_warehouse_id", "!=", False),
                                ("amazon_marketplace_ids", "!=", False),
                                ("state", "not in", ("auth_failed", "disabled"))])
        queued = Job.browse()
        for backend in backends:
            if not Job.search_count([("backend_id", "=", backend.id), ("job_type", "=", FBA_IMPORT_JOB),
                                     ("state", "in", ("pending", "started"))]):
                queued |= Job.enqueue(backend, FBA_IMPORT_JOB, payload={})
        return queued

    def _amazon_import_fba_stock(self):
        """Read every page of inventory summaries, then write what changed.

        Nothing is written before the last page is read: a throttled or failed run leaves
        Odoo as it was and the job engine retries it. Quantities are read at the first
        marketplace: FBA stock is pooled per region.
        """
        self.ensure_one()
        backend = self.with_context(**{IMPORT_BACKEND_CONTEXT_KEY: self.id})  # no echo to Amazon
        warehouse = backend.amazon_fba_warehouse_id
        if not warehouse:
            return {"skipped": "no FBA warehouse"}
        marketplace = backend.amazon_marketplace_ids[:1]
        client = backend._amazon_client(marketplace)
        stocks, token, pages = {}, None, 0
        while True:
            summaries, token = fba_inventory.inventory_summaries(client, marketplace.code, token)
            pages += 1
            for summary in summaries:
                stock = fba_inventory.stock_of(summary)
                stocks[stock.sku] = stock
            if not token:
                break
        products, unknown = backend._amazon_fba_products(marketplace, stocks)
        offers = backend._amazon_apply_fba_offers(marketplace, stocks, products)
        adjusted = backend._amazon_apply_fba_quantities(warehouse.lot_stock_id, stocks, products)
        return {"marketplace": marketplace.code, "pages": pages, "skus": len(stocks),
                "offers_updated": len(offers), "quants_adjusted": len(adjusted),
                "unknown_skus": sorted(unknown)[:REPORTED_SKUS], "unknown": len(unknown)}

    def _amazon_create_order(self, data, status):
        """An order Amazon fulfils proves its SKUs are FBA offers: mark them so before any
        merchant quantity is sent for them (that would turn them into MFN offers)."""
        sale_order = super()._amazon_create_order(data, status)
        if (data.get("fulfillment") or {}).get("fulfilledBy") == const.FULFILLED_BY_AMAZON:
            skus = [item.get("product", {}).get("sellerSku") for item in data.get("orderItems") or ()]
            self.env["commerce.amazon.offer"].sudo().search([
                ("backend_id", "=", self.id), ("marketplace_id", "=", self._amazon_order_marketplace(data).id),
                ("seller_sku", "in", [sku for sku in skus if sku]), ("fulfillment_channel", "=", "MERCHANT"),
            ]).write({"fulfillment_channel": "AMAZON"})
        return sale_order

    def _amazon_fba_products(self, marketplace, stocks):
        """``({sku: product}, [skus no offer or internal reference knows])``."""
        found = self.env["commerce.amazon.offer"].products_by_sku(self, list(stocks), marketplace)
        Binding = self.env["commerce.binding"]
        for sku in stocks:
            if sku not in found:
                product = Binding.lookup_product(self, sku)
                if product:
                    found[sku] = product
        return found, [sku for sku in stocks if sku not in found]

    def _amazon_apply_fba_offers(self, marketplace, stocks, products):
        """Mark the SKUs' offers fulfilled by Amazon and store their quantities; only offers
        whose values differ are written. Returns the offers written."""
        Offer = self.env["commerce.amazon.offer"].sudo()
        Offer.ensure_offers(self, marketplace, products, {sku: stocks[sku].asin for sku in products})
        offers = Offer.search([("backend_id", "=", self.id), ("marketplace_id", "=", marketplace.id),
                               ("seller_sku", "in", list(products))])
        written = Offer.browse()
        now = fields.Datetime.now()
        for offer in offers:
            stock = stocks[offer.seller_sku]
            values = {field: getattr(stock, attribute) for field, attribute in _OFFER_QUANTITIES.items()}
            values["fulfillment_channel"] = "AMAZON"
            if stock.fnsku:
                values["fnsku"] = stock.fnsku
            if stock.asin and not offer.asin:
                values["asin"] = stock.asin
            changed = {field: value for field, value in values.items() if offer[field] != value}
            if changed:
                offer.write(dict(changed, fba_update_date=now))
                written |= offer
        return written

    def _amazon_apply_fba_quantities(self, location, stocks, products):
        """Set each product's on-hand quantity in ``location`` (children included) to its
        fulfillable units through an inventory adjustment; products already right are left
        alone. Several SKUs of one product add up. Returns the adjusted quants."""
        target = {}
        for sku, product in products.items():
            target[product] = target.get(product, 0) + stocks[sku].fulfillable
        Quant = self.env["stock.quant"].sudo()
        on_hand = {product.id: quantity for product, quantity in Quant._read_group(
            [("product_id", "in", [p.id for p in target]), ("location_id", "child_of", location.id)],
            ["product_id"], ["quantity:sum"])}
        counted = []
        for product, fulfillable in target.items():
            current = on_hand.get(product.id, 0.0)
            if float_compare(current, fulfillable, precision_rounding=product.uom_id.rounding):
                counted.append((product, fulfillable - current))
        if not counted:
            return Quant
        # The quant of the location itself absorbs the difference (child locations keep theirs).
        own = {quant.product_id.id: quant.quantity for quant in Quant.search(
            [("product_id", "in", [p.id for p, _delta in counted]), ("location_id", "=", location.id),
             ("lot_id", "=", False), ("package_id", "=", False), ("owner_id", "=", False)])}
        quants = Quant.with_context(inventory_mode=True).create([{
            "product_id": product.id, "location_id": location.id,
            "inventory_quantity": own.get(product.id, 0.0) + delta,
        } for product, delta in counted])
        quants.with_context(inventory_name="Amazon FBA stock")._apply_inventory()
        return quants


def _handle_fba_import(job):
    return job.backend_id._amazon_import_fba_stock()


register(FBA_IMPORT_JOB, _handle_fba_import)
