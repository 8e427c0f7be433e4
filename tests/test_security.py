from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import CommerceCase

SECRETS = ("s3cr3t-client-secret", "whsec-super-secret")


@tagged("post_install", "-at_install")
class TestSecurity(CommerceCase):
    def test_secret_fields_are_for_system_admins_only(self):
        secret_fields = self.backend._commerce_secret_fields()
        self.assertIn("clarity_client_secret", secret_fields)
        for name in secret_fields:
            self.assertEqual(self.backend._fields[name].groups, "base.group_system", name)
        for user in (self.commerce_user, self.commerce_manager):
            backend = self.backend.with_user(user)
            self.assertEqual(backend.name, "Test store")
            with self.assertRaises(AccessError):
                backend.clarity_client_secret  # noqa: B018 - reading is the test
            self.assertNotIn("clarity_client_secret", backend.fields_get())
        admin = self.env.ref("base.user_admin")
        self.assertEqual(self.backend.with_user(admin).clarity_client_secret, SECRETS[0])

    def test_secrets_never_reach_chatter(self):
        backend = self.env["commerce.backend"].with_context(tracking_disable=False, mail_notrack=False).create(
            {"name": "Tracked store", "channel": "clarity"})
        self.env.cr.precommit.run()
        backend.write({"clarity_client_secret": SECRETS[0], "clarity_webhook_secret": SECRETS[1],
                       "clarity_client_id": "visible-id"})
        self.env.flush_all()
        self.env.cr.precommit.run()  # tracking values are written at commit time
        messages = self.env["mail.message"].search([("model", "=", "commerce.backend"), ("res_id", "=", backend.id)])
        tracked = messages.tracking_value_ids
        self.assertIn("visible-id", tracked.mapped("new_value_char"), "ordinary fields are tracked")
        texts = " ".join(str(v) for v in messages.mapped("body") + tracked.mapped("new_value_char"))
        for secret in SECRETS:
            self.assertNotIn(secret, texts)

    def test_user_reads_and_retries_but_does_not_configure(self):
        backend = self.backend.with_user(self.commerce_user)
        with self.assertRaises(AccessError):
            backend.write({"name": "Renamed"})
        with self.assertRaises(AccessError):
            self.env["commerce.backend"].with_user(self.commerce_user).create({"name": "x", "channel": "clarity"})
        job = self.enqueue("test.business", {})
        self.run_jobs()
        job.with_user(self.commerce_user).action_retry()
        self.assertEqual(job.state, "pending")
        with self.assertRaises(AccessError):
            job.with_user(self.commerce_user).unlink()

    def test_manager_configures(self):
        backend = self.backend.with_user(self.commerce_manager)
        backend.write({"name": "Renamed", "clarity_client_id": "new-id"})
        self.assertEqual(self.backend.name, "Renamed")

    def test_outsider_sees_nothing(self):
        outsider = new_test_user(self.env, login="outsider", groups="base.group_user")
        for model in ("commerce.backend", "commerce.job", "commerce.binding", "commerce.job.attempt"):
            with self.assertRaises(AccessError):
                self.env[model].with_user(outsider).search([])

    def test_multi_company_rules(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        foreign = self.env["commerce.backend"].create(
            {"name": "Foreign store", "channel": "clarity", "company_id": other_company.id})
        foreign_job = self.Job.enqueue(foreign, "test.echo", {})
        Backend = self.env["commerce.backend"].with_user(self.commerce_manager)
        self.assertNotIn(foreign, Backend.search([]))
        self.assertNotIn(foreign_job, self.Job.with_user(self.commerce_manager).search([]))
        self.commerce_manager.company_ids |= other_company
        visible = Backend.with_context(allowed_company_ids=[self.env.company.id, other_company.id]).search([])
        self.assertIn(foreign.id, visible.ids)

    def test_views_load_for_each_group(self):
        for user in (self.commerce_user, self.commerce_manager):
            for model in ("commerce.backend", "commerce.job", "commerce.binding"):
                views = self.env[model].with_user(user).get_views([(False, "list"), (False, "form"), (False, "search")])
                self.assertTrue(views["views"]["form"]["arch"])
