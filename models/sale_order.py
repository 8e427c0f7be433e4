from odoo import models

from .commerce_backend_export import FLOW_ORDER_VOID


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def _commerce_export_cancellation(self):
        """Automation "cancelled sale order": void the order on the channels it came from.

        A cancel the channel itself sent (order.cancelled) runs under that backend's job
        context and is not sent back."""
        Backend = self.env["commerce.backend"]
        Binding = self.env["commerce.binding"]
        Job = self.env["commerce.job"]
        jobs = Job
        for order in self.filtered(lambda o: o.state == "cancel"):
            for backend in Backend._commerce_bound_backends(order, FLOW_ORDER_VOID):
                external_id = Binding.lookup_external(backend, order)
                jobs |= Job.enqueue(backend, backend._commerce_export_job_type(FLOW_ORDER_VOID),
                                    payload={"sale_order_id": order.id}, idempotency_key=f"void:{external_id}",
                                    res_model="sale.order", res_id=order.id)
        return jobs
