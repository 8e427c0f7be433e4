"""Amazon SQS queue of SP-API notifications: receive and delete, through boto3.

Plain Python, no Odoo import. The credentials, region and endpoint are always given
explicitly: nothing is read from the environment, ``~/.aws`` or an instance profile (a
configured ``AWS_ENDPOINT_URL`` is ignored too), so every backend talks to its own queue with
its own key. botocore retries throttling, 5xx and connection errors itself ("standard"
mode); what is left is raised as the connector's error kinds: :class:`AuthError` for refused
credentials, :class:`TransientError` for what may work later, :class:`BusinessError` for a
configuration Amazon refuses (unknown queue). No message of ours contains the secret key, and
the ones botocore builds do not either.
"""

import logging
import re
from dataclasses import dataclass

from ...core.errors import AuthError, BusinessError, TransientError

_logger = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 20  # SQS's long-poll limit
MAX_MESSAGES = 10  # SQS's ReceiveMessage and DeleteMessageBatch limit
AUTH_CODES = {
    "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException", "InvalidSignatureException",
    "AccessDenied", "AccessDeniedException", "MissingAuthenticationToken", "IncompleteSignature", "ExpiredToken",
    "AuthFailure", "InvalidAccessKeyId", "KMS.AccessDeniedException", "KmsAccessDenied",
}
TRANSIENT_CODES = {
    "RequestThrottled", "ThrottlingException", "Throttling", "ServiceUnavailable", "InternalError",
    "InternalFailure", "KmsThrottled", "RequestTimeout",
}
_QUEUE_URL = re.compile(r"^https?://sqs[.-](?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/")
_QUEUE_ARN = re.compile(r"^arn:aws[a-z-]*:sqs:(?P<region>[a-z0-9-]+):")


@dataclass(frozen=True)
class SqsMessage:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int = 1


def region_of(queue_url=None, queue_arn=None):
    """The AWS region named in an SQS queue URL or ARN, or None."""
    for text, pattern in ((queue_url, _QUEUE_URL), (queue_arn, _QUEUE_ARN)):
        match = pattern.match(text or "")
        if match:
            return match["region"]
    return None


class SqsClient:
    """One queue, one set of credentials. ``retry_attempts``: botocore's attempts per call."""

    def __init__(self, queue_url, region, access_key_id, secret_access_key, endpoint_url=None, retry_attempts=5,
                 connect_timeout=5):
        if not queue_url:
            raise BusinessError("no SQS queue URL is set")
        if not region:
            raise BusinessError("no AWS region is set for the SQS queue")
        if not access_key_id or not secret_access_key:
            raise AuthError("the AWS access key id and secret access key of the SQS queue are not set")
        # boto3 is imported here, not with the module: it costs every Odoo process ~35 MB, and
        # only a backend that reads an SQS queue needs it.
        import boto3
        from botocore.config import Config

        self.queue_url = queue_url
        self._config = Config(
            region_name=region,
            retries={"mode": "standard", "total_max_attempts": max(1, int(retry_attempts))},
            connect_timeout=connect_timeout,
            # A long poll answers after up to 20 s: the read timeout must outlast it.
            read_timeout=MAX_WAIT_SECONDS + 10,
            ignore_configured_endpoint_urls=True,
        )
        session = boto3.session.Session(aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
                                        region_name=region)
        self._client = session.client("sqs", endpoint_url=endpoint_url or None, config=self._config)

    def receive(self, wait=MAX_WAIT_SECONDS, max_messages=MAX_MESSAGES, visibility_timeout=None):
        """Up to ``max_messages`` messages, waiting up to ``wait`` seconds for the first one.

        The messages stay in the queue, invisible for the visibility timeout (the queue's own
        unless given): a message not deleted by then is delivered again.
        """
        params = {"QueueUrl": self.queue_url, "MaxNumberOfMessages": max(1, min(MAX_MESSAGES, int(max_messages))),
                  "WaitTimeSeconds": max(0, min(MAX_WAIT_SECONDS, int(wait))),
                  "MessageSystemAttributeNames": ["ApproximateReceiveCount"]}
        if visibility_timeout is not None:
            params["VisibilityTimeout"] = int(visibility_timeout)
        answer = self._request("ReceiveMessage", params)
        return [SqsMessage(m["MessageId"], m["ReceiptHandle"], m.get("Body", ""),
                           int((m.get("Attributes") or {}).get("ApproximateReceiveCount", 1)))
                for m in answer.get("Messages") or ()]

    def delete_batch(self, receipts):
        """Delete messages by receipt handle, ten per call; ``(deleted count, failures)``.

        A failure is ``(receipt handle, code, message)``: such a message comes back after its
        visibility timeout, and its job, stored already, turns the redelivery into a duplicate.
        """
        receipts = list(receipts)
        deleted, failures = 0, []
        for start in range(0, len(receipts), MAX_MESSAGES):
            chunk = receipts[start:start + MAX_MESSAGES]
            entries = [{"Id": str(index), "ReceiptHandle": handle} for index, handle in enumerate(chunk)]
            answer = self._request("DeleteMessageBatch", {"QueueUrl": self.queue_url, "Entries": entries})
            deleted += len(answer.get("Successful") or ())
            failures.extend((chunk[int(f["Id"])], f.get("Code", ""), f.get("Message", ""))
                            for f in answer.get("Failed") or ())
        return deleted, failures

    def attributes(self):
        """The queue's ARN and message counts: what Test Connection shows."""
        return self._request("GetQueueAttributes", {
            "QueueUrl": self.queue_url,
            "AttributeNames": ["QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        }).get("Attributes") or {}

    def _request(self, operation, params):
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ReadTimeoutError
        from botocore.exceptions import ConnectionError as BotoConnectionError

        method = getattr(self._client, re.sub(r"(?<!^)([A-Z])", r"_\1", operation).lower())
        try:
            return method(**params)
        except ClientError as error:
            raise _classify(operation, error) from None
        except (BotoConnectionError, ReadTimeoutError) as error:
            raise TransientError(f"SQS {operation}: no answer from {self._client.meta.endpoint_url}: "
                                 f"{type(error).__name__}") from None
        except NoCredentialsError:
            raise AuthError(f"SQS {operation}: no AWS credentials") from None
        except BotoCoreError as error:
            raise TransientError(f"SQS {operation}: {type(error).__name__}: {error}") from None


def _classify(operation, error):
    info = error.response.get("Error") or {}
    codes = {info.get("Code") or "", info.get("QueryErrorCode") or ""}
    status = (error.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
    text = f"SQS {operation} refused ({info.get('Code') or status}): {info.get('Message') or 'no message'}"
    if codes & AUTH_CODES or status in (401, 403):
        return AuthError(text)
    if codes & TRANSIENT_CODES or status == 429 or status >= 500:
        return TransientError(text)
    return BusinessError(text)
