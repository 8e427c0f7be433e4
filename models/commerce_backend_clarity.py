import json

from odoo import _, api, fields, models

from ..channels.clarity import const, mapper
from ..channels.clarity.client import ClarityClient
from ..core.errors import PayloadValidationError
from ..core.job_registry import register
from .sealed_char import SealedChar

# Polled flows: (watermark flow, client method, job type, record key, record update date)
POLL_FLOWS = (  # catalogue and customers first, so the orders that need them find them
    ("clarity.products", "iter_products", "clarity.product.import",
     lambda r: r.get("CustomKey"), lambda r: r.get("UpdatedDate")),
    ("clarity.customers", "iter_customers", "clarity.customer.import",
     lambda r: (r.get("Account") or {}).get("CustomKey"), lambda r: (r.get("Account") or {}).get("UpdatedDate")),
    ("clarity.orders", "iter_orders", "clarity.order.import",
     lambda r: r.get("ID"), lambda r: r.get("UpdatedDate")),
)
POLL_OVERLAP_SECONDS = 300

DEFAULT_IMPORT_STATUSES = ("Pending,On Hold,Confirmed,Backordered,Split,Partial Payment Received,"
                           "Full Payment Received,Processing,Shipped,Shipped from Vendor,Ready for Pickup,Completed")
DEFAULT_CONFIRM_STATUSES = ("Confirmed,Backordered,Split,Partial Payment Received,Full Payment Received,"
                            "Processing,Shipped,Shipped from Vendor,Ready for Pickup,Completed")


def _statuses(text):
    return {part.strip() for part in (text or "").split(",") if part.strip()}


class CommerceBackend(models.Model):
    """Clarity eCommerce settings and job handlers of a backend (channel ``clarity``)."""

    _inherit = "commerce.backend"

    clarity_base_url = fields.Char(string="Store URL", tracking=True,
                                   help="Base URL of the Clarity storefront API, e.g. https://shop.example.com")
    clarity_token_url = fields.Char(
        string="Token URL", compute="_compute_clarity_token_url", store=True, readonly=False,
        help="OAuth2 client-credentials endpoint; defaults to the store URL + /oauth/token.")
    clarity_client_id = fields.Char(string="Client ID", tracking=True)
    clarity_client_secret = SealedChar(string="Client Secret", groups="base.group_system", copy=False)
    clarity_webhook_secret = SealedChar(string="Webhook Secret", groups="base.group_system", copy=False)
    clarity_webhook_url = fields.Char(string="Webhook URL", compute="_compute_clarity_webhook_url",
                                      help="Give this URL to Clarity as the webhook target.")
    clarity_import_statuses = fields.Char(
        string="Statuses that create an order", default=DEFAULT_IMPORT_STATUSES,
        help="Comma-separated Clarity StatusKey values; orders in other statuses are not imported.")
    clarity_confirm_statuses = fields.Char(
        string="Statuses that confirm the order", default=DEFAULT_CONFIRM_STATUSES,
        help="Comma-separated Clarity StatusKey values for which the sale order is confirmed.")
    clarity_location_ids = fields.Many2many(
        "stock.location", string="Published Locations", domain="[('usage', '=', 'internal')]",
        help="Locations whose available quantities are sent to Clarity.")

    @api.depends("clarity_base_url")
    def _compute_clarity_token_url(self):
        for backend in self:
            if backend.clarity_base_url and not backend.clarity_token_url:
                backend.clarity_token_url = backend.clarity_base_url.rstrip("/") + "/oauth/token"

    @api.depends("channel")
    def _compute_clarity_webhook_url(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for backend in self:
            backend.clarity_webhook_url = (
                f"{base_url.rstrip('/')}/commerce_connector/clarity/{backend.id}/webhook"
                if backend.channel == "clarity" and backend.id else False
            )

    # -- connection ------------------------------------------------------------------------
    def _clarity_client(self):
        self.ensure_one()
        backend = self.sudo()
        return ClarityClient(
            backend.clarity_base_url,
            backend.clarity_client_id,
            backend.clarity_client_secret,
            token_url=backend.clarity_token_url or None,
            **self._http_retry_options(),
        )

    def _clarity_test_connection(self):
        self._clarity_client().test_connection()
        return _("Connected to %s", self.clarity_base_url)

    # -- polling: the safety net for missed webhooks --------------------------------------
    @api.model
    def _cron_clarity_poll(self):
        """Entry point of ir_cron_clarity_poll: one poll job per Clarity backend."""
        Job = self.env["commerce.job"]
        backends = self.search([("channel", "=", "clarity"), ("state", "not in", ("auth_failed", "disabled"))])
        for backend in backends:
            waiting = Job.search_count([("backend_id", "=", backend.id), ("job_type", "=", "clarity.poll"),
                                        ("state", "in", ("pending", "started"))])
            if not waiting:
                Job.enqueue(backend, "clarity.poll", payload={"flows": [flow[0] for flow in POLL_FLOWS]})
        return len(backends)

    def _clarity_poll(self, job=None):
        """Read what changed since each flow's watermark and queue one import job per record.

        The watermark moves to the time the scan started (minus an overlap next time), not to
        the newest record seen: offset paging can skip a record that changes mid-scan, and the
        next scan then reads it again. The idempotency key makes re-reads free.
        """
        self.ensure_one()
        client = self._clarity_client()
        Watermark = self.env["commerce.watermark"]
        Job = self.env["commerce.job"]
        counts = {}
        for flow, method, job_type, key_of, updated_of in POLL_FLOWS:
            scan_started = fields.Datetime.now()
            since = Watermark.get_start(self, flow, POLL_OVERLAP_SECONDS)
            count = 0
            for record in getattr(client, method)(modified_since=since, page_size=100):
                key = key_of(record)
                Job.enqueue(self, job_type, payload={"Event": "poll", "Source": "poll", "Data": record},
                            idempotency_key=f"poll:{key}@{updated_of(record)}")
                count += 1
            Watermark.advance(self, flow, scan_started, count)
            counts[flow] = count
        return counts

    # -- inbound events --------------------------------------------------------------------
    @api.model
    def _clarity_event_data(self, job):
        """The ``Data`` object of a stored webhook event, or a clear validation error."""
        try:
            event = json.loads(job.payload or "")
        except ValueError as error:
            raise PayloadValidationError(f"the event body is not valid JSON: {error}") from None
        except RecursionError:
            raise PayloadValidationError("the event body is not valid JSON: nested too deeply") from None
        if not isinstance(event, dict) or not isinstance(event.get("Data"), dict):
            raise PayloadValidationError("the event has no Data object (expected {Id, Event, Data, ...})")
        return event["Data"]

    def _clarity_import_order(self, data, job=None):
        """Import or update one Clarity order (from a webhook, the poller or a re-read)."""
        order = mapper.order_from_clarity(data)
        importer = self.env["commerce.order.importer"]
        confirm_statuses = _statuses(self.clarity_confirm_statuses)
        existing = self.env["commerce.binding"].lookup(self, "sale.order", order.external_id)
        if not existing and order.status not in _statuses(self.clarity_import_statuses):
            return {"skipped": f"status {order.status} is not imported"}
        if existing:
            outcome = importer.apply_status(self, existing, order.status, order.updated_at,
                                            confirm_statuses, {const.STATUS_VOID})
            sale_order = existing
        else:
            sale_order, _created = importer.import_order(self, order, confirm=order.status in confirm_statuses)
            outcome = "created"
        if job:
            job._link_record(sale_order)
        return {"sale_order": sale_order.name, "outcome": outcome}

    def _clarity_apply_status_event(self, data, job):
        change = mapper.status_change_from_clarity(data)
        sale_order = self.env["commerce.binding"].lookup(self, "sale.order", change.external_id)
        if not sale_order:
            # Out of order: the update came before the order. Read the order itself instead.
            return self._clarity_import_order(self._clarity_client().get_order(change.external_id), job)
        outcome = self.env["commerce.order.importer"].apply_status(
            self, sale_order, change.status, change.updated_at,
            _statuses(self.clarity_confirm_statuses), {const.STATUS_VOID})
        job._link_record(sale_order)
        return {"sale_order": sale_order.name, "outcome": outcome}


def _handle_order_import(job):
    backend = job.backend_id
    return backend._clarity_import_order(backend._clarity_event_data(job), job)


def _handle_status_event(job):
    backend = job.backend_id
    return backend._clarity_apply_status_event(backend._clarity_event_data(job), job)


def _importing(parse, importer, method, describe):
    """A handler that maps the event's Data to the canonical model and hands it to an importer."""

    def handle(job):
        backend = job.backend_id
        record = getattr(backend.env[importer], method)(backend, parse(backend._clarity_event_data(job)))
        job._link_record(record)
        return describe(record)

    return handle


_handle_customer_import = _importing(
    mapper.customer_from_clarity, "commerce.partner.importer", "import_customer",
    lambda partner: {"partner": partner.display_name})
_handle_product_import = _importing(
    mapper.product_from_clarity, "commerce.product.importer", "import_product",
    lambda template: {"product": template.display_name, "variants": len(template.product_variant_ids)})
_handle_return = _importing(
    mapper.return_from_clarity, "commerce.return.importer", "import_return",
    lambda picking: {"return_picking": picking.name})
_handle_refund = _importing(
    lambda data: mapper.return_from_clarity(data, refund_only=True), "commerce.return.importer", "import_refund",
    lambda credit_note: {"credit_note": credit_note.display_name, "amount": credit_note.amount_total})


def _handle_inventory_update(job):
    """Clarity reports a stock level (opt-in event). Odoo's stock is the reference: when the
    store's number differs from what Odoo publishes, Odoo's is sent again."""
    backend = job.backend_id
    data = mapper._Reader(backend._clarity_event_data(job))
    sku, location_key = data.text("Sku", required=True), data.text("LocationKey")
    remote_quantity = data.number("Quantity", required=True)
    product = backend.env["commerce.binding"].lookup_product(backend, sku)
    if not product:
        return {"ignored": f"SKU {sku} is not an Odoo product"}
    exporter = backend.env["commerce.stock.exporter"]
    levels, _without_sku = exporter.stock_levels(backend, product)
    ours = next((level for level in levels if not location_key or level.location_key == location_key), None)
    if ours is None:
        return {"ignored": f"location {location_key} is not published by this backend"}
    if ours.quantity == remote_quantity:
        return {"in_sync": True, "quantity": ours.quantity}
    exporter.mark_products_changed(backend, product)
    return {"drift": remote_quantity - ours.quantity, "republished": ours.quantity}


def _handle_poll(job):
    return job.backend_id._clarity_poll(job)


def _handle_unknown_event(job):
    raise PayloadValidationError(
        "unknown Clarity event: the X-Clarity-Event header names no event this connector handles")


register("clarity.order.import", _handle_order_import)
register("clarity.order.update", _handle_status_event)
register("clarity.order.cancel", _handle_status_event)
register("clarity.customer.import", _handle_customer_import)
register("clarity.product.import", _handle_product_import)
register("clarity.order.return", _handle_return)
register("clarity.order.refund", _handle_refund)
register("clarity.inventory.update", _handle_inventory_update)
register("clarity.poll", _handle_poll)
register(const.UNKNOWN_EVENT_JOB_TYPE, _handle_unknown_event)
