from odoo import api, fields, models

FINANCE_STATES = [
    ("expected", "Expected (financial events)"),
    ("settled", "Settled as expected"),
    ("discrepancy", "Settlement differs"),
    ("settled_only", "Settled (no financial events)"),
]


class SaleOrder(models.Model):
    """Money of an Amazon order: what the financial events announce and what the settlements paid."""

    _inherit = "sale.order"

    amazon_finance_events = fields.Json(
        copy=False, readonly=True,
        help="Per-event totals read from listFinancialEvents, keyed by event identity (re-reads replace).")
    amazon_expected_proceeds = fields.Monetary(compute="_compute_amazon_expected", store=True,
                                               string="Amazon Proceeds (expected)")
    amazon_expected_fees = fields.Monetary(compute="_compute_amazon_expected", store=True,
                                           string="Amazon Fees (expected)")
    amazon_expected_withheld = fields.Monetary(compute="_compute_amazon_expected", store=True,
                                               string="Tax Withheld by Amazon (expected)")
    amazon_expected_refunds = fields.Monetary(compute="_compute_amazon_expected", store=True,
                                              string="Amazon Refunds (expected)")
    amazon_expected_net = fields.Monetary(compute="_compute_amazon_expected", store=True,
                                          string="Amazon Net (expected)",
                                          help="Proceeds + fees + withheld tax + refunds: what Amazon will pay out.")
    amazon_expected_margin = fields.Monetary(compute="_compute_amazon_expected_margin",
                                             string="Margin after Amazon Fees",
                                             help="Expected net payout less the current cost of the products sold.")
    amazon_settled_amount = fields.Monetary(string="Amazon Net (settled)", readonly=True, copy=False,
                                            help="Sum of this order's lines in the settlements imported so far.")
    amazon_is_settled = fields.Boolean(string="In a Settlement", readonly=True, copy=False)
    amazon_finance_discrepancy = fields.Monetary(compute="_compute_amazon_finance_state", store=True,
                                                 string="Settlement - Expected")
    amazon_finance_state = fields.Selection(FINANCE_STATES, compute="_compute_amazon_finance_state", store=True,
                                            string="Amazon Money")

    @api.depends("amazon_finance_events")
    def _compute_amazon_expected(self):
        for order in self:
            totals = {"proceeds": 0.0, "fees": 0.0, "withheld": 0.0, "refunds": 0.0}
            for event in (order.amazon_finance_events or {}).values():
                for name in totals:
                    totals[name] += float(event.get(name) or 0.0)
            order.amazon_expected_proceeds = totals["proceeds"]
            order.amazon_expected_fees = totals["fees"]
            order.amazon_expected_withheld = totals["withheld"]
            order.amazon_expected_refunds = totals["refunds"]
            order.amazon_expected_net = sum(totals.values())

    @api.depends("amazon_expected_net", "order_line.product_id", "order_line.product_uom_qty")
    def _compute_amazon_expected_margin(self):
        for order in self:
            cost = sum(line.product_id.standard_price * line.product_uom_qty for line in order.order_line)
            order.amazon_expected_margin = order.amazon_expected_net - cost if order.amazon_finance_events else 0.0

    @api.depends("amazon_expected_net", "amazon_settled_amount", "amazon_is_settled", "amazon_finance_events")
    def _compute_amazon_finance_state(self):
        for order in self:
            has_events = bool(order.amazon_finance_events)
            if not order.amazon_is_settled:
                order.amazon_finance_discrepancy = 0.0
                order.amazon_finance_state = "expected" if has_events else False
                continue
            if not has_events:
                order.amazon_finance_discrepancy = 0.0
                order.amazon_finance_state = "settled_only"
                continue
            difference = order.currency_id.round(order.amazon_settled_amount - order.amazon_expected_net)
            order.amazon_finance_discrepancy = difference
            order.amazon_finance_state = "discrepancy" if not order.currency_id.is_zero(difference) else "settled"

    def _amazon_add_financial_events(self, events):
        """Merge ``{event key: {"proceeds", "fees", "withheld", "refunds"}}`` into the order's events."""
        self.ensure_one()
        merged = dict(self.amazon_finance_events or {})
        merged.update(events)
        self.amazon_finance_events = merged

    def _amazon_refresh_settled(self):
        """Recompute what the settlements of each order's backend paid for it."""
        bindings = self.env["commerce.binding"].sudo().search([("res_model", "=", "sale.order"), ("res_id", "in", self.ids)])
        self.env.flush_all()
        for binding in bindings:
            self.env.cr.execute("""
                SELECT COUNT(*), COALESCE(SUM(line.amount), 0)
                  FROM commerce_amazon_settlement_line line
                  JOIN commerce_amazon_settlement settlement ON settlement.id = line.settlement_id
                 WHERE settlement.backend_id = %s AND line.amazon_order_id = %s""",
                                (binding.backend_id.id, binding.external_id))
            count, total = self.env.cr.fetchone()
            self.browse(binding.res_id).write({"amazon_settled_amount": float(total), "amazon_is_settled": bool(count)})
