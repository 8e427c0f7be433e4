import logging
import threading
import time
import traceback
from datetime import timedelta

import psycopg2.errors
from psycopg2 import errorcodes

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.exceptions import ValidationError as OdooValidationError
from odoo.modules.registry import Registry

from ..core import backoff, job_registry
from ..core import payload as payload_tools
from ..core.classify import classify
from ..core.errors import AUTH, BUSINESS, ERROR_KINDS, TRANSIENT, PayloadValidationError

_logger = logging.getLogger(__name__)

JOB_STATES = [
    ("pending", "Pending"),
    ("started", "Started"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]
# Backends in these states do not run jobs: their jobs wait until the backend is fixed.
SUSPENDED_BACKEND_STATES = ("auth_failed", "disabled")
PARAM_PREFIX = "commerce_connector."
DEFAULTS = {
    "max_attempts": 5,
    "runner_batch_size": 20,
    "runner_time_budget": 60,
    "job_lease_seconds": 600,
    "job_retention_days": 30,
}


TRIGGER_COALESCE_SECONDS = 0.5
_LAST_TRIGGER = {}  # database -> monotonic time of the last immediate runner trigger
_DEFERRED_TRIGGERS = {}  # database -> the timer that fires a wake-up the coalescing skipped
_DEFERRED_LOCK = threading.Lock()
_LEASE_TIMERS = {}  # database -> (monotonic time it fires, the timer waking the runner when a lease ends)


def _fire_deferred_trigger(dbname):
    """Timer thread: the wake-up a coalesced enqueue skipped, on a cursor of its own."""
    with _DEFERRED_LOCK:
        _DEFERRED_TRIGGERS.pop(dbname, None)
    _wake_runner(dbname)


def _fire_lease_wake_up(dbname):
    """Timer thread: a lease has ended, the runner requeues its job."""
    with _DEFERRED_LOCK:
        _LEASE_TIMERS.pop(dbname, None)
    _wake_runner(dbname)


def _wake_runner(dbname):
    try:
        with Registry(dbname).cursor() as cr:
            api.Environment(cr, SUPERUSER_ID, {})["commerce.job"]._trigger_runner()
    except Exception:  # a lost wake-up only delays the jobs to the next cron tick
        _logger.exception("deferred commerce job runner wake-up failed for database %s", dbname)


class EnqueueConflict(psycopg2.errors.SerializationFailure):
    """Another transaction enqueued the same idempotency key and committed after ours began.

    Raised as a serialization failure so Odoo's request and cron retry loops run the whole
    transaction again, which then finds the existing job.
    """

    pgcode = errorcodes.SERIALIZATION_FAILURE


def _auto_commit_default():
    # Same rule as mail's mail.mail._send: never commit a test's transaction.
    return not getattr(threading.current_thread(), "testing", False)


class CommerceJob(models.Model):
    """A unit of sync work: the raw input, what happened to it, and how to run it again."""

    _name = "commerce.job"
    _description = "Commerce Sync Job"
    _order = "id desc"
    _rec_name = "display_name"

    backend_id = fields.Many2one("commerce.backend", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    channel = fields.Selection(related="backend_id.channel", store=True)
    job_type = fields.Char(required=True, index=True, help="Handler name, e.g. clarity.order.import")
    state = fields.Selection(JOB_STATES, default="pending", required=True, index=True, copy=False)
    priority = fields.Integer(default=10, help="Lower runs first.")
    eta = fields.Datetime(string="Run After", index=True, help="Not run before this time (retry backoff).")
    attempts = fields.Integer(default=0, copy=False)
    max_attempts = fields.Integer(default=lambda self: self._param("max_attempts"))
    error_kind = fields.Selection(ERROR_KINDS, copy=False, index=True)
    error_message = fields.Text(copy=False)
    error_detail = fields.Text(copy=False, help="Traceback of the last failure.")
    payload = fields.Text(help="The raw input, kept exactly as received.")
    payload_received = fields.Text(
        string="Payload as received", readonly=True, copy=False,
        help="The original input, kept when a manager edits the payload.")
    result = fields.Text(copy=False)
    idempotency_key = fields.Char(index=True, copy=False)
    res_model = fields.Char(string="Related Model", index=True)
    res_id = fields.Many2oneReference(string="Related Record", model_field="res_model")
    date_started = fields.Datetime(copy=False)
    date_done = fields.Datetime(copy=False)
    lease_until = fields.Datetime(copy=False, help="A started job not finished by then is requeued.")
    duration = fields.Float(string="Duration (s)", copy=False, aggregator="avg")
    attempt_ids = fields.One2many("commerce.job.attempt", "job_id", string="Attempt History")

    def init(self):
        # Race-safe idempotency: two enqueuers of the same key can never both insert.
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS commerce_job_idempotency_uniq
                ON commerce_job (backend_id, job_type, idempotency_key)
             WHERE idempotency_key IS NOT NULL;
            CREATE INDEX IF NOT EXISTS commerce_job_started_lease_idx
                ON commerce_job (lease_until) WHERE state = 'started';
            CREATE INDEX IF NOT EXISTS commerce_job_runnable_idx
                ON commerce_job (priority, eta, id) WHERE state = 'pending';
            """
        )

    @api.depends("job_type", "idempotency_key")
    def _compute_display_name(self):
        for job in self:
            job.display_name = f"{job.job_type or _('Job')} #{job.id or '-'}"

    @api.model
    def _param(self, name):
        raw = self.env["ir.config_parameter"].sudo().get_param(PARAM_PREFIX + name)
        try:
            return int(raw) if raw else DEFAULTS[name]
        except ValueError:
            return DEFAULTS[name]

    # -- enqueue ---------------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if "payload" in vals:
                vals["payload"] = payload_tools.to_text(vals["payload"])
            if "result" in vals:
                vals["result"] = payload_tools.to_text(vals["result"])
        return super().create(vals_list)

    def write(self, vals):
        if "payload" in vals:
            self._check_payload_editable()
            vals["payload"] = payload_tools.to_text(vals["payload"])
            for job in self.filtered(lambda j: not j.payload_received and j.payload != vals["payload"]):
                # Never lose what was received: the first edit keeps the original aside.
                super(CommerceJob, job).write({"payload_received": job.payload or ""})
        if "result" in vals:
            vals["result"] = payload_tools.to_text(vals["result"])
        return super().write(vals)

    def _check_payload_editable(self):
        if self.env.su:
            return
        if not self.env.user.has_group("commerce_connector.group_commerce_manager"):
            raise AccessError(_("Only Commerce managers can edit job payloads."))
        if any(job.state not in ("failed", "cancelled") for job in self):
            raise UserError(_("A payload can only be edited while its job is failed or cancelled."))

    @api.model
    def enqueue(self, backend, job_type, payload=None, idempotency_key=None, priority=10, eta=None,
                res_model=None, res_id=None, max_attempts=None):
        """Create a pending job, or return the existing one with the same idempotency key.

        The same (backend, job_type, idempotency_key) never yields two jobs, even from two
        transactions at once: the unique index decides, and the loser retries its transaction.
        """
        return self._enqueue(backend, job_type, payload, idempotency_key, priority, eta,
                             res_model, res_id, max_attempts)[0]

    @api.model
    def _enqueue(self, backend, job_type, payload=None, idempotency_key=None, priority=10, eta=None,
                 res_model=None, res_id=None, max_attempts=None):
        """:meth:`enqueue`, also telling whether the job is new: ``(job, created)``."""
        vals = {
            "backend_id": backend.id,
            "job_type": job_type,
            "payload": payload,
            "idempotency_key": idempotency_key or False,
            "priority": priority,
            "eta": eta or False,
            "res_model": res_model or False,
            "res_id": res_id or False,
        }
        if max_attempts:
            vals["max_attempts"] = max_attempts
        jobs = self.sudo()
        if idempotency_key:
            # Look first: pollers re-read overlaps, so many keys exist already, and a failed
            # INSERT is logged by Odoo as a "bad query" ERROR. The unique index still decides
            # between two concurrent enqueuers.
            existing = jobs._find_by_key(backend, job_type, idempotency_key)
            if existing:
                return existing, False
            try:
                with self.env.cr.savepoint():
                    job = jobs.create(vals)
            except psycopg2.errors.UniqueViolation:
                existing = jobs._find_by_key(backend, job_type, idempotency_key)
                if existing:
                    return existing, False
                # Committed by a concurrent transaction after our snapshot: invisible to us.
                raise EnqueueConflict(f"job {job_type}/{idempotency_key} enqueued concurrently") from None
        else:
            job = jobs.create(vals)
        job._trigger_runner(eta)
        return job, True

    @api.model
    def _store_event(self, backend_id, job_type, payload, idempotency_key):
        """Webhook intake: store a raw event as a pending job with one INSERT; ``(job_id, created)``.

        Same contract as :meth:`_enqueue` (same defaults, same idempotency), without the ORM's
        create machinery: a webhook request must answer in milliseconds under bursts, and
        create() (defaults, related fields, access checks, savepoint) costs several times the
        INSERT itself. ``company_id`` and ``channel`` are the related fields create() would
        store. commerce.job has no other stored computed field; keep it so, or compute it here.
        """
        cr = self.env.cr
        cr.execute(
            """
            INSERT INTO commerce_job (backend_id, company_id, channel, job_type, state, priority, attempts,
                                      max_attempts, payload, idempotency_key,
                                      create_uid, write_uid, create_date, write_date)
                 SELECT b.id, b.company_id, b.channel, %(job_type)s, 'pending', 10, 0, %(max_attempts)s,
                        %(payload)s, %(key)s, %(uid)s, %(uid)s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
                   FROM commerce_backend b
                  WHERE b.id = %(backend_id)s
            ON CONFLICT (backend_id, job_type, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
              RETURNING id
            """,
            {"backend_id": backend_id, "job_type": job_type, "max_attempts": self._param("max_attempts"),
             "payload": payload_tools.to_text(payload), "key": idempotency_key or None, "uid": self.env.uid},
        )
        row = cr.fetchone()
        if row:
            self._trigger_runner()
            return row[0], True
        if not idempotency_key:
            raise UserError(_("Commerce backend %s does not exist.", backend_id))
        cr.execute("SELECT id FROM commerce_job WHERE backend_id = %s AND job_type = %s AND idempotency_key = %s",
                   (backend_id, job_type, idempotency_key))
        row = cr.fetchone()
        if row:
            return row[0], False
        # Committed by a concurrent transaction after our snapshot: invisible to us.
        raise EnqueueConflict(f"job {job_type}/{idempotency_key} enqueued concurrently")

    @api.model
    def _find_by_key(self, backend, job_type, idempotency_key):
        return self.sudo().search(
            [("backend_id", "=", backend.id), ("job_type", "=", job_type), ("idempotency_key", "=", idempotency_key)],
            limit=1,
        )

    @api.model
    def _trigger_runner(self, at=None):
        """Wake the runner cron now (or at ``at``).

        Immediate wake-ups are coalesced per database to one every TRIGGER_COALESCE_SECONDS
        per process: a burst of webhooks needs one runner pass, not one trigger row each. A
        wake-up skipped inside the window is fired once at its end (:meth:`_defer_trigger`),
        so a job enqueued just after a pass ended waits half a second, not the next tick.
        """
        if not at:
            now = time.monotonic()
            key = self.env.cr.dbname
            elapsed = now - _LAST_TRIGGER.get(key, -TRIGGER_COALESCE_SECONDS)
            if elapsed < TRIGGER_COALESCE_SECONDS:
                self._defer_trigger(TRIGGER_COALESCE_SECONDS - elapsed)
                return
            _LAST_TRIGGER[key] = now
        cron = self.env.ref("commerce_connector.ir_cron_job_runner", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger(at=at or None)

    def _defer_trigger(self, delay):
        """A coalesced wake-up still happens, once, at the end of the window: the job enqueued
        just after a runner pass ended would otherwise wait for the next cron tick. Not in
        tests, where another thread may not open a cursor (the test's transaction is shared)."""
        if not _auto_commit_default() or self.env.registry.in_test_mode():
            return
        dbname = self.env.cr.dbname
        with _DEFERRED_LOCK:
            if dbname in _DEFERRED_TRIGGERS:
                return
            timer = _DEFERRED_TRIGGERS[dbname] = threading.Timer(delay + 0.05, _fire_deferred_trigger, (dbname,))
        timer.daemon = True
        timer.start()

    # -- runner ----------------------------------------------------------------------------
    @api.model
    def _cron_run_jobs(self):
        """Entry point of ir_cron_job_runner."""
        return self._run_jobs()

    @api.model
    def _run_jobs(self, time_budget=None, batch_size=None, auto_commit=None):
        """Run due jobs until none is left or the time budget is spent; return how many ran.

        Jobs are claimed in small batches with ``FOR UPDATE SKIP LOCKED`` so parallel runners
        never take the same job, each runs in its own savepoint, and the transaction is
        committed after every job so a crash loses at most the job in progress (its lease
        then expires and it is requeued).
        """
        auto_commit = _auto_commit_default() if auto_commit is None else auto_commit
        budget = self._param("runner_time_budget") if time_budget is None else time_budget
        batch_size = batch_size or self._param("runner_batch_size")
        deadline = time.monotonic() + budget
        commit = self.env.cr.commit if auto_commit else self.env.flush_all
        processed = 0
        while time.monotonic() < deadline:
            # Before every batch: a job whose worker died during this pass runs in it too.
            if self._recover_expired_leases():
                commit()
            jobs = self._claim_batch(batch_size, own_transaction=auto_commit)
            if not jobs:
                break
            for job in jobs:
                job._execute()
                commit()
                processed += 1
        if self._has_due_jobs():
            self._trigger_runner(fields.Datetime.now())  # not coalesced: work remains
            commit()
        self._wake_when_leases_end()
        commit()
        return processed

    def _wake_when_leases_end(self):
        """A job another worker left started (killed process, lost database) is requeued when
        its lease ends: wake the runner then, rather than at the next cron tick. A trigger row
        serves any process; the timer wakes this one's cron, which only polls for future
        triggers once a minute."""
        self.env.cr.execute("SELECT min(lease_until) FROM commerce_job WHERE state = 'started'")
        lease_end = self.env.cr.fetchone()[0]
        if not lease_end:
            return
        wake_at = max(lease_end + timedelta(seconds=1), fields.Datetime.now())
        cron = self.env.ref("commerce_connector.ir_cron_job_runner", raise_if_not_found=False)
        if cron:  # one trigger row per lease end, however many passes see the job started
            self.env.cr.execute(
                "SELECT 1 FROM ir_cron_trigger WHERE cron_id = %s AND call_at > %s AND call_at <= %s LIMIT 1",
                (cron.id, lease_end, wake_at))
            if not self.env.cr.fetchone():
                self._trigger_runner(wake_at)
        if not _auto_commit_default() or self.env.registry.in_test_mode():
            return
        delay = max(0.0, (wake_at - fields.Datetime.now()).total_seconds())
        dbname = self.env.cr.dbname
        fires_at = time.monotonic() + delay
        with _DEFERRED_LOCK:
            pending = _LEASE_TIMERS.get(dbname)
            if pending and pending[0] <= fires_at + 0.5:
                return
            if pending:
                pending[1].cancel()
            timer = threading.Timer(delay, _fire_lease_wake_up, (dbname,))
            _LEASE_TIMERS[dbname] = (fires_at, timer)
        timer.daemon = True
        timer.start()

    @api.model
    def _claim_batch(self, limit, own_transaction=False):
        """Mark up to ``limit`` due jobs as started and return them, skipping locked rows.

        With ``own_transaction`` (the runner's auto-commit mode) the claim runs in a fresh
        READ COMMITTED transaction: under Odoo's REPEATABLE READ a row another runner changed
        after our snapshot would abort the claim instead of being re-checked or skipped.
        """
        self.env.flush_all()
        now = fields.Datetime.now()
        params = {
            "now": now,
            "lease": now + timedelta(seconds=self._param("job_lease_seconds")),
            "limit": limit,
            "suspended": SUSPENDED_BACKEND_STATES,
        }
        if own_transaction:
            self.env.cr.commit()
            self.env.cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        self.env.cr.execute(
            """
            UPDATE commerce_job
               SET state = 'started', date_started = %(now)s, lease_until = %(lease)s,
                   attempts = attempts + 1, date_done = NULL
             WHERE id IN (
                    SELECT job.id
                      FROM commerce_job job
                      JOIN commerce_backend backend ON backend.id = job.backend_id
                     WHERE job.state = 'pending'
                       AND (job.eta IS NULL OR job.eta <= %(now)s)
                       AND backend.active
                       AND backend.state NOT IN %(suspended)s
                  ORDER BY job.priority, job.eta NULLS FIRST, job.id
                     LIMIT %(limit)s
                       FOR UPDATE OF job SKIP LOCKED)
         RETURNING id
            """,
            params,
        )
        jobs = self.browse(sorted(row[0] for row in self.env.cr.fetchall()))
        if own_transaction:
            self.env.cr.commit()
        jobs.invalidate_recordset(["state", "date_started", "lease_until", "attempts", "date_done"])
        return jobs

    @api.model
    def _has_due_jobs(self):
        return bool(self.search_count([
            ("state", "=", "pending"),
            ("backend_id.state", "not in", SUSPENDED_BACKEND_STATES),
            "|", ("eta", "=", False), ("eta", "<=", fields.Datetime.now()),
        ], limit=1))

    @api.model
    def _recover_expired_leases(self):
        """Requeue jobs whose worker died (killed process, lost connection) mid-run."""
        expired = self.sudo().search([("state", "=", "started"), ("lease_until", "<", fields.Datetime.now())])
        for job in expired:
            message = _("The worker running this job stopped before it finished (lease expired).")
            job._log_attempt("failed", TRANSIENT, message, duration=0.0)
            if job.attempts < job.max_attempts:
                job.write({"state": "pending", "eta": fields.Datetime.now(), "lease_until": False,
                           "error_kind": TRANSIENT, "error_message": message})
            else:
                job.write({"state": "failed", "lease_until": False, "error_kind": TRANSIENT,
                           "error_message": message})
        return expired

    def _execute(self):
        """Run one claimed job's handler and record the outcome; never raises."""
        self.ensure_one()
        started = time.monotonic()
        # Changes a backend's jobs make are never pushed back to that backend (echo suppression).
        job = self.sudo().with_company(self.backend_id.company_id).with_context(
            commerce_import_backend_id=self.backend_id.id)
        if job.backend_id.state in SUSPENDED_BACKEND_STATES:
            # Suspended while this batch ran (e.g. an earlier job hit an auth error): wait.
            job.write({"state": "pending", "attempts": max(0, job.attempts - 1), "lease_until": False})
            return
        try:
            handler = job_registry.get_handler(job.job_type)
            if handler is None:
                raise PayloadValidationError(
                    _("Unknown job type %r: no handler is registered for it.", job.job_type)
                )
            with self.env.cr.savepoint():
                result = handler(job)
        except Exception as exc:  # every failure is classified and kept, never lost
            self.env.invalidate_all()
            job._record_failure(exc, traceback.format_exc(), time.monotonic() - started)
        else:
            job._record_success(result, time.monotonic() - started)

    def _record_success(self, result, duration):
        self._log_attempt("done", False, False, duration)
        self.write({
            "state": "done",
            "date_done": fields.Datetime.now(),
            "lease_until": False,
            "duration": duration,
            "result": self._scrub(payload_tools.to_text(result)) if result is not None else False,
            "error_kind": False,
            "error_message": False,
            "error_detail": False,
        })

    def _record_failure(self, exc, trace, duration):
        kind, message, retry_after = self._classify(exc)
        message = self._scrub(str(message))
        vals = {
            "error_kind": kind,
            "error_message": message,
            "error_detail": self._scrub(trace),
            "lease_until": False,
            "duration": duration,
        }
        if kind == TRANSIENT and self.attempts < self.max_attempts:
            delay = backoff.retry_delay(self.attempts, minimum=retry_after)
            vals.update(state="pending", eta=fields.Datetime.now() + timedelta(seconds=delay))
            outcome = "retry"
        elif kind == TRANSIENT:
            vals.update(state="failed", error_message=_("%(message)s (gave up after %(count)s attempts)",
                                                        message=message, count=self.attempts))
            outcome = "failed"
        elif kind == AUTH:
            # Waiting for credentials is not the job's fault: the attempt is not counted.
            vals.update(state="pending", eta=False, attempts=max(0, self.attempts - 1))
            outcome = "retry"
            self.backend_id._set_auth_failed(message)
        else:
            vals.update(state="failed")
            outcome = "failed"
        self._log_attempt(outcome, kind, message, duration)
        self.write(vals)
        _logger.info("commerce job %s (%s) %s: %s error", self.id, self.job_type, outcome, kind)

    @api.model
    def _classify(self, exc):
        if isinstance(exc, AccessError):
            return BUSINESS, _("Access refused: %s", exc), None
        if isinstance(exc, (UserError, OdooValidationError)):
            return BUSINESS, str(exc), None
        return classify(exc)

    def _scrub(self, text):
        """Blank out the backend's secrets wherever they would appear in stored text."""
        return self.backend_id._scrub_secrets(text)

    def _log_attempt(self, outcome, kind, message, duration):
        self.env["commerce.job.attempt"].sudo().create({
            "job_id": self.id,
            "number": self.attempts,
            "date_started": self.date_started or fields.Datetime.now(),
            "duration": duration,
            "outcome": outcome,
            "error_kind": kind or False,
            "error_message": message or False,
        })

    # -- vacuum ----------------------------------------------------------------------------
    @api.model
    def _cron_vacuum_done_jobs(self, batch_size=1000, auto_commit=None):
        """Delete done jobs older than the retention period, in batches."""
        auto_commit = _auto_commit_default() if auto_commit is None else auto_commit
        limit = fields.Datetime.now() - timedelta(days=self._param("job_retention_days"))
        removed = 0
        while True:
            jobs = self.sudo().search([("state", "=", "done"), ("date_done", "<", limit)], limit=batch_size)
            if not jobs:
                return removed
            removed += len(jobs)
            jobs.unlink()
            if auto_commit:
                self.env.cr.commit()

    # -- user actions ----------------------------------------------------------------------
    def action_retry(self):
        """Run failed or cancelled jobs again now, from a fresh attempt count."""
        jobs = self.filtered(lambda j: j.state in ("failed", "cancelled", "pending"))
        jobs.sudo().write({"state": "pending", "eta": False, "attempts": 0, "lease_until": False})
        self._trigger_runner()
        return True

    def action_cancel(self):
        started = self.filtered(lambda j: j.state == "started")
        if started:
            raise UserError(_("A running job cannot be cancelled: %s", ", ".join(started.mapped("display_name"))))
        self.filtered(lambda j: j.state in ("pending", "failed")).sudo().write({"state": "cancelled", "lease_until": False})
        return True

    def action_set_done(self):
        if not self.env.user.has_group("commerce_connector.group_commerce_manager"):
            raise AccessError(_("Only Commerce managers can mark jobs as done by hand."))
        jobs = self.filtered(lambda j: j.state in ("pending", "failed", "cancelled"))
        jobs.sudo().write({
            "state": "done",
            "date_done": fields.Datetime.now(),
            "lease_until": False,
            "result": _("Marked as done by %s", self.env.user.name),
        })
        return True

    def _link_record(self, record):
        """Point the job at the Odoo record it produced (the form's Odoo Record button)."""
        self.write({"res_model": record._name, "res_id": record.id})
        return record

    def action_open_record(self):
        self.ensure_one()
        if not self.res_model or not self.res_id:
            raise UserError(_("This job is not linked to a record."))
        return {"type": "ir.actions.act_window", "res_model": self.res_model, "res_id": self.res_id,
                "view_mode": "form", "target": "current"}

    def action_edit_payload(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Fix payload"),
            "res_model": "commerce.job.edit.payload",
            "view_mode": "form",
            "target": "new",
            "context": {"default_job_id": self.id, "default_payload": self.payload},
        }
