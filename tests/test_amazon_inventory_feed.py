"""Available-to-sell push of merchant-fulfilled offers: stock change -> debounced job ->
JSON_LISTINGS_FEED on the SP-API simulator over HTTP -> processing report -> offers."""

import json
import time
from datetime import timedelta
from pathlib import Path

import jsonschema

from odoo import fields
from odoo.tests import tagged

from ..bench.amazon_feed import create_bulk_offers
from ..channels.amazon import feeds
from ..core.errors import PayloadValidationError
from ..models import commerce_stock_exporter_amazon
from ..models.commerce_backend_amazon_inventory_feed import FEED_ISSUE_JOB, FEED_POLL_JOB, FEED_RESUBMIT_JOB
from .test_amazon_orders import AmazonCase

EXPORT = "amazon.inventory.export"
SCHEMAS = Path(__file__).resolve().parent.parent / "channels" / "amazon" / "schemas"


def schema_validator(name):
    return jsonschema.Draft7Validator(json.loads((SCHEMAS / name).read_text(encoding="utf-8")))


class AmazonStockCase(AmazonCase):
    """AmazonCase with merchant-fulfilled offers of the catalogue and a merchant warehouse."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Quant = cls.env["stock.quant"]
        cls.Offer = cls.env["commerce.amazon.offer"]
        cls.stock_location = cls.warehouse.lot_stock_id
        cls.fba_location = cls.fba_warehouse.lot_stock_id
        cls.backend.amazon_mfn_warehouse_id = cls.warehouse
        cls.offers = cls.Offer.ensure_offers(cls.backend, cls.marketplace_us,
                                             {p.default_code: p for p in cls.products})
        cls.mug, cls.tea, cls.kettle = cls.products[:3]

    def add_stock(self, product, quantity, location=None):
        self.Quant._update_available_quantity(product, location or self.stock_location, quantity)

    def commit_stock_transaction(self):
        """What the commit of a stock transaction does: run the precommit hooks."""
        self.env.cr.flush()

    def run_due_jobs(self):
        """Run the pending jobs now, as the runner does once their eta has passed."""
        self.Job.search([("state", "=", "pending")]).write({"eta": fields.Datetime.now() - timedelta(seconds=1)})
        return self.run_jobs()

    def process_feeds(self):
        """Amazon processes every submitted feed, then the poll jobs read the reports."""
        self.sim.process_feeds()
        return self.run_due_jobs()

    def feeds_of_backend(self):
        return self.env["commerce.amazon.feed"].search([("backend_id", "=", self.backend.id)], order="id")

    def create_feed_calls(self):
        return [c for c in self.sim.recorder.calls(operation="createFeed") if c.status == 202]

    def offer(self, product):
        return self.offers.filtered(lambda o: o.product_id == product)


@tagged("post_install", "-at_install")
class TestAmazonInventoryFeed(AmazonStockCase):
    def test_stock_change_sends_one_schema_valid_feed(self):
        before = fields.Datetime.now()
        self.add_stock(self.mug, 7)
        self.add_stock(self.tea, 3)
        self.commit_stock_transaction()
        self.add_stock(self.tea, 2)  # a second transaction in the same window
        self.commit_stock_transaction()
        job = self.jobs(EXPORT)
        self.assertEqual(len(job), 1, "one debounced export job per backend")
        delay = commerce_stock_exporter_amazon.DEFAULT_FEED_DELAY
        self.assertTrue(before < job.eta <= before + timedelta(seconds=delay + 1), job.eta)
        self.assertFalse(self.sim.recorder.calls(), "no call from the stock transaction")
        self.run_jobs()
        self.assertEqual(job.state, "pending", "not before its window ends")

        self.run_due_jobs()
        self.assertEqual(job.state, "done", job.error_message)
        operations = [c.operation for c in self.sim.recorder.calls() if c.operation != "lwaToken"]
        self.assertEqual(operations, ["createFeedDocument", "uploadFeedDocument", "createFeed"])
        upload = self.sim.recorder.calls(operation="uploadFeedDocument")[0]
        self.assertEqual(upload.headers["content-type"], "application/json; charset=UTF-8")
        created = json.loads(self.create_feed_calls()[0].body)
        self.assertEqual((created["feedType"], created["marketplaceIds"]), ("JSON_LISTINGS_FEED", ["ATVPDKIKX0DER"]))

        feed = self.feeds_of_backend()
        self.assertEqual(len(feed), 1)
        content = self.sim.feed_content(feed.feed_id)
        schema_validator(feeds.FEED_SCHEMA).validate(content)
        message_schema = schema_validator(feeds.MESSAGE_SCHEMA)
        for message in content["messages"]:
            message_schema.validate(message)
        self.assertEqual(content["header"]["sellerId"], "A3SELLERSIM")
        self.assertEqual(
            [(m["messageId"], m["sku"], m["operationType"], m["patches"]) for m in content["messages"]],
            [(1, "CC-MUG-001", "PATCH", [{"op": "replace", "path": "/attributes/fulfillment_availability",
                                          "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}]}]),
             (2, "CC-TEA-014", "PATCH", [{"op": "replace", "path": "/attributes/fulfillment_availability",
                                          "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 5}]}])])
        self.assertEqual((feed.state, feed.sku_count, feed.document_id),
                         ("in_queue", 2, created["inputFeedDocumentId"]))
        self.assertEqual(self.offer(self.tea).published_feed_id, feed)
        self.assertEqual(self.offer(self.tea).published_quantity, 5)
        self.assertFalse(self.env["commerce.stock.change"].search([("backend_id", "=", self.backend.id)]))
        poll = self.jobs(FEED_POLL_JOB)
        self.assertEqual((len(poll), poll.state, poll.res_id), (1, "pending", feed.id))

        self.process_feeds()
        self.assertEqual(poll.state, "done", poll.error_message)
        self.assertEqual(feed.state, "done")
        self.assertEqual((feed.messages_accepted, feed.error_count), (2, 0))
        self.assertTrue(feed.date_processed and feed.result_document_id)
        self.assertEqual((self.sim.merchant_quantity("CC-MUG-001"), self.sim.merchant_quantity("CC-TEA-014")), (7, 5))
        self.assertIsNone(self.sim.merchant_quantity("CC-KTL-220"), "unchanged products are not sent")
        self.assertFalse(self.sim.request_validation_errors)
        self.assertFalse(self.sim.response_validation_errors)

    def test_feed_status_is_polled_on_the_simulator_clock(self):
        self.sim.feed_queue_seconds = self.sim.feed_processing_seconds = 30
        self.add_stock(self.mug, 4)
        self.commit_stock_transaction()
        self.run_due_jobs()  # the export
        feed = self.feeds_of_backend()
        self.run_due_jobs()  # the first poll
        self.assertEqual(feed.state, "in_queue")
        self.sim.advance_clock(31)
        self.run_due_jobs()
        self.assertEqual(feed.state, "in_progress")
        self.sim.advance_clock(30)
        self.run_due_jobs()
        self.assertEqual(feed.state, "done")
        polls = self.jobs(FEED_POLL_JOB)
        self.assertEqual(polls.mapped("state"), ["done"] * 3)
        self.assertEqual([json.loads(p.payload)["poll"] for p in polls], [1, 2, 3])
        self.assertEqual(len(self.sim.recorder.calls(operation="getFeedDocument")), 1, "the report is read once")

    def test_reserved_safety_stock_and_cap(self):
        self.add_stock(self.mug, 10)
        self.Quant._update_reserved_quantity(self.mug, self.stock_location, 3)
        self.add_stock(self.tea, 2)
        self.add_stock(self.kettle, 40)
        self.backend.write({"amazon_safety_stock": 2, "amazon_max_quantity": 25})
        self.commit_stock_transaction()
        self.run_due_jobs()
        content = self.sim.feed_content(self.feeds_of_backend().feed_id)
        quantities = {m["sku"]: m["patches"][0]["value"][0]["quantity"] for m in content["messages"]}
        # 10 - 3 reserved - 2 safety; 2 - 2 safety; 40 - 2 safety capped at 25
        self.assertEqual(quantities, {"CC-MUG-001": 5, "CC-TEA-014": 0, "CC-KTL-220": 25})

    def test_offer_quantity_rules(self):
        self.assertEqual(feeds.offer_quantity(10, 3, 2), 5)
        self.assertEqual(feeds.offer_quantity(2.9999999, 0), 3, "float noise is a whole unit")
        self.assertEqual(feeds.offer_quantity(2.5, 0), 2, "fractions are not promised")
        self.assertEqual(feeds.offer_quantity(3, 5), 0, "never negative")
        self.assertEqual(feeds.offer_quantity(3, 0, 10), 0)
        self.assertEqual(feeds.offer_quantity(100, 0, 0, 30), 30)
        self.assertEqual(feeds.offer_quantity(100, 0, 0, 0), 100, "0 is no cap")

    def test_only_merchant_offers_of_the_published_warehouse(self):
        self.offer(self.tea).fulfillment_channel = "AMAZON"
        self.add_stock(self.mug, 5, self.fba_location)  # Amazon's stock: not published by us
        self.commit_stock_transaction()
        self.assertFalse(self.jobs(EXPORT), "a change outside the published warehouse queues nothing")
        shelf = self.env["stock.location"].create({"name": "Shelf", "location_id": self.stock_location.id})
        self.add_stock(self.mug, 6, shelf)
        self.add_stock(self.tea, 6)
        no_offer = self.env["product.product"].create({"name": "Unlisted", "default_code": "NO-OFFER",
                                                       "is_storable": True})
        self.add_stock(no_offer, 9)
        self.commit_stock_transaction()
        self.run_due_jobs()
        content = self.sim.feed_content(self.feeds_of_backend().feed_id)
        self.assertEqual([(m["sku"], m["patches"][0]["value"][0]["quantity"]) for m in content["messages"]],
                         [("CC-MUG-001", 6)], "the FBA offer and the product without offer are left out")
        self.assertEqual(json.loads(self.jobs(EXPORT).result)["offers"], 1)

    def test_changes_without_offers_send_no_feed(self):
        product = self.env["product.product"].create({"name": "Unlisted", "default_code": "NO-OFFER",
                                                      "is_storable": True})
        self.add_stock(product, 3)
        self.commit_stock_transaction()
        self.run_due_jobs()
        self.assertEqual(self.jobs(EXPORT).state, "done")
        self.assertFalse(self.sim.recorder.calls(operation="createFeedDocument"))
        self.assertFalse(self.feeds_of_backend())

    def test_per_sku_errors_become_jobs_on_the_offers(self):
        ghost = self.env["product.product"].create({"name": "Ghost", "default_code": "GHOST-1", "is_storable": True})
        ghost_offer = self.Offer.ensure_offers(self.backend, self.marketplace_us, {"GHOST-1": ghost})
        self.sim.refuse_feed_sku("CC-TEA-014", "'fulfillment_availability' cannot be set: the listing is "
                                 "fulfilled by Amazon.", code="8105", attribute_name="fulfillment_availability")
        for product in (self.mug, self.tea, ghost):
            self.add_stock(product, 4)
        self.commit_stock_transaction()
        self.run_due_jobs()
        self.process_feeds()
        feed = self.feeds_of_backend()
        self.assertEqual((feed.state, feed.messages_accepted, feed.messages_invalid, feed.error_count),
                         ("done", 1, 2, 2))
        self.assertIn("GHOST-1", feed.errors)
        issues = self.jobs(FEED_ISSUE_JOB)
        self.assertEqual(len(issues), 2)
        by_offer = {job.res_id: job for job in issues}
        ghost_job, tea_job = by_offer[ghost_offer.id], by_offer[self.offer(self.tea).id]
        self.assertEqual((ghost_job.state, ghost_job.error_kind), ("failed", "business"))
        self.assertIn("does not match any listing", ghost_job.error_message)
        self.assertEqual((tea_job.state, tea_job.error_kind), ("failed", "validation"),
                         "an issue on an attribute is a validation issue")
        self.assertEqual(tea_job.res_model, "commerce.amazon.offer")
        self.assertIn("[8105]", self.offer(self.tea).feed_issue)
        self.assertIn("does not match any listing", ghost_offer.feed_issue)
        self.assertFalse(self.offer(self.mug).feed_issue)
        self.assertEqual(self.offer(self.tea).job_count, 1)
        self.assertEqual(self.sim.merchant_quantity("CC-MUG-001"), 4)

        # Amazon's listing is fixed; Retry sends the SKU in the next feed, which clears the issue
        self.sim.clear_feed_refusals()
        tea_job.action_retry()
        self.run_due_jobs()
        self.assertEqual(tea_job.state, "done", tea_job.error_message)
        self.assertEqual(len(self.create_feed_calls()), 1, "into the next debounced feed, not a feed of its own")
        self.run_due_jobs()
        self.assertEqual(len(self.create_feed_calls()), 2)
        retry_feed = self.feeds_of_backend()[-1]
        self.assertEqual(retry_feed.sku_list(), ["CC-TEA-014"])
        self.process_feeds()
        self.assertFalse(self.offer(self.tea).feed_issue)
        self.assertEqual(self.sim.merchant_quantity("CC-TEA-014"), 4)
        self.assertEqual(len(self.jobs(FEED_ISSUE_JOB)), 2, "no new issue")

    def test_gzipped_report(self):
        self.sim.feed_report_compression = "GZIP"
        self.add_stock(self.mug, 2)
        self.commit_stock_transaction()
        self.run_due_jobs()
        self.process_feeds()
        self.assertEqual(self.feeds_of_backend().state, "done")
        self.assertEqual(self.feeds_of_backend().messages_accepted, 1)

    def test_fatal_feed_is_submitted_again(self):
        self.sim.fail_next_feeds(1)
        self.add_stock(self.mug, 3)
        self.commit_stock_transaction()
        self.run_due_jobs()
        self.backend.amazon_safety_stock = 1  # changed while Amazon fails the feed
        self.process_feeds()
        first, second = self.feeds_of_backend()
        self.assertEqual(first.state, "fatal")
        self.assertEqual(self.jobs(FEED_RESUBMIT_JOB).state, "done")
        self.assertEqual((second.retry_of_id, second.attempt), (first, 2))
        self.assertEqual(self.sim.feed_content(second.feed_id)["messages"][0]["patches"][0]["value"][0]["quantity"],
                         2, "the quantity of now, not the one of the failed feed")
        self.process_feeds()
        self.assertEqual(second.state, "done")
        self.assertEqual(self.sim.merchant_quantity("CC-MUG-001"), 2)

    def test_repeatedly_fatal_feed_waits_for_review(self):
        self.sim.fail_next_feeds(3)
        self.add_stock(self.mug, 3)
        self.commit_stock_transaction()
        self.run_due_jobs()
        for _round in range(3):
            self.process_feeds()
        attempts = self.feeds_of_backend()
        self.assertEqual(attempts.mapped("state"), ["fatal"] * 3)
        self.assertEqual(attempts.mapped("attempt"), [1, 2, 3])
        review = self.jobs(FEED_RESUBMIT_JOB).filtered(lambda j: j.state == "failed")
        self.assertEqual((len(review), review.error_kind, review.res_id), (1, "business", attempts[-1].id))
        self.assertIn("FATAL", review.error_message)
        review.action_retry()
        self.run_due_jobs()
        self.process_feeds()
        self.assertEqual(self.feeds_of_backend()[-1].state, "done")
        self.assertEqual(self.sim.merchant_quantity("CC-MUG-001"), 3)

    def test_report_issues_are_matched_to_skus(self):
        issues = [
            {"messageId": 2, "code": "1", "severity": "ERROR", "message": "no SKU named: found by message"},
            {"messageId": 1, "sku": "A", "code": "2", "severity": "WARNING", "message": "only a warning"},
            {"sku": "C", "code": "3", "severity": "ERROR", "message": "named"},
            {"code": "4", "severity": "ERROR", "message": "about the whole feed"},
        ]
        found = feeds.issues_by_sku(issues, ["A", "B", "C"])
        self.assertEqual({sku: [i["code"] for i in items] for sku, items in found.items()},
                         {"B": ["1"], "C": ["3"], None: ["4"]})
        summary, parsed = feeds.parse_processing_report(json.dumps({
            "header": {"sellerId": "A3SELLERSIM", "version": "2.0", "feedId": "1"}, "issues": issues,
            "summary": {"errors": 3, "warnings": 1, "messagesProcessed": 3, "messagesAccepted": 1,
                        "messagesInvalid": 2}}))
        self.assertEqual((summary["messagesAccepted"], len(parsed)), (1, 4))
        with self.assertRaises(PayloadValidationError):
            feeds.parse_processing_report(json.dumps({"header": {"sellerId": "A3SELLERSIM"}, "issues": []}))
        with self.assertRaises(PayloadValidationError):
            feeds.parse_processing_report("<html>")

    def test_invalid_feed_is_refused_before_any_call(self):
        with self.assertRaises(PayloadValidationError):
            feeds.validate_feed(feeds.build_inventory_feed("A3SELLERSIM", [("", 3)]))
        with self.assertRaises(PayloadValidationError):
            feeds.validate_feed(feeds.build_inventory_feed("A3SELLERSIM", []))
        document = feeds.build_inventory_feed("A3SELLERSIM", [("CC-MUG-001", 3)])
        document["header"]["version"] = "1.0"
        with self.assertRaises(PayloadValidationError):
            feeds.validate_feed(document)
        document = feeds.build_inventory_feed("A3SELLERSIM", [("CC-MUG-001", 3)])
        document["messages"][0]["attributes"] = {"item_name": [{"value": "Mug"}]}
        with self.assertRaises(PayloadValidationError, msg="a PATCH carries no attributes"):
            feeds.validate_feed(document)
        del document["messages"][0]["attributes"], document["messages"][0]["patches"]
        with self.assertRaises(PayloadValidationError, msg="a PATCH needs patches"):
            feeds.validate_feed(document)
        document["messages"][0]["operationType"] = "REPLACE"
        with self.assertRaises(PayloadValidationError):
            feeds.validate_feed(document)
        document = feeds.build_inventory_feed("A3SELLERSIM", [("Bücher-€", 3)])
        feeds.validate_feed(document)
        self.assertEqual(json.loads(feeds.encode_feed(document).decode("utf-8"))["messages"][0]["sku"], "Bücher-€")


@tagged("post_install", "-at_install")
class TestAmazonInventoryFeedBurst(AmazonStockCase):
    COUNT = 10000

    def bulk_offers(self, count, prefix):
        quants, skus = create_bulk_offers(self.env, self.backend, self.marketplace_us, self.stock_location, count,
                                          prefix)
        self.sim.add_merchant_listings(skus)
        return quants

    def publish(self, quants, per_transaction):
        """Stock transactions of ``per_transaction`` quants each, calling the automation's action."""
        for start in range(0, len(quants), per_transaction):
            quants[start:start + per_transaction]._commerce_publish_stock()
            self.commit_stock_transaction()

    def test_bursts_of_10000_changes(self):
        quants = self.bulk_offers(self.COUNT, "BULK")
        # a burst inside one window: one job, one feed of every SKU
        self.publish(quants, 1000)
        self.assertEqual(len(self.jobs(EXPORT)), 1, "the whole burst shares one job")
        self.run_due_jobs()
        self.assertEqual(len(self.create_feed_calls()), 1)
        feed = self.feeds_of_backend()
        self.assertEqual(feed.sku_count, self.COUNT)
        self.process_feeds()
        self.assertEqual((feed.state, feed.messages_accepted), ("done", self.COUNT))
        self.assertEqual(self.sim.merchant_quantity("BULK-10000"), 3)
        self.assertFalse(self.jobs(FEED_ISSUE_JOB))

        # a burst across the end of a window: the job runs in the middle of it, a second one follows
        self.publish(quants[:self.COUNT // 2], 500)
        self.run_due_jobs()
        self.publish(quants[self.COUNT // 2:], 500)
        self.run_due_jobs()
        self.assertEqual(self.jobs(EXPORT).mapped("state"), ["done"] * 3)
        self.assertEqual(len(self.create_feed_calls()), 3, "two feeds for the second burst")
        self.assertEqual(self.feeds_of_backend()[1:].mapped("sku_count"), [self.COUNT // 2] * 2)

    def test_feed_of_10000_skus_builds_in_under_5_seconds(self):
        lines = [(f"SKU-{n:05d}", n % 40) for n in range(1, self.COUNT + 1)]
        started = time.perf_counter()
        document = feeds.build_inventory_feed("A3SELLERSIM", lines)
        feeds.validate_feed(document)
        content = feeds.encode_feed(document)
        self.assertLess(time.perf_counter() - started, 5)
        self.assertEqual(len(json.loads(content)["messages"]), self.COUNT)
