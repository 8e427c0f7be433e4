from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    commerce_max_attempts = fields.Integer(
        string="Attempts before a transient failure is final",
        config_parameter="commerce_connector.max_attempts", default=5)
    commerce_runner_batch_size = fields.Integer(
        string="Jobs claimed per batch", config_parameter="commerce_connector.runner_batch_size", default=20)
    commerce_runner_time_budget = fields.Integer(
        string="Runner time budget (s)", config_parameter="commerce_connector.runner_time_budget", default=60)
    commerce_job_lease_seconds = fields.Integer(
        string="Job lease (s)", config_parameter="commerce_connector.job_lease_seconds", default=600)
    commerce_job_retention_days = fields.Integer(
        string="Keep done jobs (days)", config_parameter="commerce_connector.job_retention_days", default=30)
