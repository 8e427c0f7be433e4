from odoo import fields, models

AMAZON_ORDER_TYPES = [("standard", "Standard"), ("prime", "Prime"), ("business", "Business")]


class SaleOrder(models.Model):
    _inherit = "sale.order"

    amazon_marketplace_id = fields.Many2one("commerce.amazon.marketplace", string="Amazon Marketplace",
                                            readonly=True, copy=False)
    amazon_fulfillment_channel = fields.Selection(
        [("merchant", "Merchant (MFN)"), ("marketplace", "Amazon (FBA)")], string="Amazon Fulfillment",
        readonly=True, copy=False)
    amazon_order_type = fields.Selection(
        AMAZON_ORDER_TYPES, readonly=True, copy=False,
        help="Business when the buyer is an Amazon Business customer, else Prime for Prime orders.")
    amazon_programs = fields.Char(readonly=True, copy=False, help="Amazon's programs of the order, e.g. PRIME.")
    amazon_purchase_order_number = fields.Char(string="Buyer PO Number", readonly=True, copy=False)
    amazon_marketplace_tax = fields.Monetary(
        string="Tax Collected by Amazon", readonly=True, copy=False,
        help="Marketplace facilitator tax Amazon collected and remits itself: not part of this order.")


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    amazon_order_item_id = fields.Char(string="Amazon Order Item", readonly=True, copy=False)
    amazon_gift_message = fields.Text(string="Gift Message", readonly=True, copy=False)
