from odoo import fields, models


class CommerceBackend(models.Model):
    """Audit trail of a backend: its clients report every outbound call, its settings are tracked.

    Secrets (``*_secret``, ``*_token``) are never tracked: chatter would show their values.
    """

    _inherit = "commerce.backend"

    currency_id = fields.Many2one(tracking=True)
    payment_term_id = fields.Many2one(tracking=True)
    carrier_id = fields.Many2one(tracking=True)
    discount_product_id = fields.Many2one(tracking=True)
    fee_product_id = fields.Many2one(tracking=True)
    manager_ids = fields.Many2many(tracking=True)
    clarity_token_url = fields.Char(tracking=True)
    clarity_import_statuses = fields.Char(tracking=True)
    clarity_confirm_statuses = fields.Char(tracking=True)
    clarity_location_ids = fields.Many2many(tracking=True)
    amazon_marketplace_ids = fields.Many2many(tracking=True)
    amazon_import_start_date = fields.Datetime(tracking=True)
    amazon_import_statuses = fields.Char(tracking=True)
    amazon_confirm_statuses = fields.Char(tracking=True)
    amazon_cancel_statuses = fields.Char(tracking=True)
    amazon_fetch_pii = fields.Boolean(tracking=True)
    call_log_count = fields.Integer(compute="_compute_call_log_count")

    def _compute_call_log_count(self):
        counts = {backend.id: count for backend, count in self.env["commerce.call.log"]._read_group(
            [("backend_id", "in", self.ids)], ["backend_id"], ["__count"])}
        for backend in self:
            backend.call_log_count = counts.get(backend.id, 0)

    # The factories hand each client an observer that stores its calls (commerce.call.log).
    def _clarity_client(self):
        client = super()._clarity_client()
        client.observer = self.env["commerce.call.log"]._observer(self)
        return client

    def _amazon_client(self, marketplace=None):
        client = super()._amazon_client(marketplace)
        client.observer = self.env["commerce.call.log"]._observer(self)
        return client

    def action_view_call_logs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("commerce_connector.action_commerce_call_log")
        action["domain"] = [("backend_id", "=", self.id)]
        return action
