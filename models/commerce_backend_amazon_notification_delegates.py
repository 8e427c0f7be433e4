from odoo import models

from ..channels.amazon import notifications as sp_notifications
from ..core.job_registry import register
from .commerce_backend_amazon_fba_stock import FBA_IMPORT_JOB
from .commerce_backend_amazon_inventory_feed import FEED_POLL_JOB
from .commerce_backend_amazon_mcf import MCF_STATUS_JOB
from .commerce_backend_amazon_notifications import DELEGATE_SUFFIX
from .commerce_backend_amazon_settlement import SETTLEMENT_POLL_JOB

SETTLEMENT_REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"


class CommerceBackend(models.Model):
    """Notifications other than ORDER_CHANGE act now through the job their polling cron would
    queue later: the same handler, so a notification and the cron never do the work twice
    (each queues nothing while such a job is already waiting)."""

    _inherit = "commerce.backend"

    def _amazon_queue_once(self, job_type, payload, res_model=False, res_id=False):
        """Queue ``job_type`` for this backend unless one is already waiting; the job, or False."""
        self.ensure_one()
        Job = self.env["commerce.job"]
        domain = [("backend_id", "=", self.id), ("job_type", "=", job_type), ("state", "in", ("pending", "started"))]
        if res_model:
            domain += [("res_model", "=", res_model), ("res_id", "=", res_id)]
        if Job.search_count(domain):
            return False
        return Job.enqueue(self, job_type, payload=payload, res_model=res_model or None, res_id=res_id or None)

    def _amazon_notified_fulfillment_order(self, job):
        change = sp_notifications.payload_of(self._amazon_notification_of(job), "FulfillmentOrderStatusNotification")
        order_id = change["SellerFulfillmentOrderId"]
        picking = self.env["stock.picking"].sudo().search([
            ("amazon_mcf_backend_id", "=", self.id), ("amazon_mcf_order_id", "=", order_id),
            ("state", "not in", ("done", "cancel"))], limit=1)
        if not picking:
            return {"fulfillment_order": order_id, "skipped": "no open delivery of this fulfilment order"}
        queued = self._amazon_queue_once(MCF_STATUS_JOB, {"fulfillment_order_id": order_id},
                                         "stock.picking", picking.id)
        return {"fulfillment_order": order_id, "status_job": queued.id if queued else "already waiting"}

    def _amazon_notified_feed(self, job):
        finished = sp_notifications.payload_of(self._amazon_notification_of(job), "FeedProcessingFinishedNotification")
        feed = self.env["commerce.amazon.feed"].sudo().search(
            [("backend_id", "=", self.id), ("feed_id", "=", finished["feedId"])], limit=1)
        if not feed:
            return {"feed": finished["feedId"], "skipped": "not a feed this backend submitted"}
        queued = self._amazon_queue_once(FEED_POLL_JOB, {"feed_id": feed.id, "poll": 1}, feed._name, feed.id)
        return {"feed": finished["feedId"], "poll_job": queued.id if queued else "already waiting"}

    def _amazon_notified_report(self, job):
        finished = sp_notifications.payload_of(
            self._amazon_notification_of(job), "ReportProcessingFinishedNotification")
        if finished.get("reportType") != SETTLEMENT_REPORT_TYPE:
            return {"report": finished.get("reportId"), "skipped": f"report type {finished.get('reportType')}"}
        queued = self._amazon_queue_once(SETTLEMENT_POLL_JOB, {})
        return {"report": finished.get("reportId"), "settlement_poll_job": queued.id if queued else "already waiting"}

    def _amazon_notified_fba_inventory(self, job):
        change = self._amazon_notification_of(job).get("Payload") or {}
        if not self.amazon_fba_warehouse_id:
            return {"sku": change.get("SKU"), "skipped": "the backend has no FBA warehouse"}
        queued = self._amazon_queue_once(FBA_IMPORT_JOB, {})
        return {"sku": change.get("SKU"), "fba_import_job": queued.id if queued else "already waiting"}


def _delegate(method):
    def handle(job):
        return getattr(job.backend_id, method)(job)
    return handle


for _kind, _method in (
        (sp_notifications.FULFILLMENT_ORDER_STATUS, "_amazon_notified_fulfillment_order"),
        (sp_notifications.FEED_PROCESSING_FINISHED, "_amazon_notified_feed"),
        (sp_notifications.REPORT_PROCESSING_FINISHED, "_amazon_notified_report"),
        (sp_notifications.FBA_INVENTORY_AVAILABILITY_CHANGES, "_amazon_notified_fba_inventory")):
    register(sp_notifications.job_type_of(_kind) + DELEGATE_SUFFIX, _delegate(_method))
