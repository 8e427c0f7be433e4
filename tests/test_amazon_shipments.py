"""Shipments of merchant-fulfilled Amazon orders back to Amazon: done delivery -> server action ->
job -> confirmShipment on the SP-API simulator over HTTP."""

import json
import time
from datetime import datetime, timedelta

import pytest
from odoo import fields

from ..channels.amazon import shipping
from ..core.canonical import Shipment, ShipmentLine
from ..core.errors import BusinessError
from ..simulators.spapi import Fault
from .test_amazon_orders import US, AmazonCase, by_amazon, status_of

SHIPMENT = "amazon.shipment.export"


class AmazonShipmentCase(AmazonCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Carrier = cls.env["delivery.carrier"]
        cls.ups = Carrier.create({
            "name": "UPS Ground", "delivery_type": "fixed", "fixed_price": 7.5,
            "product_id": cls.env["product.product"].create({"name": "UPS shipping", "type": "service"}).id})
        cls.acme = Carrier.create({
            "name": "Acme Freight", "delivery_type": "fixed", "fixed_price": 5.0,
            "product_id": cls.env["product.product"].create({"name": "Acme shipping", "type": "service"}).id})
        cls.env["commerce.value.map"].create({"backend_id": cls.backend.id, "kind": "carrier",
                                              "external_value": "UPS", "odoo_record": f"delivery.carrier,{cls.ups.id}"})

    def import_order(self, predicate, count=40):
        """Generate ``count`` orders, import them and return (Amazon order id, sale order) of the
        first one matching ``predicate``."""
        self.sim.generate_orders(count)
        order_id = self.stored(predicate)[0]
        self.poll()
        sale_order = self.sale_order(order_id)
        self.assertTrue(sale_order, order_id)
        return order_id, sale_order

    def deliver(self, picking, quantities=None, carrier=None, tracking="1Z999AA10123456784"):
        """Validate ``picking`` with carrier, tracking and ``{product: quantity}`` (default:
        everything); what is not shipped stays open as a backorder (no wizard)."""
        picking.write({"carrier_id": (carrier or self.ups).id, "carrier_tracking_ref": tracking})
        for move in picking.move_ids:
            move.quantity = (quantities or {}).get(move.product_id, move.product_uom_qty)
            move.picked = True
        picking.with_context(skip_backorder=True).button_validate()
        self.assertEqual(picking.state, "done")

    def confirmations(self):
        return self.sim.recorder.calls(operation="confirmShipment")

    def shipment_job(self, picking):
        return self.jobs(SHIPMENT).filtered(lambda j: j.res_id == picking.id)

    def run_due_jobs(self):
        """Run the jobs now, as the runner does once their retry time has come."""
        self.Job.search([("state", "=", "pending")]).write({"eta": fields.Datetime.now() - timedelta(seconds=1)})
        return self.run_jobs()

    @staticmethod
    def mfn(status="UNSHIPPED"):
        return lambda order: status_of(order) == status and not by_amazon(order)


class TestAmazonShipmentConfirmation(AmazonShipmentCase):

    def test_done_delivery_confirms_one_package_with_items_carrier_and_tracking(self):
        self.backend.amazon_import_statuses = "UNSHIPPED"
        order_id, sale_order = self.import_order(
            lambda o: self.mfn()(o) and len(o["orderItems"]) > 1)
        picking = sale_order.picking_ids

        self.deliver(picking)

        job = self.shipment_job(picking)
        self.assertEqual((len(job), job.idempotency_key, job.state), (1, picking.name, "pending"))
        self.assertFalse(self.confirmations(), "sent by the job, not in the user's transaction")
        self.run_jobs()
        self.assertEqual(job.state, "done", job.error_message)
        [call] = self.confirmations()
        self.assertEqual(call.status, 204)
        self.assertTrue(call.path.endswith(f"/orders/v0/orders/{order_id}/shipmentConfirmation"))
        body = call.json()
        self.assertEqual(body["marketplaceId"], US)
        detail = body["packageDetail"]
        remote = self.sim.order(order_id)
        self.assertEqual(sorted((i["orderItemId"], i["quantity"]) for i in detail["orderItems"]),
                         sorted((i["orderItemId"], i["quantityOrdered"]) for i in remote["orderItems"]))
        self.assertEqual((detail["packageReferenceId"], detail["carrierCode"], detail["trackingNumber"]),
                         (str(picking.id), "UPS", "1Z999AA10123456784"))
        self.assertNotIn("carrierName", detail, "a mapped carrier goes by Amazon's code")
        self.assertTrue(detail["shipDate"].startswith(picking.date_done.strftime("%Y-%m-%dT%H:%M")))
        self.assertEqual(status_of(remote), "SHIPPED")
        [package] = remote["packages"]
        self.assertEqual((package["trackingNumber"], package["carrier"]), ("1Z999AA10123456784", "UPS"))
        result = json.loads(job.result)
        self.assertEqual((result["outcome"], result["order"]), ("confirmed", order_id))
        self.assertEqual(self.sim.response_validation_errors, [])
        self.assertEqual(self.sim.request_validation_errors, [])

        # The server action again (Action menu, re-validation): the same job, no second confirmation.
        self.assertEqual(picking._commerce_export_shipment(), job)
        self.run_jobs()
        self.assertEqual(len(self.confirmations()), 1)

    def test_partial_delivery_then_backorder_are_two_packages(self):
        self.backend.amazon_import_statuses = "UNSHIPPED"
        order_id, sale_order = self.import_order(
            lambda o: self.mfn()(o) and len(o["orderItems"]) > 1 and o["orderItems"][0]["quantityOrdered"] > 1)
        remote_items = self.sim.order(order_id)["orderItems"]
        first_item = remote_items[0]
        first_product = sale_order.order_line.filtered(
            lambda l: l.amazon_order_item_id == first_item["orderItemId"]).product_id
        picking = sale_order.picking_ids

        self.deliver(picking, {first_product: first_item["quantityOrdered"] - 1})
        self.run_jobs()

        [first_call] = self.confirmations()
        shipped_first = {i["orderItemId"]: i["quantity"] for i in first_call.json()["packageDetail"]["orderItems"]}
        expected = {i["orderItemId"]: i["quantityOrdered"] for i in remote_items}
        expected[first_item["orderItemId"]] -= 1
        self.assertEqual(shipped_first, expected)
        self.assertEqual(status_of(self.sim.order(order_id)), "PARTIALLY_SHIPPED")

        backorder = sale_order.picking_ids - picking
        self.assertEqual(len(backorder), 1)
        self.deliver(backorder, tracking="1Z999AA10123456785")
        self.run_jobs()

        self.assertEqual(set(self.jobs(SHIPMENT).mapped("state")), {"done"})
        _first, second = self.confirmations()
        self.assertEqual(second.json()["packageDetail"]["orderItems"],
                         [{"orderItemId": first_item["orderItemId"], "quantity": 1}])
        self.assertEqual(second.json()["packageDetail"]["packageReferenceId"], str(backorder.id))
        remote = self.sim.order(order_id)
        self.assertEqual(status_of(remote), "SHIPPED")
        self.assertEqual([p["trackingNumber"] for p in remote["packages"]],
                         ["1Z999AA10123456784", "1Z999AA10123456785"])

    def test_a_retry_after_a_lost_answer_does_not_confirm_twice(self):
        self.backend.amazon_import_statuses = "UNSHIPPED"
        order_id, sale_order = self.import_order(
            lambda o: self.mfn()(o) and any(i["quantityOrdered"] > 1 for i in o["orderItems"]))
        picking = sale_order.picking_ids
        item = next(i for i in self.sim.order(order_id)["orderItems"] if i["quantityOrdered"] > 1)
        product = sale_order.order_line.filtered(lambda l: l.amazon_order_item_id == item["orderItemId"]).product_id
        self.deliver(picking, {product: 1})  # partial: Amazon still accepts packages for the order
        self.run_jobs()
        # Amazon confirmed the package but the answer was lost: the job runs again.
        replay = self.Job.enqueue(self.backend, SHIPMENT, payload={"picking_id": picking.id},
                                  idempotency_key=f"{picking.name}:replay", res_model="stock.picking",
                                  res_id=picking.id)
        self.run_jobs()

        self.assertEqual(replay.state, "done", replay.error_message)
        self.assertEqual(json.loads(replay.result)["outcome"], "already_confirmed")
        self.assertEqual([c.status for c in self.confirmations()], [204, 400])
        self.assertEqual(len(self.sim.order(order_id)["packages"]), 1)

    def test_unmapped_carrier_is_other_with_its_name(self):
        self.backend.amazon_import_statuses = "UNSHIPPED"
        order_id, sale_order = self.import_order(self.mfn())
        self.deliver(sale_order.picking_ids, carrier=self.acme, tracking="ACME-000123")
        self.run_jobs()
        [call] = self.confirmations()
        detail = call.json()["packageDetail"]
        self.assertEqual((detail["carrierCode"], detail["carrierName"]), ("Other", "Acme Freight"))
        self.assertEqual(self.sim.order(order_id)["packages"][-1]["carrier"], "Acme Freight")

    def test_fba_orders_are_never_confirmed(self):
        _order_id, sale_order = self.import_order(lambda o: status_of(o) == "SHIPPED" and by_amazon(o))
        picking = sale_order.picking_ids
        self.assertEqual(picking.state, "done", "delivered from the FBA warehouse by the import")
        self.assertFalse(self.jobs(SHIPMENT), "the import's own delivery is not sent back")

        job = picking._commerce_export_shipment()  # by hand, from the Action menu
        self.run_jobs()

        self.assertEqual(job.state, "done", job.error_message)
        self.assertIn("FBA", json.loads(job.result)["skipped"])
        self.assertFalse(self.confirmations())

    def test_order_shipped_outside_odoo_is_done_without_a_package(self):
        self.backend.amazon_import_statuses = "SHIPPED"
        order_id, sale_order = self.import_order(self.mfn("SHIPPED"))
        packages = self.sim.order(order_id)["packages"]
        self.deliver(sale_order.picking_ids)
        self.run_jobs()
        job = self.shipment_job(sale_order.picking_ids)
        self.assertEqual(job.state, "done", job.error_message)
        self.assertEqual(json.loads(job.result)["outcome"], "already_shipped")
        self.assertEqual(self.sim.order(order_id)["packages"], packages)

    def two_item_order_with_one_shipped_outside_odoo(self):
        self.backend.amazon_import_statuses = "UNSHIPPED"
        order_id, sale_order = self.import_order(lambda o: self.mfn()(o) and len(o["orderItems"]) > 1)
        shipped_outside, *still_open = self.sim.order(order_id)["orderItems"]
        self.sim.ship_items(order_id, [{"orderItemId": shipped_outside["orderItemId"],
                                        "quantity": shipped_outside["quantityOrdered"]}])
        self.assertEqual(status_of(self.sim.order(order_id)), "PARTIALLY_SHIPPED")
        product = sale_order.order_line.filtered(
            lambda l: l.amazon_order_item_id == shipped_outside["orderItemId"]).product_id
        return order_id, sale_order, product, still_open

    def test_items_shipped_outside_odoo_are_left_out_of_the_package(self):
        order_id, sale_order, _product, still_open = self.two_item_order_with_one_shipped_outside_odoo()
        self.deliver(sale_order.picking_ids)
        self.run_jobs()

        job = self.shipment_job(sale_order.picking_ids)
        self.assertEqual(job.state, "done", job.error_message)
        self.assertEqual(json.loads(job.result)["outcome"], "confirmed_unshipped_part")
        refused, accepted = self.confirmations()
        self.assertEqual(refused.status, 400, "Amazon refused the package with the item it had shipped")
        self.assertEqual(accepted.json()["packageDetail"]["orderItems"],
                         [{"orderItemId": i["orderItemId"], "quantity": i["quantityOrdered"]} for i in still_open])
        self.assertEqual(status_of(self.sim.order(order_id)), "SHIPPED")

    def test_a_delivery_of_items_amazon_has_all_shipped_is_done_without_a_package(self):
        order_id, sale_order, product, _still_open = self.two_item_order_with_one_shipped_outside_odoo()
        packages = self.sim.order(order_id)["packages"]
        picking = sale_order.picking_ids
        self.deliver(picking, {move.product_id: (move.product_uom_qty if move.product_id == product else 0)
                               for move in picking.move_ids})
        self.run_jobs()

        job = self.shipment_job(picking)
        self.assertEqual(job.state, "done", job.error_message)
        self.assertEqual(json.loads(job.result)["outcome"], "already_shipped")
        self.assertEqual(self.sim.order(order_id)["packages"], packages, "no second package")
        self.assertEqual(status_of(self.sim.order(order_id)), "PARTIALLY_SHIPPED")


class TestAmazonShipmentFailures(AmazonShipmentCase):

    def setUp(self):
        super().setUp()
        self.backend.amazon_import_statuses = "UNSHIPPED"
        self.order_id, self.sale_order = self.import_order(self.mfn())
        self.picking = self.sale_order.picking_ids

    def test_server_errors_are_retried_by_the_engine_then_confirmed(self):
        self.sim.fail_next(Fault.UNAVAILABLE, "confirmShipment", count=3)  # every in-call attempt
        self.deliver(self.picking)
        self.run_jobs()
        job = self.shipment_job(self.picking)
        self.assertEqual((job.state, job.error_kind), ("pending", "transient"))
        self.assertTrue(job.eta)
        self.assertEqual(status_of(self.sim.order(self.order_id)), "UNSHIPPED")

        self.run_due_jobs()

        self.assertEqual(job.state, "done", job.error_message)
        self.assertEqual([c.status for c in self.confirmations()], [503, 503, 503, 204])
        self.assertEqual(len(self.sim.order(self.order_id)["packages"]), 1)

    def test_throttled_confirmation_waits_for_amazon_rate_then_succeeds(self):
        self.sim.fail_next(Fault.THROTTLED, "confirmShipment")
        self.deliver(self.picking)
        self.run_jobs()
        job = self.shipment_job(self.picking)
        self.assertEqual((job.state, job.error_kind), ("pending", "transient"), "0.5 s at 2/s: beyond wait_max")
        self.assertTrue(job.eta)

        time.sleep(0.6)  # the retry time: Amazon's rate gives the next token after half a second
        self.run_due_jobs()

        self.assertEqual(job.state, "done", job.error_message)
        self.assertEqual([c.status for c in self.confirmations()], [429, 204])

    def test_order_cancelled_on_amazon_meanwhile_is_a_business_failure_with_amazons_message(self):
        self.sim.advance_order_status(self.order_id, "CANCELLED")
        self.deliver(self.picking)
        self.run_jobs()
        job = self.shipment_job(self.picking)
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertIn(f"Order {self.order_id} is CANCELLED", job.error_message, "Amazon's own words")
        self.assertIn("cancelled on Amazon", job.error_message)
        self.assertFalse(self.sim.order(self.order_id).get("packages"))

    def test_missing_tracking_number_fails_before_any_call(self):
        self.deliver(self.picking, tracking=False)
        self.run_jobs()
        job = self.shipment_job(self.picking)
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertIn("no tracking number", job.error_message)
        self.assertFalse(self.confirmations())


# -- the ORM-free mapping ------------------------------------------------------------------

def _shipment(*lines, tracking="TRK1"):
    return Shipment(reference="WH/OUT/00007", order_external_id="111-2223334-4445556", carrier="UPS",
                    tracking_number=tracking, ship_date=datetime(2026, 3, 1, 14, 30, 5),
                    lines=[ShipmentLine(sku, quantity) for sku, quantity in lines])


def test_package_detail_fills_the_items_of_a_sku_one_after_the_other():
    items = [("MUG", "A1", 2.0), ("TEA", "B1", 1.0), ("MUG", "A2", 3.0)]
    detail = shipping.package_detail(_shipment(("MUG", 4), ("TEA", 1)), items, 42, carrier_code="UPS")
    assert detail == {"packageReferenceId": "42", "carrierCode": "UPS", "trackingNumber": "TRK1",
                      "shipDate": "2026-03-01T14:30:05Z",
                      "orderItems": [{"orderItemId": "A1", "quantity": 2}, {"orderItemId": "A2", "quantity": 2},
                                     {"orderItemId": "B1", "quantity": 1}]}


def test_package_detail_without_a_carrier_code_is_other_with_the_name():
    detail = shipping.package_detail(_shipment(("MUG", 1)), [("MUG", "A1", 1)], 3, carrier_name="Acme Freight")
    assert (detail["carrierCode"], detail["carrierName"]) == ("Other", "Acme Freight")


@pytest.mark.parametrize(("lines", "items", "message"), [
    ((("MUG", 3),), [("MUG", "A1", 2)], r"1 unit\(s\) more than"),
    ((("KTL", 1),), [("MUG", "A1", 2)], "KTL is not an item"),
    ((("MUG", 1.5),), [("MUG", "A1", 2)], "whole units"),
])
def test_package_detail_refuses_what_amazon_would_refuse(lines, items, message):
    with pytest.raises(BusinessError, match=message):
        shipping.package_detail(_shipment(*lines), items, 1, carrier_code="UPS")


def test_package_detail_needs_tracking_and_a_carrier():
    with pytest.raises(BusinessError, match="no tracking number"):
        shipping.package_detail(_shipment(("MUG", 1), tracking=""), [("MUG", "A1", 1)], 1, carrier_code="UPS")
    with pytest.raises(BusinessError, match="no carrier"):
        shipping.package_detail(_shipment(("MUG", 1)), [("MUG", "A1", 1)], 1)
