from odoo import api, fields, models


class CommerceAmazonOffer(models.Model):
    """Stock of an offer: who fulfils it, what was last published for it (merchant-fulfilled)
    and what Amazon holds of it (FBA), and the feed issues Amazon reported on it."""

    _name = "commerce.amazon.offer"
    _inherit = ["commerce.amazon.offer", "commerce.job.linked.mixin"]

    fulfillment_channel = fields.Selection(
        [("MERCHANT", "Merchant (MFN)"), ("AMAZON", "Amazon (FBA)")], string="Fulfilled By",
        default="MERCHANT", required=True,
        help="Only merchant-fulfilled offers get their available quantity from Odoo; FBA offers are set "
             "by the FBA inventory import (sending a merchant quantity would turn them into MFN offers).")
    published_quantity = fields.Integer(readonly=True, help="Quantity of the last inventory feed sent for this offer.")
    published_feed_id = fields.Many2one("commerce.amazon.feed", string="Last Inventory Feed", readonly=True,
                                        ondelete="set null")
    feed_issue = fields.Text(readonly=True, help="Errors Amazon reported for this SKU in the last processed feed.")
    fba_fulfillable_qty = fields.Integer(string="FBA Fulfillable", readonly=True)
    fba_reserved_qty = fields.Integer(string="FBA Reserved", readonly=True)
    fba_inbound_qty = fields.Integer(string="FBA Inbound", readonly=True)
    fba_unfulfillable_qty = fields.Integer(string="FBA Unfulfillable", readonly=True)
    fba_researching_qty = fields.Integer(string="FBA Researching", readonly=True)
    fba_update_date = fields.Datetime(string="FBA Stock Changed On", readonly=True)


    @api.model
    def merchant_offers(self, backend, products):
        """Active merchant-fulfilled offers of ``products`` on ``backend``."""
        return self.sudo().search([("backend_id", "=", backend.id), ("product_id", "in", products.ids),
                                   ("fulfillment_channel", "=", "MERCHANT")])
