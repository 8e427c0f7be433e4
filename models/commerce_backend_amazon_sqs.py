import logging
import time

from odoo import _, api, fields, models

from ..channels.amazon import const, sqs
from ..core.errors import AUTH, BUSINESS, CommerceError, TransientError
from .commerce_job import SUSPENDED_BACKEND_STATES, _auto_commit_default
from .sealed_char import SealedChar

_logger = logging.getLogger(__name__)

POLL_SECONDS = 50  # one cron run; the cron runs every minute, so it never overlaps itself
POLL_SECONDS_PARAM = "commerce_connector.sqs_poll_seconds"


class CommerceBackend(models.Model):
    """SP-API notifications delivered to an Amazon SQS queue: the queue's settings and the cron
    that long-polls it into notification jobs (the same intake as the EventBridge route)."""

    _inherit = "commerce.backend"

    amazon_sqs_queue_url = fields.Char(
        string="SQS Queue URL", tracking=True,
        help="URL of the queue Amazon sends the notifications to, e.g. "
             "https://sqs.us-east-1.amazonaws.com/123456789012/sp-api-notifications.")
    amazon_sqs_region = fields.Char(
        string="SQS Region", tracking=True,
        help="AWS region of the queue; default: the one in the queue URL or ARN.")
    amazon_sqs_endpoint_url = fields.Char(
        string="SQS Endpoint URL", tracking=True,
        help="Only for a VPC endpoint or a test queue; empty: the region's public SQS endpoint.")
    # Both sealed (SealedChar): an access key id names the IAM user, so it is kept as close as the secret.
    amazon_aws_access_key_id = SealedChar(
        string="AWS Access Key ID", groups="base.group_system", copy=False,
        help="Access key of an IAM user allowed sqs:ReceiveMessage, sqs:DeleteMessage and "
             "sqs:GetQueueAttributes on the queue.")
    amazon_aws_secret_access_key = SealedChar(
        string="AWS Secret Access Key", groups="base.group_system", copy=False)

    # -- the queue -------------------------------------------------------------------------
    def _amazon_sqs_client(self):
        self.ensure_one()
        backend = self.sudo()
        region = (backend.amazon_sqs_region or sqs.region_of(backend.amazon_sqs_queue_url, backend.amazon_sqs_queue_arn)
                  or const.AWS_REGIONS.get(backend.amazon_marketplace_ids[:1].region))
        return sqs.SqsClient(
            backend.amazon_sqs_queue_url, region, backend.amazon_aws_access_key_id,
            backend.amazon_aws_secret_access_key, endpoint_url=backend.amazon_sqs_endpoint_url,
            retry_attempts=self._http_retry_options()["max_attempts"])

    def _amazon_test_connection(self):
        message = super()._amazon_test_connection()
        if self.amazon_notification_delivery != "sqs":
            return message
        attributes = self._amazon_sqs_client().attributes()
        return _("%(message)s; SQS queue %(queue)s: %(waiting)s message(s) waiting, %(in_flight)s in flight",
                 message=message, queue=attributes.get("QueueArn") or self.amazon_sqs_queue_url,
                 waiting=attributes.get("ApproximateNumberOfMessages", "?"),
                 in_flight=attributes.get("ApproximateNumberOfMessagesNotVisible", "?"))

    # -- the poller ------------------------------------------------------------------------
    @api.model
    def _cron_amazon_sqs_poll(self, seconds=None, auto_commit=None):
        """Entry point of ir_cron_amazon_sqs_poll: long-poll the queue of every Amazon backend
        with SQS delivery for ``seconds`` (``commerce_connector.sqs_poll_seconds``, default 50).

        Each batch is stored and committed before its messages are deleted, so a message is
        deleted only once its job exists; one that could not be stored stays in the queue and
        comes back after its visibility timeout. Returns how many new jobs were stored.
        """
        auto_commit = _auto_commit_default() if auto_commit is None else auto_commit
        commit = self.env.cr.commit if auto_commit else self.env.flush_all
        if seconds is None:
            seconds = float(self.env["ir.config_parameter"].sudo().get_param(POLL_SECONDS_PARAM, POLL_SECONDS))
        backends = self.sudo().search([("channel", "=", const.CHANNEL), ("amazon_notification_delivery", "=", "sqs"),
                                       ("state", "not in", SUSPENDED_BACKEND_STATES)])
        polling, stored = {}, 0
        for backend in backends:
            try:
                polling[backend] = backend._amazon_sqs_client()
            except CommerceError as error:
                backend._amazon_sqs_failed(error)
        commit()
        deadline = time.monotonic() + seconds
        first = True
        while polling:
            remaining = deadline - time.monotonic()
            if remaining < 1 and not first:  # at least one receive per run, however short
                break
            first = False
            # SQS waits whole seconds; several queues share the run's time
            wait = max(1, int(min(sqs.MAX_WAIT_SECONDS, remaining / len(polling))))
            for backend, client in list(polling.items()):
                try:
                    stored += backend._amazon_sqs_poll_once(client, wait, commit)
                except CommerceError as error:
                    del polling[backend]
                    backend._amazon_sqs_failed(error)
                    commit()
        return stored

    def _amazon_sqs_poll_once(self, client, wait, commit):
        """One ReceiveMessage (up to 10 messages), their jobs stored and committed, then the
        messages deleted; the number of new jobs."""
        self.ensure_one()
        commit()  # no transaction is kept open during the long poll
        messages = client.receive(wait=wait, max_messages=sqs.MAX_MESSAGES)
        if not messages:
            return 0
        stored, receipts = self._amazon_sqs_store(messages)
        commit()
        if not receipts:
            return stored
        # Stored already: a message not deleted comes back and its redelivery is a duplicate.
        try:
            _deleted, failures = client.delete_batch(receipts)
        except TransientError as error:
            _logger.warning("amazon backend %s: %s SQS message(s) stored but not deleted: %s", self.id,
                            len(receipts), self._scrub_secrets(error.message))
            return stored
        for _receipt, code, text in failures:
            _logger.warning("amazon backend %s: an SQS message was stored but not deleted (%s: %s)",
                            self.id, code, text)
        return stored

    def _amazon_sqs_store(self, messages):
        """Store each message body as a notification job; ``(new jobs, receipts safe to delete)``.

        The body is Amazon's notification JSON. Anything else (not JSON, no notification type)
        is kept too, as a job that fails as a validation error, and so can be deleted; a
        duplicate (same notificationId, or the same message delivered again) finds its job and
        can be deleted. A message whose job could not be written is left in the queue.
        """
        self.ensure_one()
        stored, receipts = 0, []
        for message in messages:
            try:
                with self.env.cr.savepoint():
                    self._amazon_sqs_check_receiving()
                    _job_id, created = self._amazon_store_notification(
                        self.id, message.body, f"sqs:{message.message_id}")
            except Exception as error:  # noqa: BLE001 -- whatever it is, the message must stay in the queue
                _logger.warning(
                    "amazon backend %s: SQS message %s not stored, left in the queue for redelivery: %s: %s",
                    self.id, message.message_id, type(error).__name__,
                    self._scrub_secrets(str(error).splitlines()[0]
                                                                                if str(error) else ""))
                continue
            stored += created
            receipts.append(message.receipt_handle)
        return stored, receipts

    def _amazon_sqs_check_receiving(self):
        """Lock this backend as still receiving from SQS (archived, switched or deleted since
        the poll began: the message is not taken)."""
        self.env.cr.execute(
            "SELECT id FROM commerce_backend WHERE id = %s AND active AND amazon_notification_delivery = 'sqs' "
            "FOR SHARE", (self.id,))
        if not self.env.cr.fetchone():
            raise CommerceError(f"backend {self.id} no longer receives SP-API notifications from SQS")

    def _amazon_sqs_failed(self, error):
        """An SQS error ends this backend's poll; refused credentials suspend the backend, as
        for the SP-API, with its managers alerted."""
        text = self._scrub_secrets(error.message)
        _logger.warning("amazon backend %s (id %s): SQS poll stopped: %s", self.name, self.id, text)
        if error.kind == AUTH:
            self._set_auth_failed(_("SQS notification queue: %s", text))
        elif error.kind == BUSINESS and self.state_message != text:  # the settings are wrong: say so
            self.state_message = text
