from odoo.tests import tagged

from .common import CommerceCase


@tagged("post_install", "-at_install")
class TestSettings(CommerceCase):
    def test_settings_drive_the_engine(self):
        settings = self.env["res.config.settings"].create({
            "commerce_max_attempts": 2,
            "commerce_runner_batch_size": 3,
            "commerce_job_retention_days": 7,
        })
        settings.execute()
        self.assertEqual(self.Job._param("max_attempts"), 2)
        self.assertEqual(self.Job._param("runner_batch_size"), 3)
        job = self.enqueue("test.transient", {})
        self.assertEqual(job.max_attempts, 2)

    def test_bad_parameter_falls_back_to_default(self):
        self.env["ir.config_parameter"].set_param("commerce_connector.runner_batch_size", "lots")
        self.assertEqual(self.Job._param("runner_batch_size"), 20)

    def test_backend_smart_buttons(self):
        self.enqueue("test.business", {})
        self.enqueue("test.echo", {"x": 1})
        self.run_jobs()
        self.assertEqual((self.backend.job_count, self.backend.failed_job_count), (2, 1))
        action = self.backend.action_view_failed_jobs()
        self.assertEqual(action["res_model"], "commerce.job")
        self.assertEqual(self.env["commerce.job"].search_count(action["domain"]), 2)
        self.assertEqual(self.backend.action_view_bindings()["res_model"], "commerce.binding")
