from odoo import fields, models

from ..channels.amazon.notifications import NOTIFICATION_TYPES


class CommerceAmazonSubscription(models.Model):
    """An SP-API notification subscription of a backend: what Amazon sends, and to which destination."""

    _name = "commerce.amazon.subscription"
    _description = "Amazon Notification Subscription"
    _order = "backend_id, notification_type"
    _rec_name = "notification_type"

    backend_id = fields.Many2one("commerce.backend", required=True, ondelete="cascade", index=True,
                                 domain="[('channel', '=', 'amazon')]")
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    notification_type = fields.Selection([(kind, kind) for kind in NOTIFICATION_TYPES], required=True)
    payload_version = fields.Char()
    subscription_id = fields.Char(string="Subscription ID", readonly=True, copy=False)
    destination_id = fields.Char(string="Destination ID", readonly=True, copy=False)
    state = fields.Selection([("active", "Active"), ("deleted", "Deleted")], default="active", required=True,
                             readonly=True, copy=False)
    date_state = fields.Datetime(string="Since", readonly=True, copy=False)

    _sql_constraints = [("type_uniq", "unique(backend_id, notification_type)",
                         "A backend has one subscription per notification type.")]
