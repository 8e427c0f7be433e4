from datetime import timedelta

from odoo import api, fields, models

from ..channels.amazon import finances, mapper
from ..core.job_registry import register

FINANCES_POLL_JOB = "amazon.finances.poll"
FINANCES_FLOW = "amazon.finances"
# Amazon may post events of the last 48 hours late: every poll re-reads two days.
FINANCES_OVERLAP_SECONDS = 2 * 86400
FINANCES_FIRST_SYNC_DAYS = 30
# PostedBefore must be two minutes back: the watermark never goes past that.
FINANCES_SETTLE_SECONDS = 180
FINANCES_PAGE_SIZE = 100  # Amazon's maximum; ICP commerce_connector.amazon_finances_page_size


class CommerceBackend(models.Model):
    """Amazon financial events: expected fees and proceeds per order, before the settlement."""

    _inherit = "commerce.backend"

    @api.model
    def _cron_amazon_financial_events(self):
        """Entry point of ir_cron_amazon_financial_events: one poll job per Amazon backend."""
        return self._amazon_enqueue_polls(FINANCES_POLL_JOB)

    def _amazon_poll_financial_events(self):
        """listFinancialEvents since the watermark, page by page; the totals per order go on its sale order.

        Events are keyed by identity, so the overlap re-reads replace instead of adding up.
        """
        self.ensure_one()
        Watermark = self.env["commerce.watermark"]
        now = fields.Datetime.now()
        start = Watermark.get_start(self, FINANCES_FLOW, FINANCES_OVERLAP_SECONDS,
                                    default=now - timedelta(days=FINANCES_FIRST_SYNC_DAYS))
        client = self._amazon_client()
        page_size = int(self.env["ir.config_parameter"].sudo().get_param(
            "commerce_connector.amazon_finances_page_size", FINANCES_PAGE_SIZE))
        per_order, token, pages, count = {}, None, 0, 0
        while True:
            events, token = finances.list_financial_events(client, posted_after=mapper.format_datetime(start),
                                                           next_token=token, page_size=page_size)
            pages += 1
            for kind in finances.EVENT_LISTS:
                for event in events.get(kind) or ():
                    order_id = event.get("AmazonOrderId")
                    if not order_id:
                        continue
                    totals = finances.event_totals(kind, event)
                    per_order.setdefault(order_id, {})[finances.event_key(kind, event)] = {
                        name: str(totals[name]) for name in ("proceeds", "fees", "withheld", "refunds")}
                    count += 1
            if not token:
                break
        bindings = self.env["commerce.binding"].sudo().search([
            ("backend_id", "=", self.id), ("res_model", "=", "sale.order"), ("external_id", "in", list(per_order))])
        orders = {b.external_id: self.env["sale.order"].browse(b.res_id) for b in bindings}
        for order_id, events in per_order.items():
            if order_id in orders:
                orders[order_id]._amazon_add_financial_events(events)
        Watermark.advance(self, FINANCES_FLOW, now - timedelta(seconds=FINANCES_SETTLE_SECONDS), count)
        return {"pages": pages, "events": count, "orders": len(per_order),
                "orders_updated": len([o for o in per_order if o in orders]),
                "orders_unknown": sorted(o for o in per_order if o not in orders)[:50]}


def _handle_poll(job):
    return job.backend_id._amazon_poll_financial_events()


register(FINANCES_POLL_JOB, _handle_poll)
