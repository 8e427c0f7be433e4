from datetime import timedelta

from markupsafe import Markup, escape

from odoo import _, api, fields, models

from ..channels.amazon import const as amazon_const

THROUGHPUT_HOURS = 24  # window of the throughput and latency KPIs
HEADROOM_WINDOW_SECONDS = 3600  # window of the rate-limit headroom
STATUSES = [("ok", "OK"), ("warning", "Warning"), ("critical", "Critical")]
KANBAN_COLORS = {"ok": 10, "warning": 2, "critical": 1}  # green, orange, red


class CommerceBackend(models.Model):
    """Operational KPIs of a backend, shown on the dashboard's kanban cards."""

    _inherit = "commerce.backend"

    dash_failed_transient_count = fields.Integer(string="Failed (transient)", compute="_compute_dashboard")
    dash_failed_validation_count = fields.Integer(string="Failed (validation)", compute="_compute_dashboard")
    dash_failed_business_count = fields.Integer(string="Failed (business)", compute="_compute_dashboard")
    dash_waiting_auth_count = fields.Integer(
        string="Waiting for credentials", compute="_compute_dashboard",
        help="Pending jobs whose last attempt was refused for authentication.")
    dash_done_24h = fields.Integer(string="Done (24 h)", compute="_compute_dashboard",
                                   help="Jobs completed in the last 24 hours.")
    dash_latency_24h = fields.Float(string="Average latency (s, 24 h)", compute="_compute_dashboard",
                                    help="Average time from a job's creation to its completion, last 24 hours.")
    dash_oldest_pending_date = fields.Datetime(string="Oldest pending job", compute="_compute_dashboard")
    dash_oldest_pending_hours = fields.Float(string="Oldest pending (h)", compute="_compute_dashboard")
    dash_last_sync = fields.Datetime(string="Last successful sync", compute="_compute_dashboard")
    dash_watermark_lag_hours = fields.Float(
        string="Watermark lag (h)", compute="_compute_dashboard",
        help="How far behind now the most lagging polled flow has read.")
    dash_stale_flow_count = fields.Integer(
        string="Stalled flows", compute="_compute_dashboard",
        help="Flows without a successful sync for longer than the backend's alert delay.")
    dash_flows_html = fields.Html(string="Flows", compute="_compute_dashboard", sanitize=False)
    dash_rate_headroom = fields.Float(
        string="Rate-limit headroom (%)", compute="_compute_dashboard",
        help="Amazon: the lowest share of an operation's usage plan left over the last hour "
             "(burst + announced rate x 1 h, the x-amzn-RateLimit-Limit seen last).")
    dash_rate_html = fields.Html(string="Rate limits", compute="_compute_dashboard", sanitize=False)
    dash_status = fields.Selection(STATUSES, string="Health", compute="_compute_dashboard")
    dash_color = fields.Integer(compute="_compute_dashboard")

    # Jobs, watermarks and calls are read live; the depends only refresh a form being edited.
    @api.depends("state", "alert_failed_threshold", "alert_stale_hours")
    def _compute_dashboard(self):
        now = fields.Datetime.now()
        Job = self.env["commerce.job"].sudo()
        domain = [("backend_id", "in", self.ids)]
        failed = {(b.id, kind): n for b, kind, n in Job._read_group(
            domain + [("state", "=", "failed")], ["backend_id", "error_kind"], ["__count"])}
        waiting_auth = {b.id: n for b, n in Job._read_group(
            domain + [("state", "=", "pending"), ("error_kind", "=", "auth")], ["backend_id"], ["__count"])}
        done = {b.id: (n, latency) for b, n, latency in Job._read_group(
            domain + [("state", "=", "done"), ("date_done", ">=", now - timedelta(hours=THROUGHPUT_HOURS))],
            ["backend_id"], ["__count", "latency:avg"])}
        oldest = {b.id: date for b, date in Job._read_group(
            domain + [("state", "in", ("pending", "started"))], ["backend_id"], ["create_date:min"])}
        marks = self.env["commerce.watermark"].sudo().search(domain, order="flow")
        for backend in self:
            backend.dash_failed_transient_count = failed.get((backend.id, "transient"), 0)
            backend.dash_failed_validation_count = failed.get((backend.id, "validation"), 0)
            backend.dash_failed_business_count = failed.get((backend.id, "business"), 0)
            backend.dash_waiting_auth_count = waiting_auth.get(backend.id, 0)
            backend.dash_done_24h, backend.dash_latency_24h = done.get(backend.id, (0, 0.0))
            backend.dash_oldest_pending_date = oldest.get(backend.id, False)
            backend.dash_oldest_pending_hours = _hours(now - oldest[backend.id]) if backend.id in oldest else 0.0
            backend._compute_dashboard_flows(marks.filtered(lambda m: m.backend_id == backend), now)
            backend._compute_dashboard_rates(now)
            backend.dash_status = backend._dashboard_status()
            backend.dash_color = KANBAN_COLORS[backend.dash_status]

    def _compute_dashboard_flows(self, marks, now):
        stale_before = now - timedelta(hours=self.alert_stale_hours or 0)
        successes = [m.date_last_success for m in marks if m.date_last_success]
        self.dash_last_sync = max(successes) if successes else False
        self.dash_watermark_lag_hours = max((_hours(now - m.value) for m in marks if m.value), default=0.0)
        stale = marks.filtered(lambda m: self._flow_is_stale(m, stale_before))
        self.dash_stale_flow_count = len(stale)
        rows = [(m.flow, m.value, m.date_last_success, _hours(now - m.value) if m.value else None, m in stale)
                for m in marks]
        self.dash_flows_html = _table(
            [_("Flow"), _("Synced up to"), _("Last success"), _("Lag (h)")],
            [([flow, _dt(value), _dt(success), "" if lag is None else f"{lag:.1f}"], "text-danger" if late else "")
             for flow, value, success, lag, late in rows])

    def _flow_is_stale(self, mark, stale_before):
        return bool(self.alert_stale_hours) and (not mark.date_last_success or mark.date_last_success < stale_before)

    def _compute_dashboard_rates(self, now):
        """Usage of each Amazon operation called in the last hour against its usage plan."""
        self.dash_rate_headroom, self.dash_rate_html = 100.0, False
        if self.channel != "amazon" or not self.id:
            return
        usage = self._dashboard_rate_usage(now)
        if not usage:
            return
        self.dash_rate_headroom = min(row["headroom"] for row in usage)
        self.dash_rate_html = _table(
            [_("Operation"), _("Rate (req/s)"), _("Burst"), _("Calls (1 h)"), _("Throttled"), _("Headroom")],
            [([row["operation"], f"{row['rate']:g}", str(row["burst"]), str(row["calls"]), str(row["throttled"]),
               f"{row['headroom']:.0f} %"], "text-danger" if row["headroom"] < 20 else "") for row in usage])

    def _dashboard_rate_usage(self, now):
        CallLog = self.env["commerce.call.log"].sudo()
        domain = [("backend_id", "=", self.id), ("date", ">=", now - timedelta(seconds=HEADROOM_WINDOW_SECONDS))]
        throttled = dict(CallLog._read_group(domain + [("is_throttled", "=", True)], ["operation"], ["__count"]))
        calls = dict(CallLog._read_group(domain, ["operation"], ["__count"]))
        usage = []
        for operation, count in sorted(calls.items()):
            plan_rate, burst = amazon_const.RATE_PLANS.get(operation, (0.0, 1))
            last = CallLog.search([("backend_id", "=", self.id), ("operation", "=", operation),
                                   ("rate_limit", ">", 0)], order="date desc, id desc", limit=1)
            rate = last.rate_limit or plan_rate
            if not rate:
                continue
            capacity = burst + rate * HEADROOM_WINDOW_SECONDS
            usage.append({"operation": operation, "rate": rate, "burst": burst, "calls": count,
                          "throttled": throttled.get(operation, 0),
                          "headroom": max(0.0, 100.0 * (1 - count / capacity))})
        return usage

    def _dashboard_status(self):
        failed = self.failed_job_count
        if self.state == "auth_failed" or (self.alert_failed_threshold and failed > self.alert_failed_threshold):
            return "critical"
        pending_late = self.alert_stale_hours and self.dash_oldest_pending_hours > self.alert_stale_hours
        if failed or self.dash_stale_flow_count or pending_late or self.dash_rate_headroom < 20:
            return "warning"
        return "ok"

    # -- actions ---------------------------------------------------------------------------
    def action_view_job_analysis(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("commerce_connector.action_commerce_job_analysis")
        action["domain"] = [("backend_id", "=", self.id)]
        return action



def _hours(delta):
    return max(0.0, delta.total_seconds() / 3600.0)


def _dt(value):
    return fields.Datetime.to_string(value) if value else ""


def _table(headers, rows):
    """A small HTML table; every cell is escaped."""
    if not rows:
        return False
    head = Markup("").join(Markup("<th>%s</th>") % h for h in headers)
    body = Markup("").join(
        Markup('<tr class="%s">%s</tr>') % (css, Markup("").join(Markup("<td>%s</td>") % escape(c) for c in cells))
        for cells, css in rows)
    return Markup('<table class="table table-sm o_commerce_dashboard"><thead><tr>%s</tr></thead>'
                  '<tbody>%s</tbody></table>') % (head, body)
