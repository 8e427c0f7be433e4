from odoo import api, fields, models


class CommerceAmazonOffer(models.Model):
    """A seller SKU of an Amazon marketplace and the Odoo product it sells (with ASIN and FNSKU).

    Order import finds products through these first, then by internal reference; an offer
    is created for every SKU an imported order resolved by internal reference.
    """

    _name = "commerce.amazon.offer"
    _description = "Amazon Offer"
    _order = "backend_id, seller_sku, marketplace_id"
    _rec_name = "seller_sku"
    _check_company_auto = True

    backend_id = fields.Many2one("commerce.backend", required=True, ondelete="cascade", index=True,
                                 domain="[('channel', '=', 'amazon')]")
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    marketplace_id = fields.Many2one("commerce.amazon.marketplace", required=True, ondelete="restrict")
    product_id = fields.Many2one("product.product", required=True, ondelete="cascade", index=True,
                                 check_company=True)
    seller_sku = fields.Char(string="Seller SKU", required=True, index=True)
    asin = fields.Char(string="ASIN")
    fnsku = fields.Char(string="FNSKU", help="Fulfillment network SKU: the label of FBA units.")
    active = fields.Boolean(default=True)

    _sql_constraints = [("sku_uniq", "unique(backend_id, seller_sku, marketplace_id)",
                         "This seller SKU already has an offer in this marketplace.")]

    @api.model
    def products_by_sku(self, backend, skus, marketplace=None):
        """{seller SKU: product.product}; an offer of ``marketplace`` wins over another one's."""
        offers = self.sudo().search([("backend_id", "=", backend.id), ("seller_sku", "in", list(skus))])
        found = {}
        for offer in offers.sorted(lambda o: o.marketplace_id == marketplace):
            found[offer.seller_sku] = offer.product_id
        return found

    @api.model
    def ensure_offers(self, backend, marketplace, products, asins=None):
        """Create the missing offers of ``products`` ({sku: product}) in ``marketplace``."""
        asins = asins or {}
        existing = self.sudo().with_context(active_test=False).search([
            ("backend_id", "=", backend.id), ("marketplace_id", "=", marketplace.id),
            ("seller_sku", "in", list(products))]).mapped("seller_sku")
        missing = [sku for sku in products if sku not in existing]
        return self.sudo().create([{
            "backend_id": backend.id, "marketplace_id": marketplace.id, "seller_sku": sku,
            "product_id": products[sku].id, "asin": asins.get(sku) or False,
        } for sku in missing])
