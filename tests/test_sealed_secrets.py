"""Sealed secrets (issue #11): encrypted at rest with the server's key, admins only, masked in the
web client, rotatable; loud when there is no key; sender allowlists on the intake routes."""

import os
import subprocess
from contextlib import contextmanager
from unittest import mock

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged
from odoo.tools import config
from odoo.tools.misc import exec_pg_environ, find_pg_tool

from ..core import ip_allowlist, sealing
from .common import CommerceCase, committed_env
from .test_amazon_notifications import HEADER, SECRET, NotificationCase
from .test_clarity_orders import WEBHOOK_SECRET, ClarityCase, sample

KEY_A = sealing.generate_key()
KEY_B = "a passphrase rather than a Fernet key, stretched with HKDF"
PLAIN = {
    "clarity_client_secret": "client-secret-3c1d0b4e",
    "clarity_webhook_secret": "webhook-secret-9f2a77c1",
}
SECRET_FIELDS = ("clarity_client_secret", "clarity_webhook_secret")


@contextmanager
def server_keys(current=None, previous=None):
    """The server configuration as an operator sets it: the config file's keys, no environment.

    The key the test server runs with stays a previous key, so the records other tests made
    remain readable; the tests' own records use keys of their own.
    """
    running = config.get("commerce_connector_key") or os.environ.get("COMMERCE_CONNECTOR_KEY") or ""
    previous = ",".join(key for key in (previous, running) if key)
    options = {"commerce_connector_key": current or "", "commerce_connector_previous_keys": previous}
    environ = {name: "" for name in ("COMMERCE_CONNECTOR_KEY", "COMMERCE_CONNECTOR_PREVIOUS_KEYS")}
    with mock.patch.dict(config.options, options), mock.patch.dict(os.environ, environ):
        yield


@tagged("post_install", "-at_install")
class TestSealedSecrets(CommerceCase):

    def stored(self, backend, name):
        self.env.flush_all()
        self.env.cr.execute(f'SELECT "{name}" FROM commerce_backend WHERE id = %s', (backend.id,))
        return self.env.cr.fetchone()[0]

    def new_backend(self, **values):
        return self.env["commerce.backend"].create({"name": "Sealed store", "channel": "clarity", **PLAIN, **values})

    def test_secrets_are_sealed_at_rest_and_clear_through_the_orm(self):
        with server_keys(KEY_A):
            backend = self.new_backend()
            for name, plain in PLAIN.items():
                stored = self.stored(backend, name)
                self.assertTrue(stored.startswith(sealing.PREFIX), name)
                self.assertNotIn(plain, stored)
                backend.invalidate_recordset([name])
                self.assertEqual(backend[name], plain, "read back through the ORM")
            backend.clarity_client_secret = "changed-by-assignment"
            self.assertTrue(self.stored(backend, "clarity_client_secret").startswith(sealing.PREFIX))
            backend.invalidate_recordset()
            self.assertEqual(backend.clarity_client_secret, "changed-by-assignment")
            self.assertTrue(backend.secrets_key_configured)
            self.assertTrue(backend.secrets_sealed)
            self.assertIn(sealing.fingerprint(KEY_A), backend.secrets_status)

    def test_without_a_key_secrets_work_in_clear_and_the_form_says_so(self):
        with server_keys(None):
            backend = self.new_backend()
            self.assertEqual(self.stored(backend, "clarity_client_secret"), PLAIN["clarity_client_secret"])
            self.assertFalse(backend.secrets_key_configured)
            self.assertFalse(backend.secrets_sealed)
            self.assertIn("stored in clear", backend.secrets_status)
            with self.assertRaises(ValidationError):
                backend.action_reseal_secrets()
            arch = backend.get_views([(False, "form")])["views"]["form"]["arch"]
            self.assertIn('name="secrets_in_clear"', arch, "the warning banner is on the form")
        with server_keys(KEY_A):
            backend.invalidate_recordset()
            self.assertFalse(backend.secrets_sealed, "a key alone does not seal what was saved before")
            self.assertIn("Re-encrypt", backend.secrets_status)
            backend.action_reseal_secrets()
            self.assertTrue(self.stored(backend, "clarity_client_secret").startswith(sealing.PREFIX))
            backend.invalidate_recordset()
            self.assertEqual(backend.clarity_client_secret, PLAIN["clarity_client_secret"])
            self.assertTrue(backend.secrets_sealed)

    def test_rotation_moves_every_secret_to_the_new_key(self):
        with server_keys(KEY_A):
            backend = self.new_backend()
            sealed_with_a = self.stored(backend, "clarity_webhook_secret")
        with server_keys(KEY_B, previous=KEY_A):
            backend.invalidate_recordset()
            self.assertEqual(backend.clarity_webhook_secret, PLAIN["clarity_webhook_secret"], "the old key still opens")
            self.assertFalse(backend.secrets_sealed)
            result = backend.action_reseal_secrets()
            self.assertEqual(result["params"]["type"], "success")
            resealed = self.stored(backend, "clarity_webhook_secret")
            self.assertNotEqual(resealed, sealed_with_a)
        ring_a, ring_b = sealing.KeyRing(KEY_A), sealing.KeyRing(KEY_B)
        self.assertEqual(ring_b.unseal(resealed), PLAIN["clarity_webhook_secret"])
        with self.assertRaises(sealing.SealingError):
            ring_a.unseal(resealed)
        with server_keys(KEY_B):  # the old key removed from the configuration
            backend.invalidate_recordset()
            self.assertEqual(backend.clarity_webhook_secret, PLAIN["clarity_webhook_secret"])
            self.assertTrue(backend.secrets_sealed)

    def test_a_lost_key_is_reported_not_crashed_on(self):
        with server_keys(KEY_A):
            backend = self.new_backend()
        with server_keys(KEY_B):
            backend.invalidate_recordset()
            self.assertFalse(backend.clarity_client_secret, "a secret no key opens reads as empty")
            self.assertFalse(backend.secrets_sealed)
            self.assertIn("no longer has", backend.secrets_status)
            result = backend.action_reseal_secrets()
            self.assertEqual(result["params"]["type"], "warning")
            self.assertIn("could not be opened", result["params"]["message"])
            self.assertEqual(sealing.KeyRing(KEY_A).unseal(self.stored(backend, "clarity_client_secret")),
                             PLAIN["clarity_client_secret"], "an unreadable value is left as it was, not lost")
            backend.clarity_client_secret = "entered-again"
            backend.invalidate_recordset()
            self.assertEqual(backend.clarity_client_secret, "entered-again")

    def test_only_system_admins_read_or_reseal(self):
        with server_keys(KEY_A):
            backend = self.new_backend()
            for user in (self.commerce_user, self.commerce_manager):
                for name in SECRET_FIELDS:
                    with self.assertRaises(AccessError):
                        backend.with_user(user).read([name])
                with self.assertRaises(AccessError):
                    backend.with_user(user).action_reseal_secrets()
                self.assertTrue(backend.with_user(user).secrets_status, "managers still see the warning")
            admin = self.env.ref("base.user_admin")
            self.assertEqual(backend.with_user(admin).read(["clarity_client_secret"])[0]["clarity_client_secret"],
                             PLAIN["clarity_client_secret"])

    def test_the_web_client_gets_a_mask_and_saving_it_back_changes_nothing(self):
        with server_keys(KEY_A):
            backend = self.new_backend(clarity_client_id="visible-id")
            [values] = backend.web_read({name: {} for name in (*SECRET_FIELDS, "clarity_client_id")})
            self.assertEqual(values["clarity_client_id"], "visible-id")
            for name in SECRET_FIELDS:
                self.assertEqual(values[name], sealing.MASK)
            backend.write({"clarity_client_secret": sealing.MASK, "name": "Renamed"})
            backend.invalidate_recordset()
            self.assertEqual(backend.clarity_client_secret, PLAIN["clarity_client_secret"])
            self.assertEqual(backend.name, "Renamed")
            [listed] = self.env["commerce.backend"].web_search_read(
                [("id", "=", backend.id)], {"clarity_webhook_secret": {}})["records"]
            self.assertEqual(listed["clarity_webhook_secret"], sealing.MASK)

    def test_every_credential_field_is_sealed(self):
        names = self.env["commerce.backend"]._commerce_secret_fields()
        for expected in ("clarity_client_secret", "clarity_webhook_secret", "amazon_lwa_client_secret",
                         "amazon_refresh_token", "amazon_notification_secret"):
            self.assertIn(expected, names)
        values = {name: f"value-of-{name}" for name in names if self.env["commerce.backend"]._fields[name].store}
        with server_keys(KEY_A):
            backend = self.env["commerce.backend"].create({"name": "All secrets", "channel": "amazon", **values})
            for name, plain in values.items():
                self.assertTrue(self.stored(backend, name).startswith(sealing.PREFIX), name)
                self.assertEqual(backend[name], plain, name)
                self.assertEqual(self.env["commerce.backend"]._fields[name].groups, "base.group_system", name)

    def test_secrets_are_not_in_a_database_dump(self):
        """pg_dump of the whole database, as a backup would take it, holds no secret in clear."""
        marker = "dump-marker-secret-5e8c2f"
        with server_keys(KEY_A):
            with committed_env(self.registry) as env:
                backend_id = env["commerce.backend"].create({
                    "name": "Dumped store", "channel": "clarity", "clarity_client_secret": marker,
                    "clarity_webhook_secret": marker + "-webhook"}).id
            try:
                dump = subprocess.run(
                    [find_pg_tool("pg_dump"), "--data-only", "--no-owner", self.env.cr.dbname],
                    env=exec_pg_environ(), capture_output=True, timeout=300, check=True).stdout
            finally:
                with committed_env(self.registry) as env:
                    env["commerce.backend"].browse(backend_id).unlink()
        self.assertIn(b"Dumped store", dump, "the dump holds the backend")
        self.assertIn(sealing.PREFIX.encode(), dump)
        self.assertNotIn(marker.encode(), dump)

    def test_allowlist_is_validated(self):
        with self.assertRaises(ValidationError):
            self.backend.webhook_ip_allowlist = "10.0.0.0/8\nnot-an-address"
        self.backend.webhook_ip_allowlist = "10.0.0.0/8, 192.0.2.7\n2001:db8::/32"
        self.assertTrue(ip_allowlist.allows(self.backend.webhook_ip_allowlist, "10.1.2.3"))
        self.assertTrue(ip_allowlist.allows(self.backend.webhook_ip_allowlist, "::ffff:192.0.2.7"))
        self.assertTrue(ip_allowlist.allows(self.backend.webhook_ip_allowlist, "2001:db8::1"))
        self.assertFalse(ip_allowlist.allows(self.backend.webhook_ip_allowlist, "127.0.0.1"))
        self.assertFalse(ip_allowlist.allows(self.backend.webhook_ip_allowlist, "garbage"))
        self.assertTrue(ip_allowlist.allows("", "127.0.0.1"), "an empty list accepts any sender")


@tagged("post_install", "-at_install")
class TestClarityWebhookAllowlist(ClarityCase):

    def test_a_sender_outside_the_allowlist_gets_403_and_nothing_is_stored(self):
        self.backend.webhook_ip_allowlist = "203.0.113.0/24"
        self.env.flush_all()
        status, body = self.post_event("order.created", sample("clarity_order.json"))
        self.assertEqual(status, 403, body)
        self.assertFalse(self.jobs())
        self.backend.webhook_ip_allowlist = "203.0.113.0/24\n127.0.0.0/8"
        self.env.flush_all()
        status, body = self.post_event("order.created", sample("clarity_order.json"))
        self.assertEqual(status, 200, body)
        self.assertEqual(len(self.jobs()), 1)

    def test_the_webhook_opens_its_sealed_secret(self):
        with server_keys(KEY_A):
            self.backend.clarity_webhook_secret = WEBHOOK_SECRET
            self.env.flush_all()
            self.env.cr.execute("SELECT clarity_webhook_secret FROM commerce_backend WHERE id = %s", (self.backend.id,))
            self.assertTrue(self.env.cr.fetchone()[0].startswith(sealing.PREFIX))
            status, body = self.post_event("order.created", sample("clarity_order.json"))
            self.assertEqual(status, 200, body)
            status, _body = self.simulator.send_forged(self.webhook_url(), "order.created", sample("clarity_order.json"))
            self.assertEqual(status, 401)
        self.assertEqual(len(self.jobs()), 1)


@tagged("post_install", "-at_install")
class TestNotificationAllowlist(NotificationCase):

    def test_notification_route_applies_the_allowlist_and_its_sealed_secret(self):
        order_id = self.an_order(lambda order: True, count=3)
        with server_keys(KEY_A):
            self.backend.write({"amazon_notification_secret": SECRET, "webhook_ip_allowlist": "198.51.100.0/24"})
            self.env.flush_all()
            [refused] = self.sim.emit_order_change(order_id, self.url(), HEADER, SECRET)
            self.assertEqual(refused.status, 403, refused.response_body)
            self.backend.webhook_ip_allowlist = "127.0.0.1"
            self.env.flush_all()
            [accepted] = self.sim.emit_order_change(order_id, self.url(), HEADER, SECRET)
            self.assertEqual(accepted.status, 200, accepted.response_body)
        self.assertEqual(len(self.jobs("amazon.notification.order_change")), 1)
