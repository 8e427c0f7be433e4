"""Mapping suggestions: precision on the labelled set, and unknown SKU -> suggestion -> accept -> order."""

import json
from collections import Counter

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..core import job_registry, suggest
from .common import CommerceCase
from .mapping_suggestion_catalogue import catalogue
from .test_amazon_orders import AmazonCase, status_of
from .test_clarity_orders import sample



def labelled_pairs():
    return sample("mapping_suggestions_labelled.json")["pairs"]


class TestSuggestCore(CommerceCase):

    def test_scores_and_reasons_say_what_matched(self):
        candidates = [suggest.Candidate(1, "Widget 100 Blue Medium", "WID-100-BLU-M", "4006381333931"),
                      suggest.Candidate(2, "Widget 100 Blue Large", "WID-100-BLU-L", "4006381333948")]
        [best] = suggest.suggest("wid100blum", candidates, limit=1)
        self.assertEqual((best.candidate_id, best.score), (1, 99))
        self.assertIn("internal reference WID-100-BLU-M", best.reason)
        [best] = suggest.suggest("04006381333948", candidates, limit=1)
        self.assertEqual((best.candidate_id, best.score), (2, 100))
        self.assertIn("EAN", best.reason)
        [best] = suggest.suggest("ACME-WID-100-BLU-L", candidates, limit=1)
        self.assertEqual(best.candidate_id, 2)
        self.assertIn("contains internal reference WID-100-BLU-L", best.reason)
        self.assertEqual(suggest.suggest("completely unrelated", candidates), [])

    def test_a_similar_accepted_value_tips_the_balance(self):
        candidates = [suggest.Candidate(1, "Widget 100 Blue Medium", "WID-100-BLU-M"),
                      suggest.Candidate(2, "Widget 100 Blue Large", "WID-100-BLU-L")]
        # "WID-100-BLU" is as close to both; the backend once accepted "WID-100-BLU-X" for the large one
        without = suggest.suggest("WID-100-BLU", candidates)
        self.assertEqual(without[0].score, without[1].score)
        [best, _other] = suggest.suggest("WID-100-BLU", candidates, accepted=[("WID-100-BLU-X", 2)])
        self.assertEqual(best.candidate_id, 2)
        self.assertIn("WID-100-BLU-X was accepted for it before", best.reason)


class TestSuggestionPrecision(CommerceCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.catalogue = cls.env["product.product"].create([
            {"name": name, "default_code": code, "barcode": barcode, "type": "consu"}
            for code, name, barcode in catalogue()])

    def test_top1_precision_on_the_labelled_set(self):
        pairs = labelled_pairs()
        self.assertGreaterEqual(len(pairs), 200)
        self.assertEqual(len(self.catalogue), 100)
        candidates, history = self.env["commerce.mapping.suggestion"]._product_candidates(self.backend)
        code_of = dict(zip(self.catalogue.ids, self.catalogue.mapped("default_code")))
        hits, per_variant, totals = 0, Counter(), Counter()
        for pair in pairs:
            self.assertIn(pair["expected_default_code"], code_of.values())
            ranked = suggest.suggest(pair["external_value"], candidates, accepted=history, limit=1)
            totals[pair["variant"]] += 1
            if ranked and code_of.get(ranked[0].candidate_id) == pair["expected_default_code"]:
                hits += 1
                per_variant[pair["variant"]] += 1
        precision = hits / len(pairs)
        print(f"\nmapping suggestions: top-1 precision {precision:.1%} ({hits}/{len(pairs)}); "
              + ", ".join(f"{v} {per_variant[v]}/{n}" for v, n in sorted(totals.items())))
        self.assertGreaterEqual(precision, 0.90)


class TestValueMapSuggestions(CommerceCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        product = cls.env["product.product"].create({"name": "Shipping", "type": "service"})
        cls.carriers = cls.env["delivery.carrier"].create([
            {"name": name, "product_id": product.id} for name in ("UPS Ground", "FedEx Express", "DHL Parcel")])

    def test_carrier_suggestion_accepted_becomes_a_value_map(self):
        Suggestion = self.env["commerce.mapping.suggestion"]
        suggestion = Suggestion.suggest_value(self.backend, "carrier", "fedex express saver")
        self.assertEqual((suggestion.res_model, suggestion.res_id), ("delivery.carrier", self.carriers[1].id))
        self.assertIn("FedEx Express", suggestion.reason)
        with self.assertRaises(AccessError):
            suggestion.with_user(self.commerce_user).action_accept()
        self.assertFalse(self.env["commerce.value.map"].lookup(self.backend, "carrier", "fedex express saver"))
        suggestion.with_user(self.commerce_manager).action_accept()
        self.assertEqual(suggestion.state, "accepted")
        self.assertEqual(self.env["commerce.value.map"].lookup(self.backend, "carrier", "FEDEX EXPRESS SAVER"),
                         self.carriers[1])
        self.assertFalse(Suggestion.suggest_value(self.backend, "carrier", "fedex express saver"),
                         "a mapped value needs no suggestion")

    def test_a_job_refused_by_a_value_mapped_field_waits_for_the_accepted_suggestion(self):
        self.env["commerce.field.mapping"].create({
            "backend_id": self.backend.id, "model_name": "sale.order", "external_path": "ShippingCarrier",
            "field_id": self.env.ref("delivery.field_sale_order__carrier_id").id, "value_map_kind": "carrier"})
        job_type = "test.suggest.field_mapping"
        job_registry.register(job_type, lambda job: job.env["commerce.field.mapping"].import_values(
            job.backend_id, "sale.order", json.loads(job.payload)))
        self.addCleanup(job_registry._HANDLERS.pop, job_type)
        job = self.enqueue(job_type, {"ShippingCarrier": "DHL parcel (economy)"})
        self.run_jobs()
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))

        [suggestion] = self.env["commerce.mapping.suggestion"]._compute_for_backend(self.backend)
        self.assertEqual((suggestion.kind, suggestion.external_value, suggestion.res_id),
                         ("carrier", "DHL parcel (economy)", self.carriers[2].id))
        self.assertEqual(suggestion.job_ids, job)
        suggestion.with_user(self.commerce_manager).action_accept()
        self.run_jobs()
        self.assertEqual(job.state, "done", job.error_message)
        self.assertIn(str(self.carriers[2].id), job.result)


class TestFieldSuggestions(CommerceCase):

    def test_custom_attribute_suggested_by_name_and_sample_type_then_mapped(self):
        for number, when in enumerate(("2026-03-05T10:00:00", "2026-03-07T16:30:00")):
            data = dict(sample("clarity_order.json"), ID=90000 + number)
            data["SerializableAttributes"] = dict(data["SerializableAttributes"], CommitmentDate={
                "Key": "CommitmentDate", "Value": when})
            self.enqueue("clarity.order.import", {"Id": f"evt-{number}", "Event": "order.created", "Data": data})
        self.run_jobs()  # they fail (no catalogue here): what matters is what their payloads carry
        Suggestion = self.env["commerce.mapping.suggestion"]
        suggestions = Suggestion._compute_field_suggestions(self.backend)
        by_path = {s.external_value: s for s in suggestions}
        suggestion = by_path["SerializableAttributes.CommitmentDate.Value"]
        self.assertEqual(suggestion.kind, "field")
        self.assertEqual(suggestion.suggested_record_ref, self.env.ref("sale.field_sale_order__commitment_date"))
        self.assertIn("samples are date-times, like the datetime field", suggestion.reason)
        self.assertNotEqual(by_path.get("SerializableAttributes.SalesChannel.Value", suggestion).res_id,
                            suggestion.res_id)

        suggestion.with_user(self.commerce_manager).action_accept()
        mapping = self.env["commerce.field.mapping"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual((mapping.external_path, mapping.field_id.name),
                         ("SerializableAttributes.CommitmentDate.Value", "commitment_date"))
        self.assertEqual(mapping.import_values(self.backend, "sale.order", data)["commitment_date"].isoformat(),
                         "2026-03-07T16:30:00")
        Suggestion.search([("kind", "=", "field"), ("state", "=", "proposed")]).action_reject()
        self.assertFalse(Suggestion._compute_field_suggestions(self.backend).filtered(
            lambda s: s.external_value == "SerializableAttributes.CommitmentDate.Value"), "mapped now")


class TestUnknownSkuSuggestion(AmazonCase):

    def order_with_sku(self, sku):
        self.sim.generate_orders(30)
        order_id = self.stored(lambda o: status_of(o) == "UNSHIPPED")[0]
        items = self.sim.order(order_id)["orderItems"]
        items[0]["product"]["sellerSku"] = sku
        self.sim.update_order(order_id, {"orderItems": items})
        self.make_ready()
        self.poll()
        [job] = self.jobs("amazon.order.import").filtered(lambda j: j.idempotency_key.startswith(order_id))
        return order_id, job

    def test_unknown_sku_suggested_accepted_bound_and_the_order_imported(self):
        order_id, job = self.order_with_sku("SUP-CCMUG001")
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        Suggestion = self.env["commerce.mapping.suggestion"]

        self.env.ref("commerce_connector.ir_cron_commerce_mapping_suggestions").method_direct_trigger()
        suggestion = Suggestion.search([("backend_id", "=", self.backend.id), ("external_value", "=", "SUP-CCMUG001")])
        mug = self.products.filtered(lambda p: p.default_code == "CC-MUG-001")
        self.assertEqual((suggestion.kind, suggestion.state, suggestion.res_id), ("sku", "proposed", mug.id))
        self.assertEqual(suggestion.job_ids, job)
        self.assertIn("contains internal reference CC-MUG-001", suggestion.reason)
        self.assertGreaterEqual(suggestion.score, 80)
        Suggestion._compute_for_backend(self.backend)
        self.assertEqual(Suggestion.search_count([("external_value", "=", "SUP-CCMUG001")]), 1, "computed once")

        suggestion.with_user(self.commerce_manager_user()).action_accept()
        self.assertEqual(suggestion.state, "accepted")
        self.assertEqual(self.env["commerce.binding"].lookup_product(self.backend, "SUP-CCMUG001"), mug)
        self.assertEqual(job.state, "pending", "the waiting job is requeued")
        self.run_jobs()
        self.assertEqual(job.state, "done", job.error_message)
        sale_order = self.sale_order(order_id)
        self.assertIn(mug, sale_order.order_line.product_id)

    def test_a_rejected_suggestion_is_never_proposed_again(self):
        _order_id, job = self.order_with_sku("CC-MUG-01")
        Suggestion = self.env["commerce.mapping.suggestion"]
        first = Suggestion._compute_for_backend(self.backend)
        self.assertEqual(len(first), 1)
        first.with_user(self.commerce_manager_user()).action_reject()
        self.assertEqual(first.state, "rejected")
        self.assertEqual(job.state, "failed", "a rejection retries nothing")

        second = Suggestion._compute_for_backend(self.backend)
        self.assertEqual(len(second), 1)
        self.assertNotEqual(second.res_id, first.res_id)
        self.assertEqual(second.state, "proposed")
        rounds = 0
        while second:  # reject every proposal: each one names a record not proposed before
            second.action_reject()
            second = Suggestion._compute_for_backend(self.backend)
            rounds += 1
            self.assertLess(rounds, 50)
        suggested = Suggestion.search([("external_value", "=", "CC-MUG-01")])
        self.assertGreater(len(suggested), 2)
        self.assertEqual(set(suggested.mapped("state")), {"rejected"})
        self.assertEqual(len(set(suggested.mapped("res_id"))), len(suggested), "no record suggested twice")

    def test_accepting_for_an_already_bound_product_is_refused(self):
        _order_id, _job = self.order_with_sku("SUP-CCMUG001")
        [suggestion] = self.env["commerce.mapping.suggestion"]._compute_for_backend(self.backend)
        self.env["commerce.binding"].bind(self.backend, suggestion.suggested_record_ref, "MUG-LEGACY")
        with self.assertRaisesRegex(UserError, "already bound to SKU MUG-LEGACY"):
            suggestion.action_accept()
        self.assertEqual(suggestion.state, "proposed")

    def commerce_manager_user(self):
        return self.env["res.users"].create({
            "name": "Commerce manager", "login": "suggest_manager",
            "groups_id": [(6, 0, [self.env.ref("base.group_user").id,
                                  self.env.ref("commerce_connector.group_commerce_manager").id])]})


@tagged("post_install", "-at_install")
class TestSuggestionViews(CommerceCase):

    def test_list_and_menu_load(self):
        action = self.env.ref("commerce_connector.action_commerce_mapping_suggestion")
        self.assertEqual(action.res_model, "commerce.mapping.suggestion")
        self.env["commerce.mapping.suggestion"].get_views([(False, "list"), (False, "form"), (False, "search")])
