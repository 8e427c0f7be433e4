from odoo import fields, models


class CommerceStockChange(models.Model):
    """A product whose stock changed and is not yet published to a backend.

    Rows are inserted when a stock transaction commits and deleted by the backend's stock
    export job once it has sent them, so a burst of moves becomes one export. Rows are plain
    inserts (a product can appear several times): a unique key would make concurrent stock
    transactions wait for, or conflict with, each other.
    """

    _name = "commerce.stock.change"
    _description = "Commerce Stock Change to Publish"
    _order = "id"
    _log_access = False

    backend_id = fields.Many2one("commerce.backend", required=True, ondelete="cascade", index=True)
    product_id = fields.Many2one("product.product", required=True, ondelete="cascade", index=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, string="Changed On")
