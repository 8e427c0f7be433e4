from odoo import api, fields, models

# kind -> the Odoo model its values map to (None: a plain value, e.g. a status action)
VALUE_MAP_KINDS = {
    "payment_method": "account.payment.term",
    "carrier": "delivery.carrier",
    "category": "product.category",
    "uom": "uom.uom",
    "team": "crm.team",
    "order_status": None,
}
VALUE_MAP_KIND_SELECTION = [
    ("payment_method", "Payment method"), ("carrier", "Carrier"), ("category", "Category"),
    ("uom", "Unit of measure"), ("team", "Sales team"), ("order_status", "Order status"),
]


class CommerceValueMap(models.Model):
    """External value -> Odoo record (or value), per backend and kind.

    Example: Clarity payment method ``CreditCard`` -> payment term *Immediate Payment*;
    carrier ``UPS`` -> the *UPS* delivery carrier.
    """

    _name = "commerce.value.map"
    _description = "Commerce Value Map"
    _order = "backend_id, kind, external_value"

    backend_id = fields.Many2one("commerce.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    kind = fields.Selection(VALUE_MAP_KIND_SELECTION, required=True)
    external_value = fields.Char(required=True)
    odoo_record = fields.Reference(
        selection=[(model, model) for model in VALUE_MAP_KINDS.values() if model],
        string="Odoo Record")
    odoo_value = fields.Char(string="Odoo Value", help="For kinds that map to a value, not a record.")

    _sql_constraints = [("value_uniq", "unique(backend_id, kind, external_value)",
                         "This external value is already mapped for this backend.")]

    @api.model
    def lookup(self, backend, kind, external_value):
        """The mapped record (or value) for ``external_value``; None when unmapped."""
        if external_value in (None, ""):
            return None
        entry = self.sudo().search([("backend_id", "=", backend.id), ("kind", "=", kind),
                                    ("external_value", "=ilike", str(external_value))], limit=1)
        if not entry:
            return None
        if VALUE_MAP_KINDS.get(kind):
            return entry.odoo_record.exists() or None
        return entry.odoo_value
