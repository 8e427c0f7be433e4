import hashlib
import json
from datetime import timedelta

from odoo import _, api, fields, models

from ..channels.amazon import const, mapper
from ..channels.amazon.client import AmazonClient
from ..core.errors import BusinessError, PayloadValidationError, TransientError
from ..core.job_registry import register
from .sealed_char import SealedChar

POLL_JOB = "amazon.orders.poll"
IMPORT_JOB = "amazon.order.import"
# Amazon's search windows end two minutes back and late writes happen: re-read ten minutes.
POLL_OVERLAP_SECONDS = 600
DEFAULT_FIRST_SYNC_DAYS = 7
SEARCH_PAGE_SIZE = 100  # Amazon's maximum; ICP commerce_connector.amazon_search_page_size


def _statuses(text):
    return {part.strip().upper() for part in (text or "").split(",") if part.strip()}


class CommerceBackend(models.Model):
    """Amazon SP-API settings, order polling and order import of a backend (channel ``amazon``)."""

    _inherit = "commerce.backend"

    amazon_endpoint = fields.Char(
        string="SP-API Endpoint", compute="_compute_amazon_endpoint", store=True, readonly=False, tracking=True,
        help="SP-API base URL; defaults to the endpoint of the marketplaces' region.")
    amazon_lwa_url = fields.Char(string="LWA Token URL", default=const.DEFAULT_LWA_URL, tracking=True,
                                 help="Login with Amazon token endpoint.")
    amazon_lwa_client_id = fields.Char(string="LWA Client ID", tracking=True)
    amazon_lwa_client_secret = SealedChar(string="LWA Client Secret", groups="base.group_system", copy=False)
    amazon_refresh_token = SealedChar(string="Refresh Token", groups="base.group_system", copy=False)
    amazon_seller_id = fields.Char(string="Seller ID", tracking=True, help="Merchant token of the seller account.")
    amazon_marketplace_ids = fields.Many2many(
        "commerce.amazon.marketplace", "commerce_backend_amazon_marketplace_rel", "backend_id", "marketplace_id",
        string="Marketplaces")
    amazon_marketplace_setting_ids = fields.One2many(
        "commerce.amazon.backend.marketplace", "backend_id", string="Marketplace Settings")
    amazon_fba_warehouse_id = fields.Many2one(
        "stock.warehouse", string="FBA Warehouse", check_company=True, tracking=True,
        help="Warehouse that holds the stock at Amazon's fulfilment centres; FBA orders are delivered from it.")
    amazon_import_start_date = fields.Datetime(
        string="Import Orders Updated Since",
        help="Where the first order sync starts; later syncs continue from the last one.")
    amazon_import_statuses = fields.Char(
        string="Amazon statuses that create an order", default=const.DEFAULT_IMPORT_STATUSES,
        help="Comma-separated Amazon fulfilment statuses (PENDING, UNSHIPPED, PARTIALLY_SHIPPED, SHIPPED, "
             "CANCELLED, ...); orders in other statuses are imported once they reach one of these.")
    amazon_confirm_statuses = fields.Char(
        string="Amazon statuses that confirm the order", default=const.DEFAULT_CONFIRM_STATUSES)
    amazon_cancel_statuses = fields.Char(
        string="Amazon statuses that cancel the order", default=const.DEFAULT_CANCEL_STATUSES)
    amazon_fetch_pii = fields.Boolean(
        string="Import Buyer Personal Data",
        help="Read buyer names, e-mails, streets and phones through a restricted data token (the "
             "application needs Amazon's PII roles). Without it, orders keep only the ship-to region and "
             "one anonymous customer per marketplace.")
    amazon_offer_count = fields.Integer(compute="_compute_amazon_offer_count")

    @api.depends("amazon_marketplace_ids")
    def _compute_amazon_endpoint(self):
        for backend in self:
            if not backend.amazon_endpoint and backend.amazon_marketplace_ids:
                backend.amazon_endpoint = backend.amazon_marketplace_ids[0].endpoint

    def _compute_amazon_offer_count(self):
        counts = {backend.id: count for backend, count in self.env["commerce.amazon.offer"]._read_group(
            [("backend_id", "in", self.ids)], ["backend_id"], ["__count"])}
        for backend in self:
            backend.amazon_offer_count = counts.get(backend.id, 0)

    def action_view_amazon_offers(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("commerce_connector.action_commerce_amazon_offer")
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {"default_backend_id": self.id}
        return action

    # -- connection ------------------------------------------------------------------------
    def _amazon_client(self, marketplace=None):
        self.ensure_one()
        backend = self.sudo()
        marketplace = marketplace or backend.amazon_marketplace_ids[:1]
        if not marketplace:
            raise BusinessError(f"Amazon backend {backend.name}: choose at least one marketplace")
        return AmazonClient(
            backend.amazon_endpoint or marketplace.endpoint,
            marketplace.code,
            lwa_client_id=backend.amazon_lwa_client_id,
            lwa_client_secret=backend.amazon_lwa_client_secret,
            refresh_token=backend.amazon_refresh_token,
            lwa_url=backend.amazon_lwa_url or const.DEFAULT_LWA_URL,
            region=const.AWS_REGIONS.get(marketplace.region, "us-east-1"),
            **self._http_retry_options(),
        )

    def _amazon_test_connection(self):
        self._amazon_client().test_connection()
        return _("Connected to %s", self.amazon_endpoint or self.amazon_marketplace_ids[:1].endpoint)

    def _amazon_marketplace_settings(self, marketplace):
        """The settings row of ``marketplace`` on this backend, created on first use."""
        self.ensure_one()
        Settings = self.env["commerce.amazon.backend.marketplace"].sudo()
        settings = Settings.search([("backend_id", "=", self.id), ("marketplace_id", "=", marketplace.id)], limit=1)
        return settings or Settings.create({"backend_id": self.id, "marketplace_id": marketplace.id})

    # -- polling ---------------------------------------------------------------------------
    @api.model
    def _cron_amazon_orders(self):
        """Entry point of ir_cron_amazon_orders: one poll job per backend and marketplace."""
        Job = self.env["commerce.job"]
        backends = self.search([("channel", "=", const.CHANNEL), ("state", "not in", ("auth_failed", "disabled"))])
        queued = 0
        for backend in backends:
            for marketplace in backend.amazon_marketplace_ids:
                settings = backend._amazon_marketplace_settings(marketplace)
                waiting = Job.search_count([
                    ("backend_id", "=", backend.id), ("job_type", "=", POLL_JOB),
                    ("state", "in", ("pending", "started")),
                    ("res_model", "=", settings._name), ("res_id", "=", settings.id)])
                if not waiting:
                    Job.enqueue(backend, POLL_JOB, payload={"marketplace_id": marketplace.code},
                                res_model=settings._name, res_id=settings.id)
                    queued += 1
        return queued

    def _amazon_poll_orders(self, marketplace_code, job=None):
        """Queue one import job per order updated since the watermark, page by page.

        Each page's jobs and the resume point are written together, and the watermark moves to
        Amazon's window end only after the last page. When throttled after some pages, the run
        ends and a follow-up poll resumes from the stored pagination token at the time Amazon
        gives; throttled before any page, the job itself is retried later.
        """
        self.ensure_one()
        marketplace = self._amazon_marketplace(marketplace_code)
        settings = self._amazon_marketplace_settings(marketplace)
        flow = f"amazon.orders.{marketplace.code}"
        Watermark = self.env["commerce.watermark"]
        client = self._amazon_client(marketplace)
        page_size = int(self.env["ir.config_parameter"].sudo().get_param(
            "commerce_connector.amazon_search_page_size", SEARCH_PAGE_SIZE))
        token = settings.resume_pagination_token or None
        window_start = settings.resume_window_start if token else Watermark.get_start(
            self, flow, POLL_OVERLAP_SECONDS,
            default=self.amazon_import_start_date or fields.Datetime.now() - timedelta(days=DEFAULT_FIRST_SYNC_DAYS))
        pages = queued = 0
        while True:
            try:
                orders, next_token, window_end = client.search_orders(
                    mapper.format_datetime(window_start), [marketplace.code], pagination_token=token,
                    page_size=page_size)
            except PayloadValidationError:
                if not token or pages:
                    raise
                # A stored token Amazon no longer accepts (expired after 24 h): read the whole
                # window again from the watermark; the idempotency keys drop what was queued.
                settings.write({"resume_pagination_token": False, "resume_window_start": False})
                return self._amazon_poll_orders(marketplace_code, job)
            except TransientError as error:
                if not pages:
                    raise
                return self._amazon_poll_later(marketplace, settings, token, error, pages, queued)
            for data in orders:
                self._amazon_enqueue_order(data)
                queued += 1
            pages += 1
            if next_token:
                settings.write({"resume_pagination_token": next_token, "resume_window_start": window_start})
                token = next_token
                continue
            settings.write({"resume_pagination_token": False, "resume_window_start": False})
            end = mapper.parse_datetime(window_end, "lastUpdatedBefore") if window_end else fields.Datetime.now()
            Watermark.advance(self, flow, end, queued)
            return {"marketplace": marketplace.code, "pages": pages, "orders": queued,
                    "synced_up_to": fields.Datetime.to_string(end)}

    def _amazon_poll_later(self, marketplace, settings, token, error, pages, queued):
        Job = self.env["commerce.job"]
        eta = fields.Datetime.now() + timedelta(seconds=max(1.0, error.retry_after or 60))
        resume_key = hashlib.sha256(token.encode()).hexdigest()[:32]
        follow_up = Job.enqueue(self, POLL_JOB, payload={"marketplace_id": marketplace.code},
                                idempotency_key=f"{marketplace.code}:resume:{resume_key}", eta=eta,
                                res_model=settings._name, res_id=settings.id)
        return {"marketplace": marketplace.code, "pages": pages, "orders": queued, "throttled": error.message,
                "resumes": follow_up.id, "resumes_at": fields.Datetime.to_string(eta)}

    def _amazon_enqueue_order(self, data):
        """One import job per order version; its payload never holds personal data."""
        order_id = mapper._text(data, "orderId", "order", required=True)
        updated = mapper._text(data, "lastUpdatedTime", "order", required=True)
        return self.env["commerce.job"].enqueue(self, IMPORT_JOB, payload=mapper.without_personal_data(data),
                                                idempotency_key=f"{order_id}@{updated}")

    def _amazon_marketplace(self, code):
        marketplace = self.amazon_marketplace_ids.filtered(lambda m: m.code == code)[:1]
        if not marketplace:
            marketplace = self.env["commerce.amazon.marketplace"].search([("code", "=", code)], limit=1)
        if not marketplace:
            raise PayloadValidationError(f"unknown Amazon marketplace ID {code!r}")
        return marketplace

    # -- order import ----------------------------------------------------------------------
    @api.model
    def _amazon_job_order(self, job):
        try:
            data = json.loads(job.payload or "")
        except ValueError as error:
            raise PayloadValidationError(f"the order payload is not valid JSON: {error}") from None
        except RecursionError:
            raise PayloadValidationError("the order payload is not valid JSON: nested too deeply") from None
        if not isinstance(data, dict):
            raise PayloadValidationError("the payload is not an Orders 2026-01-01 Order object")
        return data

    def _amazon_import_order(self, data, job=None):
        """Create the sale order of an Amazon order, or apply its new status to the existing one."""
        self.ensure_one()
        order_id = mapper._text(data, "orderId", "order", required=True)
        status = mapper.status_of(data)
        if not status:
            raise PayloadValidationError("order.fulfillment.fulfillmentStatus: required field is missing")
        updated_at = mapper.parse_datetime(data.get("lastUpdatedTime"), "order.lastUpdatedTime")
        importer = self.env["commerce.order.importer"]
        sale_order = self.env["commerce.binding"].lookup(self, "sale.order", order_id)
        if sale_order:
            outcome = importer.apply_status(self, sale_order, status, updated_at,
                                            _statuses(self.amazon_confirm_statuses),
                                            _statuses(self.amazon_cancel_statuses))
            if outcome != "stale":
                delivered = self._amazon_deliver_fba(sale_order, data)
                outcome = "delivered" if delivered else outcome
        else:
            if status not in _statuses(self.amazon_import_statuses):
                return {"skipped": f"status {status} is not imported", "order": order_id}
            if self.amazon_fetch_pii:
                data = self._amazon_client(self._amazon_order_marketplace(data)).get_order_with_personal_data(order_id)
                status = mapper.status_of(data)
            sale_order = self._amazon_create_order(data, status)
            outcome = "created"
        if job:
            job._link_record(sale_order)
        return {"sale_order": sale_order.name, "order": order_id, "status": status, "outcome": outcome}

    def _amazon_order_marketplace(self, data):
        code = mapper._text(mapper._obj(data, "salesChannel", "order"), "marketplaceId", "order.salesChannel")
        if not code:
            raise PayloadValidationError("order.salesChannel.marketplaceId: required field is missing")
        return self._amazon_marketplace(code)

    def _amazon_create_order(self, data, status):
        marketplace = self._amazon_order_marketplace(data)
        order = mapper.order_from_amazon(data, personal_data=self.amazon_fetch_pii, marketplace_name=marketplace.name)
        self._amazon_normalize_address(order.shipping)
        importer = self.env["commerce.order.importer"].with_context(commerce_amazon_marketplace_id=marketplace.id)
        products = importer._products(self, order.skus)
        sale_order, _created = importer.import_order(self, order)
        asins = {line.sku: line.attributes.get("asin") for line in order.lines}
        self.env["commerce.amazon.offer"].ensure_offers(self, marketplace, products, asins)
        if status in _statuses(self.amazon_cancel_statuses):
            sale_order.with_context(disable_cancel_warning=True)._action_cancel()
        elif status in _statuses(self.amazon_confirm_statuses):
            sale_order.action_confirm()
            self._amazon_deliver_fba(sale_order, data)
        return sale_order

    def _amazon_normalize_address(self, address):
        """Amazon sends a state code (WA) or a name (Bayern): keep the Odoo state's code, or none."""
        if not address.state_code or not address.country_code:
            return address
        country = self.env["res.country"].search([("code", "=", address.country_code)], limit=1)
        State = self.env["res.country.state"]
        state = State.search([("country_id", "=", country.id), ("code", "=ilike", address.state_code)], limit=1) \
            or State.search([("country_id", "=", country.id), ("name", "=ilike", address.state_code)], limit=1)
        address.state_code = state.code or ""
        return address

    def _amazon_deliver_fba(self, sale_order, data):
        """Validate the FBA delivery for what Amazon shipped: there is no shipment of ours to send.

        Returns the pickings validated. Partly shipped orders get a backorder for the rest.
        """
        fulfillment = mapper._obj(data, "fulfillment", "order")
        if (fulfillment.get("fulfilledBy") != const.FULFILLED_BY_AMAZON or sale_order.state != "sale"
                or fulfillment.get("fulfillmentStatus") not in (const.STATUS_SHIPPED, const.STATUS_PARTIALLY_SHIPPED)):
            return self.env["stock.picking"]
        shipped_by_sku = mapper.shipped_quantities(data)
        if fulfillment.get("fulfillmentStatus") == const.STATUS_SHIPPED:
            shipped_by_sku = {item["product"]["sellerSku"]: item["quantityOrdered"] for item in data["orderItems"]}
        importer = self.env["commerce.order.importer"].with_context(
            commerce_amazon_marketplace_id=self._amazon_order_marketplace(data).id)
        products = importer._products(self, list(shipped_by_sku))
        to_deliver = {}
        for sku, quantity in shipped_by_sku.items():
            product = products[sku]
            to_deliver[product] = to_deliver.get(product, 0) + quantity
        for line in sale_order.order_line.filtered(lambda l: l.product_id in to_deliver):
            to_deliver[line.product_id] -= line.qty_delivered
        pickings = sale_order.picking_ids.filtered(
            lambda p: p.picking_type_code == "outgoing" and p.state not in ("done", "cancel"))
        validated = self.env["stock.picking"]
        for picking in pickings:
            moved = False
            for move in picking.move_ids.filtered(lambda m: m.state not in ("done", "cancel")):
                quantity = max(0.0, min(move.product_uom_qty, to_deliver.get(move.product_id, 0.0)))
                move.quantity = quantity
                move.picked = bool(quantity)
                to_deliver[move.product_id] = to_deliver.get(move.product_id, 0.0) - quantity
                moved = moved or bool(quantity)
            if moved:
                # skip_backorder: what Amazon has not shipped yet stays open as a backorder.
                picking.with_context(skip_backorder=True, skip_sms=True).button_validate()
                validated |= picking
        return validated


def _handle_poll(job):
    payload = json.loads(job.payload or "{}")
    if not isinstance(payload, dict) or not payload.get("marketplace_id"):
        raise PayloadValidationError('the poll payload needs {"marketplace_id": "<Amazon marketplace ID>"}')
    return job.backend_id._amazon_poll_orders(payload["marketplace_id"], job)


def _handle_order_import(job):
    backend = job.backend_id
    return backend._amazon_import_order(backend._amazon_job_order(job), job)


register(POLL_JOB, _handle_poll)
register(IMPORT_JOB, _handle_order_import)
