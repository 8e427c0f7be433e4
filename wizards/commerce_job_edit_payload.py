import json

from odoo import _, api, fields, models
from odoo.exceptions import UserError


class CommerceJobEditPayload(models.TransientModel):
    """Fix a failed job's input and run it again, without losing what was received."""

    _name = "commerce.job.edit.payload"
    _description = "Fix a Commerce Job Payload"

    job_id = fields.Many2one("commerce.job", required=True, ondelete="cascade")
    payload = fields.Text()
    json_error = fields.Char(compute="_compute_json_error")
    retry_now = fields.Boolean(default=True, string="Retry after saving")

    @api.depends("payload")
    def _compute_json_error(self):
        for wizard in self:
            try:
                json.loads(wizard.payload or "null")
                wizard.json_error = False
            except ValueError as error:
                wizard.json_error = str(error)

    def action_apply(self):
        self.ensure_one()
        if self.job_id.state not in ("failed", "cancelled"):
            raise UserError(_("Only a failed or cancelled job's payload can be fixed."))
        self.job_id.write({"payload": self.payload})
        if self.retry_now:
            self.job_id.action_retry()
        return {"type": "ir.actions.act_window_close"}
