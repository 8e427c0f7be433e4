import logging

from odoo import Command, api, models
from odoo.tools import float_compare, float_round

from ..core.errors import BusinessError, PayloadValidationError

_logger = logging.getLogger(__name__)


class CommerceOrderImporter(models.AbstractModel):
    """Canonical orders from any channel -> sale.order (one importer for every channel).

    An order is created whole or not at all: everything is checked first (currency, SKUs,
    addresses), and a total that differs from the channel's by a cent or more refuses the
    order for review instead of importing a wrong one.
    """

    _name = "commerce.order.importer"
    _description = "Commerce Order Importer"

    # -- entry points ----------------------------------------------------------------------
    @api.model
    def import_order(self, backend, order, confirm=False):
        """Create (or find) the sale order of a canonical Order; return ``(sale_order, created)``."""
        Binding = self.env["commerce.binding"]
        existing = Binding.lookup(backend, "sale.order", order.external_id)
        if existing:
            return existing, False
        currency = self._currency(order.currency or backend.currency_id.name)
        products = self._products(backend, order.skus)
        partner = self.env["commerce.partner.importer"].import_customer(backend, order.customer, update_existing=False)
        importer = self.env["commerce.partner.importer"]
        invoice_partner = importer.address_partner(partner, order.billing, "invoice")
        shipping_partner = importer.address_partner(partner, order.shipping, "delivery")
        values = self._order_values(backend, order, currency, partner, invoice_partner, shipping_partner)
        values["order_line"] = [Command.create(vals) for vals in
                                self._line_values(backend, order, products, shipping_partner, currency)]
        routing_rule = self.env["commerce.routing.rule"]._route(backend, order, products, values)
        sale_order = self.env["sale.order"].with_context(tracking_disable=True, mail_create_nolog=True).create(values)
        if order.tax_rounding_tolerance:
            self._add_tax_rounding_line(backend, sale_order, order)
        self._check_total(sale_order, order)
        Binding.bind(backend, sale_order, order.external_id, external_date=order.updated_at)
        sale_order._commerce_check_anomalies(backend)
        routing_rule._on_order_created(backend, sale_order)
        if confirm and not sale_order.commerce_on_hold:
            sale_order.action_confirm()
        return sale_order, True

    @api.model
    def apply_status(self, backend, sale_order, status, updated_at, confirm_statuses, cancel_statuses):
        """Apply a channel status to an imported order, unless newer data is already there."""
        Binding = self.env["commerce.binding"]
        external_id = Binding.lookup_external(backend, sale_order)
        if Binding.is_stale(backend, "sale.order", external_id, updated_at):
            return "stale"
        outcome = "unchanged"
        if status in cancel_statuses and sale_order.state != "cancel":
            sale_order.with_context(disable_cancel_warning=True)._action_cancel()
            outcome = "cancelled"
        elif status in confirm_statuses and sale_order.state in ("draft", "sent") and not sale_order.commerce_on_hold:
            sale_order.action_confirm()
            outcome = "confirmed"
        Binding.bind(backend, sale_order, external_id, external_date=updated_at)
        return outcome

    # -- checks ----------------------------------------------------------------------------
    @api.model
    def _currency(self, code):
        currency = self.env["res.currency"].with_context(active_test=False).search([("name", "=", code)], limit=1)
        if not currency:
            raise PayloadValidationError(f"unknown currency {code!r}")
        if not currency.active:
            raise BusinessError(f"currency {code} is not active in Odoo: activate it to import this order")
        return currency

    @api.model
    def _products(self, backend, skus):
        """SKU -> product.product, through the bindings, then the internal reference."""
        Binding = self.env["commerce.binding"]
        found = {}
        for sku in dict.fromkeys(skus):
            product = Binding.lookup_product(backend, sku)
            if product:
                found[sku] = product
        unknown = [sku for sku in dict.fromkeys(skus) if sku not in found]
        if unknown:
            raise BusinessError(
                f"unknown SKU {', '.join(unknown)}: create the product with this internal reference "
                f"or map the SKU to a product (External IDs), then retry",
                detail={"unknown_skus": unknown},
            )
        return found

    @api.model
    def _check_total(self, sale_order, order):
        digits = sale_order.currency_id.decimal_places
        if float_compare(sale_order.amount_total, order.total, precision_digits=digits):
            difference = float_round(sale_order.amount_total - order.total, precision_digits=digits)
            raise BusinessError(
                f"order {order.reference}: Odoo computes a total of {sale_order.amount_total:.{digits}f} "
                f"{sale_order.currency_id.name}, the channel says {order.total:.{digits}f} "
                f"(difference {difference:+.{digits}f}; untaxed {sale_order.amount_untaxed:.{digits}f}, "
                f"tax {sale_order.amount_tax:.{digits}f} vs {order.tax_total:.{digits}f}). "
                f"Check the tax rules and the products' prices, then retry."
            )

    @api.model
    def _add_tax_rounding_line(self, backend, sale_order, order):
        """Book the channel's per-item tax rounding as an untaxed line, within the tolerance."""
        currency = sale_order.currency_id
        difference = currency.round(order.tax_total - sale_order.amount_tax)
        if currency.is_zero(difference) or abs(difference) > order.tax_rounding_tolerance + 1e-9:
            return  # nothing to round, or a real tax difference: _check_total reports it
        vals = self._service_line(backend.fee_product_id, "fee", difference, "Tax rounding difference")
        sale_order.write({"order_line": [Command.create(vals)]})

    # -- values ----------------------------------------------------------------------------
    @api.model
    def _order_values(self, backend, order, currency, partner, invoice_partner, shipping_partner):
        values = {
            "partner_id": partner.id,
            "partner_invoice_id": invoice_partner.id,
            "partner_shipping_id": shipping_partner.id,
            "company_id": backend.company_id.id,
            "client_order_ref": order.client_order_ref or False,
            "origin": order.reference,
            "date_order": order.date_order or False,
        }
        if backend.warehouse_id:
            values["warehouse_id"] = backend.warehouse_id.id
        if backend.team_id:
            values["team_id"] = backend.team_id.id
        ValueMap = self.env["commerce.value.map"]
        payment_term = ValueMap.lookup(backend, "payment_method", order.payment_method) or backend.payment_term_id
        if payment_term:
            values["payment_term_id"] = payment_term.id
        pricelist = self._pricelist(backend, currency)
        if pricelist:
            values["pricelist_id"] = pricelist.id
        carrier = self._carrier(backend, order)
        if carrier:
            values["carrier_id"] = carrier.id
        values = {k: v for k, v in values.items() if v is not False or k == "client_order_ref"}
        if order.raw:
            values.update(self.env["commerce.field.mapping"].import_values(backend, "sale.order", order.raw))
        return values

    @api.model
    def _carrier(self, backend, order):
        """The channel's carrier through the value map, else the backend's default."""
        mapped = self.env["commerce.value.map"].lookup(backend, "carrier", order.shipping_carrier)
        return mapped or backend.carrier_id or self.env.ref("commerce_connector.carrier_commerce_shipping",
                                                            raise_if_not_found=False)

    @api.model
    def _pricelist(self, backend, currency):
        if backend.pricelist_id and backend.pricelist_id.currency_id == currency:
            return backend.pricelist_id
        if currency == backend.company_id.currency_id and not backend.pricelist_id:
            return self.env["product.pricelist"]  # Odoo's default for the partner
        pricelist = self.env["product.pricelist"].search(
            [("currency_id", "=", currency.id), ("company_id", "in", (False, backend.company_id.id))], limit=1)
        if not pricelist:
            raise BusinessError(
                f"no pricelist in {currency.name}: create one (Sales > Pricelists) to import orders in this currency")
        return pricelist

    @api.model
    def _line_values(self, backend, order, products, shipping_partner, currency):
        taxed = order.tax_total > 0 or any(line.tax_amount for line in order.lines)
        rule = backend.tax_rule_ids.filtered(
            lambda r: r._matches(shipping_partner.country_id, shipping_partner.state_id, taxed))[:1]
        lines = []
        for line in order.lines:
            product = products[line.sku]
            vals = {
                "product_id": product.id,
                "name": line.name or product.display_name,
                "product_uom_qty": line.quantity,
                "price_unit": line.unit_price,
            }
            if order.channel_collects_tax:
                vals["tax_id"] = [Command.clear()]
            elif rule:
                vals["tax_id"] = [Command.set(rule.tax_ids.ids)]
            vals.update(self._line_extra_values(backend, order, line))
            lines.append(vals)
            lines.extend(self._charge_line_values(backend, order, line, product, vals))
        if order.discount_total:
            lines.append(self._service_line(backend.discount_product_id, "discount", order.discount_total,
                                            ", ".join(d.name for d in order.discounts)))
        if order.fees_amount:
            lines.append(self._service_line(backend.fee_product_id, "fee", order.fees_amount, "Fees"))
        if order.shipping_amount or order.shipping_method:
            lines.append(self._shipping_line(backend, order, None if order.channel_collects_tax else rule))
        return lines

    @api.model
    def _line_extra_values(self, backend, order, line):
        """Channel-specific sale.order.line values of an item line (none by default)."""
        return {}

    @api.model
    def _charge_line_values(self, backend, order, line, product, item_vals):
        """One line per Charge of an item (gift wrap, promotion), taxed like the item."""
        if order.channel_collects_tax:
            taxes = [Command.clear()]
        else:
            taxes = item_vals.get("tax_id") or [
                Command.set(product.taxes_id._filter_taxes_by_company(backend.company_id).ids)]
        configured = {"discount": backend.discount_product_id, "fee": backend.fee_product_id}
        charges = []
        for charge in line.charges:
            vals = self._service_line(configured.get(charge.kind), charge.kind, charge.amount, charge.name)
            charges.append({**vals, "tax_id": taxes})
        return charges

    @api.model
    def _service_line(self, product, purpose, amount, label):
        if not product:
            product = self.env.ref(f"commerce_connector.product_commerce_{purpose}", raise_if_not_found=False)
        if not product:
            raise BusinessError(f"no {purpose} product configured on the backend")
        return {"product_id": product.id, "name": label or product.name, "product_uom_qty": 1,
                "price_unit": amount, "tax_id": [Command.clear()]}

    @api.model
    def _shipping_line(self, backend, order, rule):
        carrier = self._carrier(backend, order)
        if not carrier:
            raise BusinessError("no shipping method configured on the backend")
        label = " ".join(p for p in (order.shipping_carrier, order.shipping_method) if p) or carrier.name
        taxes = rule.tax_ids if rule and rule.apply_to_shipping else self.env["account.tax"]
        return {
            "product_id": carrier.product_id.id,
            "name": label,
            "product_uom_qty": 1,
            "price_unit": order.shipping_amount,
            "is_delivery": True,
            "tax_id": [Command.set(taxes.ids)],
        }
