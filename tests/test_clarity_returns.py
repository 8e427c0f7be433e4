from odoo.tests import tagged

from .test_clarity_orders import ClarityCase, sample

RETURN = {"ReturnKey": "RMA-77", "SalesOrderID": 10452, "StatusKey": "Confirmed",
          "SalesItems": [{"Sku": "CAB-USB-2M", "Quantity": 1}], "RefundAmount": 13.53, "CurrencyKey": "USD"}


@tagged("post_install", "-at_install")
class TestClarityReturns(ClarityCase):
    def _delivered_order(self):
        self.post_event("order.created", sample("clarity_order.json"))
        self.run_jobs()
        order = self.env["commerce.binding"].lookup(self.backend, "sale.order", "10452")
        self.assertEqual(order.state, "sale")
        for product in self.products:
            self.env["stock.quant"]._update_available_quantity(
                product, order.warehouse_id.lot_stock_id, 10)
        picking = order.picking_ids
        picking.action_assign()
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
        picking.button_validate()
        self.assertEqual(picking.state, "done")
        return order

    def test_return_creates_one_return_picking(self):
        order = self._delivered_order()
        self.post_event("order.returned", RETURN)
        self.post_event("order.returned", RETURN)  # replayed by the poller under another event id
        self.run_jobs()
        jobs = self.jobs().filtered(lambda j: j.job_type == "clarity.order.return")
        self.assertEqual(set(jobs.mapped("state")), {"done"}, jobs.mapped("error_message"))
        returns = order.picking_ids.filtered(lambda p: p.picking_type_code == "incoming")
        self.assertEqual(len(returns), 1)
        self.assertEqual(returns.move_ids.product_id, self.products[1])
        self.assertEqual(returns.move_ids.product_uom_qty, 1)

    def test_refund_creates_a_matching_credit_note(self):
        order = self._delivered_order()
        self.post_event("order.refunded", RETURN)
        self.run_jobs()
        job = self.jobs().filtered(lambda j: j.job_type == "clarity.order.refund")
        self.assertEqual(job.state, "done", job.error_message)
        credit_note = self.env["account.move"].browse(job.res_id)
        self.assertEqual(credit_note.move_type, "out_refund")
        self.assertAlmostEqual(credit_note.amount_total, 13.53, places=2)
        self.assertEqual(credit_note.invoice_origin, order.name)

    def test_refund_amount_mismatch_is_a_business_failure(self):
        self._delivered_order()
        self.post_event("order.refunded", dict(RETURN, RefundAmount=20.0))
        self.run_jobs()
        job = self.jobs().filtered(lambda j: j.job_type == "clarity.order.refund")
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertIn("20.00", job.error_message)
        self.assertFalse(self.env["account.move"].search([("ref", "=", "RMA-77")]))

    def test_return_before_the_order_waits(self):
        self.post_event("order.returned", RETURN)
        self.run_jobs()
        job = self.jobs()
        self.assertEqual((job.state, job.error_kind), ("pending", "transient"))

    def test_return_of_an_sku_not_on_the_order(self):
        self._delivered_order()
        self.post_event("order.returned", dict(RETURN, SalesItems=[{"Sku": "WID-999", "Quantity": 1}]))
        self.run_jobs()
        job = self.jobs().filtered(lambda j: j.job_type == "clarity.order.return")
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertIn("WID-999", job.error_message)
