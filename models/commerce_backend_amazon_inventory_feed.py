import json
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..channels.amazon import feeds
from ..core.errors import BusinessError, PayloadValidationError
from ..core.job_registry import register
from .commerce_amazon_feed import STATE_OF_STATUS
from .commerce_backend_export import FLOW_INVENTORY

FEED_POLL_JOB = "amazon.feed.poll"
FEED_RESUBMIT_JOB = "amazon.feed.resubmit"
FEED_ISSUE_JOB = "amazon.offer.feed_issue"
# Seconds between getFeed checks of one feed: Amazon processes most listings feeds in minutes.
FEED_POLL_DELAYS = (60, 120, 300, 600, 900)
MAX_FEED_ATTEMPTS = 3  # submissions of the same SKUs after FATAL before a human is asked
REPORTED_SKUS = 20


class CommerceBackend(models.Model):
    """Amazon available-to-sell push: the stock of merchant-fulfilled offers as JSON_LISTINGS_FEEDs.

    A stock change of a published location becomes ``commerce.stock.change`` rows and one
    debounced ``amazon.inventory.export`` job (``commerce.stock.exporter``, as for every
    channel); the job sends one feed per marketplace for all the backend's changed products,
    then a poll job follows the feed until Amazon's processing report is read.
    """

    _inherit = "commerce.backend"

    amazon_mfn_warehouse_id = fields.Many2one(
        "stock.warehouse", string="Merchant Fulfilment Warehouse", check_company=True, tracking=True,
        help="Warehouse whose stock is published as the quantity of merchant-fulfilled offers "
             "(on hand - reserved - safety stock); the backend's warehouse when empty.")
    amazon_safety_stock = fields.Integer(
        string="Safety Stock", default=0, tracking=True,
        help="Units per offer kept back from Amazon: published quantity = available - safety stock.")
    amazon_max_quantity = fields.Integer(
        string="Maximum Published Quantity", default=0, tracking=True,
        help="Cap on the quantity of each merchant-fulfilled offer; 0 publishes everything available.")
    amazon_feed_count = fields.Integer(compute="_compute_amazon_feed_count")

    @api.constrains("amazon_mfn_warehouse_id", "amazon_fba_warehouse_id", "amazon_safety_stock",
                    "amazon_max_quantity")
    def _check_amazon_stock_settings(self):
        for backend in self:
            if backend.amazon_mfn_warehouse_id and backend.amazon_mfn_warehouse_id == backend.amazon_fba_warehouse_id:
                raise ValidationError(_("The merchant fulfilment warehouse cannot be the FBA warehouse: "
                                        "Amazon holds that stock."))
            if backend.amazon_safety_stock < 0 or backend.amazon_max_quantity < 0:
                raise ValidationError(_("Safety stock and maximum quantity cannot be negative."))

    def _compute_amazon_feed_count(self):
        counts = {backend.id: count for backend, count in self.env["commerce.amazon.feed"]._read_group(
            [("backend_id", "in", self.ids)], ["backend_id"], ["__count"])}
        for backend in self:
            backend.amazon_feed_count = counts.get(backend.id, 0)

    def action_view_amazon_feeds(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("commerce_connector.action_commerce_amazon_feed")
        action["domain"] = [("backend_id", "=", self.id)]
        return action

    def _amazon_published_locations(self):
        """The stock location of the merchant fulfilment warehouse (never the FBA one)."""
        warehouse = self.amazon_mfn_warehouse_id or self.warehouse_id
        if not warehouse or warehouse == self.amazon_fba_warehouse_id:
            return self.env["stock.location"]
        return warehouse.lot_stock_id

    # -- export ----------------------------------------------------------------------------
    def _amazon_export_stock(self, job):
        """Send the quantities of every changed product's merchant-fulfilled offers (at most
        10,000 products per job, see ``take_changes``; a follow-up job takes the rest)."""
        self.ensure_one()
        exporter = self.env["commerce.stock.exporter"]
        outcome = self._amazon_submit_inventory_feeds(exporter.take_changes(self))
        if exporter.has_changes(self):
            outcome["continued_by_job"] = self.env["commerce.job"].enqueue(
                self, job.job_type, payload={}, idempotency_key=f"continues:{job.id}").id
        return outcome

    def _amazon_submit_inventory_feeds(self, products, retry_of=None):
        """One feed per marketplace with the offers of ``products``; returns the job result."""
        offers = self.env["commerce.amazon.offer"].merchant_offers(self, products)
        outcome = {"products": len(products), "offers": len(offers), "feeds": []}
        if not offers:
            return outcome
        if not self.amazon_seller_id:
            raise BusinessError(f"Amazon backend {self.name}: set the seller ID, the feed header needs it")
        available = self._amazon_available_stock(offers.product_id)
        for marketplace in offers.marketplace_id:
            lines = sorted(
                (offer.seller_sku, feeds.offer_quantity(*available.get(offer.product_id.id, (0.0, 0.0)),
                                                        self.amazon_safety_stock, self.amazon_max_quantity))
                for offer in offers if offer.marketplace_id == marketplace)
            for start in range(0, len(lines), feeds.MAX_MESSAGES):
                feed = self._amazon_submit_inventory_feed(marketplace, lines[start:start + feeds.MAX_MESSAGES],
                                                          retry_of)
                outcome["feeds"].append({"feed": feed.feed_id, "marketplace": marketplace.code,
                                         "skus": feed.sku_count})
        return outcome

    def _amazon_submit_inventory_feed(self, marketplace, lines, retry_of=None):
        document = feeds.build_inventory_feed(self.amazon_seller_id, lines)
        feeds.validate_feed(document)  # before any call: an invalid feed is never uploaded
        client = self._amazon_client(marketplace)
        document_id, feed_id = feeds.submit_feed(client, feeds.encode_feed(document), [marketplace.code])
        skus = [sku for sku, _quantity in lines]
        feed = self.env["commerce.amazon.feed"].sudo().create({
            "backend_id": self.id, "marketplace_id": marketplace.id, "feed_type": feeds.LISTINGS_FEED,
            "feed_id": feed_id, "document_id": document_id, "state": "in_queue", "sku_count": len(lines),
            "skus": json.dumps(skus), "date_submitted": fields.Datetime.now(),
            "retry_of_id": retry_of.id if retry_of else False, "attempt": retry_of.attempt + 1 if retry_of else 1,
        })
        # One statement for up to 25,000 offers: what each was last sent, for the offer views.
        self.env.cr.execute("""
            UPDATE commerce_amazon_offer offer
               SET published_quantity = line.quantity, published_feed_id = %(feed)s,
                   write_uid = %(uid)s, write_date = NOW() AT TIME ZONE 'UTC'
              FROM unnest(%(skus)s::varchar[], %(quantities)s::int[]) AS line(sku, quantity)
             WHERE offer.backend_id = %(backend)s AND offer.marketplace_id = %(marketplace)s
               AND offer.seller_sku = line.sku
        """, {"feed": feed.id, "uid": self.env.uid, "skus": skus, "quantities": [q for _sku, q in lines],
              "backend": self.id, "marketplace": marketplace.id})
        self.env["commerce.amazon.offer"].invalidate_model(["published_quantity", "published_feed_id"])
        self._amazon_schedule_feed_poll(feed, 1)
        return feed

    def _amazon_available_stock(self, products):
        """``{product id: (on hand, reserved)}`` summed over the published locations."""
        totals = {}
        for location in self._amazon_published_locations():
            for product, on_hand, reserved in self.env["stock.quant"].sudo()._read_group(
                    [("product_id", "in", products.ids), ("location_id", "child_of", location.id)],
                    ["product_id"], ["quantity:sum", "reserved_quantity:sum"]):
                before = totals.get(product.id, (0.0, 0.0))
                totals[product.id] = (before[0] + on_hand, before[1] + reserved)
        return totals

    # -- feed processing -------------------------------------------------------------------
    def _amazon_schedule_feed_poll(self, feed, number):
        delay = FEED_POLL_DELAYS[min(number, len(FEED_POLL_DELAYS)) - 1]
        return self.env["commerce.job"].enqueue(
            self, FEED_POLL_JOB, payload={"feed_id": feed.id, "poll": number},
            idempotency_key=f"feed:{feed.id}:poll:{number}", eta=fields.Datetime.now() + timedelta(seconds=delay),
            res_model=feed._name, res_id=feed.id)

    def _amazon_poll_feed(self, feed, number):
        """Check the feed; once processed, read the report and act on it."""
        self.ensure_one()
        client = self._amazon_client(feed.marketplace_id)
        info = feeds.get_feed(client, feed.feed_id)
        status = info["processingStatus"]
        if status not in feeds.FINAL_STATUSES:
            feed.write({"state": STATE_OF_STATUS.get(status, feed.state)})
            follow_up = self._amazon_schedule_feed_poll(feed, number + 1)
            return {"feed": feed.feed_id, "status": status, "next_poll": follow_up.id}
        processed = {"date_processed": fields.Datetime.now()}
        if status == feeds.DONE:
            if not info.get("resultFeedDocumentId"):
                raise PayloadValidationError(f"Amazon feed {feed.feed_id} is DONE without a processing report")
            summary, issues = feeds.parse_processing_report(
                feeds.get_feed_document(client, info["resultFeedDocumentId"]))
            feed.write(dict(processed, state="done", result_document_id=info["resultFeedDocumentId"]))
            return self._amazon_apply_feed_report(feed, summary, issues)
        feed.write(dict(processed, state=STATE_OF_STATUS[status]))
        if status == feeds.CANCELLED:
            return {"feed": feed.feed_id, "status": status}
        return self._amazon_feed_fatal(feed)

    def _amazon_apply_feed_report(self, feed, summary, issues):
        skus = feed.sku_list()
        errors = feeds.issues_by_sku(issues, skus)
        feed.write({
            "messages_accepted": summary["messagesAccepted"], "messages_invalid": summary["messagesInvalid"],
            "error_count": summary["errors"], "warning_count": summary["warnings"],
            "report_summary": json.dumps(summary, indent=1, sort_keys=True),
            "errors": "\n".join(f"{sku or '(feed)'}: {_issue_text(issue)}"
                                for sku, found in errors.items() for issue in found) or False,
        })
        offers = self.env["commerce.amazon.offer"].sudo().search([
            ("backend_id", "=", self.id), ("marketplace_id", "=", feed.marketplace_id.id), ("seller_sku", "in", skus)])
        refused = offers.filtered(lambda o: o.seller_sku in errors)
        # Issues of an older feed are cleared by a newer feed that went through.
        (offers - refused).filtered(lambda o: o.feed_issue and o.published_feed_id == feed).write(
            {"feed_issue": False})
        issue_jobs = self.env["commerce.job"]
        for offer in refused:
            found = errors[offer.seller_sku]
            text = "\n".join(_issue_text(issue) for issue in found)
            offer.write({"feed_issue": text})
            error_class = PayloadValidationError if any(issue.get("attributeName") for issue in found) \
                else BusinessError
            issue_jobs |= self._amazon_job_for_review(
                FEED_ISSUE_JOB, {"offer_id": offer.id, "feed_id": feed.feed_id, "issues": found},
                error_class(f"Amazon refused the quantity of {offer.seller_sku} in feed {feed.feed_id}: {text}"),
                offer, f"feed:{feed.feed_id}:{offer.seller_sku}")
        return {"feed": feed.feed_id, "status": feeds.DONE, "accepted": summary["messagesAccepted"],
                "invalid": summary["messagesInvalid"], "issue_jobs": len(issue_jobs),
                "refused_skus": sorted(refused.mapped("seller_sku"))[:REPORTED_SKUS]}

    def _amazon_feed_fatal(self, feed):
        """Amazon processed nothing of the feed: send its SKUs again with fresh quantities;
        after MAX_FEED_ATTEMPTS submissions the resubmission waits for a human (Retry)."""
        payload = {"feed_id": feed.id}
        key = f"resubmit:{feed.id}"
        if feed.attempt < MAX_FEED_ATTEMPTS:
            job = self.env["commerce.job"].enqueue(self, FEED_RESUBMIT_JOB, payload=payload, idempotency_key=key,
                                                   res_model=feed._name, res_id=feed.id)
            return {"feed": feed.feed_id, "status": feeds.FATAL, "resubmitted_by_job": job.id}
        job = self._amazon_job_for_review(FEED_RESUBMIT_JOB, payload, BusinessError(
            f"Amazon could not process feed {feed.feed_id} (FATAL), {feed.attempt} submissions of these "
            f"{feed.sku_count} SKUs in a row; Retry sends them again"), feed, key)
        return {"feed": feed.feed_id, "status": feeds.FATAL, "waiting_for_review": job.id}

    def _amazon_resubmit_feed(self, feed):
        """Send the SKUs of a fatal feed again, with the quantities of now."""
        offers = self.env["commerce.amazon.offer"].sudo().search([
            ("backend_id", "=", self.id), ("marketplace_id", "=", feed.marketplace_id.id),
            ("seller_sku", "in", feed.sku_list())])
        return self._amazon_submit_inventory_feeds(offers.product_id, retry_of=feed)

    def _amazon_job_for_review(self, job_type, payload, error, record, key):
        """A job that starts failed with ``error`` (an issue Amazon reported after the fact),
        linked to ``record``; its Retry runs the handler, which sends the data again."""
        Job = self.env["commerce.job"]
        job, created = Job._enqueue(self, job_type, payload=payload, idempotency_key=key,
                                    res_model=record._name, res_id=record.id)
        if created:
            job._record_failure(error, "", 0.0)
        return job

    def _amazon_requeue_offer(self, offer):
        """Retry of a feed issue: the offer's product goes into the next debounced feed."""
        self.env["commerce.stock.exporter"].mark_products_changed(self, offer.product_id)
        return {"offer": offer.seller_sku, "requeued": True}


def _issue_text(issue):
    code = f"[{issue['code']}] " if issue.get("code") else ""
    attribute = f" ({issue['attributeName']})" if issue.get("attributeName") else ""
    return f"{code}{issue.get('message', '')}{attribute}"


def _payload_record(job, model, key):
    try:
        record_id = (json.loads(job.payload or "") or {})[key]
    except (ValueError, KeyError, TypeError):
        raise PayloadValidationError(f"the payload must be a JSON object with {key!r}") from None
    if not isinstance(record_id, int) or isinstance(record_id, bool):
        raise PayloadValidationError(f"{key} must be a record id, got {record_id!r}")
    record = job.env[model].sudo().browse(record_id).exists()
    if not record or record.backend_id != job.backend_id:
        raise PayloadValidationError(f"{model} {record_id} does not exist on this backend")
    return record


def _handle_inventory_export(job):
    return job.backend_id._amazon_export_stock(job)


def _handle_feed_poll(job):
    payload = json.loads(job.payload or "{}")
    number = payload.get("poll", 1) if isinstance(payload, dict) else 1
    return job.backend_id._amazon_poll_feed(_payload_record(job, "commerce.amazon.feed", "feed_id"),
                                           number if isinstance(number, int) and number > 0 else 1)


def _handle_feed_resubmit(job):
    return job.backend_id._amazon_resubmit_feed(_payload_record(job, "commerce.amazon.feed", "feed_id"))


def _handle_feed_issue(job):
    return job.backend_id._amazon_requeue_offer(_payload_record(job, "commerce.amazon.offer", "offer_id"))


register(f"amazon.{FLOW_INVENTORY}", _handle_inventory_export)
register(FEED_POLL_JOB, _handle_feed_poll)
register(FEED_RESUBMIT_JOB, _handle_feed_resubmit)
register(FEED_ISSUE_JOB, _handle_feed_issue)
