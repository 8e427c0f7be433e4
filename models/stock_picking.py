from odoo import models

from .commerce_backend_export import FLOW_SHIPMENT


class StockPicking(models.Model):
    _inherit = "stock.picking"

    def _commerce_export_shipment(self):
        """Server action "Send shipment to commerce channels" (also run by the automation when
        a delivery is done): one shipment job per channel order, keyed by the picking name so
        re-running it never ships twice."""
        Backend = self.env["commerce.backend"]
        Job = self.env["commerce.job"]
        deliveries = self.filtered(lambda p: p.state == "done" and p.picking_type_code == "outgoing" and p.sale_id)
        jobs = Job
        for picking in deliveries:
            for backend in Backend._commerce_bound_backends(picking.sale_id, FLOW_SHIPMENT):
                jobs |= Job.enqueue(backend, backend._commerce_export_job_type(FLOW_SHIPMENT),
                                    payload={"picking_id": picking.id}, idempotency_key=picking.name,
                                    res_model="stock.picking", res_id=picking.id)
        return jobs
