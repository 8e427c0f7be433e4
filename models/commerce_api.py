import hashlib

import psycopg2

from odoo import api, models
from odoo.exceptions import MissingError, UserError

from ..core import canonical
from ..core.canonical_json import to_json
from ..core.errors import BusinessError, PayloadValidationError

CONFIRMED_STATUSES = ("confirmed", "sale")


class CommerceApi(models.AbstractModel):
    """The REST API's Odoo side: Odoo records <-> canonical objects, through the importers.

    The controller checks the key's groups and runs this as superuser restricted to the
    user's companies: the connector groups are the API's permission model.
    """

    _name = "commerce.api"
    _description = "Commerce REST API"

    # -- common ----------------------------------------------------------------------------
    @api.model
    def _backend(self, company_ids):
        backend = self.env["commerce.backend"].search(
            [("channel", "=", "api"), ("active", "=", True), ("company_id", "in", company_ids)], limit=1)
        if not backend:
            raise UserError("no active REST API backend (channel 'REST API') in your companies: create one")
        return backend

    @api.model
    def _page(self, model, domain, params, serialize):
        """One page of ``model`` records, oldest modification first (stable across pages)."""
        records = self.env[model].search(domain, order="write_date, id", offset=params["offset"],
                                         limit=params["limit"])
        total = self.env[model].search_count(domain)
        next_offset = params["offset"] + len(records)
        return {"items": [serialize(record) for record in records], "total": total, "limit": params["limit"],
                "offset": params["offset"], "next_offset": next_offset if next_offset < total else None}

    @api.model
    def _modified_domain(self, params):
        return [("write_date", ">=", params["modified_since"])] if params.get("modified_since") else []

    @api.model
    def _address(self, partner):
        return canonical.Address(
            name=partner.name or "", company=partner.parent_id.name or "" if partner.parent_id else "",
            street=partner.street or "", street2=partner.street2 or "", city=partner.city or "",
            state_code=partner.state_id.code or "", zip=partner.zip or "",
            country_code=partner.country_id.code or "", email=partner.email or "", phone=partner.phone or "")

    # -- products --------------------------------------------------------------------------
    @api.model
    def _product_domain(self, company_ids):
        return [("default_code", "!=", False), ("company_id", "in", [False, *company_ids])]

    @api.model
    def product_json(self, product):
        return to_json(canonical.Product(
            external_id=product.default_code, sku=product.default_code, name=product.name,
            price=product.lst_price, active=product.active, taxable=bool(product.taxes_id),
            uom=product.uom_id.name or "", categories=[product.categ_id.complete_name] if product.categ_id else [],
            attributes={ptav.attribute_id.name: ptav.name for ptav in product.product_template_attribute_value_ids},
            updated_at=product.write_date))

    @api.model
    def list_products(self, company_ids, params):
        domain = self._product_domain(company_ids) + self._modified_domain(params)
        return self._page("product.product", domain, params, self.product_json)

    @api.model
    def get_product(self, company_ids, sku):
        product = self.env["product.product"].with_context(active_test=False).search(
            self._product_domain(company_ids) + [("default_code", "=", sku)], limit=1)
        if not product:
            raise MissingError(f"no product with SKU {sku!r}")
        return product

    @api.model
    def upsert_product(self, company_ids, sku, product):
        if product.sku != sku:
            raise PayloadValidationError("sku: must be the SKU of the URL", detail=[
                {"path": "sku", "message": f"must be {sku!r}, the SKU of the URL"}])
        if product.variants:
            raise PayloadValidationError("variants: not supported here, PUT each variant by its SKU", detail=[
                {"path": "variants", "message": "not supported: PUT each variant by its own SKU"}])
        backend = self._backend(company_ids)
        existing = self.env["product.product"].with_context(active_test=False).search(
            self._product_domain(company_ids) + [("default_code", "=", sku)], limit=1)
        product.external_id = sku  # the SKU is the product's key in the API
        self.env["commerce.product.importer"].import_product(backend, product)
        return self.get_product(company_ids, sku), not existing

    # -- customers -------------------------------------------------------------------------
    @api.model
    def _customer_domain(self, company_ids):
        backends = self.env["commerce.backend"].search([("channel", "=", "api"), ("company_id", "in", company_ids)])
        bound = self.env["commerce.binding"].search(
            [("backend_id", "in", backends.ids), ("res_model", "=", "res.partner")])
        return [("id", "in", bound.mapped("res_id"))]

    @api.model
    def customer_json(self, partner):
        backends = self.env["commerce.backend"].search([("channel", "=", "api")])
        binding = self.env["commerce.binding"].search(
            [("backend_id", "in", backends.ids), ("res_model", "=", "res.partner"), ("res_id", "=", partner.id)],
            limit=1)
        return to_json(canonical.Customer(
            external_id=binding.external_id, name=partner.name or "", email=partner.email or "",
            phone=partner.phone or "", is_company=partner.is_company, vat=partner.vat or "",
            address=self._address(partner), updated_at=partner.write_date))

    @api.model
    def list_customers(self, company_ids, params):
        domain = self._customer_domain(company_ids) + self._modified_domain(params)
        return self._page("res.partner", domain, params, self.customer_json)

    @api.model
    def get_customer(self, company_ids, key):
        partner = self.env["commerce.binding"].lookup(self._backend(company_ids), "res.partner", key)
        if not partner:
            raise MissingError(f"no customer with key {key!r}")
        return partner

    @api.model
    def upsert_customer(self, company_ids, key, customer):
        if customer.external_id != key:
            raise PayloadValidationError("external_id: must be the key of the URL", detail=[
                {"path": "external_id", "message": f"must be {key!r}, the key of the URL"}])
        backend = self._backend(company_ids)
        created = not self.env["commerce.binding"].lookup(backend, "res.partner", key)
        partner = self.env["commerce.partner.importer"].import_customer(backend, customer, update_existing=True)
        return partner, created

    # -- sales orders ----------------------------------------------------------------------
    @api.model
    def _order_domain(self, company_ids, params):
        domain = [("company_id", "in", company_ids)] + self._modified_domain(params)
        if params.get("channel"):
            channel = params["channel"]
            key = [("external_id", "=", f"{channel}:{params['external_id']}")] if params.get("external_id") else \
                [("external_id", "=like", channel.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + ":%")]
            bound = self.env["commerce.binding"].search([("backend_id", "=", self._backend(company_ids).id),
                                                         ("res_model", "=", "sale.order"), *key])
            domain.append(("id", "in", bound.mapped("res_id")))
        return domain

    @api.model
    def order_json(self, sale_order):
        binding = self.env["commerce.binding"].search(
            [("res_model", "=", "sale.order"), ("res_id", "=", sale_order.id)], limit=1)
        channel, external_id = "odoo", str(sale_order.id)
        if binding and binding.channel == "api":
            channel, _sep, external_id = binding.external_id.partition(":")
        elif binding:
            channel, external_id = binding.channel, binding.external_id
        lines = sale_order.order_line.filtered(lambda l: not l.display_type)
        product_lines = lines.filtered(lambda l: not l.is_delivery)
        order = canonical.Order(
            channel=channel, external_id=external_id, reference=sale_order.origin or sale_order.name,
            status=sale_order.state, currency=sale_order.currency_id.name, updated_at=sale_order.write_date,
            date_order=sale_order.date_order,
            customer=canonical.Customer(external_id=str(sale_order.partner_id.id), name=sale_order.partner_id.name or "",
                                        email=sale_order.partner_id.email or "",
                                        address=self._address(sale_order.partner_id)),
            billing=self._address(sale_order.partner_invoice_id), shipping=self._address(sale_order.partner_shipping_id),
            lines=[canonical.OrderLine(external_id=str(line.id), sku=line.product_id.default_code or "",
                                       name=line.name, quantity=line.product_uom_qty, unit_price=line.price_unit,
                                       tax_amount=line.price_tax)
                   for line in product_lines],
            shipping_amount=sum((lines - product_lines).mapped("price_subtotal")),
            tax_total=sale_order.amount_tax, total=sale_order.amount_total,
            client_order_ref=sale_order.client_order_ref or "")
        return {"id": sale_order.id, "name": sale_order.name, "state": sale_order.state,
                "invoice_status": sale_order.invoice_status or "no", "order": to_json(order)}

    @api.model
    def list_orders(self, company_ids, params):
        return self._page("sale.order", self._order_domain(company_ids, params), params, self.order_json)

    @api.model
    def get_order(self, company_ids, order_id):
        sale_order = self.env["sale.order"].search([("id", "=", order_id), ("company_id", "in", company_ids)])
        if not sale_order:
            raise MissingError(f"no sales order {order_id}")
        return sale_order

    @api.model
    def create_order(self, company_ids, order):
        """Import a canonical order through the channels' importer; ``(resource, created)``.

        Idempotent on (channel, external_id): concurrent posts of one order wait on an advisory
        lock; one that still collides (its snapshot predates the other's commit) answers with
        the order the other request committed.
        """
        if order.customer is None:
            raise PayloadValidationError("customer: required", detail=[
                {"path": "customer", "message": "required for orders posted through the API"}])
        if not order.lines:
            raise PayloadValidationError("lines: at least one line", detail=[
                {"path": "lines", "message": "an order needs at least one line"}])
        backend = self._backend(company_ids)
        key = f"{order.channel}:{order.external_id}"
        lock = int.from_bytes(hashlib.sha256(f"commerce.api.order:{backend.id}:{key}".encode()).digest()[:8],
                              "big", signed=True)
        self.env.cr.execute("SELECT pg_advisory_xact_lock(%s)", [lock])
        channel, order.channel = order.channel, "api"
        order.external_id = key
        try:
            with self.env.cr.savepoint():
                sale_order, created = self.env["commerce.order.importer"].import_order(
                    backend, order, confirm=order.status in CONFIRMED_STATUSES)
        except psycopg2.errors.UniqueViolation:
            with self.env.registry.cursor() as cr:
                env = self.env(cr=cr)
                committed = env["commerce.binding"].lookup(backend.with_env(env), "sale.order", key)
                if not committed:
                    raise
                return env["commerce.api"].order_json(committed), False
        finally:
            order.channel = channel
        return self.order_json(sale_order), created

    # -- invoices --------------------------------------------------------------------------
    @api.model
    def invoice_json(self, move):
        sale_order = move.line_ids.sale_line_ids.order_id[:1]
        return to_json(canonical.Invoice(
            number=move.name or "", order_reference=sale_order.origin or sale_order.name or "",
            state=move.state, payment_state=move.payment_state or "not_paid", currency=move.currency_id.name,
            invoice_date=move.invoice_date or None, amount_untaxed=move.amount_untaxed, tax_total=move.amount_tax,
            total=move.amount_total, amount_due=move.amount_residual,
            lines=[canonical.InvoiceLine(sku=line.product_id.default_code or "", name=line.name or "",
                                         quantity=line.quantity, unit_price=line.price_unit,
                                         subtotal=line.price_subtotal)
                   for line in move.invoice_line_ids.filtered(lambda l: l.display_type == "product")]))

    @api.model
    def list_invoices(self, company_ids, order_id):
        sale_order = self.get_order(company_ids, order_id)
        moves = sale_order.invoice_ids.filtered(lambda m: m.move_type == "out_invoice")
        return {"items": [self.invoice_json(move) for move in moves.sorted("id")]}

    @api.model
    def invoice_order(self, company_ids, order_id):
        """Invoice what a confirmed order delivered and post the invoice."""
        sale_order = self.get_order(company_ids, order_id)
        if sale_order.state != "sale":
            raise UserError(f"sales order {sale_order.name} is not confirmed (state {sale_order.state})")
        undelivered = sale_order.order_line.filtered(
            lambda l: l.product_id.type == "consu" and l.qty_delivered < l.product_uom_qty)
        if undelivered:
            raise UserError(f"sales order {sale_order.name} is not fully delivered: "
                            f"{', '.join(undelivered.product_id.mapped('display_name'))}")
        if sale_order.invoice_status != "to invoice":
            raise UserError(f"sales order {sale_order.name} has nothing to invoice")
        try:
            moves = sale_order._create_invoices()
            moves.action_post()
        except UserError as error:
            raise BusinessError(str(error)) from None
        return self.invoice_json(moves[:1])
