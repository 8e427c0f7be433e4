from datetime import datetime

from psycopg2.errors import UniqueViolation

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CommerceCase


@tagged("post_install", "-at_install")
class TestBinding(CommerceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Binding = cls.env["commerce.binding"]
        cls.partner = cls.env["res.partner"].create({"name": "Acme Corp"})
        cls.other_partner = cls.env["res.partner"].create({"name": "Globex"})

    def test_bind_and_look_up_both_ways(self):
        binding = self.Binding.bind(self.backend, self.partner, "ACME-001", payload={"Name": "Acme"})
        self.assertEqual(self.Binding.lookup(self.backend, "res.partner", "ACME-001"), self.partner)
        self.assertEqual(self.Binding.lookup_external(self.backend, self.partner), "ACME-001")
        self.assertEqual(binding.res_name, "Acme Corp")
        self.assertFalse(self.Binding.lookup(self.backend, "res.partner", "NOPE"))
        self.assertFalse(self.Binding.lookup_external(self.backend, self.other_partner))

    def test_rebinding_updates_instead_of_duplicating(self):
        self.Binding.bind(self.backend, self.partner, 311)
        self.Binding.bind(self.backend, self.partner, "311", payload={"v": 2})
        self.assertEqual(self.Binding.search_count([("backend_id", "=", self.backend.id)]), 1)

    def test_unchanged_payload_is_detected_by_hash(self):
        payload = {"Name": "Acme", "Lines": [1, 2]}
        self.Binding.bind(self.backend, self.partner, "ACME-001", payload=payload)
        self.assertTrue(self.Binding.is_unchanged(self.backend, "res.partner", "ACME-001",
                                                  {"Lines": [1, 2], "Name": "Acme"}))
        self.assertFalse(self.Binding.is_unchanged(self.backend, "res.partner", "ACME-001",
                                                   {"Name": "Acme Corp", "Lines": [1, 2]}))
        self.assertFalse(self.Binding.is_unchanged(self.backend, "res.partner", "OTHER", payload))

    def test_older_external_data_is_stale(self):
        self.Binding.bind(self.backend, self.partner, "ACME-001", external_date=datetime(2025, 3, 4, 15, 0))
        self.assertTrue(self.Binding.is_stale(self.backend, "res.partner", "ACME-001", datetime(2025, 3, 4, 14, 0)))
        self.assertFalse(self.Binding.is_stale(self.backend, "res.partner", "ACME-001", datetime(2025, 3, 4, 16, 0)))

    def test_sql_uniqueness_external_id(self):
        self.Binding.create({"backend_id": self.backend.id, "res_model": "res.partner",
                             "res_id": self.partner.id, "external_id": "X1"})
        with mute_logger("odoo.sql_db"), self.assertRaises(UniqueViolation), self.env.cr.savepoint():
            self.Binding.create({"backend_id": self.backend.id, "res_model": "res.partner",
                                 "res_id": self.other_partner.id, "external_id": "X1"})

    def test_sql_uniqueness_record(self):
        self.Binding.create({"backend_id": self.backend.id, "res_model": "res.partner",
                             "res_id": self.partner.id, "external_id": "X1"})
        with mute_logger("odoo.sql_db"), self.assertRaises(UniqueViolation), self.env.cr.savepoint():
            self.Binding.create({"backend_id": self.backend.id, "res_model": "res.partner",
                                 "res_id": self.partner.id, "external_id": "X2"})

    def test_same_external_id_on_another_backend_or_model(self):
        other = self.backend.copy({"name": "Second store"})
        self.Binding.bind(self.backend, self.partner, "K")
        self.Binding.bind(other, self.other_partner, "K")
        product = self.env["product.product"].create({"name": "Widget"})
        self.Binding.bind(self.backend, product, "K")
        self.assertEqual(self.Binding.lookup(other, "res.partner", "K"), self.other_partner)
        self.assertEqual(self.Binding.lookup(self.backend, "product.product", "K"), product)
