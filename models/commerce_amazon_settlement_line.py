from odoo import fields, models


class CommerceAmazonSettlementLine(models.Model):
    """One amount row of an Amazon settlement report, as Amazon wrote it (typed)."""

    _name = "commerce.amazon.settlement.line"
    _description = "Amazon Settlement Line"
    _order = "settlement_id, line_number"
    _rec_name = "amount_description"

    settlement_id = fields.Many2one("commerce.amazon.settlement", required=True, ondelete="cascade", index=True)
    line_number = fields.Integer(help="Line of the report file (1 is the column names).")
    transaction_type = fields.Char(required=True)
    amazon_order_id = fields.Char(string="Amazon Order", index=True)
    merchant_order_id = fields.Char(string="Merchant Order")
    adjustment_id = fields.Char()
    shipment_id = fields.Char()
    marketplace_name = fields.Char(string="Marketplace")
    amount_type = fields.Char(required=True)
    amount_description = fields.Char()
    currency_id = fields.Many2one(related="settlement_id.currency_id")
    amount = fields.Monetary(currency_field="currency_id")
    fulfillment_id = fields.Char(string="Fulfilment", help="AFN (FBA) or MFN")
    posted_date = fields.Date()
    posted_datetime = fields.Datetime(string="Posted At")
    order_item_code = fields.Char(string="Order Item")
    merchant_order_item_id = fields.Char(string="Merchant Order Item")
    merchant_adjustment_item_id = fields.Char(string="Merchant Adjustment Item")
    sku = fields.Char(string="SKU")
    quantity = fields.Integer(string="Quantity Purchased")
    promotion_id = fields.Char(string="Promotion")
