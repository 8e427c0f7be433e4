import time
from datetime import datetime, timezone

from odoo import api, models

from ..core.outbound import IMPORT_BACKEND_CONTEXT_KEY, available_stock_levels
from .commerce_backend_export import FLOW_INVENTORY

NOTED_CHANGES_KEY = "commerce_connector.stock_changes"
EXPORT_DELAY_PARAM = "commerce_connector.stock_export_delay"
DEFAULT_EXPORT_DELAY = 30  # seconds: every change inside one window shares one export job
MAX_PRODUCTS_PER_JOB = 10000  # bounds one job's run time; the rest goes to a follow-up job


class CommerceStockExporter(models.AbstractModel):
    """Which products' stock a backend must publish, and how much of it (any channel).

    A stock transaction only notes what changed; at commit the changes become
    ``commerce.stock.change`` rows and one debounced export job per backend. The job takes the
    rows, computes absolute available quantities and hands them to the channel. Nothing here
    makes a network call.
    """

    _name = "commerce.stock.exporter"
    _description = "Commerce Stock Exporter"

    # -- inside the stock transaction ------------------------------------------------------
    @api.model
    def note_quant_changes(self, quants):
        """Remember which products changed in which locations; recorded at commit time.

        The automation calls this once per changed quant, so it only adds to a set kept on the
        cursor: the database work happens once, in :meth:`_record_noted_changes`.
        """
        data = self.env.cr.precommit.data
        noted = data.get(NOTED_CHANGES_KEY)
        if noted is None:
            noted = data[NOTED_CHANGES_KEY] = {}
            self.env.cr.precommit.add(self.sudo()._record_noted_changes)
        echo_backend_id = self.env.context.get(IMPORT_BACKEND_CONTEXT_KEY) or False
        noted.setdefault(echo_backend_id, set()).update(
            (quant.product_id.id, quant.location_id.id) for quant in quants)

    def _record_noted_changes(self):
        """Precommit hook: turn the noted changes into change rows and export jobs."""
        noted = self.env.cr.precommit.data.pop(NOTED_CHANGES_KEY, {})
        for echo_backend_id, pairs in noted.items():
            backends = self.env["commerce.backend"].with_context(
                **{IMPORT_BACKEND_CONTEXT_KEY: echo_backend_id})._commerce_exporting_backends(FLOW_INVENTORY)
            for backend in backends:
                products = self._products_in_published_locations(backend, pairs)
                if products:
                    self.mark_products_changed(backend, products)
        # runs after the transaction's last flush: flush what the jobs' creation left pending
        self.env.flush_all()

    @api.model
    def _products_in_published_locations(self, backend, pairs):
        published = backend._commerce_published_locations()
        if not published:
            return self.env["product.product"]
        prefixes = tuple(published.mapped("parent_path"))
        locations = self.env["stock.location"].sudo().browse({location_id for _p, location_id in pairs}).exists()
        inside = set(locations.filtered(lambda loc: loc.parent_path.startswith(prefixes)).ids)
        return self.env["product.product"].browse(sorted({p for p, location_id in pairs if location_id in inside}))

    @api.model
    def mark_products_changed(self, backend, products, delay=None):
        """Queue ``products`` for ``backend``'s next stock export and make sure one is scheduled."""
        if not products:
            return self.env["commerce.job"]
        self.env.cr.execute(
            """
            INSERT INTO commerce_stock_change (backend_id, product_id, date)
            SELECT %s, product_id, NOW() AT TIME ZONE 'UTC' FROM unnest(%s::int[]) AS product_id
            """,
            (backend.id, list(products.ids)),
        )
        return self.schedule_export(backend, delay=delay)

    @api.model
    def schedule_export(self, backend, delay=None):
        """The backend's pending stock export job, created when there is none.

        Changes within one window of ``delay`` seconds share a job due at the window's end,
        keyed by the window so that concurrent transactions agree on the same job.
        """
        job_type = backend._commerce_export_job_type(FLOW_INVENTORY)
        Job = self.env["commerce.job"].sudo()
        pending = Job.search([("backend_id", "=", backend.id), ("job_type", "=", job_type),
                              ("state", "=", "pending")], limit=1)
        if pending:
            return pending
        delay = self._export_delay() if delay is None else delay
        if not delay:
            return Job.enqueue(backend, job_type, payload={})
        window = int(time.time() // delay)
        eta = datetime.fromtimestamp((window + 1) * delay, timezone.utc).replace(tzinfo=None)
        job = Job.enqueue(backend, job_type, payload={}, idempotency_key=f"window:{delay}:{window}", eta=eta)
        if job.state != "pending":
            # this window's job already ran (e.g. retried by hand before its time): a new one
            job = Job.enqueue(backend, job_type, payload={}, eta=eta)
        return job

    @api.model
    def _export_delay(self):
        raw = self.env["ir.config_parameter"].sudo().get_param(EXPORT_DELAY_PARAM)
        try:
            return max(0, int(raw)) if raw else DEFAULT_EXPORT_DELAY
        except ValueError:
            return DEFAULT_EXPORT_DELAY

    # -- inside the export job -------------------------------------------------------------
    @api.model
    def take_changes(self, backend, limit=None):
        """Delete and return (as product.product) up to ``limit`` (default
        :data:`MAX_PRODUCTS_PER_JOB`) changed products of ``backend``.

        The job's savepoint puts them back if the export fails, so no change is ever lost.
        """
        self.env.cr.execute(
            """
            WITH chosen AS (
                SELECT DISTINCT product_id FROM commerce_stock_change
                 WHERE backend_id = %(backend)s ORDER BY product_id LIMIT %(limit)s)
            DELETE FROM commerce_stock_change change USING chosen
             WHERE change.backend_id = %(backend)s AND change.product_id = chosen.product_id
         RETURNING change.product_id
            """,
            {"backend": backend.id, "limit": limit or MAX_PRODUCTS_PER_JOB},
        )
        product_ids = sorted({row[0] for row in self.env.cr.fetchall()})
        return self.env["product.product"].sudo().with_context(active_test=False).browse(product_ids).exists()

    @api.model
    def has_changes(self, backend):
        self.env.cr.execute("SELECT 1 FROM commerce_stock_change WHERE backend_id = %s LIMIT 1", (backend.id,))
        return bool(self.env.cr.fetchone())

    @api.model
    def stock_levels(self, backend, products):
        """Canonical StockLevels of ``products`` at each published location of ``backend``:
        on hand minus reserved, summed over the location and its children. Products without
        an internal reference (SKU) are left out and returned separately."""
        published = backend._commerce_published_locations()
        with_sku = products.filtered("default_code")
        totals = {}
        Quant = self.env["stock.quant"].sudo()
        for location in published:
            groups = Quant._read_group(
                [("product_id", "in", with_sku.ids), ("location_id", "child_of", location.id)],
                ["product_id"], ["quantity:sum", "reserved_quantity:sum"])
            for product, on_hand, reserved in groups:
                totals[(product.id, location.id)] = (on_hand, reserved)
        levels = available_stock_levels(
            {product.id: product.default_code for product in with_sku},
            {location.id: self.location_key(location) for location in published},
            totals,
        )
        return levels, products - with_sku

    @api.model
    def location_key(self, location):
        """The key a channel knows a location by: its barcode (unique per company, e.g.
        WHSTOCK for a warehouse's stock), else its name."""
        return location.barcode or location.name

    # -- safety net ------------------------------------------------------------------------
    @api.model
    def _cron_schedule_orphaned_changes(self):
        """Schedule an export for changes no job will take.

        A transaction committing just after its window's job ran leaves rows behind; so does
        a failed export. Backends whose last stock export failed are left alone: that job
        waits for review (its Retry takes every waiting change).
        """
        self.env.cr.execute("SELECT DISTINCT backend_id FROM commerce_stock_change")
        backends = self.env["commerce.backend"].sudo().browse([row[0] for row in self.env.cr.fetchall()])
        Job = self.env["commerce.job"].sudo()
        scheduled = self.env["commerce.job"]
        for backend in backends.filtered(lambda b: b.state != "disabled"):
            job_type = backend._commerce_export_job_type(FLOW_INVENTORY)
            if not job_type:
                continue
            last = Job.search([("backend_id", "=", backend.id), ("job_type", "=", job_type)], limit=1)
            if last.state in ("pending", "started", "failed"):
                continue
            scheduled |= self.schedule_export(backend, delay=0)
        return scheduled
