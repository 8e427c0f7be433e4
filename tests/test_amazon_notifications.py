"""SP-API notifications end to end: simulator emitter -> EventBridge-shaped POST -> route -> jobs -> sale orders."""

import copy
import json

from odoo.exceptions import UserError
from odoo.tests import HttpCase, tagged

from ..channels.amazon import client as amazon_client
from ..channels.amazon import notifications as sp_notifications
from ..core import job_registry
from .test_amazon_orders import AmazonCase, by_amazon, status_of

HEADER = sp_notifications.SECRET_HEADER
SECRET = "notification-secret-for-tests"
ORDER_CHANGE_JOB = "amazon.notification.order_change"
IMPORT_JOB = "amazon.order.import"


def assert_imported_from_notification(case, order_id):
    """Run the jobs: ``order_id`` becomes a confirmed sale order through an import job that
    names the notification as its source and is keyed on the order's version."""
    case.run_jobs()
    case.assertAllJobsDone()
    case.assertEqual(case.sale_order(order_id).state, "sale")
    import_job = case.jobs(IMPORT_JOB)
    case.assertEqual(import_job.amazon_import_source, "notification")
    case.assertEqual(import_job.idempotency_key, f"{order_id}@{case.sim.order(order_id)['lastUpdatedTime']}")


@tagged("post_install", "-at_install")
class NotificationCase(AmazonCase, HttpCase):
    """AmazonCase served over HTTP: the simulator posts notifications to the Odoo route."""

    def setUp(self):
        super().setUp()
        amazon_client.access_token_client.grantless_cache.clear()
        self.addCleanup(amazon_client.access_token_client.grantless_cache.clear)
        self.backend.write({"amazon_notification_secret": SECRET, "amazon_seller_id": self.sim.seller_id})
        self.env.flush_all()  # the simulator posts on its own, not through url_open (which flushes)

    def url(self, backend=None):
        return f"{self.base_url()}/commerce_connector/amazon/{(backend or self.backend).id}/notification"

    def emit(self, notification, **options):
        return self.sim.emit(notification, self.url(), HEADER, SECRET, **options)

    def an_order(self, predicate, count=80):
        self.sim.generate_orders(count)
        return self.stored(predicate)[0]


class TestNotificationRoute(NotificationCase):

    def test_order_change_is_stored_acknowledged_then_imported_as_a_confirmed_order(self):
        order_id = self.an_order(lambda o: status_of(o) == "UNSHIPPED" and not by_amazon(o))
        [delivery] = self.sim.emit_order_change(order_id, self.url(), HEADER, SECRET)

        self.assertEqual(delivery.status, 200, delivery.response_body)
        job = self.jobs(ORDER_CHANGE_JOB)
        self.assertEqual((len(job), job.state), (1, "pending"), "stored, no order work inside the request")
        self.assertEqual(job.idempotency_key, delivery.notification_id)
        self.assertEqual(job.payload.encode(), delivery.body, "the raw event is kept byte for byte")
        self.assertFalse(self.sale_order(order_id))

        assert_imported_from_notification(self, order_id)
        self.assertEqual(self.sim.recorder.calls(operation="getOrder")[-1].status, 200)

    def test_a_later_poll_of_the_same_order_version_adds_nothing(self):
        order_id = self.an_order(lambda o: status_of(o) == "UNSHIPPED", count=20)
        self.sim.emit_order_change(order_id, self.url(), HEADER, SECRET)
        self.run_jobs()
        sale_order = self.sale_order(order_id)

        self.make_ready()
        self.poll()

        self.assertAllJobsDone()
        imports = self.jobs(IMPORT_JOB)
        of_order = imports.filtered(lambda j: j.idempotency_key.startswith(f"{order_id}@"))
        self.assertEqual(len(of_order), 1, "the poll found the notification's import job by its key")
        self.assertEqual(of_order.amazon_import_source, "notification")
        self.assertEqual(self.sale_order(order_id), sale_order)
        self.assertEqual(self.env["sale.order"].search_count([("client_order_ref", "=", order_id)]), 1)
        self.assertEqual(self.backend.amazon_notification_import_count, 1)
        self.assertEqual(self.backend.amazon_poll_import_count, len(self.sim.order_ids()) - 1)
        self.assertEqual(len(imports), len(self.sim.order_ids()))

    def test_duplicate_deliveries_make_one_job(self):
        order_id = self.an_order(lambda o: status_of(o) == "UNSHIPPED" and not by_amazon(o))
        deliveries = self.sim.emit_order_change(order_id, self.url(), HEADER, SECRET, duplicate=True)
        deliveries.append(self.sim.resend(deliveries[0]))

        self.assertEqual([d.status for d in deliveries], [200, 200, 200])
        self.assertEqual([json.loads(d.response_body)["status"] for d in deliveries],
                         ["accepted", "duplicate", "duplicate"])
        self.assertEqual(len(self.jobs(ORDER_CHANGE_JOB)), 1)
        self.run_jobs()
        self.assertEqual(len(self.jobs(IMPORT_JOB)), 1)
        self.assertEqual(self.env["sale.order"].search_count([("client_order_ref", "=", order_id)]), 1)

    def test_out_of_order_notifications_never_bring_back_an_older_state(self):
        order_id = self.an_order(lambda o: status_of(o) == "UNSHIPPED" and not by_amazon(o))
        first = self.sim.order_change_notification(order_id, "BuyerRequestedChange", "Buyer asked a question")
        late = self.sim.order_change_notification(order_id)  # also Unshipped: delivered after the cancel
        self.emit(first)
        self.run_jobs()
        self.assertEqual(self.sale_order(order_id).state, "sale")

        self.sim.advance_clock(5)
        self.sim.advance_order_status(order_id, "CANCELLED")
        cancelled = self.sim.order_change_notification(order_id)
        deliveries = self.sim.emit_out_of_order([late, cancelled], self.url(), HEADER, SECRET)
        self.run_jobs()

        self.assertEqual([d.notification_id for d in deliveries], [sp_notifications.notification_id_of(n)
                                                                    for n in (cancelled, late)])
        self.assertAllJobsDone()
        self.assertEqual(self.sale_order(order_id).state, "cancel", "the late Unshipped notification changed nothing")
        self.assertEqual(len(self.jobs(IMPORT_JOB)), 2, "one import per order version, none for the late one")
        late_job = self.jobs(ORDER_CHANGE_JOB).filtered(
            lambda j: j.idempotency_key == sp_notifications.notification_id_of(late))
        self.assertEqual(json.loads(late_job.result)["last_updated"], self.sim.order(order_id)["lastUpdatedTime"])

    def test_wrong_or_missing_secret_is_refused_and_nothing_is_stored(self):
        order_id = self.an_order(lambda o: status_of(o) == "UNSHIPPED")
        [delivery] = self.sim.emit_order_change(order_id, self.url(), HEADER, SECRET, bad_secret=True)
        self.assertEqual(delivery.status, 401)
        body = json.dumps(self.sim.eventbridge_envelope(self.sim.order_change_notification(order_id))).encode()
        self.assertEqual(self.sim.post_raw(self.url(), body, "X-Other-Header", SECRET).status, 401)
        self.assertEqual(self.sim.post_raw(self.url(), body, HEADER, SECRET[:-1]).status, 401)
        # a backend whose secret is not set refuses everything, even an empty header value
        self.backend.amazon_notification_secret = False
        self.env.flush_all()
        self.assertEqual(self.sim.post_raw(self.url(), body, HEADER, "").status, 401)
        self.assertFalse(self.jobs())
        self.assertEqual(self.sim.post_raw(f"{self.base_url()}/commerce_connector/amazon/999999/notification",
                                           body, HEADER, SECRET).status, 404)

    def test_authenticated_invalid_payload_is_a_validation_job_that_can_be_fixed(self):
        order_id = self.an_order(lambda o: status_of(o) == "UNSHIPPED" and not by_amazon(o))
        notification = self.sim.order_change_notification(order_id)
        broken = copy.deepcopy(notification)
        del broken["Payload"]["OrderChangeNotification"]["AmazonOrderId"]
        [delivery] = self.emit(broken)
        self.assertEqual(delivery.status, 200)
        garbage = self.sim.post_raw(self.url(), b'{"detail": {"NotificationType": "ORDER_CHA', HEADER, SECRET)
        self.assertEqual(garbage.status, 200)

        self.run_jobs()

        job = self.jobs(ORDER_CHANGE_JOB)
        self.assertEqual((job.state, job.error_kind), ("failed", "validation"))
        self.assertIn("AmazonOrderId", job.error_message)
        unknown = self.jobs(sp_notifications.UNKNOWN_JOB_TYPE)
        self.assertEqual((unknown.state, unknown.error_kind), ("failed", "validation"))
        self.assertFalse(self.sale_order(order_id))

        job.payload = json.dumps(dict(delivery.envelope, detail=notification))
        job.action_retry()
        self.run_jobs()
        self.assertEqual(job.state, "done")
        self.assertEqual(job.payload_received.encode(), delivery.body, "the original is kept aside")
        self.assertEqual(self.sale_order(order_id).state, "sale")

    def test_notification_for_another_seller_is_refused_as_business_error(self):
        order_id = self.an_order(lambda o: status_of(o) == "UNSHIPPED")
        self.backend.amazon_seller_id = "AOTHERSELLER"
        self.env.flush_all()
        self.sim.emit_order_change(order_id, self.url(), HEADER, SECRET)
        self.run_jobs()
        job = self.jobs(ORDER_CHANGE_JOB)
        self.assertEqual((job.state, job.error_kind), ("failed", "business"))
        self.assertFalse(self.sim.recorder.calls(operation="getOrder"), "nothing is read for a foreign seller")

    def test_other_notification_types_are_validated_and_handed_to_a_registered_handler(self):
        seen = []
        job_type = "amazon.notification.fba_inventory_availability_changes"
        delegate = job_type + ".apply"
        previous = job_registry.get_handler(delegate)
        self.addCleanup(lambda: job_registry.register(delegate, previous) if previous
                        else job_registry._HANDLERS.pop(delegate, None))
        job_registry._HANDLERS.pop(delegate, None)

        self.sim.emit_fba_inventory_change("CC-FLT-100", 7, self.url(), HEADER, SECRET)
        self.sim.emit_feed_processing_finished("50001", self.url(), HEADER, SECRET, duplicate=True)
        self.sim.emit_report_processing_finished("60001", self.url(), HEADER, SECRET)
        self.sim.emit_fulfillment_order_status("MCF-1", self.url(), HEADER, SECRET, status="Complete")
        self.run_jobs()
        self.assertAllJobsDone()
        notification_jobs = self.jobs().filtered(lambda j: j.job_type.startswith("amazon.notification."))
        self.assertEqual(sorted(notification_jobs.mapped("job_type")), sorted([
            job_type, "amazon.notification.feed_processing_finished",
            "amazon.notification.report_processing_finished", "amazon.notification.fulfillment_order_status"]))
        self.assertIn("handled_by", json.loads(self.jobs(job_type).result), "no handler: acknowledged only")

        job_registry.register(delegate, lambda job: seen.append(
            job.backend_id._amazon_notification_of(job)["Payload"]["SKU"]) or {"applied": True})
        self.sim.emit_fba_inventory_change("CC-FLT-100", 3, self.url(), HEADER, SECRET)
        broken = self.sim.fba_inventory_notification("CC-FLT-100", 1)
        del broken["Payload"]["FulfillmentInventoryByMarketplace"]
        self.emit(broken)
        self.run_jobs()
        self.assertEqual(seen, ["CC-FLT-100"], "the invalid one never reached the handler")
        jobs = self.jobs(job_type)
        self.assertEqual(sorted(jobs.mapped("state")), ["done", "done", "failed"])
        self.assertEqual(jobs.filtered(lambda j: j.state == "failed").error_kind, "validation")


class TestNotificationSetup(NotificationCase):

    def setUp(self):
        super().setUp()
        self.backend.write({"amazon_notification_delivery": "eventbridge", "amazon_eventbridge_account_id": "123456789012",
                            "amazon_notification_secret": False})

    def test_setup_creates_destination_and_subscriptions_with_grantless_calls(self):
        self.backend.action_amazon_setup_notifications()

        [destination] = self.sim.destinations()
        self.assertEqual(destination["resource"]["eventBridge"]["accountId"], "123456789012")
        self.assertEqual(destination["resource"]["eventBridge"]["region"], "us-east-1")
        self.assertEqual(self.backend.amazon_notification_destination_id, destination["destinationId"])
        subscriptions = self.sim.subscriptions()
        self.assertEqual(sorted(subscriptions), sorted(sp_notifications.NOTIFICATION_TYPES))
        records = self.backend.amazon_subscription_ids
        self.assertEqual({(r.notification_type, r.subscription_id, r.destination_id, r.state) for r in records},
                         {(kind, s["subscriptionId"], destination["destinationId"], "active")
                          for kind, s in subscriptions.items()})
        self.assertEqual(subscriptions["FEED_PROCESSING_FINISHED"]["payloadVersion"], "2020-09-04")
        self.assertTrue(self.sim.issued_tokens("grantless"), "createDestination took a grantless token")
        self.assertEqual(self.sim.recorder.calls(operation="createDestination")[-1].status, 200)
        self.assertTrue(self.backend.amazon_notification_secret, "a secret is generated on demand")

        calls = len(self.sim.recorder.calls())
        self.backend.action_amazon_setup_notifications()
        self.assertEqual([c.operation for c in self.sim.recorder.calls()[calls:]], ["getDestinations"],
                         "set up already: only the destination is checked")

    def test_setup_again_after_a_lost_answer_reuses_what_amazon_has(self):
        self.backend.action_amazon_setup_notifications()
        destination = self.backend.amazon_notification_destination_id
        ids = set(self.backend.amazon_subscription_ids.mapped("subscription_id"))
        # as if the first setup's transaction had been rolled back after Amazon created everything
        self.backend.amazon_subscription_ids.unlink()
        self.backend.amazon_notification_destination_id = False
        self.sim.advance_clock(10)  # the second setup comes later: 1 call/s, burst 5 on both sides
        self.sim.reset_rate_limits()
        self.clear_client_state()

        self.backend.action_amazon_setup_notifications()

        self.assertEqual(self.backend.amazon_notification_destination_id, destination)
        self.assertEqual(set(self.backend.amazon_subscription_ids.mapped("subscription_id")), ids)
        self.assertEqual(len(self.sim.destinations()), 1)

    def test_archiving_the_backend_deletes_subscriptions_and_destination(self):
        self.backend.action_amazon_setup_notifications()
        self.backend.action_archive()

        self.assertFalse(self.sim.subscriptions())
        self.assertFalse(self.sim.destinations())
        self.assertEqual(set(self.backend.amazon_subscription_ids.mapped("state")), {"deleted"})
        self.assertFalse(self.backend.amazon_notification_destination_id)
        self.assertEqual(len(self.sim.recorder.calls(operation="deleteSubscriptionById")), 5)
        self.assertTrue(all(c.status == 200 for c in self.sim.recorder.calls(operation="deleteSubscriptionById")),
                        "deleteSubscriptionById is grantless: the seller's token would be refused")

    def test_archive_is_refused_while_amazon_cannot_delete(self):
        self.backend.action_amazon_setup_notifications()
        self.sim.fail_next("server_error", "deleteSubscriptionById", count=10)
        with self.assertRaises(UserError):
            self.backend.action_archive()
        self.assertTrue(self.backend.active)
        self.assertEqual(len(self.sim.subscriptions()), 5)

    def test_sqs_delivery_creates_an_sqs_destination(self):
        arn = "arn:aws:sqs:us-east-1:123456789012:sp-api-notifications"
        self.backend.write({"amazon_notification_delivery": "sqs", "amazon_sqs_queue_arn": arn})
        self.backend.action_amazon_setup_notifications()
        [destination] = self.sim.destinations()
        self.assertEqual(destination["resource"], {"sqs": {"arn": arn}})
        self.assertEqual({s["destinationId"] for s in self.sim.subscriptions().values()},
                         {destination["destinationId"]})

    def test_changing_the_delivery_moves_the_subscriptions_and_drops_the_old_destination(self):
        self.backend.action_amazon_setup_notifications()
        old = self.backend.amazon_notification_destination_id
        arn = "arn:aws:sqs:us-east-1:123456789012:sp-api-notifications"
        self.backend.write({"amazon_notification_delivery": "sqs", "amazon_sqs_queue_arn": arn})
        self.sim.advance_clock(10)  # 1 call/s, burst 5 on both sides
        self.sim.reset_rate_limits()
        self.clear_client_state()

        self.backend.action_amazon_setup_notifications()

        [destination] = self.sim.destinations()
        self.assertNotEqual(destination["destinationId"], old)
        self.assertEqual(destination["resource"], {"sqs": {"arn": arn}})
        self.assertEqual({s["destinationId"] for s in self.sim.subscriptions().values()}, {destination["destinationId"]})
        self.assertEqual(set(self.backend.amazon_subscription_ids.mapped("destination_id")),
                         {destination["destinationId"]})

    def test_setup_needs_a_delivery_and_its_settings(self):
        self.backend.amazon_eventbridge_account_id = False
        with self.assertRaises(UserError):
            self.backend.action_amazon_setup_notifications()
        self.backend.amazon_notification_delivery = "none"
        with self.assertRaises(UserError):
            self.backend.action_amazon_setup_notifications()
        self.assertFalse(self.sim.destinations())
