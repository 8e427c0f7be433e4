from odoo import fields, models


class CommerceJobLinkedMixin(models.AbstractModel):
    """Records jobs are linked to (``commerce.job`` res_model/res_id): their count and list."""

    _name = "commerce.job.linked.mixin"
    _description = "Commerce Record with Jobs"

    job_count = fields.Integer(compute="_compute_job_count")

    def _compute_job_count(self):
        counts = {res_id: count for res_id, count in self.env["commerce.job"].sudo()._read_group(
            [("res_model", "=", self._name), ("res_id", "in", self.ids)], ["res_id"], ["__count"])}
        for record in self:
            record.job_count = counts.get(record.id, 0)

    def action_view_jobs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("commerce_connector.action_commerce_job")
        action["domain"] = [("res_model", "=", self._name), ("res_id", "=", self.id)]
        action["context"] = {}
        return action
