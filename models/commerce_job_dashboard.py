from odoo import api, fields, models


class CommerceJob(models.Model):
    """Stored measure of the dashboard's graph and pivot views (``duration`` is the run time)."""

    _inherit = "commerce.job"

    # Zero until the job is done, which is also its value for rows _store_event inserts in SQL.
    latency = fields.Float(
        string="Latency (s)", compute="_compute_latency", store=True, aggregator="avg",
        help="From the job's creation to its completion: waiting in the queue, retries and the run.")

    @api.depends("create_date", "date_done", "state")
    def _compute_latency(self):
        for job in self:
            done = job.state == "done" and job.date_done and job.create_date
            job.latency = max(0.0, (job.date_done - job.create_date).total_seconds()) if done else 0.0
