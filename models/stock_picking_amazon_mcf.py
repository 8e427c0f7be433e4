from odoo import fields, models

from ..channels.amazon import const
from ..channels.amazon.fulfillment import FINAL_STATUSES
from ..core.outbound import IMPORT_BACKEND_CONTEXT_KEY

MCF_CREATE_JOB = "amazon.mcf.create"
MCF_CANCEL_JOB = "amazon.mcf.cancel"
MCF_STATUSES = [
    ("New", "New"), ("Received", "Received"), ("Planning", "Planning"), ("Processing", "Processing"),
    ("Cancelled", "Cancelled"), ("Complete", "Complete"), ("CompletePartialled", "Partly complete"),
    ("Unfulfillable", "Unfulfillable"), ("Invalid", "Invalid"),
]


class StockPicking(models.Model):
    """Amazon Multi-Channel Fulfilment of a delivery from an FBA warehouse: Amazon ships it.

    A backorder Odoo creates for what Amazon has not shipped yet carries the same fulfilment
    order; the packages listed on each delivery are the ones it was validated with.
    """

    _inherit = "stock.picking"

    amazon_mcf_backend_id = fields.Many2one(
        "commerce.backend", string="MCF Backend", copy=False, readonly=True, index="btree_not_null",
        help="The Amazon backend whose fulfilment network ships this delivery.")
    amazon_mcf_order_id = fields.Char(
        string="MCF Order ID", copy=False, readonly=True, index="btree_not_null",
        help="Seller fulfillment order ID at Amazon (the name of the first delivery of the order).")
    amazon_mcf_status = fields.Selection(MCF_STATUSES, string="MCF Status", copy=False, readonly=True)
    amazon_mcf_error = fields.Text(string="MCF Last Error", copy=False, readonly=True)
    amazon_mcf_packages = fields.Char(
        string="Amazon Packages", copy=False, readonly=True,
        help="Amazon package numbers this delivery was validated with.")
    amazon_mcf_carrier = fields.Char(string="Amazon Carrier", copy=False, readonly=True,
                                     help="The carrier Amazon shipped the package with.")

    def _amazon_mcf_request(self):
        """Server action (also run by the automation when a delivery is ready): one
        createFulfillmentOrder job per outgoing delivery of an Amazon backend's FBA warehouse,
        keyed by the delivery's name so it never asks Amazon twice."""
        Job = self.env["commerce.job"]
        Binding = self.env["commerce.binding"].sudo()
        backends = self.env["commerce.backend"].sudo().search([
            ("channel", "=", const.CHANNEL), ("amazon_fba_warehouse_id", "!=", False), ("state", "!=", "disabled")])
        by_warehouse = {backend.amazon_fba_warehouse_id.id: backend for backend in backends}
        echo_backend_id = self.env.context.get(IMPORT_BACKEND_CONTEXT_KEY)
        jobs = Job
        for picking in self.filtered(lambda p: p.state == "assigned" and p.picking_type_code == "outgoing"
                                     and not p.amazon_mcf_order_id):
            backend = by_warehouse.get(picking.picking_type_id.warehouse_id.id)
            # The backend's own jobs (a backorder of what Amazon is still shipping) and the
            # backend's own FBA orders, which Amazon ships anyway, never become MCF orders.
            if (not backend or backend.id == echo_backend_id or picking.backorder_id.amazon_mcf_order_id
                    or (picking.sale_id and Binding.lookup_external(backend, picking.sale_id))):
                continue
            jobs |= Job.enqueue(backend, MCF_CREATE_JOB, payload={"picking_id": picking.id},
                                idempotency_key=picking.name, res_model="stock.picking", res_id=picking.id)
        return jobs

    def _amazon_mcf_cancel(self):
        """Server action (automation when an MCF delivery is cancelled in Odoo): ask Amazon to
        cancel the fulfilment order while it still can."""
        Job = self.env["commerce.job"]
        echo_backend_id = self.env.context.get(IMPORT_BACKEND_CONTEXT_KEY)
        jobs = Job
        for picking in self.filtered(lambda p: p.state == "cancel" and p.amazon_mcf_order_id
                                     and p.amazon_mcf_status not in FINAL_STATUSES):
            backend = picking.amazon_mcf_backend_id
            if backend.id == echo_backend_id:
                continue
            jobs |= Job.enqueue(backend, MCF_CANCEL_JOB, payload={"picking_id": picking.id},
                                idempotency_key=f"{picking.name}:cancel", res_model="stock.picking",
                                res_id=picking.id)
        return jobs
