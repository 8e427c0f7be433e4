"""Amazon financial events: listFinancialEvents (watermark, NextToken paging) -> expected fees and
proceeds on the sale order -> compared with the settlement when it arrives."""

from decimal import Decimal

from odoo.tests import tagged
from odoo.tools import float_compare

from .test_amazon_orders import status_of
from .test_amazon_settlement import SettlementCase


def event_sum(events, order_id, keys):
    """Sum of the amounts of ``keys`` lists in the simulator's events of one order (Decimal)."""
    total = Decimal(0)
    for _kind, event in events:
        if event["AmazonOrderId"] != order_id:
            continue
        for item in event.get("ShipmentItemList", []) + event.get("ShipmentItemAdjustmentList", []):
            for key in keys:
                for component in item.get(key, []):
                    money = component.get("ChargeAmount") or component.get("FeeAmount") or \
                        component.get("PromotionAmount")
                    if money:
                        total += Decimal(str(money["CurrencyAmount"]))
                    for tax in component.get("TaxesWithheld", []):
                        total += Decimal(str(tax["ChargeAmount"]["CurrencyAmount"]))
    return float(total)


@tagged("post_install", "-at_install")
class TestAmazonFinancialEvents(SettlementCase):

    def poll_finances(self):
        self.env["commerce.backend"]._cron_amazon_financial_events()
        return self.run_jobs()

    def shipped_orders(self):
        self.sim.generate_orders(16)
        self.poll()
        shipped = [oid for oid in self.stored(lambda o: status_of(o) == "SHIPPED") if self.sale_order(oid)]
        self.assertGreaterEqual(len(shipped), 3)
        return shipped

    def test_expected_fees_and_proceeds_on_the_order_then_compared_with_the_settlement(self):
        order_ids = self.shipped_orders()[:3]
        self.sim.add_shipment_events(order_ids)
        refunded = self.sim.order(order_ids[0])
        sku = refunded["orderItems"][0]["product"]["sellerSku"]
        self.sim.add_refund_event(order_ids[0], sku, "4.00")
        self.env["ir.config_parameter"].set_param("commerce_connector.amazon_finances_page_size", 2)

        self.poll_finances()

        self.assertAllJobsDone()
        calls = self.sim.recorder.calls(operation="listFinancialEvents")
        self.assertEqual(len(calls), 2, "4 events in pages of 2")
        self.assertIn("NextToken", calls[1].query)
        self.assertNotIn("PostedAfter", calls[1].query, "the next page repeats only the token")
        events = self.sim.financial_events()
        for order_id in order_ids:
            order = self.sale_order(order_id)
            with self.subTest(order=order_id):
                proceeds = event_sum(events, order_id, ["ItemChargeList", "PromotionList"])
                fees = event_sum(events, order_id, ["ItemFeeList", "ItemFeeAdjustmentList"])
                withheld = event_sum(events, order_id, ["ItemTaxWithheldList"])
                self.assertFalse(float_compare(order.amazon_expected_proceeds, proceeds, precision_digits=2))
                self.assertFalse(float_compare(order.amazon_expected_fees, fees, precision_digits=2))
                self.assertLess(order.amazon_expected_fees, 0)
                self.assertFalse(float_compare(order.amazon_expected_withheld, withheld, precision_digits=2))
                self.assertEqual(order.amazon_finance_state, "expected")
        first = self.sale_order(order_ids[0])
        refund = event_sum(events, order_ids[0], ["ItemChargeAdjustmentList", "ItemFeeAdjustmentList"])
        self.assertFalse(float_compare(first.amazon_expected_refunds, -4.0, precision_digits=2))
        self.assertFalse(float_compare(first.amazon_expected_net, event_sum(
            events, order_ids[0], ["ItemChargeList", "PromotionList", "ItemFeeList", "ItemTaxWithheldList"]) + refund,
            precision_digits=2))

        cost = sum(line.product_id.standard_price * line.product_uom_qty for line in first.order_line)
        self.assertFalse(float_compare(first.amazon_expected_margin, first.amazon_expected_net - cost,
                                       precision_digits=2))
        arch = self.env["sale.order"].get_view(view_type="form")["arch"]
        for field in ("amazon_expected_fees", "amazon_expected_net", "amazon_finance_state"):
            self.assertIn(f'name="{field}"', arch, "shown on the sale order form")

        # A second poll re-reads the overlap: nothing is counted twice.
        expected = {oid: self.sale_order(oid).amazon_expected_net for oid in order_ids}
        self.poll_finances()
        self.assertEqual({oid: self.sale_order(oid).amazon_expected_net for oid in order_ids}, expected)
        mark = self.backend.watermark_ids.filtered(lambda m: m.flow == "amazon.finances")
        self.assertTrue(mark.value)

        # The settlement pays the orders but not the refund yet: that order is flagged.
        self.sim.generate_settlement(order_ids=order_ids, account_lines=False)
        self.import_settlements()
        self.assertAllJobsDone()
        for order_id in order_ids[1:]:
            order = self.sale_order(order_id)
            with self.subTest(order=order_id):
                self.assertTrue(order.amazon_is_settled)
                self.assertEqual(order.amazon_finance_state, "settled", "settled as the events announced")
                self.assertFalse(float_compare(order.amazon_settled_amount, order.amazon_expected_net,
                                               precision_digits=2))
        self.assertEqual(first.amazon_finance_state, "discrepancy")
        self.assertFalse(float_compare(first.amazon_finance_discrepancy, -refund, precision_digits=2),
                         "the refund announced but not in this settlement")
