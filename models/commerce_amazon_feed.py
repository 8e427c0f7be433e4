import json

from odoo import api, fields, models

FEED_STATES = [
    ("in_queue", "In Queue"),
    ("in_progress", "In Progress"),
    ("done", "Done"),
    ("fatal", "Fatal"),
    ("cancelled", "Cancelled"),
]
STATE_OF_STATUS = {"IN_QUEUE": "in_queue", "IN_PROGRESS": "in_progress", "DONE": "done", "FATAL": "fatal",
                   "CANCELLED": "cancelled"}


class CommerceAmazonFeed(models.Model):
    """A feed submitted to Amazon (Feeds 2021-06-30) and what its processing report said."""

    _name = "commerce.amazon.feed"
    _inherit = ["commerce.job.linked.mixin"]
    _description = "Amazon Feed"
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name")
    backend_id = fields.Many2one("commerce.backend", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    marketplace_id = fields.Many2one("commerce.amazon.marketplace", required=True, ondelete="restrict",
                                     readonly=True)
    feed_type = fields.Char(required=True, readonly=True)
    feed_id = fields.Char(string="Feed ID", readonly=True, index=True, copy=False, help="Amazon's feed ID.")
    document_id = fields.Char(string="Feed Document ID", readonly=True, copy=False)
    result_document_id = fields.Char(string="Processing Report Document ID", readonly=True, copy=False)
    state = fields.Selection(FEED_STATES, default="in_queue", required=True, readonly=True, index=True)
    sku_count = fields.Integer(string="SKUs", readonly=True)
    skus = fields.Text(string="SKUs (message order)", readonly=True,
                       help="JSON list of the feed's SKUs: message n is the n-th; the report refers to messages.")
    date_submitted = fields.Datetime(string="Submitted On", readonly=True)
    date_processed = fields.Datetime(string="Processed On", readonly=True)
    messages_accepted = fields.Integer(readonly=True)
    messages_invalid = fields.Integer(readonly=True)
    error_count = fields.Integer(string="Error Count", readonly=True)
    warning_count = fields.Integer(string="Warnings", readonly=True)
    report_summary = fields.Text(readonly=True, help="The summary of Amazon's processing report.")
    errors = fields.Text(string="Errors", readonly=True, help="Errors of the processing report, one per line.")
    retry_of_id = fields.Many2one("commerce.amazon.feed", string="Retry Of", readonly=True, ondelete="set null",
                                  help="The fatal feed whose SKUs this feed sends again.")
    attempt = fields.Integer(default=1, readonly=True, help="1 for a first submission, n for the n-th after FATAL.")

    @api.depends("feed_id", "feed_type")
    def _compute_name(self):
        for feed in self:
            feed.name = f"{feed.feed_type or 'Feed'} {feed.feed_id or '-'}"

    def sku_list(self):
        """The feed's SKUs in message order (message n is the n-th)."""
        self.ensure_one()
        return json.loads(self.skus or "[]")
