import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from odoo import api, fields, models

from .commerce_job import _auto_commit_default

RETENTION_PARAM = "commerce_connector.call_log_retention_days"
DEFAULT_RETENTION_DAYS = 14

# Records reported while a job runs wait here (per thread: each runner thread runs one job).
_CAPTURE = threading.local()


class CommerceCallLog(models.Model):
    """One outbound HTTP attempt of a channel client: metadata only, never a body or a secret."""

    _name = "commerce.call.log"
    _description = "Commerce Outbound Call"
    _order = "date desc, id desc"
    _rec_name = "operation"

    backend_id = fields.Many2one("commerce.backend", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    channel = fields.Selection(related="backend_id.channel", store=True)
    job_id = fields.Many2one("commerce.job", index="btree_not_null", ondelete="set null",
                             help="The job whose run made the call, if any.")
    date = fields.Datetime(required=True, index=True, default=fields.Datetime.now)
    operation = fields.Char(required=True, index=True)
    method = fields.Char(string="HTTP Method")
    status = fields.Char(help="HTTP status code, or timeout / network_error / lwa_<code> (Amazon's token "
                              "service) / 2xx (SP-API: the library keeps no exact success code).")
    is_error = fields.Boolean(compute="_compute_is_error", store=True)
    is_throttled = fields.Boolean(compute="_compute_is_error", store=True)
    duration_ms = fields.Float(string="Duration (ms)", aggregator="avg")
    request_size = fields.Integer(string="Request Size (bytes)")
    response_size = fields.Integer(string="Response Size (bytes)")
    request_id = fields.Char(string="Request ID", help="The remote side's request ID (x-amzn-RequestId).")
    rate_limit = fields.Float(string="Rate Limit (req/s)", aggregator="min",
                              help="Rate the server announced for this operation (x-amzn-RateLimit-Limit).")

    @api.depends("status")
    def _compute_is_error(self):
        for log in self:
            status = log.status or ""
            log.is_error = not (status.startswith("2") and len(status) == 3)
            log.is_throttled = status == "429"

    # -- capture -----------------------------------------------------------------------------
    @api.model
    def _observer(self, backend):
        """The observer a backend's client factory passes: stores each call of ``backend``."""
        env, backend_id = self.env, backend.id

        def observe(record):
            buffer = getattr(_CAPTURE, "records", None)
            if buffer is not None:
                buffer.append((backend_id, record))
            else:  # outside a job (Test Connection, a cron): in the caller's transaction
                env["commerce.call.log"]._store([(backend_id, record)])
        return observe

    @contextmanager
    def _capture(self):
        """Hold the calls reported inside the block; the caller stores them afterwards."""
        previous = getattr(_CAPTURE, "records", None)
        _CAPTURE.records = buffer = []
        try:
            yield buffer
        finally:
            _CAPTURE.records = previous

    @api.model
    def _store(self, records, job=None):
        if not records:
            return self.browse()
        return self.sudo().create([{
            "backend_id": backend_id,
            "job_id": job.id if job else False,
            "date": _utc(record.started_at) if record.started_at else fields.Datetime.now(),
            "operation": record.operation,
            "method": record.method or False,
            "status": record.status,
            "duration_ms": record.duration_ms,
            "request_size": record.request_size or 0,
            "response_size": record.response_size or 0,
            "request_id": record.request_id or False,
            "rate_limit": record.rate_limit or 0.0,
        } for backend_id, record in records])

    # -- retention ---------------------------------------------------------------------------
    @api.model
    def _retention_days(self):
        value = self.env["ir.config_parameter"].sudo().get_param(RETENTION_PARAM, DEFAULT_RETENTION_DAYS)
        try:
            return max(1, int(value))
        except (TypeError, ValueError):
            return DEFAULT_RETENTION_DAYS

    @api.model
    def _cron_vacuum(self, batch_size=5000, auto_commit=None):
        """Entry point of ir_cron_call_log_vacuum: delete calls older than the retention, in batches."""
        auto_commit = _auto_commit_default() if auto_commit is None else auto_commit
        limit = fields.Datetime.now() - timedelta(days=self._retention_days())
        removed = 0
        while True:
            logs = self.sudo().search([("date", "<", limit)], limit=batch_size)
            if not logs:
                return removed
            removed += len(logs)
            logs.unlink()
            if auto_commit:
                self.env.cr.commit()


def _utc(timestamp):
    return datetime.fromtimestamp(timestamp, timezone.utc).replace(tzinfo=None)
