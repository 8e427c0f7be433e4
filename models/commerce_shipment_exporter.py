from odoo import api, models

from ..core.canonical import Shipment
from ..core.errors import BusinessError
from ..core.outbound import shipment_lines


class CommerceShipmentExporter(models.AbstractModel):
    """A done delivery of a channel's order -> canonical Shipment (any channel)."""

    _name = "commerce.shipment.exporter"
    _description = "Commerce Shipment Exporter"

    @api.model
    def shipment_from_picking(self, backend, picking):
        """The Shipment of a done outgoing ``picking`` whose sale order ``backend`` imported.

        Lines are the quantities actually shipped, per SKU, in the product's unit of measure;
        a backorder ships the rest later as a shipment of its own.
        """
        order = picking.sale_id
        external_id = order and self.env["commerce.binding"].lookup_external(backend, order)
        if not external_id:
            raise BusinessError(f"{picking.name}: its sale order is not an order of {backend.name}")
        shipped = []
        for move in picking.move_ids.filtered(lambda m: m.state == "done"):
            product = move.product_id
            if not product.default_code:
                raise BusinessError(f"{picking.name}: {product.display_name} has no internal reference (SKU)")
            shipped.append((product.default_code, move.product_uom._compute_quantity(move.quantity, product.uom_id)))
        return Shipment(
            reference=picking.name,
            order_external_id=external_id,
            carrier=picking.carrier_id.name or "",
            tracking_number=picking.carrier_tracking_ref or "",
            ship_date=picking.date_done,
            lines=shipment_lines(shipped),
        )

    @api.model
    def is_fully_shipped(self, order):
        """True when no delivery of ``order`` is left to ship (and at least one shipped)."""
        deliveries = order.picking_ids.filtered(lambda p: p.picking_type_code == "outgoing")
        return (any(p.state == "done" for p in deliveries)
                and all(p.state in ("done", "cancel") for p in deliveries))
