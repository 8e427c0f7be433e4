import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models

_logger = logging.getLogger(__name__)


class CommerceBackend(models.Model):
    """Alerts of a backend: activities and one digest e-mail per period to its managers.

    The cron ``ir_cron_commerce_alerts`` looks at every active backend each hour: suspended
    credentials, failed jobs above the threshold, flows not synced for too long, unusual
    activity (order volume, error rate) and unusual orders. Each kind of problem keeps one open
    activity per manager (updated, never duplicated); the e-mail is a digest of everything,
    sent at most once per ``alert_digest_hours``, however many jobs failed.
    """

    _inherit = "commerce.backend"

    alert_failed_threshold = fields.Integer(
        string="Alert above failed jobs", default=10, tracking=True,
        help="Alert the managers when more jobs than this have failed (0: never).")
    alert_stale_hours = fields.Float(
        string="Alert when a flow has not synced for (h)", default=6.0, tracking=True,
        help="Hours without a successful sync of a polled flow before the managers are alerted (0: never).")
    alert_digest_hours = fields.Float(
        string="Digest every (h)", default=24.0, tracking=True,
        help="At most one alert e-mail per backend in this many hours, listing every open problem.")
    alert_last_digest = fields.Datetime(string="Last alert digest", readonly=True, copy=False)
    alert_last_hourly_check = fields.Datetime(readonly=True, copy=False,
                                              help="End of the last hour checked for unusual activity.")
    alert_pending_notes = fields.Text(
        string="Unusual activity since the last digest", readonly=True, copy=False)

    @api.model
    def _cron_commerce_alerts(self):
        """Entry point of ir_cron_commerce_alerts."""
        backends = self.search([("state", "!=", "disabled")])
        digests = self.env["mail.mail"]
        for backend in backends:
            digests |= backend._commerce_alert()
        return digests

    def _commerce_alert(self, now=None):
        """Raise this backend's activities and, when due, send its digest; return the mail sent."""
        self.ensure_one()
        now = now or fields.Datetime.now()
        self._alert_record_hourly_anomalies(now)
        issues = self._alert_issues(now)
        for summary, note in issues:
            self._notify_managers(summary, note)
        orders = self._alert_flagged_orders()
        if not (issues or orders):
            return self.env["mail.mail"]
        if self.alert_last_digest and now - self.alert_last_digest < timedelta(hours=self.alert_digest_hours or 0):
            return self.env["mail.mail"]
        mail = self._alert_send_digest(issues, orders)
        self.write({"alert_last_digest": now, "alert_pending_notes": False})
        return mail

    # -- what is wrong ---------------------------------------------------------------------------
    def _alert_issues(self, now):
        """``[(summary, note)]``: one entry per kind of problem open now."""
        issues = []
        if self.state == "auth_failed":
            # Same summary as _set_auth_failed: its activity is updated, not duplicated.
            issues.append((_("Credentials rejected"), _(
                "%(channel)s rejects the credentials of %(backend)s: %(error)s. Jobs wait until Test "
                "Connection succeeds.", channel=self.channel, backend=self.name, error=self.state_message or "")))
        failed = self.failed_job_count
        if self.alert_failed_threshold and failed > self.alert_failed_threshold:
            issues.append((_("Failed jobs above threshold"), _(
                "%(count)s jobs of %(backend)s have failed (alert above %(threshold)s): %(transient)s transient, "
                "%(validation)s validation, %(business)s business. Fix or retry them in Commerce > Jobs.",
                count=failed, backend=self.name, threshold=self.alert_failed_threshold,
                transient=self.dash_failed_transient_count, validation=self.dash_failed_validation_count,
                business=self.dash_failed_business_count)))
        stale_before = now - timedelta(hours=self.alert_stale_hours or 0)
        stale = self.watermark_ids.filtered(lambda m: self._flow_is_stale(m, stale_before))
        if stale:
            flows = ", ".join(_("%(flow)s (last success %(date)s)", flow=m.flow,
                                date=fields.Datetime.to_string(m.date_last_success) if m.date_last_success
                                else _("never")) for m in stale)
            issues.append((_("Sync stalled"), _(
                "%(backend)s has not synced for more than %(hours)s h: %(flows)s.",
                backend=self.name, hours=f"{self.alert_stale_hours:g}", flows=flows)))
        notes = (self.alert_pending_notes or "").strip()
        if notes:
            issues.append((_("Unusual activity"), notes))
        return issues

    def _alert_record_hourly_anomalies(self, now):
        """Check each whole hour once for unusual order volume and error rate; keep what is found
        for the digest (the activity shows the latest)."""
        hour_end = now.replace(minute=0, second=0, microsecond=0)
        if self.alert_last_hourly_check and self.alert_last_hourly_check >= hour_end:
            return []
        flags = self._anomaly_hourly_checks(hour_end)
        vals = {"alert_last_hourly_check": hour_end}
        if flags:
            stamp = fields.Datetime.to_string(hour_end - timedelta(hours=1))
            lines = [f"{stamp}: {flag.reason}" for flag in flags]
            vals["alert_pending_notes"] = "\n".join(filter(None, [self.alert_pending_notes, *lines]))
            _logger.info("commerce backend %s: unusual activity: %s", self.id, "; ".join(lines))
        self.write(vals)
        return flags

    def _alert_flagged_orders(self):
        domain = [("commerce_anomaly_backend_id", "=", self.id), ("commerce_anomaly", "=", True)]
        if self.alert_last_digest:
            domain.append(("commerce_anomaly_date", ">", self.alert_last_digest))
        return self.env["sale.order"].sudo().search(domain, order="commerce_anomaly_date, id")

    # -- the digest ------------------------------------------------------------------------------
    def _alert_send_digest(self, issues, orders):
        partners = (self.manager_ids or self.env.ref("base.user_admin", raise_if_not_found=False)).partner_id
        body = Markup("<p>%s</p>") % _("Open problems of the commerce backend %s:", self.name)
        if issues:
            body += Markup("<ul>%s</ul>") % Markup("").join(
                Markup("<li><b>%s</b>: %s</li>") % (summary, note) for summary, note in issues)
        if orders:
            body += Markup("<p>%s</p><ul>%s</ul>") % (
                _("Unusual orders to review:"),
                Markup("").join(Markup("<li>%s: %s</li>") % (order.name, order.commerce_anomaly_reason)
                                for order in orders))
        count = len(issues) + len(orders)
        mail = self.env["mail.mail"].sudo().create({
            "subject": _("[Commerce] %(backend)s: %(count)s problem(s) to look at", backend=self.name, count=count),
            "body_html": body,
            "recipient_ids": [(6, 0, partners.ids)],
            "email_from": self.company_id.email_formatted or self.env.user.email_formatted or False,
            "model": self._name,
            "res_id": self.id,
            "auto_delete": True,
        })
        _logger.info("commerce backend %s: alert digest %s to %s recipient(s)", self.id, mail.id, len(partners))
        return mail
