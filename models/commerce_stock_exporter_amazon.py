from odoo import api, models

from ..channels.amazon import const

FEED_DELAY_PARAM = "commerce_connector.amazon_feed_delay"
# createFeed allows one call per two minutes once its burst is spent: a window of that length
# turns any stream of stock changes into at most one feed per window and marketplace.
DEFAULT_FEED_DELAY = 120


class CommerceStockExporter(models.AbstractModel):
    """Amazon's stock export window: as long as the sustained createFeed rate allows."""

    _inherit = "commerce.stock.exporter"

    @api.model
    def schedule_export(self, backend, delay=None):
        if delay is None and backend.channel == const.CHANNEL:
            delay = self._amazon_feed_delay()
        return super().schedule_export(backend, delay=delay)

    @api.model
    def _amazon_feed_delay(self):
        raw = self.env["ir.config_parameter"].sudo().get_param(FEED_DELAY_PARAM)
        try:
            return max(0, int(raw)) if raw else DEFAULT_FEED_DELAY
        except ValueError:
            return DEFAULT_FEED_DELAY
