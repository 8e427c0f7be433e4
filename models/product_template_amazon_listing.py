from odoo import _, models
from odoo.exceptions import AccessError, UserError

from ..channels.amazon import const
from .commerce_amazon_offer_listing import LISTING_JOB


class ProductTemplate(models.Model):
    _inherit = "product.template"

    def action_amazon_publish_listings(self):
        """Server action "Publish on Amazon" (managers): one listing job per variant SKU and
        marketplace of every Amazon backend with product export mappings. The job reads the
        product when it runs, so a pending job already covers any later change."""
        if not self.env.user.has_group("commerce_connector.group_commerce_manager"):
            raise AccessError(_("Only Commerce managers can publish listings."))
        Mapping = self.env["commerce.field.mapping"].sudo()
        backends = self.env["commerce.backend"].sudo().search([("channel", "=", const.CHANNEL),
                                                               ("state", "!=", "disabled")])
        backends = backends.filtered(lambda b: Mapping.search_count([
            ("backend_id", "=", b.id), ("direction", "=", "export"), ("model_name", "=", "product.template")]))
        if not backends:
            raise UserError(_("No Amazon backend has product export mappings: map at least the product type."))
        variants = self.product_variant_ids.filtered("default_code")
        if not variants:
            raise UserError(_("Give the products an internal reference: it is their seller SKU."))
        Offer = self.env["commerce.amazon.offer"].sudo()
        Job = self.env["commerce.job"].sudo()
        jobs = Job
        for backend in backends:
            for marketplace in backend.amazon_marketplace_ids:
                Offer.ensure_offers(backend, marketplace, {v.default_code: v for v in variants})
                offers = Offer.search([("backend_id", "=", backend.id), ("marketplace_id", "=", marketplace.id),
                                       ("product_id", "in", variants.ids)])
                for offer in offers:
                    pending = Job.search([("backend_id", "=", backend.id), ("job_type", "=", LISTING_JOB),
                                          ("state", "=", "pending"), ("res_model", "=", offer._name),
                                          ("res_id", "=", offer.id)], limit=1)
                    jobs |= pending or Job.enqueue(backend, LISTING_JOB, payload={"offer_id": offer.id},
                                                   res_model=offer._name, res_id=offer.id)
        return jobs

