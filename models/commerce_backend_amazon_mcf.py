import json

from odoo import api, models

from ..channels.amazon import fulfillment
from ..core.canonical import Address, FulfillmentRequest
from ..core.errors import BusinessError, PayloadValidationError, TransientError
from ..core.job_registry import register
from ..core.outbound import shipment_lines
from .stock_picking_amazon_mcf import MCF_CANCEL_JOB, MCF_CREATE_JOB

MCF_STATUS_JOB = "amazon.mcf.status"
MCF_UNFULFILLABLE_JOB = "amazon.mcf.unfulfillable"


class CommerceBackend(models.Model):
    """Amazon Multi-Channel Fulfilment: Amazon ships deliveries of the FBA warehouse that
    belong to orders of other channels, and its packages validate them in Odoo."""

    _inherit = "commerce.backend"

    # -- create ----------------------------------------------------------------------------
    def _amazon_mcf_create(self, picking):
        self.ensure_one()
        if picking.state in ("done", "cancel"):
            return {"skipped": f"{picking.name} is {picking.state}"}
        if picking.amazon_mcf_order_id:
            return {"skipped": f"{picking.name} is already fulfilment order {picking.amazon_mcf_order_id}"}
        request = self._amazon_mcf_fulfillment_request(picking)
        marketplace = self._amazon_mcf_marketplace(request.address.country_code)
        body = fulfillment.fulfillment_order_body(request, marketplace.code)
        client = self._amazon_client(marketplace)
        # A retry after a lost answer finds the order Amazon already created.
        payload = fulfillment.find_fulfillment_order(client, request.reference)
        if payload is None:
            fulfillment.create_fulfillment_order(client, body)
            payload = fulfillment.find_fulfillment_order(client, request.reference)
            if payload is None:
                raise TransientError(f"Amazon accepted fulfillment order {request.reference} but does not list it yet")
        state = fulfillment.fulfillment_state(payload)
        picking.write({"amazon_mcf_backend_id": self.id, "amazon_mcf_order_id": request.reference,
                       "amazon_mcf_status": state.status, "amazon_mcf_error": False})
        return {"fulfillment_order": request.reference, "status": state.status,
                "shipping_speed": request.shipping_speed, "marketplace": marketplace.code}

    def _amazon_mcf_fulfillment_request(self, picking):
        """The canonical request of ``picking``; BusinessError on what a human must fix first."""
        shipped = []
        for move in picking.move_ids.filtered(lambda m: m.state != "cancel"):
            product = move.product_id
            sku = self._amazon_mcf_seller_sku(product)
            if not sku:
                raise BusinessError(f"{picking.name}: {product.display_name} has no internal reference (SKU)")
            shipped.append((sku, move.product_uom._compute_quantity(move.product_uom_qty, product.uom_id)))
        partner = picking.partner_id
        if not partner:
            raise BusinessError(f"{picking.name}: the delivery has no address")
        carrier = picking.carrier_id or picking.sale_id.carrier_id
        speed = self.env["commerce.value.map"].lookup(self, "shipping_speed", carrier.name or "") \
            or fulfillment.DEFAULT_SHIPPING_SPEED
        order = picking.sale_id
        displayed = order.origin or order.name or picking.origin or picking.name
        return FulfillmentRequest(
            reference=picking.name,
            displayable_reference=displayed,
            order_date=order.date_order or picking.scheduled_date,
            address=Address(
                name=partner.name or "", company=partner.parent_id.name or "", street=partner.street or "",
                street2=partner.street2 or "", city=partner.city or "", state_code=partner.state_id.code or "",
                zip=partner.zip or "", country_code=partner.country_id.code or "",
                phone=partner.phone or partner.mobile or ""),
            shipping_speed=speed,
            lines=shipment_lines(shipped),
            comment=f"Thank you for your order {displayed}.",
        )

    def _amazon_mcf_seller_sku(self, product):
        offer = self.env["commerce.amazon.offer"].sudo().search(
            [("backend_id", "=", self.id), ("product_id", "=", product.id)], limit=1)
        return offer.seller_sku or product.default_code

    def _amazon_mcf_marketplace(self, country_code):
        """The backend's marketplace of the destination country, else its first one."""
        marketplaces = self.amazon_marketplace_ids
        return marketplaces.filtered(lambda m: m.country_id.code == country_code)[:1] or marketplaces[:1]

    # -- status ----------------------------------------------------------------------------
    @api.model
    def _cron_amazon_mcf_status(self):
        """Entry point of ir_cron_amazon_mcf_status: one status job per open fulfilment order."""
        Job = self.env["commerce.job"]
        pickings = self.env["stock.picking"].sudo().search([
            ("amazon_mcf_order_id", "!=", False), ("state", "not in", ("done", "cancel")),
            ("amazon_mcf_status", "not in", fulfillment.FINAL_STATUSES),
            ("amazon_mcf_backend_id.state", "not in", ("auth_failed", "disabled"))])
        queued = 0
        for key in {(p.amazon_mcf_backend_id, p.amazon_mcf_order_id) for p in pickings}:
            backend, order_id = key
            open_pickings = pickings.filtered(lambda p: (p.amazon_mcf_backend_id, p.amazon_mcf_order_id) == key)
            waiting = Job.search_count([
                ("backend_id", "=", backend.id), ("job_type", "=", MCF_STATUS_JOB),
                ("state", "in", ("pending", "started")), ("res_model", "=", "stock.picking"),
                ("res_id", "in", open_pickings.ids)])
            if not waiting:
                Job.enqueue(backend, MCF_STATUS_JOB, payload={"fulfillment_order_id": order_id},
                            res_model="stock.picking", res_id=open_pickings[0].id)
                queued += 1
        return queued

    def _amazon_mcf_pickings(self, order_id):
        return self.env["stock.picking"].search(
            [("amazon_mcf_backend_id", "=", self.id), ("amazon_mcf_order_id", "=", order_id)], order="id")

    def _amazon_mcf_sync_status(self, order_id):
        """Apply getFulfillmentOrder: each newly shipped package validates the open delivery
        with its quantities, carrier and tracking number (a backorder keeps the rest)."""
        self.ensure_one()
        pickings = self._amazon_mcf_pickings(order_id)
        if not pickings:
            raise BusinessError(f"no delivery is fulfilment order {order_id}")
        client = self._amazon_client(self._amazon_mcf_marketplace(pickings[0].partner_id.country_id.code))
        state = fulfillment.fulfillment_state(fulfillment.get_fulfillment_order(client, order_id))
        applied = {number for p in pickings for number in (p.amazon_mcf_packages or "").split(",") if number}
        validated = []
        for package in sorted(state.packages, key=lambda p: int(p.reference)):
            if package.reference in applied:
                continue
            fulfillment.apply_tracking(package, fulfillment.get_package_tracking_details(client, package.reference))
            picking = self._amazon_mcf_pickings(order_id).filtered(lambda p: p.state not in ("done", "cancel"))[:1]
            if not picking:
                raise BusinessError(f"Amazon shipped package {package.reference} of {order_id}, but no delivery of "
                                    "it is left open in Odoo")
            self._amazon_mcf_deliver(picking, package, state.status)
            validated.append(picking.name)
        pickings = self._amazon_mcf_pickings(order_id)
        pickings.write({"amazon_mcf_status": state.status, "amazon_mcf_error": state.reason or False})
        if state.status in fulfillment.UNFULFILLABLE_STATUSES or state.unfulfilled:
            open_picking = pickings.filtered(lambda p: p.state not in ("done", "cancel"))[:1] or pickings[-1]
            self.env["commerce.job"].enqueue(self, MCF_UNFULFILLABLE_JOB, payload={"fulfillment_order_id": order_id},
                                             idempotency_key=order_id, res_model="stock.picking",
                                             res_id=open_picking.id)
        return {"fulfillment_order": order_id, "status": state.status, "validated": validated}

    def _amazon_mcf_deliver(self, picking, package, status):
        """Validate ``picking`` with what ``package`` holds; what is left goes to a backorder."""
        products = {}
        for move in picking.move_ids:
            products.setdefault(self._amazon_mcf_seller_sku(move.product_id), move.product_id)
        left = {}
        for line in package.lines:
            product = products.get(line.sku)
            if not product:
                raise BusinessError(f"Amazon package {package.reference} holds {line.sku}, which {picking.name} "
                                    "does not deliver")
            left[product] = left.get(product, 0.0) + line.quantity
        for move in picking.move_ids.filtered(lambda m: m.state not in ("done", "cancel")):
            product = move.product_id
            wanted = product.uom_id._compute_quantity(left.get(product, 0.0), move.product_uom)
            quantity = min(move.product_uom_qty, wanted)
            move.quantity = quantity
            move.picked = bool(quantity)
            left[product] = left.get(product, 0.0) - move.product_uom._compute_quantity(quantity, product.uom_id)
        carrier = self.env["commerce.value.map"].lookup(self, "carrier", package.carrier) \
            or self.env["delivery.carrier"].search([("name", "=ilike", package.carrier)], limit=1)
        values = {"carrier_tracking_ref": package.tracking_number, "amazon_mcf_carrier": package.carrier,
                  "amazon_mcf_packages": package.reference}
        if carrier:
            values["carrier_id"] = carrier.id
        picking.write(values)
        # skip_backorder: what Amazon has not shipped yet stays open as a backorder.
        picking.with_context(skip_backorder=True, skip_sms=True).button_validate()
        if picking.state != "done":
            raise BusinessError(f"{picking.name} could not be validated for Amazon package {package.reference}")
        if package.ship_date:
            picking.date_done = package.ship_date
        picking.backorder_ids.write({"amazon_mcf_backend_id": self.id, "amazon_mcf_order_id": picking.amazon_mcf_order_id,
                                     "amazon_mcf_status": status})

    def _amazon_mcf_check_unfulfillable(self, order_id):
        """A business failure, with Amazon's reason, while Amazon reports what it cannot ship."""
        self.ensure_one()
        pickings = self._amazon_mcf_pickings(order_id)
        client = self._amazon_client(self._amazon_mcf_marketplace(pickings[:1].partner_id.country_id.code))
        state = fulfillment.fulfillment_state(fulfillment.get_fulfillment_order(client, order_id))
        if state.status in fulfillment.UNFULFILLABLE_STATUSES or state.unfulfilled:
            lines = ", ".join(f"{line.quantity:g} × {line.sku}" for line in state.unfulfilled)
            raise BusinessError(f"Amazon cannot fulfil {order_id} ({state.status}"
                                f"{': ' + lines if lines else ''}): {state.reason}")
        return {"fulfillment_order": order_id, "status": state.status}

    # -- cancel ----------------------------------------------------------------------------
    def _amazon_mcf_cancel(self, picking):
        """cancelFulfillmentOrder while Amazon allows it (before Processing); else a business failure."""
        self.ensure_one()
        order_id = picking.amazon_mcf_order_id
        client = self._amazon_client(self._amazon_mcf_marketplace(picking.partner_id.country_id.code))
        payload = fulfillment.find_fulfillment_order(client, order_id)
        if payload is None:
            raise BusinessError(f"Amazon has no fulfillment order {order_id} to cancel")
        status = fulfillment.fulfillment_state(payload).status
        if status not in (fulfillment.CANCELLED_STATUS, *fulfillment.CANCELLABLE_STATUSES):
            raise BusinessError(f"Amazon can no longer cancel fulfillment order {order_id}: it is {status}, "
                                "so its units ship anyway")
        if status != fulfillment.CANCELLED_STATUS:
            try:
                fulfillment.cancel_fulfillment_order(client, order_id)
            except PayloadValidationError as error:  # picking started since we read the status
                raise BusinessError(f"Amazon refused to cancel fulfillment order {order_id}: {error.message}") from None
            status = fulfillment.fulfillment_state(fulfillment.get_fulfillment_order(client, order_id)).status
        self._amazon_mcf_pickings(order_id).write({"amazon_mcf_status": status, "amazon_mcf_error": False})
        return {"fulfillment_order": order_id, "status": status}


def _payload(job, key):
    try:
        payload = json.loads(job.payload or "")
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or not payload.get(key):
        raise PayloadValidationError(f'the payload needs {{"{key}": ...}}')
    return payload[key]


def _picking(job):
    picking = job.env["stock.picking"].browse(int(_payload(job, "picking_id"))).exists()
    if not picking:
        raise BusinessError("the delivery no longer exists")
    return picking


def _handle_create(job):
    return job.backend_id._amazon_mcf_create(_picking(job))


def _handle_status(job):
    return job.backend_id._amazon_mcf_sync_status(_payload(job, "fulfillment_order_id"))


def _handle_unfulfillable(job):
    return job.backend_id._amazon_mcf_check_unfulfillable(_payload(job, "fulfillment_order_id"))


def _handle_cancel(job):
    return job.backend_id._amazon_mcf_cancel(_picking(job))


register(MCF_CREATE_JOB, _handle_create)
register(MCF_STATUS_JOB, _handle_status)
register(MCF_UNFULFILLABLE_JOB, _handle_unfulfillable)
register(MCF_CANCEL_JOB, _handle_cancel)
