from odoo import api, models

from ..core.errors import PayloadValidationError

ADDRESS_KEYS = ("street", "street2", "city", "zip", "country_id", "state_id")


def _current_values(record, keys):
    """Field values as write() takes them (ids for many2one), False when empty."""
    return {key: (record[key].id if record._fields[key].type == "many2one" else record[key]) or False
            for key in keys}


class CommercePartnerImporter(models.AbstractModel):
    """Customers and their addresses from any channel -> res.partner (one for every channel).

    The customer is the commercial partner, bound to its external key; billing and shipping
    addresses are its child contacts (``invoice`` / ``delivery``), reused when identical.
    """

    _name = "commerce.partner.importer"
    _description = "Commerce Customer Importer"

    @api.model
    def import_customer(self, backend, customer, update_existing=True):
        """Find or create the partner of a canonical Customer and return it."""
        Binding = self.env["commerce.binding"]
        Partner = self.env["res.partner"].with_context(tracking_disable=True)
        partner = Binding.lookup(backend, "res.partner", customer.external_id)
        if not partner and customer.email:
            partner = Partner.search([("email", "=ilike", customer.email), ("parent_id", "=", False),
                                      ("company_id", "in", (False, backend.company_id.id))], limit=1)
        vals = {
            "name": customer.name or customer.email or customer.external_id,
            "email": customer.email or False,
            "phone": customer.phone or False,
            "is_company": customer.is_company,
            **self._address_vals(customer.address),
        }
        if customer.raw:
            vals.update(self.env["commerce.field.mapping"].import_values(backend, "res.partner", customer.raw))
        if partner:
            if Binding.is_stale(backend, "res.partner", customer.external_id, customer.updated_at):
                return partner
            if update_existing:
                current = _current_values(partner, vals)
                changed = {key: value for key, value in vals.items() if current[key] != (value or False)}
                if changed:
                    partner.write(changed)
        else:
            partner = Partner.create({**vals, "company_id": False})
        Binding.bind(backend, partner, customer.external_id, external_date=customer.updated_at)
        if customer.billing and not customer.billing.is_empty():
            self.address_partner(partner, customer.billing, "invoice")
        for address in customer.shipping:
            if not address.is_empty():
                self.address_partner(partner, address, "delivery")
        return partner

    @api.model
    def address_partner(self, parent, address, address_type):
        """The child contact of ``parent`` at this address, created when missing."""
        if address.is_empty():
            return parent
        vals = self._address_vals(address)
        if _current_values(parent, ADDRESS_KEYS) == vals and address.name in ("", parent.name):
            return parent  # the address is the partner's own
        for child in parent.child_ids.filtered(lambda p: p.type == address_type):
            if _current_values(child, ADDRESS_KEYS) == vals and (child.name or "") == address.name:
                return child
        return self.env["res.partner"].with_context(tracking_disable=True).create({
            **vals,
            "parent_id": parent.id,
            "type": address_type,
            "name": address.name or False,
            "email": address.email or False,
            "phone": address.phone or False,
        })

    @api.model
    def _address_vals(self, address):
        country = self.env["res.country"]
        state = self.env["res.country.state"]
        if address.country_code:
            country = country.search([("code", "=", address.country_code.upper())], limit=1)
            if not country:
                raise PayloadValidationError(f"unknown country code {address.country_code!r}")
            if address.state_code:
                state = state.search([("country_id", "=", country.id), ("code", "=", address.state_code.upper())],
                                     limit=1)
        return {
            "street": address.street or False,
            "street2": address.street2 or False,
            "city": address.city or False,
            "zip": address.zip or False,
            "country_id": country.id or False,
            "state_id": state.id or False,
        }
