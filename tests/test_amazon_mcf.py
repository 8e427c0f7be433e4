"""Amazon Multi-Channel Fulfilment end to end with both simulators over real HTTP: a Clarity
order of the FBA warehouse -> createFulfillmentOrder -> Amazon ships -> the delivery is done
with Amazon's tracking -> the Clarity shipment."""

from odoo.tests import tagged

from ..channels.amazon import fulfillment
from ..core.errors import PayloadValidationError
from ..simulators.spapi import Fault, SpApiSimulator
from .common import isolate_sp_api_environment
from .test_amazon_orders import AmazonCase
from .test_clarity_orders import sample
from .test_clarity_outbound import SHIPMENT, ClarityOutboundCase

CREATE, STATUS, CANCEL, UNFULFILLABLE = "amazon.mcf.create", "amazon.mcf.status", "amazon.mcf.cancel", \
    "amazon.mcf.unfulfillable"


@tagged("post_install", "-at_install")
class McfCase(ClarityOutboundCase):
    """The Clarity store of ClarityOutboundCase delivers from the FBA warehouse of an Amazon
    backend wired to a fresh SP-API simulator; sample order 10452 is imported in setUp."""

    create_fault = None  # a simulator Fault answering the first createFulfillmentOrder

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fba_warehouse = cls.env["stock.warehouse"].create({"name": "Amazon FBA", "code": "FBA"})
        cls.backend.warehouse_id = cls.fba_warehouse
        # credentials and endpoints: the simulator's, in setUp
        cls.amazon = cls.env["commerce.backend"].create({
            "name": "Amazon MCF", "channel": "amazon", "amazon_fba_warehouse_id": cls.fba_warehouse.id,
            "amazon_marketplace_ids": [(6, 0, cls.env.ref("commerce_connector.amazon_marketplace_atvpdkikx0der").ids)],
        })
        service = cls.env["product.product"].create({"name": "Carrier service", "type": "service"})
        cls.ups = cls.env["delivery.carrier"].create({"name": "UPS", "product_id": service.id})
        cls.ups_express = cls.env["delivery.carrier"].create({"name": "UPS Express", "product_id": service.id})
        # Clarity's "UPS" orders ship with UPS Express, which Amazon ships Expedited.
        ValueMap = cls.env["commerce.value.map"]
        ValueMap.create({"backend_id": cls.backend.id, "kind": "carrier", "external_value": "UPS",
                         "odoo_record": f"delivery.carrier,{cls.ups_express.id}"})
        ValueMap.create({"backend_id": cls.amazon.id, "kind": "shipping_speed", "external_value": "UPS Express",
                         "odoo_value": "Expedited"})

    def setUp(self):
        super().setUp()
        isolate_sp_api_environment(self)
        AmazonCase.clear_client_state()
        self.addCleanup(AmazonCase.clear_client_state)
        self.sim = SpApiSimulator().start()
        self.addCleanup(self.sim.stop)
        self.amazon.write({
            "amazon_endpoint": self.sim.url,
            "amazon_lwa_url": f"{self.sim.url}/auth/o2/token",
            "amazon_lwa_client_id": self.sim.client_id,
            "amazon_lwa_client_secret": self.sim.client_secret,
            "amazon_refresh_token": self.sim.refresh_token,
        })
        fba_stock = self.fba_warehouse.lot_stock_id
        self.add_stock(self.widget, 10, fba_stock)
        self.add_stock(self.cable, 10, fba_stock)
        if self.create_fault:
            self.sim.fail_next(self.create_fault, operation="createFulfillmentOrder")
        self.simulator.add_order(sample("clarity_order.json"))
        self.post_event("order.created", sample("clarity_order.json"))
        self.run_jobs()
        self.order = self.Binding.lookup(self.backend, "sale.order", "10452")
        self.picking = self.order.picking_ids
        self.mcf_id = self.picking.amazon_mcf_order_id

    def tearDown(self):
        self.assertEqual(self.sim.response_validation_errors, [], "every simulator answer matches Amazon's model")
        super().tearDown()

    # -- helpers ---------------------------------------------------------------------------
    def amazon_jobs(self, job_type):
        return self.Job.search([("backend_id", "=", self.amazon.id), ("job_type", "=", job_type)], order="id")

    def sp_calls(self, operation):
        return self.sim.recorder.calls(operation=operation)

    def poll(self):
        """What the status cron does, then the runner."""
        queued = self.env["commerce.backend"]._cron_amazon_mcf_status()
        self.run_jobs()
        return queued

    def shipped_lines(self, picking):
        shipment = self.simulator.shipments[picking.name]
        return sorted((line["Sku"], line["Quantity"]) for line in shipment["ShipmentLines"])


class TestAmazonMcf(McfCase):

    def test_clarity_order_is_shipped_by_amazon_and_its_tracking_reaches_clarity(self):
        self.assertEqual((self.order.warehouse_id, self.picking.state), (self.fba_warehouse, "assigned"))
        create = self.amazon_jobs(CREATE)
        self.assertEqual((len(create), create.state, create.idempotency_key), (1, "done", self.picking.name),
                         create.error_message)
        [call] = self.sp_calls("createFulfillmentOrder")
        body = call.json()
        self.assertEqual(body["sellerFulfillmentOrderId"], self.picking.name)
        self.assertEqual(body["displayableOrderId"], "SO-10452")
        self.assertEqual(body["shippingSpeedCategory"], "Expedited", "UPS Express is mapped to Expedited")
        self.assertEqual(body["marketplaceId"], "ATVPDKIKX0DER")
        address = body["destinationAddress"]
        self.assertEqual((address["addressLine1"], address["city"], address["stateOrRegion"], address["postalCode"],
                          address["countryCode"]), ("2500 Industrial Blvd", "Round Rock", "TX", "78664", "US"))
        self.assertIn(self.picking.partner_id.name, address["name"])
        self.assertEqual(sorted((item["sellerSku"], item["quantity"]) for item in body["items"]),
                         [("CAB-USB-2M", 1), ("WID-100-BLU-M", 2)])
        self.assertEqual((self.mcf_id, self.picking.amazon_mcf_status, self.picking.amazon_mcf_backend_id),
                         (self.picking.name, "Received", self.amazon))

        self.sim.advance_fulfillment_order(self.mcf_id)  # Planning
        self.poll()
        self.assertEqual((self.picking.state, self.picking.amazon_mcf_status), ("assigned", "Planning"))
        self.sim.advance_fulfillment_order(self.mcf_id)  # Processing
        self.assertEqual(self.sim.advance_fulfillment_order(self.mcf_id), "Complete")
        [package] = self.sim.fulfillment_order(self.mcf_id)["shipments"][0]["fulfillmentShipmentPackage"]
        self.assertFalse(self.simulator.shipments, "nothing reaches Clarity before Amazon ships")

        self.poll()

        self.assertEqual(self.amazon_jobs(STATUS).mapped("state"), ["done", "done"])
        self.assertEqual(self.picking.state, "done")
        self.assertEqual((self.picking.carrier_tracking_ref, self.picking.carrier_id, self.picking.amazon_mcf_status),
                         (package["trackingNumber"], self.ups, "Complete"))
        self.assertEqual(self.picking.amazon_mcf_packages, str(package["packageNumber"]))
        self.assertEqual([c.query["packageNumber"] for c in self.sp_calls("getPackageTrackingDetails")],
                         [[str(package["packageNumber"])]])
        export = self.Job.search([("backend_id", "=", self.backend.id), ("job_type", "=", SHIPMENT)])
        self.assertEqual((len(export), export.state), (1, "done"), export.error_message)
        shipment = self.simulator.shipments[self.picking.name]
        self.assertEqual((shipment["TrackingNumber"], shipment["CarrierName"]), (package["trackingNumber"], "UPS"))
        self.assertEqual(self.shipped_lines(self.picking), [("CAB-USB-2M", 1), ("WID-100-BLU-M", 2)])
        self.assertEqual(self.simulator.get_order(10452)["StatusKey"], "Shipped")

        self.assertEqual(self.poll(), 0, "a complete fulfilment order is not polled again")
        self.assertEqual(len(self.sp_calls("createFulfillmentOrder")), 1, "the validated delivery asks nothing again")
        self.assertFalse(self.amazon_jobs(UNFULFILLABLE))

    def test_partial_shipment_in_two_packages_validates_delivery_and_backorder(self):
        self.sim.advance_fulfillment_order(self.mcf_id, "Processing")
        first = self.sim.ship_fulfillment_package(self.mcf_id, {"WID-100-BLU-M": 1, "CAB-USB-2M": 1},
                                                  tracking_number="1ZPART0000000001")
        self.poll()

        self.assertEqual((self.picking.state, self.picking.carrier_tracking_ref), ("done", "1ZPART0000000001"))
        self.assertEqual(self.picking.amazon_mcf_packages, str(first))
        backorder = self.order.picking_ids - self.picking
        self.assertEqual(len(backorder), 1)
        self.assertEqual((backorder.state, backorder.amazon_mcf_order_id, backorder.amazon_mcf_status),
                         ("assigned", self.mcf_id, "Processing"))
        self.assertEqual([(m.product_id, m.product_uom_qty) for m in backorder.move_ids], [(self.widget, 1)])
        self.assertEqual(len(self.sp_calls("createFulfillmentOrder")), 1, "the backorder is the same MCF order")
        self.assertEqual(len(self.amazon_jobs(CREATE)), 1)
        self.assertEqual(self.shipped_lines(self.picking), [("CAB-USB-2M", 1), ("WID-100-BLU-M", 1)])
        self.assertEqual(self.simulator.get_order(10452)["StatusKey"], "Confirmed", "one unit is still on its way")

        self.sim.ship_fulfillment_package(self.mcf_id, tracking_number="1ZPART0000000002")
        self.assertEqual(self.sim.fulfillment_order(self.mcf_id)["order"]["fulfillmentOrderStatus"], "Complete")
        self.poll()

        self.assertEqual((backorder.state, backorder.carrier_tracking_ref), ("done", "1ZPART0000000002"))
        self.assertEqual(self.shipped_lines(backorder), [("WID-100-BLU-M", 1)])
        self.assertEqual(self.simulator.shipments[backorder.name]["TrackingNumber"], "1ZPART0000000002")
        self.assertEqual(self.simulator.get_order(10452)["StatusKey"], "Shipped")
        self.assertEqual(set(self.order.picking_ids.mapped("amazon_mcf_status")), {"Complete"})

    def test_two_packages_shipped_between_polls_validate_one_delivery_each(self):
        self.sim.advance_fulfillment_order(self.mcf_id, "Processing")
        self.sim.ship_fulfillment_package(self.mcf_id, {"CAB-USB-2M": 1}, tracking_number="1ZTWO0000000001")
        self.sim.ship_fulfillment_package(self.mcf_id, tracking_number="1ZTWO0000000002")

        self.poll()

        deliveries = self.order.picking_ids.sorted("id")
        self.assertEqual(deliveries.mapped("state"), ["done", "done"])
        self.assertEqual(deliveries.mapped("carrier_tracking_ref"), ["1ZTWO0000000001", "1ZTWO0000000002"])
        self.assertEqual([self.shipped_lines(p) for p in deliveries], [[("CAB-USB-2M", 1)], [("WID-100-BLU-M", 2)]])

    def test_cancel_in_odoo_cancels_the_fulfillment_order_while_amazon_allows_it(self):
        self.sim.advance_fulfillment_order(self.mcf_id)  # Planning: still cancellable
        self.picking.action_cancel()
        job = self.amazon_jobs(CANCEL)
        self.assertEqual((len(job), job.state), (1, "pending"), "the call is made by the job")
        self.assertFalse(self.sp_calls("cancelFulfillmentOrder"))

        self.run_jobs()

        self.assertEqual(job.state, "done", job.error_message)
        self.assertEqual(len(self.sp_calls("cancelFulfillmentOrder")), 1)
        self.assertEqual(self.sim.fulfillment_order(self.mcf_id)["order"]["fulfillmentOrderStatus"], "Cancelled")
        self.assertEqual(self.picking.amazon_mcf_status, "Cancelled")
        self.assertEqual(self.poll(), 0)

    def test_cancel_once_amazon_is_processing_is_refused_as_a_business_failure(self):
        self.sim.advance_fulfillment_order(self.mcf_id, "Processing")
        self.picking.action_cancel()
        self.run_jobs()

        job = self.amazon_jobs(CANCEL)
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertIn("Processing", job.error_message)
        self.assertEqual(self.sim.fulfillment_order(self.mcf_id)["order"]["fulfillmentOrderStatus"], "Processing")
        # Amazon itself refuses it too, whatever the connector knew.
        with self.assertRaises(PayloadValidationError):
            fulfillment.cancel_fulfillment_order(self.amazon._amazon_client(), self.mcf_id)

    def test_unfulfillable_order_becomes_a_business_job_with_amazons_reason(self):
        reason = "No sellable inventory of WID-100-BLU-M at the fulfillment center"
        self.sim.advance_fulfillment_order(self.mcf_id)
        self.sim.make_unfulfillable(self.mcf_id, reason)

        self.poll()

        self.assertEqual(self.amazon_jobs(STATUS).state, "done")
        self.assertEqual((self.picking.state, self.picking.amazon_mcf_status), ("assigned", "Unfulfillable"))
        self.assertIn(reason, self.picking.amazon_mcf_error)
        job = self.amazon_jobs(UNFULFILLABLE)
        self.assertEqual((len(job), job.state, job.error_kind, job.res_id), (1, "failed", "business", self.picking.id))
        self.assertIn(reason, job.error_message)
        self.assertIn("2 × WID-100-BLU-M", job.error_message)
        self.assertEqual(self.poll(), 0, "an unfulfillable order is not polled again")
        self.assertFalse(self.simulator.shipments)

    def test_delivery_of_another_warehouse_is_no_mcf_order(self):
        other = self.env["sale.order"].create({
            "partner_id": self.order.partner_id.id, "warehouse_id": self.warehouse.id,
            "order_line": [(0, 0, {"product_id": self.widget.id, "product_uom_qty": 1})]})
        self.add_stock(self.widget, 5)
        other.action_confirm()
        self.assertEqual(other.picking_ids.state, "assigned")
        self.run_jobs()
        self.assertEqual(len(self.amazon_jobs(CREATE)), 1, "only the Clarity order of the FBA warehouse")
        self.assertFalse(other.picking_ids.amazon_mcf_order_id)

    def test_address_amazon_cannot_ship_to_is_refused_before_any_call(self):
        self.picking.action_cancel()
        self.run_jobs()
        self.sim.recorder.clear()
        partner = self.order.partner_shipping_id.copy({"street": False})
        order = self.env["sale.order"].create({
            "partner_id": partner.id, "warehouse_id": self.fba_warehouse.id,
            "order_line": [(0, 0, {"product_id": self.widget.id, "product_uom_qty": 1})]})
        order.action_confirm()
        self.run_jobs()
        job = self.amazon_jobs(CREATE).filtered(lambda j: j.res_id == order.picking_ids.id)
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertIn("street", job.error_message)
        self.assertFalse(self.sp_calls("createFulfillmentOrder"))
        self.assertFalse(self.sp_calls("getFulfillmentOrder"))


class TestAmazonMcfLostAnswer(McfCase):
    create_fault = Fault.SERVER_ERROR_HTML  # the library reads an HTML error page as an empty success

    def test_create_answered_by_an_error_page_is_retried_without_a_second_order(self):
        job = self.amazon_jobs(CREATE)
        self.assertEqual((job.state, job.error_kind), ("pending", "transient"), job.error_message)
        self.assertFalse(self.picking.amazon_mcf_order_id, "nothing is recorded before Amazon lists the order")
        self.assertFalse(self.sim.fulfillment_order_ids())

        self.run_due_jobs()

        self.assertEqual(job.state, "done", job.error_message)
        self.assertEqual([c.status for c in self.sp_calls("createFulfillmentOrder")], [500, 200])
        self.assertEqual(self.sim.fulfillment_order_ids(), [self.picking.name])
        self.assertEqual(self.picking.amazon_mcf_status, "Received")
        self.assertIn("already", str(self.amazon._amazon_mcf_create(self.picking)), "asking again asks Amazon nothing")
        self.assertEqual(len(self.sp_calls("createFulfillmentOrder")), 2)
