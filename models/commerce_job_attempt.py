from odoo import fields, models

from ..core.errors import ERROR_KINDS


class CommerceJobAttempt(models.Model):
    """One run of a job: the history shown on the job form."""

    _name = "commerce.job.attempt"
    _description = "Commerce Job Attempt"
    _order = "job_id, id desc"

    job_id = fields.Many2one("commerce.job", required=True, index=True, ondelete="cascade")
    number = fields.Integer(string="Attempt")
    date_started = fields.Datetime(string="Started")
    duration = fields.Float(string="Duration (s)")
    outcome = fields.Selection(
        [("done", "Done"), ("retry", "Will retry"), ("failed", "Failed")], required=True
    )
    error_kind = fields.Selection(ERROR_KINDS)
    error_message = fields.Text()
