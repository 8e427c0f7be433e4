from odoo import models


class StockQuant(models.Model):
    _inherit = "stock.quant"

    def _commerce_publish_stock(self):
        """Server action "Publish stock to commerce channels" (also run by the automation on
        quantity and reservation changes): queue these quants' products for the backends that
        publish their locations. No job work and no network call in the stock transaction."""
        self.env["commerce.stock.exporter"].note_quant_changes(self)
