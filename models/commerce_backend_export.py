from odoo import _, api, models
from odoo.exceptions import UserError

from ..core import job_registry
from ..core.outbound import IMPORT_BACKEND_CONTEXT_KEY

# Outbound flows; a channel exports a flow when a handler "<channel>.<flow>" is registered.
FLOW_INVENTORY = "inventory.export"  # the changed products of a backend
FLOW_INVENTORY_ITEMS = "inventory.export.items"  # named products (items refused before)
FLOW_SHIPMENT = "shipment.export"
FLOW_ORDER_VOID = "order.void"
FLOW_PRODUCT = "product.export"


class CommerceBackend(models.Model):
    """Channel-agnostic outbound plumbing: which backends receive a change, and as which job."""

    _inherit = "commerce.backend"

    def _commerce_export_job_type(self, flow):
        """The job type of ``flow`` on this backend's channel, or False when the channel has no
        handler for it (the flow is then simply not exported there)."""
        self.ensure_one()
        job_type = f"{self.channel}.{flow}"
        return job_type if job_registry.get_handler(job_type) else False

    @api.model
    def _commerce_exporting_backends(self, flow):
        """Backends a change of ``flow`` goes to: not disabled, with a handler for the flow,
        and never the backend the change came from (echo suppression). A backend waiting for
        credentials still gets its jobs: they run once it is reconnected."""
        backends = self.sudo().search([("state", "!=", "disabled")])
        echo_backend_id = self.env.context.get(IMPORT_BACKEND_CONTEXT_KEY)
        return backends.filtered(lambda b: b.id != echo_backend_id and b._commerce_export_job_type(flow))

    @api.model
    def _commerce_bound_backends(self, records, flow):
        """Exporting backends of ``flow`` to which one of ``records`` is bound (commerce.binding)."""
        if not records:
            return self.browse()
        bindings = self.env["commerce.binding"].sudo().search(
            [("res_model", "=", records._name), ("res_id", "in", records.ids)])
        return bindings.backend_id & self._commerce_exporting_backends(flow)

    def _commerce_published_locations(self):
        """Internal locations whose stock this backend publishes (``_<channel>_published_locations``)."""
        self.ensure_one()
        method = getattr(self, f"_{self.channel}_published_locations", None)
        return method() if method else self.env["stock.location"]

    def action_commerce_publish_all_stock(self):
        """Queue every storable product with an internal reference for a stock export now:
        the first publication of a new backend, or a resynchronisation."""
        exporter = self.env["commerce.stock.exporter"]
        for backend in self:
            if not backend._commerce_export_job_type(FLOW_INVENTORY):
                raise UserError(_("The %s channel does not publish stock.", backend.channel))
            if not backend._commerce_published_locations():
                raise UserError(_("Choose the published locations of %s first.", backend.name))
            products = self.env["product.product"].sudo().search([
                ("is_storable", "=", True), ("default_code", "!=", False),
                ("company_id", "in", (False, backend.company_id.id))])
            exporter.mark_products_changed(backend, products, delay=0)
        return True
