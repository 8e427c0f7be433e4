import json
from datetime import timedelta

from odoo import api, fields, models

from ..channels.amazon import const, mapper, reports
from ..channels.amazon.settlement import REPORT_TYPE
from ..core.errors import BusinessError, PayloadValidationError
from ..core.job_registry import register

SETTLEMENT_POLL_JOB = "amazon.settlements.poll"
SETTLEMENT_IMPORT_JOB = "amazon.settlement.import"
SETTLEMENT_POST_JOB = "amazon.settlement.post"
SETTLEMENT_RECONCILE_JOB = "amazon.settlement.reconcile"
SETTLEMENT_FLOW = "amazon.settlements"
# Reports are kept 90 days; a report may be listed a little after its createdTime: re-read a day.
SETTLEMENT_OVERLAP_SECONDS = 86400
SETTLEMENT_FIRST_SYNC_DAYS = 90
DEFAULT_REPORT_CHARSET = "windows-1252"  # NA/EU settlement files; JP uses windows-31j


class CommerceBackend(models.Model):
    """Amazon settlements of a backend: report polling, import, posting and reconciliation settings."""

    _inherit = "commerce.backend"

    amazon_settlement_journal_id = fields.Many2one(
        "account.journal", string="Settlement Journal", check_company=True, domain="[('type', '=', 'general')]",
        help="Journal of the settlement entries; empty: an 'Amazon Settlements' journal is created on first use.")
    amazon_settlement_deposit_account_id = fields.Many2one(
        "account.account", string="Payout Clearing Account", check_company=True,
        help="Where the net payout of a settlement is booked until the bank transfer matches it; empty: "
             "'Amazon Settlement Transfers' (created on first use).")
    amazon_report_charset = fields.Char(
        string="Report Character Set", default=DEFAULT_REPORT_CHARSET,
        help="Used when the report download does not say its charset (windows-1252 in NA/EU, windows-31j in JP).")
    amazon_auto_invoice = fields.Boolean(
        string="Invoice Settled Orders",
        help="When a settlement pays an order that has no invoice yet, create and post its invoice.")
    amazon_auto_credit_note = fields.Boolean(
        string="Credit Notes for Refunds",
        help="When a settlement refunds an order that has no credit note, create and post one for the refund.")
    amazon_settlement_count = fields.Integer(compute="_compute_amazon_settlement_count")

    def _compute_amazon_settlement_count(self):
        counts = {backend.id: count for backend, count in self.env["commerce.amazon.settlement"]._read_group(
            [("backend_id", "in", self.ids)], ["backend_id"], ["__count"])}
        for backend in self:
            backend.amazon_settlement_count = counts.get(backend.id, 0)

    def action_view_amazon_settlements(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "commerce_connector.action_commerce_amazon_settlement")
        action["domain"] = [("backend_id", "=", self.id)]
        return action

    # -- polling ---------------------------------------------------------------------------
    @api.model
    def _cron_amazon_settlements(self):
        """Entry point of ir_cron_amazon_settlements: one report poll job per Amazon backend."""
        return self._amazon_enqueue_polls(SETTLEMENT_POLL_JOB)

    @api.model
    def _amazon_enqueue_polls(self, job_type):
        """One ``job_type`` job per active Amazon backend that has none waiting; how many were queued."""
        Job = self.env["commerce.job"]
        queued = 0
        for backend in self.search([("channel", "=", const.CHANNEL), ("state", "not in", ("auth_failed", "disabled"))]):
            if not Job.search_count([("backend_id", "=", backend.id), ("job_type", "=", job_type),
                                     ("state", "in", ("pending", "started"))]):
                Job.enqueue(backend, job_type, payload={})
                queued += 1
        return queued

    def _amazon_poll_settlements(self):
        """List the settlement reports Amazon made since the watermark; one import job per new report.

        Settlement reports are only listed, never requested (createReport refuses the type).
        The import job's idempotency key is the reportId, so a report listed again is skipped.
        """
        self.ensure_one()
        Watermark = self.env["commerce.watermark"]
        Job = self.env["commerce.job"]
        start = Watermark.get_start(self, SETTLEMENT_FLOW, SETTLEMENT_OVERLAP_SECONDS,
                                    default=fields.Datetime.now() - timedelta(days=SETTLEMENT_FIRST_SYNC_DAYS))
        client = self._amazon_client()
        token, queued, newest, listed = None, 0, None, 0
        while True:
            found, token = reports.list_reports(client, [REPORT_TYPE], created_since=mapper.format_datetime(start),
                                                next_token=token)
            for report in found:
                listed += 1
                created = mapper.parse_datetime(report.get("createdTime"), "report.createdTime")
                newest = max(newest, created) if newest else created
                if report.get("processingStatus") != "DONE" or not report.get("reportDocumentId"):
                    continue
                key = f"report:{report['reportId']}"
                if Job._find_by_key(self, SETTLEMENT_IMPORT_JOB, key):
                    continue  # listed again (the overlap): looked up first, as most are known
                Job.enqueue(self, SETTLEMENT_IMPORT_JOB, payload={
                    "report_id": report["reportId"], "report_document_id": report["reportDocumentId"]},
                    idempotency_key=key)
                queued += 1
            if not token:
                break
        Watermark.advance(self, SETTLEMENT_FLOW, newest or fields.Datetime.now(), queued)
        return {"reports": listed, "queued": queued}

    # -- import ----------------------------------------------------------------------------
    def _amazon_import_settlement(self, payload, job=None):
        """Download one settlement report (once), parse it streamed into a settlement, queue its posting."""
        self.ensure_one()
        if not isinstance(payload, dict) or not payload.get("report_document_id"):
            raise PayloadValidationError('the payload needs {"report_id": ..., "report_document_id": ...}')
        Settlement = self.env["commerce.amazon.settlement"]
        report_id = payload.get("report_id")
        if report_id and Settlement.search_count([("backend_id", "=", self.id), ("report_id", "=", report_id)]):
            return {"skipped": f"report {report_id} is already imported"}
        client = self._amazon_client()
        document = reports.get_report_document(client, payload["report_document_id"])
        spool, charset = reports.download_document(document["url"], timeout=client.timeout)
        with spool:
            settlement, created = Settlement._import_report(
                self, spool, charset or self.amazon_report_charset or DEFAULT_REPORT_CHARSET,
                document.get("compressionAlgorithm"), report_id)
        if job:
            job._link_record(settlement)
        if not created:
            return {"skipped": f"settlement {settlement.settlement_id} is already imported", "report": report_id}
        self.env["commerce.job"].enqueue(self, SETTLEMENT_POST_JOB, payload={"settlement_id": settlement.id},
                                         idempotency_key=f"settlement:{settlement.id}",
                                         res_model=settlement._name, res_id=settlement.id)
        return {"settlement": settlement.settlement_id, "lines": settlement.line_count,
                "total": settlement.total_amount, "currency": settlement.currency_id.name, "state": settlement.state}

    def _amazon_settlement_of(self, payload):
        settlement = self.env["commerce.amazon.settlement"].browse(
            (payload or {}).get("settlement_id") if isinstance(payload, dict) else None).exists()
        if not settlement or settlement.backend_id != self:
            raise PayloadValidationError('the payload needs {"settlement_id": <id of a settlement of this backend>}')
        return settlement


def _payload(job):
    try:
        return json.loads(job.payload or "{}")
    except ValueError as error:
        raise PayloadValidationError(f"the payload is not valid JSON: {error}") from None


def _handle_poll(job):
    return job.backend_id._amazon_poll_settlements()


def _handle_import(job):
    return job.backend_id._amazon_import_settlement(_payload(job), job)


def _handle_post(job):
    settlement = job.backend_id._amazon_settlement_of(_payload(job))
    move = settlement._post()
    job.env["commerce.job"].enqueue(job.backend_id, SETTLEMENT_RECONCILE_JOB, payload={"settlement_id": settlement.id},
                                    res_model=settlement._name, res_id=settlement.id)
    return {"settlement": settlement.settlement_id, "move": move.name}


def _handle_reconcile(job):
    settlement = job.backend_id._amazon_settlement_of(_payload(job))
    if not settlement.move_id:
        raise BusinessError(f"settlement {settlement.settlement_id} is not posted yet")
    return settlement._reconcile()


register(SETTLEMENT_POLL_JOB, _handle_poll)
register(SETTLEMENT_IMPORT_JOB, _handle_import)
register(SETTLEMENT_POST_JOB, _handle_post)
register(SETTLEMENT_RECONCILE_JOB, _handle_reconcile)
