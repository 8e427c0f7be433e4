from odoo import fields, models


class CommerceJob(models.Model):
    """Where an Amazon order import came from: a notification or the poller (the safety net)."""

    _inherit = "commerce.job"

    amazon_import_source = fields.Selection(
        [("notification", "Notification"), ("polling", "Polling")], string="Amazon Import Source",
        readonly=True, copy=False, index=True,
        help="Who first queued this order version: the SP-API notification or the order poller.")
