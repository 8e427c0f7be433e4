from odoo import models

from ..channels.amazon import shipping
from ..core.errors import BusinessError, PayloadValidationError
from ..core.job_registry import register
from .commerce_backend_clarity_export import _payload_id
from .commerce_backend_export import FLOW_SHIPMENT


class CommerceBackend(models.Model):
    """Amazon outbound flows: shipments of merchant-fulfilled orders (confirmShipment)."""

    _inherit = "commerce.backend"

    def _amazon_export_shipment(self, job):
        """Confirm a done delivery of an MFN order to Amazon as one package.

        The package reference is the picking's id: a retried job, or a re-run of the server
        action, never confirms the same delivery twice, and a backorder is a package of its
        own. FBA orders are Amazon's to ship: nothing is sent.
        """
        self.ensure_one()
        picking = self.env["stock.picking"].browse(_payload_id(job, "picking_id")).exists()
        if not picking:
            raise PayloadValidationError("the delivery of this job no longer exists")
        order = picking.sale_id
        if order.amazon_fulfillment_channel == "marketplace":
            return {"picking": picking.name, "skipped": "fulfilled by Amazon (FBA): Amazon ships and confirms it"}
        if not order.amazon_marketplace_id:
            raise BusinessError(f"{picking.name}: {order.name} has no Amazon marketplace")
        shipment = self.env["commerce.shipment.exporter"].shipment_from_picking(self, picking)
        if not shipment.lines:
            return {"picking": picking.name, "skipped": "nothing was shipped"}
        carrier_code = self._amazon_carrier_code(picking.carrier_id)
        detail = shipping.package_detail(
            shipment, self._amazon_open_order_items(picking), package_reference_id=picking.id,
            carrier_code=carrier_code, carrier_name=picking.carrier_id.name or "")
        client = self._amazon_client(order.amazon_marketplace_id)
        outcome = shipping.confirm_package(client, shipment.order_external_id, detail)
        return {"picking": picking.name, "order": shipment.order_external_id, "outcome": outcome,
                "package_reference_id": detail["packageReferenceId"], "carrier_code": detail["carrierCode"],
                "tracking_number": detail["trackingNumber"], "items": detail["orderItems"]}

    def _amazon_carrier_code(self, carrier):
        """Amazon's carrier code of an Odoo carrier: the value map of kind ``carrier`` whose record
        is ``carrier`` (external value = Amazon's code), None when unmapped."""
        if not carrier:
            return None
        entry = self.env["commerce.value.map"].sudo().search([
            ("backend_id", "=", self.id), ("kind", "=", "carrier"),
            ("odoo_record", "=", f"{carrier._name},{carrier.id}")], limit=1)
        return entry.external_value or None

    def _amazon_open_order_items(self, picking):
        """``[(sku, orderItemId, units left to ship)]`` of the picking's order: ordered, less what
        its other done deliveries shipped (Amazon's unshipped quantity once they are confirmed)."""
        items = []
        for line in picking.sale_id.order_line.filtered(lambda l: l.amazon_order_item_id and l.product_id.default_code):
            product = line.product_id
            shipped_elsewhere = sum(
                move.product_uom._compute_quantity(move.quantity, product.uom_id)
                for move in line.move_ids
                if move.state == "done" and move.picking_code == "outgoing" and move.picking_id != picking)
            ordered = line.product_uom._compute_quantity(line.product_uom_qty, product.uom_id)
            items.append((product.default_code, line.amazon_order_item_id, ordered - shipped_elsewhere))
        return items


def _handle_shipment_export(job):
    return job.backend_id._amazon_export_shipment(job)


register(f"amazon.{FLOW_SHIPMENT}", _handle_shipment_export)
