from odoo import fields, models


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    amazon_settlement_order_id = fields.Char(
        string="Amazon Order (Settlement)", index="btree_not_null", copy=False, readonly=True,
        help="On a settlement entry's order receivable: the AmazonOrderId it settles.")
