from odoo import _, api, fields, models


class CommerceBackend(models.Model):
    """Clarity eCommerce settings of a backend (channel ``clarity``)."""

    _inherit = "commerce.backend"

    clarity_base_url = fields.Char(string="Store URL", tracking=True,
                                   help="Base URL of the Clarity storefront API, e.g. https://shop.example.com")
    clarity_token_url = fields.Char(
        string="Token URL", compute="_compute_clarity_token_url", store=True, readonly=False,
        help="OAuth2 client-credentials endpoint; defaults to the store URL + /oauth/token.")
    clarity_client_id = fields.Char(string="Client ID", tracking=True)
    clarity_client_secret = fields.Char(string="Client Secret", groups="base.group_system", copy=False)
    clarity_webhook_secret = fields.Char(string="Webhook Secret", groups="base.group_system", copy=False)
    clarity_webhook_url = fields.Char(string="Webhook URL", compute="_compute_clarity_webhook_url",
                                      help="Give this URL to Clarity as the webhook target.")

    @api.depends("clarity_base_url")
    def _compute_clarity_token_url(self):
        for backend in self:
            if backend.clarity_base_url and not backend.clarity_token_url:
                backend.clarity_token_url = backend.clarity_base_url.rstrip("/") + "/oauth/token"

    @api.depends("channel")
    def _compute_clarity_webhook_url(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for backend in self:
            backend.clarity_webhook_url = (
                f"{base_url.rstrip('/')}/commerce_connector/clarity/{backend.id}/webhook"
                if backend.channel == "clarity" and backend.id else False
            )

    def _clarity_client(self):
        from ..channels.clarity.client import ClarityClient

        self.ensure_one()
        backend = self.sudo()
        return ClarityClient(
            backend.clarity_base_url,
            backend.clarity_client_id,
            backend.clarity_client_secret,
            token_url=backend.clarity_token_url or None,
        )

    def _clarity_test_connection(self):
        self._clarity_client().test_connection()
        return _("Connected to %s", self.clarity_base_url)
