from collections import defaultdict

from odoo import Command, api, models
from odoo.tools import float_compare

from ..core.errors import BusinessError, TransientError


class CommerceReturnImporter(models.AbstractModel):
    """Canonical returns and refunds from any channel -> return pickings and credit notes.

    A return creates the return picking of the delivered goods (the warehouse validates it on
    receipt); a refund creates a draft credit note whose total must match the channel's refund
    amount. The return key is bound to what was created, so a replayed event does nothing.
    """

    _name = "commerce.return.importer"
    _description = "Commerce Return Importer"

    @api.model
    def _sale_order(self, backend, order_return):
        sale_order = self.env["commerce.binding"].lookup(backend, "sale.order", order_return.order_external_id)
        if not sale_order:
            # Events arrive out of order: the order's own import may still be queued.
            raise TransientError(f"order {order_return.order_external_id} is not imported yet", retry_after=300)
        return sale_order

    @api.model
    def _quantities(self, backend, sale_order, order_return):
        """product -> quantity, from the return's SKU lines (matched on the order's lines)."""
        order_products = sale_order.order_line.product_id
        wanted = defaultdict(float)
        for line in order_return.lines:
            product = self.env["commerce.binding"].lookup_product(backend, line.sku)
            if not product or product not in order_products:
                raise BusinessError(f"return {order_return.external_id}: SKU {line.sku} is not on order {sale_order.name}")
            wanted[product] += line.quantity
        return wanted

    @api.model
    def import_return(self, backend, order_return):
        """Create the return picking for an ``order.returned`` event; return it."""
        Binding = self.env["commerce.binding"]
        existing = Binding.lookup(backend, "stock.picking", order_return.external_id)
        if existing:
            return existing
        sale_order = self._sale_order(backend, order_return)
        wanted = self._quantities(backend, sale_order, order_return)
        deliveries = sale_order.picking_ids.filtered(
            lambda p: p.state == "done" and p.picking_type_code == "outgoing")
        if not deliveries:
            raise BusinessError(f"return {order_return.external_id}: nothing of {sale_order.name} was delivered yet")
        delivery = deliveries.sorted("date_done")[-1]
        wizard = self.env["stock.return.picking"].with_context(
            active_model="stock.picking", active_id=delivery.id, active_ids=delivery.ids).create(
            {"picking_id": delivery.id})
        for line in wizard.product_return_moves:
            line.quantity = min(wanted.pop(line.product_id, 0.0), line.move_quantity or line.quantity)
        if any(qty > 0 for qty in wanted.values()):
            names = ", ".join(p.display_name for p, q in wanted.items() if q > 0)
            raise BusinessError(f"return {order_return.external_id}: {names} not in delivery {delivery.name}")
        picking = self.env["stock.picking"].browse(wizard.action_create_returns()["res_id"])
        picking.origin = f"{order_return.external_id} ({sale_order.name})"
        Binding.bind(backend, picking, order_return.external_id)
        return picking

    @api.model
    def import_refund(self, backend, order_return):
        """Create a draft credit note for an ``order.refunded`` event; return it."""
        Binding = self.env["commerce.binding"]
        existing = Binding.lookup(backend, "account.move", order_return.external_id)
        if existing:
            return existing
        sale_order = self._sale_order(backend, order_return)
        lines = []
        if order_return.lines:
            for product, quantity in self._quantities(backend, sale_order, order_return).items():
                sale_line = sale_order.order_line.filtered(lambda l: l.product_id == product)[:1]
                lines.append(Command.create({
                    "product_id": product.id,
                    "quantity": quantity,
                    "price_unit": sale_line.price_unit,
                    "tax_ids": [Command.set(sale_line.tax_id.ids)],
                    "sale_line_ids": [Command.link(sale_line.id)],
                }))
        else:
            product = backend.fee_product_id or self.env.ref("commerce_connector.product_commerce_fee")
            lines.append(Command.create({"product_id": product.id, "name": f"Refund {order_return.external_id}",
                                         "quantity": 1, "price_unit": order_return.refund_amount,
                                         "tax_ids": [Command.clear()]}))
        credit_note = self.env["account.move"].with_context(default_move_type="out_refund").create({
            "move_type": "out_refund",
            "partner_id": sale_order.partner_invoice_id.id,
            "currency_id": sale_order.currency_id.id,
            "invoice_origin": sale_order.name,
            "ref": order_return.external_id,
            "company_id": sale_order.company_id.id,
            "invoice_line_ids": lines,
        })
        digits = credit_note.currency_id.decimal_places
        if order_return.refund_amount and float_compare(credit_note.amount_total, order_return.refund_amount,
                                                        precision_digits=digits):
            raise BusinessError(
                f"refund {order_return.external_id}: Odoo computes {credit_note.amount_total:.{digits}f}, the channel "
                f"refunded {order_return.refund_amount:.{digits}f}; check the returned quantities and taxes")
        Binding.bind(backend, credit_note, order_return.external_id)
        return credit_note
