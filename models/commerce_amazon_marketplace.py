from odoo import fields, models

from ..channels.amazon import const


class CommerceAmazonMarketplace(models.Model):
    """An Amazon marketplace (Amazon.com, Amazon.de, ...): shipped as data, one per marketplace ID."""

    _name = "commerce.amazon.marketplace"
    _description = "Amazon Marketplace"
    _order = "region, name"

    name = fields.Char(required=True)
    code = fields.Char(string="Marketplace ID", required=True, help="Amazon's ID, e.g. ATVPDKIKX0DER")
    domain = fields.Char(help="Storefront domain, e.g. amazon.com")
    country_id = fields.Many2one("res.country", required=True)
    region = fields.Selection(const.REGIONS, required=True)
    endpoint = fields.Char(string="SP-API Endpoint", required=True)
    currency_id = fields.Many2one("res.currency", required=True)
    active = fields.Boolean(default=True)

    _sql_constraints = [("code_uniq", "unique(code)", "An Amazon marketplace with this ID already exists.")]

    def _compute_display_name(self):
        for marketplace in self:
            marketplace.display_name = f"{marketplace.name} ({marketplace.code})" if marketplace.code \
                else marketplace.name


class CommerceAmazonBackendMarketplace(models.Model):
    """Settings and sync state of one marketplace of an Amazon backend."""

    _name = "commerce.amazon.backend.marketplace"
    _description = "Amazon Marketplace of a Backend"
    _order = "backend_id, marketplace_id"
    _check_company_auto = True

    backend_id = fields.Many2one("commerce.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    marketplace_id = fields.Many2one("commerce.amazon.marketplace", required=True, ondelete="restrict")
    pricelist_id = fields.Many2one("product.pricelist", check_company=True,
                                   help="Pricelist of this marketplace's orders; the backend's when empty.")
    team_id = fields.Many2one("crm.team", string="Sales Team", check_company=True,
                              help="Sales team of this marketplace's orders; the backend's when empty.")
    # Where an interrupted (throttled) order search resumes: Amazon wants every filter repeated
    # with the pagination token, so the window start is kept with it.
    resume_window_start = fields.Datetime(readonly=True, copy=False)
    resume_pagination_token = fields.Char(readonly=True, copy=False)

    _sql_constraints = [("marketplace_uniq", "unique(backend_id, marketplace_id)",
                         "This marketplace already has settings on this backend.")]
