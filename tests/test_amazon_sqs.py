"""SP-API notifications through an SQS queue: SP-API simulator -> SQS simulator (real HTTP,
boto3, SigV4) -> the poll cron -> notification jobs -> sale orders."""

import copy
import json
import threading
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from odoo.tests import tagged
from odoo.tests.common import BaseCase

from ..channels.amazon import client as amazon_client
from ..channels.amazon import notifications as sp_notifications
from ..channels.amazon import sqs as sqs_channel
from ..core.errors import AuthError, BusinessError
from ..models import commerce_job
from ..simulators.sqs import SqsSimulator
from .test_amazon_notifications import assert_imported_from_notification
from .test_amazon_orders import AmazonCase, by_amazon, status_of

QUEUE = "sp-api-notifications"
ORDER_CHANGE_JOB = "amazon.notification.order_change"
IMPORT_JOB = "amazon.order.import"
LOGGER = "odoo.addons.commerce_connector"


@tagged("post_install", "-at_install")
class SqsCase(AmazonCase):
    """AmazonCase plus an SQS simulator holding the backend's notification queue."""

    def setUp(self):
        super().setUp()
        self.sqs = SqsSimulator().start()
        self.addCleanup(self.sqs.stop)
        self.backend.write({
            "amazon_seller_id": self.sim.seller_id,
            "amazon_notification_delivery": "sqs",
            "amazon_sqs_queue_arn": self.sqs.queue_arn(QUEUE),
            "amazon_sqs_queue_url": self.sqs.queue_url(QUEUE),
            "amazon_sqs_endpoint_url": self.sqs.url,
            "amazon_aws_access_key_id": self.sqs.access_key_id,
            "amazon_aws_secret_access_key": self.sqs.secret_access_key,
        })

    def poll_queue(self, seconds=1):
        """What the cron does, for ``seconds`` of long polling."""
        return self.env["commerce.backend"]._cron_amazon_sqs_poll(seconds=seconds)

    def an_order(self, predicate=lambda o: status_of(o) == "UNSHIPPED" and not by_amazon(o), count=40):
        self.sim.generate_orders(count)
        return self.stored(predicate)[0]

    def deliver_order_change(self, order_id, duplicate=False):
        notification = self.sim.order_change_notification(order_id)
        self.sqs.deliver_notification(QUEUE, notification, duplicate=duplicate)
        return notification


class TestSqsNotifications(SqsCase):

    def test_order_change_in_the_queue_is_stored_deleted_then_imported_as_a_confirmed_order(self):
        amazon_client.access_token_client.grantless_cache.clear()
        self.addCleanup(amazon_client.access_token_client.grantless_cache.clear)
        self.backend.action_amazon_setup_notifications()  # Amazon now sends to the queue's ARN
        order_id = self.an_order()
        notification = self.sim.order_change_notification(order_id)
        self.sim.emit_to_sqs(notification, self.sqs)
        [message] = self.sqs.messages(QUEUE)
        self.assertEqual(json.loads(message.body), notification, "the body is the notification, no envelope")

        runner = self.env.ref("commerce_connector.ir_cron_job_runner")
        Trigger = self.env["ir.cron.trigger"]
        triggers = Trigger.search([("cron_id", "=", runner.id)])
        commerce_job._LAST_TRIGGER.pop(self.env.cr.dbname, None)  # no wake-up coalesced from an earlier test

        started = time.monotonic()
        self.assertEqual(self.poll_queue(seconds=2), 1)
        self.assertLess(time.monotonic() - started, 4, "the poll keeps to its time")
        self.assertTrue(Trigger.search([("cron_id", "=", runner.id)]) - triggers, "the job runner is woken at once")

        job = self.jobs(ORDER_CHANGE_JOB)
        self.assertEqual((len(job), job.state), (1, "pending"))
        self.assertEqual(job.idempotency_key, sp_notifications.notification_id_of(notification))
        self.assertEqual(job.payload, message.body, "the message body is kept as received")
        self.assertEqual(self.sqs.deleted_ids(QUEUE), [message.message_id])
        self.assertFalse(self.sqs.messages(QUEUE))
        receives = self.sqs.recorder.calls(operation="ReceiveMessage")
        self.assertEqual(receives[0].json()["MaxNumberOfMessages"], 10)
        self.assertIn(receives[0].json()["WaitTimeSeconds"], (1, 2), "a long poll within the run's time")
        self.assertTrue(all(c.status == 200 for c in self.sqs.recorder.calls()))
        self.assertFalse(self.sale_order(order_id))

        assert_imported_from_notification(self, order_id)

    def test_the_cron_polls_for_the_configured_time(self):
        cron = self.env.ref("commerce_connector.ir_cron_amazon_sqs_poll")
        self.assertEqual((cron.interval_number, cron.interval_type), (1, "minutes"))
        self.env["ir.config_parameter"].set_param("commerce_connector.sqs_poll_seconds", "2")
        self.deliver_order_change(self.an_order())
        started = time.monotonic()
        cron.method_direct_trigger()
        self.assertLess(time.monotonic() - started, 4)
        self.assertEqual(len(self.jobs(ORDER_CHANGE_JOB)), 1)
        self.assertFalse(self.sqs.messages(QUEUE))
        self.assertGreaterEqual(len(self.sqs.recorder.calls(operation="ReceiveMessage")), 2,
                                "it keeps long-polling until its time is up")

    def test_a_notification_arriving_during_the_long_poll_is_taken_at_once(self):
        order_id = self.an_order()
        notification = self.sim.order_change_notification(order_id)
        timer = threading.Timer(0.5, self.sqs.deliver_notification, (QUEUE, notification))
        started = time.time()
        timer.start()
        self.addCleanup(timer.cancel)
        self.assertEqual(self.poll_queue(seconds=3), 1)
        [receive] = [c for c in self.sqs.recorder.calls(operation="ReceiveMessage") if b"Messages" in c.response_body]
        self.assertLess(receive.timestamp - started, 1.5, "answered when the message came, not at the wait's end")
        [delete] = self.sqs.recorder.calls(operation="DeleteMessageBatch")
        self.assertLess(delete.timestamp - receive.timestamp, 1, "stored and deleted right after")
        self.assertEqual(len(self.jobs(ORDER_CHANGE_JOB)), 1)
        self.assertFalse(self.sqs.messages(QUEUE))

    def test_duplicate_messages_make_one_job_and_are_all_deleted(self):
        order_id = self.an_order()
        self.deliver_order_change(order_id, duplicate=True)
        self.assertEqual(len(self.sqs.messages(QUEUE)), 2)

        self.assertEqual(self.poll_queue(), 1)

        self.assertEqual(len(self.jobs(ORDER_CHANGE_JOB)), 1)
        self.assertEqual(len(self.sqs.deleted_ids(QUEUE)), 2, "the duplicate's job exists: deleted too")
        self.run_jobs()
        self.assertAllJobsDone()
        self.assertEqual(self.env["sale.order"].search_count([("client_order_ref", "=", order_id)]), 1)

    def test_malformed_bodies_are_kept_as_validation_jobs_and_deleted(self):
        order_id = self.an_order()
        broken = copy.deepcopy(self.sim.order_change_notification(order_id))
        del broken["Payload"]["OrderChangeNotification"]["AmazonOrderId"]
        self.sqs.deliver_notification(QUEUE, broken)
        garbage_id = self.sqs.send(QUEUE, '{"NotificationType": "ORDER_CHA')
        stranger_id = self.sqs.send(QUEUE, json.dumps({"Type": "Notification", "Message": "from SNS"}))

        self.assertEqual(self.poll_queue(), 3)

        self.assertFalse(self.sqs.messages(QUEUE), "nothing is lost: every body is in a job, so all are deleted")
        self.assertEqual(len(self.sqs.deleted_ids(QUEUE)), 3)
        unknown = self.jobs(sp_notifications.UNKNOWN_JOB_TYPE)
        self.assertEqual(sorted(unknown.mapped("idempotency_key")), sorted([f"sqs:{garbage_id}", f"sqs:{stranger_id}"]))
        self.assertIn('{"NotificationType": "ORDER_CHA', unknown.mapped("payload"))
        self.run_jobs()
        job = self.jobs(ORDER_CHANGE_JOB)
        self.assertEqual((job.state, job.error_kind), ("failed", "validation"))
        self.assertIn("AmazonOrderId", job.error_message)
        self.assertEqual(set(unknown.mapped("state")), {"failed"})
        self.assertEqual(set(unknown.mapped("error_kind")), {"validation"})
        self.assertFalse(self.sale_order(order_id))

        # the kept body can be fixed and run: the SQS shape (no envelope) is a notification too
        job.payload = json.dumps(self.sim.order_change_notification(order_id))
        job.action_retry()
        self.run_jobs()
        self.assertEqual(job.state, "done")
        self.assertEqual(self.sale_order(order_id).state, "sale")

    def test_a_message_the_database_refuses_stays_in_the_queue_and_comes_back(self):
        self.sim.generate_orders(40)
        first, second = self.stored(lambda o: status_of(o) == "UNSHIPPED" and not by_amazon(o))[:2]
        refused = self.deliver_order_change(first)
        accepted = self.deliver_order_change(second)
        refused_key = sp_notifications.notification_id_of(refused)
        # A real failure of the INSERT, as a full disk or a lost connection would give.
        self.env.cr.execute("""
            CREATE FUNCTION pg_temp.commerce_test_refuse() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$""")
        self.env.cr.execute(f"""
            CREATE TRIGGER commerce_test_refuse BEFORE INSERT ON commerce_job FOR EACH ROW
            WHEN (NEW.idempotency_key = '{refused_key}') EXECUTE FUNCTION pg_temp.commerce_test_refuse()""")

        with self.assertLogs(LOGGER, "WARNING") as logs:
            self.assertEqual(self.poll_queue(), 1)

        self.assertEqual(self.jobs(ORDER_CHANGE_JOB).mapped("idempotency_key"),
                         [sp_notifications.notification_id_of(accepted)], "the other message of the batch is stored")
        self.assertEqual(len(self.sqs.deleted_ids(QUEUE)), 1)
        [in_flight] = self.sqs.in_flight(QUEUE)
        self.assertEqual(json.loads(in_flight.body), refused, "not deleted: it comes back after its visibility timeout")
        self.assertIn("left in the queue", "\n".join(logs.output))

        self.env.cr.execute("DROP TRIGGER commerce_test_refuse ON commerce_job")
        self.sqs.expire_visibility(QUEUE)
        self.assertEqual(self.poll_queue(), 1)
        self.assertIn(refused_key, self.jobs(ORDER_CHANGE_JOB).mapped("idempotency_key"))
        self.assertFalse(self.sqs.messages(QUEUE))
        self.run_jobs()
        self.assertAllJobsDone()
        self.assertEqual(self.sale_order(first).state, "sale")

    def test_a_backend_archived_while_polling_takes_nothing(self):
        order_id = self.an_order()
        self.deliver_order_change(order_id)
        client = self.backend._amazon_sqs_client()
        self.backend.active = False  # after the cron chose the backend, before its batch is stored

        with self.assertLogs(LOGGER, "WARNING"):
            self.assertEqual(self.backend._amazon_sqs_poll_once(client, 1, self.env.flush_all), 0)

        self.assertFalse(self.jobs())
        self.assertFalse(self.sqs.deleted_ids(QUEUE))
        self.assertEqual(len(self.sqs.in_flight(QUEUE)), 1, "received, not deleted: it comes back")

    def test_visibility_timeout_redelivery_is_deduplicated(self):
        self.sqs.create_queue("short", visibility_timeout=1)
        self.backend.amazon_sqs_queue_url = self.sqs.queue_url("short")
        order_id = self.an_order()
        self.sqs.deliver_notification("short", self.sim.order_change_notification(order_id))
        # the job is stored, then every attempt to delete the message fails: it stays in flight
        self.sqs.fail_next("DeleteMessageBatch", count=3)  # http_max_attempts is 3 in the tests

        with self.assertLogs(LOGGER, "WARNING") as logs:
            self.assertEqual(self.poll_queue(), 1)
        self.assertIn("DeleteMessageBatch", "\n".join(logs.output))
        self.assertEqual(len(self.jobs(ORDER_CHANGE_JOB)), 1)
        self.assertEqual(len(self.sqs.in_flight("short")), 1)
        self.assertNotEqual(self.backend.state, "auth_failed", "a failed delete is no credential problem")

        # the next run's long poll gets it back once its visibility timeout is over
        self.assertEqual(self.poll_queue(seconds=3), 0, "the redelivery is a duplicate")
        receives = [c for c in self.sqs.recorder.calls(operation="ReceiveMessage") if b"Messages" in c.response_body]
        self.assertEqual(len(receives), 2, "delivered twice")
        self.assertEqual(len(self.jobs(ORDER_CHANGE_JOB)), 1)
        self.assertFalse(self.sqs.messages("short"), "the duplicate is deleted")
        self.run_jobs()
        self.assertEqual(len(self.jobs(IMPORT_JOB)), 1)
        self.assertEqual(self.sale_order(order_id).state, "sale")

    def test_wrong_aws_credentials_delete_nothing_and_suspend_the_backend_without_leaking_the_secret(self):
        order_id = self.an_order()
        self.deliver_order_change(order_id)
        wrong_secret = "wrong/SecretAccessKey+1234567890abcdefghijklmn"
        self.backend.amazon_aws_secret_access_key = wrong_secret

        with self.assertLogs(LOGGER, "WARNING") as logs:
            self.assertEqual(self.poll_queue(), 0)

        self.assertEqual(self.backend.state, "auth_failed")
        self.assertIn("SignatureDoesNotMatch", self.backend.state_message)
        self.assertEqual([c.status for c in self.sqs.recorder.calls(operation="ReceiveMessage")], [403])
        [message] = self.sqs.messages(QUEUE)
        self.assertEqual(message.receive_count, 0, "never received, nothing deleted")
        self.assertFalse(self.jobs())
        activity = self.backend.activity_ids.filtered(lambda a: a.summary == "Credentials rejected")
        self.assertTrue(activity)
        output = "\n".join(logs.output)
        self.assertIn("SignatureDoesNotMatch", output)
        for text in (output, self.backend.state_message, activity.note or ""):
            self.assertNotIn(wrong_secret, text)
            self.assertNotIn(self.sqs.secret_access_key, text)

        # a suspended backend is not polled; Test Connection checks the queue too
        self.assertEqual(self.poll_queue(), 0)
        self.assertEqual(len(self.sqs.recorder.calls(operation="ReceiveMessage")), 1)
        self.backend.amazon_aws_access_key_id = "AKIAUNKNOWN000000000"
        self.backend.action_test_connection()
        self.assertEqual(self.backend.state, "auth_failed")
        self.assertIn("InvalidClientTokenId", self.backend.state_message)
        self.backend.write({"amazon_aws_access_key_id": self.sqs.access_key_id,
                            "amazon_aws_secret_access_key": self.sqs.secret_access_key})
        self.backend.action_test_connection()
        self.assertEqual(self.backend.state, "connected")
        self.assertIn("1 message(s) waiting", self.backend.state_message)
        self.assertEqual(self.poll_queue(), 1)
        self.assertFalse(self.sqs.messages(QUEUE))

    def test_an_unknown_queue_is_reported_on_the_backend(self):
        self.backend.amazon_sqs_queue_url = f"{self.sqs.url}/{self.sqs.account_id}/no-such-queue"
        with self.assertLogs(LOGGER, "WARNING"):
            self.assertEqual(self.poll_queue(), 0)
        self.assertIn("does not exist", self.backend.state_message)
        self.assertNotEqual(self.backend.state, "auth_failed")

    def test_the_secret_access_key_is_scrubbed_and_for_system_admins(self):
        self.assertIn("amazon_aws_secret_access_key", self.backend._commerce_secret_fields())
        for name in ("amazon_aws_access_key_id", "amazon_aws_secret_access_key"):
            field = self.backend._fields[name]
            self.assertEqual((field.groups, field.copy), ("base.group_system", False), name)
        self.assertIn(self.sqs.secret_access_key, self.backend._commerce_secret_values())


@tagged("post_install", "-at_install")
class TestSqsSimulator(BaseCase):
    """The SQS simulator as boto3 sees it."""

    def setUp(self):
        super().setUp()
        self.sqs = SqsSimulator(visibility_timeout=1).start()
        self.addCleanup(self.sqs.stop)
        self.url = self.sqs.queue_url(QUEUE)

    def client(self, key=None, secret=None):
        return boto3.client("sqs", region_name="us-east-1", endpoint_url=self.sqs.url,
                            aws_access_key_id=key or self.sqs.access_key_id,
                            aws_secret_access_key=secret or self.sqs.secret_access_key,
                            config=Config(retries={"mode": "standard", "total_max_attempts": 1}))

    def test_long_poll_returns_as_soon_as_a_message_arrives(self):
        timer = threading.Timer(0.3, self.sqs.send, (QUEUE, '{"hello": 1}'))
        timer.start()
        self.addCleanup(timer.cancel)
        started = time.monotonic()
        answer = self.client().receive_message(QueueUrl=self.url, WaitTimeSeconds=10, MaxNumberOfMessages=10)
        elapsed = time.monotonic() - started
        self.assertEqual([m["Body"] for m in answer["Messages"]], ['{"hello": 1}'])
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 2, "answered when the message came, not after 10 s")
        self.client().delete_message(QueueUrl=self.url, ReceiptHandle=answer["Messages"][0]["ReceiptHandle"])

        started = time.monotonic()
        self.assertNotIn("Messages", self.client().receive_message(QueueUrl=self.url, WaitTimeSeconds=1))
        self.assertGreaterEqual(time.monotonic() - started, 0.9, "an empty queue waits the whole time")

    def test_received_message_comes_back_after_its_visibility_timeout_until_deleted(self):
        client = self.client()
        sent = client.send_message(QueueUrl=self.url, MessageBody="body")["MessageId"]
        first = client.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10)["Messages"]
        self.assertNotIn("Messages", client.receive_message(QueueUrl=self.url), "in flight: invisible")
        started = time.monotonic()
        again = client.receive_message(QueueUrl=self.url, WaitTimeSeconds=5,
                                       MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
        self.assertLess(time.monotonic() - started, 2, "the long poll wakes when the timeout ends")
        self.assertEqual((again[0]["MessageId"], again[0]["Attributes"]["ApproximateReceiveCount"]), (sent, "2"))
        # the first receipt handle is stale now: accepted, deletes nothing (as at AWS)
        answer = client.delete_message_batch(QueueUrl=self.url, Entries=[
            {"Id": "old", "ReceiptHandle": first[0]["ReceiptHandle"]}, {"Id": "bad", "ReceiptHandle": "nonsense"}])
        self.assertEqual([e["Id"] for e in answer["Successful"]], ["old"])
        self.assertEqual([(e["Id"], e["Code"]) for e in answer["Failed"]], [("bad", "ReceiptHandleIsInvalid")])
        self.assertEqual(len(self.sqs.messages(QUEUE)), 1)
        client.delete_message(QueueUrl=self.url, ReceiptHandle=again[0]["ReceiptHandle"])
        self.assertEqual(self.sqs.deleted_ids(QUEUE), [sent])
        with self.assertRaises(ClientError) as caught:
            client.delete_message(QueueUrl=self.url, ReceiptHandle="nonsense")
        self.assertEqual(caught.exception.response["Error"]["Code"], "ReceiptHandleIsInvalid")

    def test_errors_have_the_aws_shape(self):
        with self.assertRaises(ClientError) as caught:
            self.client(key="AKIAUNKNOWN").receive_message(QueueUrl=self.url)
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidClientTokenId")
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        with self.assertRaises(ClientError) as caught:
            self.client(secret="not-the-secret").receive_message(QueueUrl=self.url)
        self.assertEqual(caught.exception.response["Error"]["Code"], "SignatureDoesNotMatch")
        client = self.client()
        with self.assertRaises(client.exceptions.QueueDoesNotExist):
            client.receive_message(QueueUrl=f"{self.sqs.url}/{self.sqs.account_id}/nope")
        with self.assertRaises(client.exceptions.QueueDoesNotExist):
            client.get_queue_url(QueueName="nope")
        self.assertEqual(client.get_queue_url(QueueName=QUEUE)["QueueUrl"], self.url)
        with self.assertRaises(ClientError) as caught:
            client.receive_message(QueueUrl=self.url, MaxNumberOfMessages=11)
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidParameterValue")
        self.sqs.fail_next("ReceiveMessage")
        with self.assertRaises(ClientError) as caught:
            client.receive_message(QueueUrl=self.url)
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 500)
        self.assertEqual([c.status for c in self.sqs.recorder.calls(operation="ReceiveMessage")],
                         [403, 403, 400, 400, 500])

    def test_channel_client_retries_5xx_and_classifies_errors(self):
        self.sqs.send(QUEUE, "one")
        self.sqs.fail_next("ReceiveMessage", count=2)
        client = sqs_channel.SqsClient(self.url, "us-east-1", self.sqs.access_key_id, self.sqs.secret_access_key,
                                       endpoint_url=self.sqs.url, retry_attempts=3)
        [message] = client.receive(wait=0)
        self.assertEqual(message.body, "one")
        self.assertEqual([c.status for c in self.sqs.recorder.calls(operation="ReceiveMessage")], [500, 500, 200])
        self.assertEqual(client.delete_batch([message.receipt_handle]), (1, []))
        wrong = sqs_channel.SqsClient(self.url, "us-east-1", "AKIAUNKNOWN", "x", endpoint_url=self.sqs.url)
        with self.assertRaises(AuthError):
            wrong.receive(wait=0)
        missing = sqs_channel.SqsClient(f"{self.sqs.url}/1/nope", "us-east-1", self.sqs.access_key_id,
                                        self.sqs.secret_access_key, endpoint_url=self.sqs.url)
        with self.assertRaises(BusinessError):
            missing.receive(wait=0)
        self.assertEqual(sqs_channel.region_of("https://sqs.eu-west-1.amazonaws.com/1/q"), "eu-west-1")
        self.assertEqual(sqs_channel.region_of(None, "arn:aws:sqs:us-west-2:1:q"), "us-west-2")

