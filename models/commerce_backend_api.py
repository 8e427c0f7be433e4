from odoo import _, fields, models


class CommerceBackend(models.Model):
    """The REST API as a channel: orders, customers and products posted by other tools are
    imported through this backend's importers, defaults and mappings like any channel's."""

    _inherit = "commerce.backend"

    channel = fields.Selection(selection_add=[("api", "REST API")], ondelete={"api": "cascade"})

    def _api_test_connection(self):
        """Nothing remote to reach: the API is served by Odoo itself."""
        return _("The REST API is served at /commerce_connector/api/v1/ (API keys of connector users).")
