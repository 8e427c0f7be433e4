from odoo import models

from .commerce_backend_export import FLOW_PRODUCT


class ProductTemplate(models.Model):
    _inherit = "product.template"

    def _commerce_export_product(self):
        """Server action "Send product to commerce channels" (also run by the automation on
        name, sales price and archiving): one upsert job per backend the product or one of
        its variants is bound to. The job reads the product when it runs, so a pending job
        already covers any later change."""
        Backend = self.env["commerce.backend"]
        Job = self.env["commerce.job"]
        jobs = Job
        for template in self:
            variants = template.with_context(active_test=False).product_variant_ids
            backends = (Backend._commerce_bound_backends(template, FLOW_PRODUCT)
                        | Backend._commerce_bound_backends(variants, FLOW_PRODUCT))
            for backend in backends:
                job_type = backend._commerce_export_job_type(FLOW_PRODUCT)
                pending = Job.sudo().search([
                    ("backend_id", "=", backend.id), ("job_type", "=", job_type), ("state", "=", "pending"),
                    ("res_model", "=", "product.template"), ("res_id", "=", template.id)], limit=1)
                jobs |= pending or Job.enqueue(backend, job_type, payload={"product_template_id": template.id},
                                               res_model="product.template", res_id=template.id)
        return jobs
