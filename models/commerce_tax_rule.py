from odoo import fields, models


class CommerceTaxRule(models.Model):
    """Which Odoo taxes an imported order line gets, by condition; the first match wins.

    When no rule matches, Odoo's usual product taxes (mapped by the fiscal position) apply.
    """

    _name = "commerce.tax.rule"
    _description = "Commerce Tax Rule"
    _order = "backend_id, sequence, id"
    _check_company_auto = True

    backend_id = fields.Many2one("commerce.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    name = fields.Char(required=True)
    country_id = fields.Many2one("res.country", string="Ship-to Country")
    state_ids = fields.Many2many("res.country.state", string="Ship-to States")
    taxable = fields.Selection(
        [("any", "Any"), ("taxable", "Taxable orders"), ("exempt", "Tax-exempt orders")],
        default="any", required=True,
        help="Taxable: the channel charged tax on the order (or the customer is taxable).")
    tax_ids = fields.Many2many("account.tax", string="Taxes", check_company=True,
                               domain="[('type_tax_use', '=', 'sale')]")
    apply_to_shipping = fields.Boolean(help="Also tax the shipping line.")

    def _matches(self, country, state, taxable):
        self.ensure_one()
        if self.country_id and self.country_id != country:
            return False
        if self.state_ids and state not in self.state_ids:
            return False
        if self.taxable == "taxable" and not taxable:
            return False
        if self.taxable == "exempt" and taxable:
            return False
        return True
