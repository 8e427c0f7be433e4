"""Anomaly detection: robust scores on generated series with known outliers (precision and recall
printed), then unusual imported orders flagged, explained, reviewed and held on request."""

import math
import random
from datetime import datetime, timedelta

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from ..core import anomaly
from .test_clarity_orders import ClarityCase, sample


def poisson(rng, lam):
    limit, product, count = math.exp(-lam), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def report(name, flagged, expected):
    precision, recall = anomaly.precision_recall(flagged, expected)
    print(f"\n{name}: {len(expected)} outliers, {len(flagged)} flagged, "
          f"precision {precision:.1%}, recall {recall:.1%}")
    return precision, recall


# -- generated series -------------------------------------------------------------------------
def test_order_totals_with_known_outliers():
    rng = random.Random(7)
    totals, outliers = [], set()
    for index in range(1500):
        if index >= 100 and rng.random() < 0.02:
            totals.append(round(80 * rng.uniform(6, 25), 2))  # fat-finger or fraud sized
            outliers.add(index)
        elif index >= 100 and rng.random() < 0.005:
            totals.append(round(80 / rng.uniform(8, 20), 2))  # a price typed without its digits
            outliers.add(index)
        else:
            totals.append(round(math.exp(rng.gauss(math.log(80), 0.45)), 2))  # log-normal, skewed
    flagged = [i for i, total in enumerate(totals)
               if anomaly.check(total, totals[max(0, i - 500):i], metric="total", min_history=30,
                                transform=anomaly.log_scale, floor=anomaly.LOG_FLOOR)]
    precision, recall = report("order totals (log-normal, 500-order window)", flagged, outliers)
    assert recall >= 0.95 and precision >= 0.8
    # the same data scored on the raw scale: the skewed tail gives many false alarms
    raw = [i for i, total in enumerate(totals)
           if anomaly.check(total, totals[max(0, i - 500):i], metric="total", min_history=30)]
    raw_precision, _raw_recall = report("order totals, raw scale (for comparison)", raw, outliers)
    assert raw_precision < precision


def test_hourly_volume_spikes_and_drops_need_the_hour_of_week():
    rng = random.Random(11)
    start = datetime(2026, 1, 5)  # a Monday

    def rate(moment):  # quiet nights, busy office hours, busier Saturdays
        base = 1.0 if moment.hour < 7 else 20.0 if 9 <= moment.hour <= 18 else 6.0
        return base * (1.5 if moment.weekday() == 5 else 1.0)

    series, outliers = [], set()
    for index in range(12 * 168):
        moment = start + timedelta(hours=index)
        count = poisson(rng, rate(moment))
        if index >= 4 * 168 and rng.random() < 0.03:
            busy = rate(moment) >= 20
            count = 0 if busy else int(rate(moment) * 5 + 12)  # checkout down / a bot or a promotion
            outliers.add(index)
        series.append((moment, count))
    seasonal, flat = [], []
    for index in range(4 * 168, len(series)):
        moment, count = series[index]
        if anomaly.check_volume(series[:index], moment, count):
            seasonal.append(index)
        last_week = [c for _m, c in series[index - 168:index]]
        if anomaly.check(count, last_week, metric="volume", floor=1.0, transform=anomaly.anscombe):
            flat.append(index)
    precision, recall = report("hourly order volume, seasonal by hour of week", seasonal, outliers)
    assert precision >= 0.85 and recall >= 0.85
    _flat_precision, flat_recall = report("hourly order volume, last 168 h without seasonality", flat, outliers)
    assert flat_recall < recall
    moment = start + timedelta(weeks=12, hours=12)  # Monday noon, usually ~20 orders
    flag = anomaly.check_volume(series, moment, 0)
    assert flag and flag.score < 0
    assert flag.reason.startswith("volume drop: 0 orders in the hour from Mon 12:00 is 0.00× the median of")
    assert "for that hour of the week over the last 12 weeks" in flag.reason


def test_error_rate_rises():
    rng = random.Random(5)
    rates, outliers, flagged = [], set(), []
    for hour in range(400):
        total = rng.randint(20, 60)
        errors = sum(rng.random() < 0.03 for _ in range(total))
        if hour >= 48 and rng.random() < 0.03:
            errors = int(total * rng.uniform(0.3, 0.9))  # a broken mapping, a channel outage
            outliers.add(hour)
        if anomaly.check_rate(errors, total, rates[-168:], min_history=24):
            flagged.append(hour)
        rates.append(errors / total)
    precision, recall = report("job error rate per hour", flagged, outliers)
    assert precision >= 0.9 and recall >= 0.95
    assert anomaly.check_rate(1, 4, [0.0] * 30) is None, "too few jobs to judge"
    assert anomaly.check_rate(0, 50, [0.5] * 30) is None, "fewer errors is never an alert"


def test_reason_in_plain_words_and_degenerate_histories():
    history = [80.0 + (i % 17) for i in range(500)]
    flag = anomaly.check(1240.0, history, metric="total", transform=anomaly.log_scale, floor=anomaly.LOG_FLOOR,
                         describe=anomaly.describe_ratio("total", what="orders"))
    assert flag.reason == "total 1,240.00 is 14× the median of the last 500 orders"
    assert round(flag.ratio) == 14
    same = [40.0] * 100
    assert anomaly.check(45.0, same, metric="total", transform=anomaly.log_scale, floor=anomaly.LOG_FLOOR) is None
    assert anomaly.check(100.0, same, metric="total", transform=anomaly.log_scale, floor=anomaly.LOG_FLOOR)
    assert anomaly.check(5000.0, history[:10], metric="total", min_history=20) is None, "not enough history"
    assert anomaly.hour_of_week(datetime(2026, 1, 11, 23)) == 167


# -- unusual imported orders -----------------------------------------------------------------------
@tagged("post_install", "-at_install")
class TestOrderAnomaly(ClarityCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = cls.env["res.users"].create({
            "name": "Store manager", "login": "anomaly_manager", "email": "manager@example.com",
            "groups_id": [Command.set([cls.env.ref("commerce_connector.group_commerce_manager").id,
                                       cls.env.ref("sales_team.group_sale_salesman").id])]})
        cls.backend.write({"manager_ids": [Command.set(cls.manager.ids)], "anomaly_min_history": 12})
        cls.partner = cls.env["res.partner"].create({"name": "Earlier customer"})
        cls.widget, cls.cable = cls.products
        cls.fee = cls.env.ref("commerce_connector.product_commerce_fee")

    def history(self, count, lines, fee=lambda i: 0.0):
        """``count`` earlier orders of the backend; ``lines(i)`` -> [(product, qty, price)]."""
        values = []
        for index in range(count):
            order_lines = [Command.create({"product_id": p.id, "product_uom_qty": q, "price_unit": u, "tax_id": []})
                           for p, q, u in lines(index)]
            if fee(index):
                order_lines.append(Command.create({"product_id": self.fee.id, "price_unit": fee(index), "tax_id": []}))
            values.append({"partner_id": self.partner.id, "order_line": order_lines,
                           "date_order": datetime(2026, 1, 1) + timedelta(hours=index)})
        orders = self.env["sale.order"].create(values)
        for index, order in enumerate(orders):
            self.env["commerce.binding"].bind(self.backend, order, f"H{index}")
        return orders

    def import_sample(self):
        self.post_event("order.created", sample("clarity_order.json"))
        self.run_jobs()
        job = self.jobs()[-1]
        self.assertEqual(job.state, "done", job.error_message)
        return self.env["sale.order"].browse(job.res_id)

    def test_usual_order_is_not_flagged(self):
        self.history(20, lambda i: [(self.widget, 2, 36.0), (self.cable, 1, 12.5)], fee=lambda i: (i % 7) * 2.0)
        order = self.import_sample()
        self.assertFalse(order.commerce_anomaly, order.commerce_anomaly_reason)
        self.assertEqual(order.state, "sale")

    def test_no_history_no_judgement(self):
        self.history(5, lambda i: [(self.cable, 1, 1.0)])
        order = self.import_sample()
        self.assertFalse(order.commerce_anomaly, "5 orders are fewer than the minimum history of 12")

    def test_unusual_total_is_flagged_explained_and_reviewed_but_not_blocked(self):
        self.history(20, lambda i: [(self.cable, 1, 10.0 + (i % 6))])
        order = self.import_sample()
        self.assertTrue(order.commerce_anomaly)
        self.assertEqual(order.commerce_anomaly_backend_id, self.backend)
        self.assertRegex(order.commerce_anomaly_reason, r"^total 96\.42 is 8\.0× the median of the last 20 orders$")
        self.assertGreater(order.commerce_anomaly_score, 3.5)
        self.assertEqual(order.state, "sale", "flagging does not block without the backend's hold setting")
        review = order.activity_ids.filtered(lambda a: a.summary == "Review unusual order")
        self.assertEqual(review.user_id, self.manager)
        self.assertIn("total 96.42", review.note)

    def test_unusual_quantity_and_price(self):
        # this backend sells the widget by twenties at twice its list price
        self.history(20, lambda i: [(self.widget, 20, 80.0), (self.cable, 1, 12.5)],
                     fee=lambda i: (i % 5) * 1.0)
        order = self.import_sample()
        reasons = order.commerce_anomaly_reason.splitlines()
        self.assertEqual(len(reasons), 3, reasons)
        self.assertTrue(reasons[0].startswith("total 96.42 is 0.06× the median of the last 20 orders"), reasons)
        self.assertEqual(reasons[1], "quantity 2 of [WID-100-BLU-M] Widget 100 Blue/M is 0.1× the median of 20 "
                                     "over the last 20 lines of this product")
        self.assertEqual(reasons[2], "price $\N{NO-BREAK SPACE}36.00 of [WID-100-BLU-M] Widget 100 Blue/M is 0.9× "
                                     "its list price $\N{NO-BREAK SPACE}40.00 (usually 2.0× over the last 20 lines)")

    def test_hold_leaves_the_order_a_quotation_until_released(self):
        self.backend.anomaly_hold_orders = True
        self.history(20, lambda i: [(self.cable, 1, 10.0 + (i % 6))])
        order = self.import_sample()
        self.assertTrue(order.commerce_anomaly_hold)
        self.assertEqual(order.state, "draft", "held: status Confirmed did not confirm it")
        with self.assertRaises(UserError):
            order.action_confirm()
        order.action_commerce_release_anomaly()
        self.assertFalse(order.activity_ids.filtered(lambda a: a.summary == "Review unusual order"))
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_disabled_detection_flags_nothing(self):
        self.backend.anomaly_enabled = False
        self.history(20, lambda i: [(self.cable, 1, 10.0 + (i % 6))])
        self.assertFalse(self.import_sample().commerce_anomaly)
