from datetime import timedelta

from odoo import fields, models

from ..core import anomaly

VOLUME_HISTORY_WEEKS = 8
ERROR_RATE_HISTORY_DAYS = 7


class CommerceBackend(models.Model):
    """Anomaly detection settings of a backend, and its per-hour checks (order volume, error rate)."""

    _inherit = "commerce.backend"

    anomaly_enabled = fields.Boolean(string="Detect Unusual Orders", default=True, tracking=True)
    anomaly_threshold = fields.Float(
        string="Anomaly Threshold", default=anomaly.DEFAULT_THRESHOLD, tracking=True,
        help="Robust z-score (median / MAD) from which a value is unusual: 3.5 is the usual cut-off, "
             "higher flags less.")
    anomaly_min_history = fields.Integer(
        string="Minimum History", default=30, tracking=True,
        help="Past values needed before a check judges anything (orders for totals, lines per product).")
    anomaly_history_size = fields.Integer(
        string="History Size", default=500, tracking=True,
        help="How many recent orders (lines per product) a new one is compared with.")
    anomaly_hold_orders = fields.Boolean(
        string="Hold Unusual Orders", tracking=True,
        help="Leave unusual imported orders as quotations until a reviewer releases them. Off: they "
             "are imported and confirmed as usual, and only flagged.")

    def _anomaly_options(self):
        self.ensure_one()
        return {"threshold": self.anomaly_threshold or anomaly.DEFAULT_THRESHOLD,
                "min_history": max(1, self.anomaly_min_history),
                "history_size": max(1, self.anomaly_history_size)}

    def _anomaly_hourly_checks(self, hour_end=None):
        """Order volume and job error rate of the last whole hour against their history: flags."""
        self.ensure_one()
        if not self.anomaly_enabled:
            return []
        hour_end = (hour_end or fields.Datetime.now()).replace(minute=0, second=0, microsecond=0)
        hour_start = hour_end - timedelta(hours=1)
        flags = [self._anomaly_volume(hour_start, hour_end), self._anomaly_error_rate(hour_start, hour_end)]
        return [flag for flag in flags if flag]

    def _anomaly_volume(self, hour_start, hour_end):
        self.env.flush_all()
        self.env.cr.execute("""
            SELECT so.date_order FROM sale_order so
              JOIN commerce_binding binding ON binding.res_id = so.id AND binding.res_model = 'sale.order'
                   AND binding.backend_id = %s
             WHERE so.date_order >= %s AND so.date_order < %s
        """, (self.id, hour_start - timedelta(weeks=VOLUME_HISTORY_WEEKS), hour_end))
        dates = [row[0] for row in self.env.cr.fetchall()]
        if not dates:
            return None
        # History starts at the first order seen: the hours before the backend sold are not "zero".
        series = anomaly.hourly_counts(dates, min(dates), hour_end)
        history = [(hour, count) for hour, count in series if hour < hour_start]
        current = sum(count for hour, count in series if hour == hour_start)
        return anomaly.check_volume(history, hour_start, current, threshold=self._anomaly_options()["threshold"])

    def _anomaly_error_rate(self, hour_start, hour_end):
        self.env.flush_all()
        self.env.cr.execute("""
            SELECT date_trunc('hour', attempt.date_started) AS hour,
                   count(*) FILTER (WHERE attempt.outcome != 'done'), count(*)
              FROM commerce_job_attempt attempt
              JOIN commerce_job job ON job.id = attempt.job_id
             WHERE job.backend_id = %s AND attempt.date_started >= %s AND attempt.date_started < %s
          GROUP BY 1
        """, (self.id, hour_start - timedelta(days=ERROR_RATE_HISTORY_DAYS), hour_end))
        rows = {hour: (errors, total) for hour, errors, total in self.env.cr.fetchall()}
        errors, total = rows.pop(hour_start, (0, 0))
        history = [err / tot for err, tot in rows.values() if tot >= 5]
        return anomaly.check_rate(errors, total, history, threshold=self._anomaly_options()["threshold"],
                                  min_history=12, what="job error rate")
