"""Amazon SQS simulator: the AWS JSON 1.0 protocol boto3 speaks to SQS, with SigV4 checked.

botocore >= 1.31 calls SQS with ``POST /``, ``X-Amz-Target: AmazonSQS.<Operation>`` and
``Content-Type: application/x-amz-json-1.0``; the queue is named by ``QueueUrl`` in the body.
Served: ReceiveMessage (long polling up to 20 s that answers as soon as a message is visible;
a received message that is not deleted becomes visible again after its visibility timeout),
DeleteMessage, DeleteMessageBatch, SendMessage, GetQueueUrl and GetQueueAttributes.

Errors come as SQS sends them in JSON mode: ``{"__type": "com.amazonaws.sqs#QueueDoesNotExist",
"message": ...}`` plus the ``x-amzn-query-error`` header botocore maps to the query-protocol code.
Every request must be signed (SigV4) with a configured access key id and its secret access key:
an unknown key id is refused as ``InvalidClientTokenId``, a wrong secret as
``SignatureDoesNotMatch`` (both 403).

For an SQS destination Amazon puts the notification JSON itself in the message body (no
EventBridge envelope): :meth:`SqsSimulator.deliver_notification` does that, as Amazon's side
of the queue, without going through HTTP.

Run alone: ``python -m simulators.sqs --port 8074 --queue sp-api-notifications`` from the repository root.
"""

import argparse
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import quote, urlsplit

from .base import FaultConfig, Response, SimulatorServer

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCESS_KEY_ID = "AKIASIMULATOR0000001"
DEFAULT_SECRET_ACCESS_KEY = "sim/SecretAccessKey+0000000000000000000000"  # the simulator's own, not a real key
DEFAULT_VISIBILITY_TIMEOUT = 30
MAX_WAIT_SECONDS = 20
MAX_MESSAGES = 10
MAX_BODY_BYTES = 256 * 1024
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
# Characters SQS accepts in a message body: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF
_INVALID_BODY = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>[^,]+),\s*SignedHeaders=(?P<signed>[^,]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]+)")
# (query-protocol code, fault side) SQS reports in x-amzn-query-error for each JSON error type
_QUERY_CODES = {
    "QueueDoesNotExist": ("AWS.SimpleQueueService.NonExistentQueue", "Sender"),
    "ReceiptHandleIsInvalid": ("ReceiptHandleIsInvalid", "Sender"),
    "InvalidIdFormat": ("InvalidIdFormat", "Sender"),
    "TooManyEntriesInBatchRequest": ("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "Sender"),
    "EmptyBatchRequest": ("AWS.SimpleQueueService.EmptyBatchRequest", "Sender"),
    "BatchEntryIdsNotDistinct": ("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Sender"),
    "InvalidMessageContents": ("InvalidMessageContents", "Sender"),
    "InvalidParameterValue": ("InvalidParameterValue", "Sender"),
    "MissingParameter": ("MissingParameter", "Sender"),
    "InvalidClientTokenId": ("InvalidClientTokenId", "Sender"),
    "SignatureDoesNotMatch": ("SignatureDoesNotMatch", "Sender"),
    "MissingAuthenticationToken": ("MissingAuthenticationToken", "Sender"),
    "UnknownOperationException": ("UnknownOperationException", "Sender"),
    "InternalError": ("InternalError", "Receiver"),
    "ServiceUnavailable": ("ServiceUnavailable", "Receiver"),
}
_NAMESPACES = {"InvalidClientTokenId": "com.amazon.coral.service", "SignatureDoesNotMatch": "com.amazon.coral.service",
               "MissingAuthenticationToken": "com.amazon.coral.service",
               "UnknownOperationException": "com.amazon.coral.service"}


def sqs_error(status, code, message):
    """An SQS error answer in JSON mode, with the query-protocol code botocore maps it to."""
    query_code, side = _QUERY_CODES.get(code, (code, "Sender"))
    return Response(status, json.dumps({"__type": f"{_NAMESPACES.get(code, 'com.amazonaws.sqs')}#{code}",
                                        "message": message}).encode(),
                    {"Content-Type": JSON_CONTENT_TYPE, "x-amzn-query-error": f"{query_code};{side}",
                     "x-amzn-RequestId": str(uuid.uuid4())})


class SqsFault(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.response = sqs_error(status, code, message)


def _md5(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # SQS's MD5OfBody, not for security


@dataclass
class Message:
    message_id: str
    body: str
    sent_at: float  # time.time() of SendMessage
    visible_at: float  # time.monotonic() from which a receive may return it
    receive_count: int = 0
    receipt_handle: str = ""  # the latest one: only it deletes the message
    handles: set = field(default_factory=set)  # every receipt handle issued for it
    deleted: bool = False


@dataclass
class Queue:
    name: str
    url: str
    arn: str
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT
    messages: list = field(default_factory=list)  # Message, in sending order
    deleted_ids: list = field(default_factory=list)  # message ids, in deletion order


class SqsSimulator(SimulatorServer):
    """One AWS account's SQS queues on loopback. ``credentials``: ``{access key id: secret access key}``."""

    def __init__(self, host="127.0.0.1", port=0, faults=None, credentials=None, queues=("sp-api-notifications",),
                 account_id=DEFAULT_ACCOUNT_ID, region=DEFAULT_REGION, visibility_timeout=DEFAULT_VISIBILITY_TIMEOUT):
        super().__init__(host, port, faults)
        self.credentials = dict(credentials or {DEFAULT_ACCESS_KEY_ID: DEFAULT_SECRET_ACCESS_KEY})
        self.account_id = account_id
        self.region = region
        self.default_visibility_timeout = visibility_timeout
        self._queues = {}
        self._changed = threading.Condition()  # notified on every send, delete and stop
        self._stopping = False
        self._fail_next = []  # [operation or None, remaining count, status, code]
        self._initial_queues = tuple(queues)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self):
        super().start()  # the port is known from here on: queue URLs contain it
        for name in self._initial_queues:
            self.create_queue(name)
        return self

    def stop(self):
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        super().stop()

    # -- helpers for tests and the notification emitter ------------------------------------
    @property
    def access_key_id(self):
        return next(iter(self.credentials))

    @property
    def secret_access_key(self):
        return self.credentials[self.access_key_id]

    def create_queue(self, name, visibility_timeout=None):
        with self._changed:
            queue = self._queues.get(name)
            if queue is None:
                queue = self._queues[name] = Queue(
                    name, f"{self.url}/{self.account_id}/{name}", f"arn:aws:sqs:{self.region}:{self.account_id}:{name}",
                    self.default_visibility_timeout if visibility_timeout is None else visibility_timeout)
            return queue

    def queue_url(self, name="sp-api-notifications"):
        return self._queues[name].url

    def queue_arn(self, name="sp-api-notifications"):
        return self._queues[name].arn

    def send(self, queue_name, body, delay_seconds=0):
        """Put ``body`` in the queue as AWS does for a producer; return the message id."""
        with self._changed:
            queue = self._queues[queue_name]
            message = Message(str(uuid.uuid4()), body, time.time(), time.monotonic() + delay_seconds)
            queue.messages.append(message)
            self._changed.notify_all()
            return message.message_id

    def deliver_notification(self, queue_name, notification, duplicate=False):
        """What Amazon does for an SQS destination: the notification JSON itself is the body.

        ``duplicate`` delivers it twice (two messages, one notification: at-least-once delivery).
        """
        body = json.dumps(notification)
        return [self.send(queue_name, body) for _ in range(2 if duplicate else 1)]

    def messages(self, queue_name="sp-api-notifications"):
        """Every message not deleted yet, visible or in flight (copies)."""
        with self._changed:
            return [Message(m.message_id, m.body, m.sent_at, m.visible_at, m.receive_count, m.receipt_handle,
                            set(m.handles)) for m in self._queues[queue_name].messages if not m.deleted]

    def in_flight(self, queue_name="sp-api-notifications"):
        now = time.monotonic()
        return [m for m in self.messages(queue_name) if m.receive_count and m.visible_at > now]

    def deleted_ids(self, queue_name="sp-api-notifications"):
        with self._changed:
            return list(self._queues[queue_name].deleted_ids)

    def expire_visibility(self, queue_name="sp-api-notifications"):
        """Let every in-flight message's visibility timeout run out now."""
        with self._changed:
            now = time.monotonic()
            for message in self._queues[queue_name].messages:
                message.visible_at = min(message.visible_at, now)
            self._changed.notify_all()

    def fail_next(self, operation=None, count=1, status=500, code="InternalError"):
        """Answer the next ``count`` calls of ``operation`` (any when None) with an error."""
        with self._changed:
            self._fail_next.append([operation, count, status, code])

    # -- dispatch: one URL, the operation in X-Amz-Target -----------------------------------
    def dispatch(self, request):
        target = request.headers.get("x-amz-target", "")
        operation = target.split(".", 1)[1] if target.startswith("AmazonSQS.") else target
        if request.method != "POST" or request.path != "/":
            return operation, Response(404, {"error": f"no route for {request.method} {request.path}"})
        try:
            self._authenticate(request)
            faulty = self.inject_fault(request, operation)
            if faulty is not None:
                return operation, faulty
            handler = self._OPERATIONS.get(operation)
            if handler is None:
                raise SqsFault(400, "UnknownOperationException", f"Unknown operation {target!r}.")
            try:
                params = json.loads(request.body or b"{}")
            except ValueError:
                raise SqsFault(400, "InvalidParameterValue", "The request body is not valid JSON.") from None
            if not isinstance(params, dict):
                raise SqsFault(400, "InvalidParameterValue", "The request body is not a JSON object.")
            body = handler(self, params)
        except SqsFault as fault:
            return operation, fault.response
        except Exception as exc:  # noqa: BLE001 -- a simulator bug must show up as a 500, not hang
            return operation, sqs_error(500, "InternalError", f"simulator error: {exc!r}")
        return operation, Response(200, json.dumps(body).encode(),
                                   {"Content-Type": JSON_CONTENT_TYPE, "x-amzn-RequestId": str(uuid.uuid4())})

    def inject_fault(self, request, operation):
        with self._changed:
            for entry in self._fail_next:
                if entry[0] in (None, operation) and entry[1] > 0:
                    entry[1] -= 1
                    status, code = entry[2], entry[3]
                    break
            else:
                status = None
        if status is not None:
            return sqs_error(status, code, "We encountered an internal error. Please try again. (simulated)")
        if self.draw(self.faults.rate_timeout):
            time.sleep(self.faults.timeout_seconds)
            return sqs_error(500, "InternalError", "simulated timeout")
        if self.draw(self.faults.rate_5xx):
            return sqs_error(500, "InternalError", "We encountered an internal error. Please try again. (simulated)")
        return None

    # -- SigV4 -----------------------------------------------------------------------------
    def _authenticate(self, request):
        header = request.headers.get("authorization", "")
        match = _AUTHORIZATION.match(header)
        if not match:
            raise SqsFault(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
        secret = self.credentials.get(match["key"])
        if secret is None:
            raise SqsFault(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
        scope = match["scope"]
        date, region, service, terminator = (scope.split("/") + ["", "", "", ""])[:4]
        amz_date = request.headers.get("x-amz-date", "")
        if service != "sqs" or terminator != "aws4_request" or not amz_date.startswith(date):
            raise SqsFault(403, "SignatureDoesNotMatch", "Credential should be scoped to a valid region and service.")
        signed = match["signed"].split(";")
        canonical_headers = "".join(f"{name}:{' '.join(request.headers.get(name, '').split())}\n" for name in signed)
        payload_hash = request.headers.get("x-amz-content-sha256") or hashlib.sha256(request.body).hexdigest()
        canonical = "\n".join([request.method, quote(request.path, safe="/~"), _canonical_query(request.query),
                               canonical_headers, match["signed"], payload_hash])
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = f"AWS4{secret}".encode()
        for part in (date, region, service, terminator):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, match["signature"]):
            raise SqsFault(403, "SignatureDoesNotMatch",
                           "The request signature we calculated does not match the signature you provided. Check "
                           "your AWS Secret Access Key and signing method. Consult the service documentation for "
                           "details.")

    # -- operations ------------------------------------------------------------------------
    def _queue(self, params):
        url = params.get("QueueUrl")
        if not url:
            raise SqsFault(400, "MissingParameter", "The request must contain the parameter QueueUrl.")
        name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
        queue = self._queues.get(name)
        if queue is None or urlsplit(queue.url).path != urlsplit(url).path:
            raise SqsFault(400, "QueueDoesNotExist", "The specified queue does not exist.")
        return queue

    @staticmethod
    def _int(params, name, default, low, high):
        value = params.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise SqsFault(400, "InvalidParameterValue",
                           f"Value {value} for parameter {name} is invalid. Reason: Must be between {low} and {high}, "
                           "if provided.")
        return value

    def _op_receive_message(self, params):
        with self._changed:
            queue = self._queue(params)
            limit = self._int(params, "MaxNumberOfMessages", 1, 1, MAX_MESSAGES)
            wait = self._int(params, "WaitTimeSeconds", 0, 0, MAX_WAIT_SECONDS)
            visibility = self._int(params, "VisibilityTimeout", queue.visibility_timeout, 0, 43200)
            names = set(params.get("AttributeNames") or ()) | set(params.get("MessageSystemAttributeNames") or ())
            deadline = time.monotonic() + wait
            while True:
                now = time.monotonic()
                visible = [m for m in queue.messages if not m.deleted and m.visible_at <= now][:limit]
                if visible or now >= deadline or self._stopping:
                    break
                # wake up on a send, or when the next in-flight message becomes visible again
                upcoming = [m.visible_at for m in queue.messages if not m.deleted and m.visible_at > now]
                self._changed.wait(min([deadline] + upcoming) - now)
            out = []
            for message in visible:
                message.receive_count += 1
                message.receipt_handle = f"{message.message_id}#{secrets.token_urlsafe(24)}"
                message.handles.add(message.receipt_handle)
                message.visible_at = now + visibility
                entry = {"MessageId": message.message_id, "ReceiptHandle": message.receipt_handle,
                         "MD5OfBody": _md5(message.body), "Body": message.body}
                attributes = {"ApproximateReceiveCount": str(message.receive_count),
                              "SentTimestamp": str(int(message.sent_at * 1000))}
                wanted = {k: v for k, v in attributes.items() if "All" in names or k in names}
                if wanted:
                    entry["Attributes"] = wanted
                out.append(entry)
            return {"Messages": out} if out else {}

    def _delete(self, queue, handle):
        """Delete by receipt handle; a stale handle of a message received again since is accepted
        but deletes nothing, as at AWS. Raises for a handle never issued."""
        message_id = handle.split("#", 1)[0] if isinstance(handle, str) else ""
        for message in queue.messages:
            if message.message_id == message_id and handle in message.handles:
                if not message.deleted and handle == message.receipt_handle:
                    message.deleted = True
                    queue.deleted_ids.append(message.message_id)
                return
        raise SqsFault(400, "ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not a valid receipt '
                                                      "handle.")

    def _op_delete_message(self, params):
        with self._changed:
            queue = self._queue(params)
            if not params.get("ReceiptHandle"):
                raise SqsFault(400, "MissingParameter", "The request must contain the parameter ReceiptHandle.")
            self._delete(queue, params["ReceiptHandle"])
            self._changed.notify_all()
            return {}

    def _op_delete_message_batch(self, params):
        with self._changed:
            queue = self._queue(params)
            entries = params.get("Entries") or []
            if not entries:
                raise SqsFault(400, "EmptyBatchRequest", "There should be at least one DeleteMessageBatchRequestEntry "
                                                         "in the request.")
            if len(entries) > MAX_MESSAGES:
                raise SqsFault(400, "TooManyEntriesInBatchRequest",
                               f"Maximum number of entries per request are {MAX_MESSAGES}. You have sent "
                               f"{len(entries)}.")
            ids = [entry.get("Id") for entry in entries]
            if len(set(ids)) != len(ids):
                raise SqsFault(400, "BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the "
                                                                "same Id.")
            successful, failed = [], []
            for entry in entries:
                if not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", entry.get("Id") or ""):
                    raise SqsFault(400, "InvalidIdFormat", "A batch entry id can only contain alphanumeric "
                                                           "characters, hyphens and underscores.")
                try:
                    self._delete(queue, entry.get("ReceiptHandle"))
                except SqsFault as fault:
                    error = json.loads(fault.response.body)
                    failed.append({"Id": entry["Id"], "SenderFault": True, "Code": "ReceiptHandleIsInvalid",
                                   "Message": error["message"]})
                else:
                    successful.append({"Id": entry["Id"]})
            self._changed.notify_all()
            return {"Successful": successful, "Failed": failed}

    def _op_send_message(self, params):
        queue = self._queue(params)
        body = params.get("MessageBody")
        if not isinstance(body, str) or not body:
            raise SqsFault(400, "MissingParameter", "The request must contain the parameter MessageBody.")
        if len(body.encode("utf-8")) > MAX_BODY_BYTES:
            raise SqsFault(400, "InvalidParameterValue", f"One or more parameters are invalid. Reason: Message must "
                                                         f"be shorter than {MAX_BODY_BYTES} bytes.")
        if _INVALID_BODY.search(body):
            raise SqsFault(400, "InvalidMessageContents", "Invalid binary character in the message body.")
        delay = self._int(params, "DelaySeconds", 0, 0, 900)
        message_id = self.send(queue.name, body, delay)
        return {"MessageId": message_id, "MD5OfMessageBody": _md5(body)}

    def _op_get_queue_url(self, params):
        with self._changed:
            queue = self._queues.get(params.get("QueueName") or "")
            owner = params.get("QueueOwnerAWSAccountId")
            if queue is None or (owner and owner != self.account_id):
                raise SqsFault(400, "QueueDoesNotExist", "The specified queue does not exist.")
            return {"QueueUrl": queue.url}

    def _op_get_queue_attributes(self, params):
        with self._changed:
            queue = self._queue(params)
            now = time.monotonic()
            live = [m for m in queue.messages if not m.deleted]
            attributes = {
                "QueueArn": queue.arn, "VisibilityTimeout": str(queue.visibility_timeout),
                "ApproximateNumberOfMessages": str(sum(m.visible_at <= now for m in live)),
                "ApproximateNumberOfMessagesNotVisible": str(sum(m.visible_at > now for m in live)),
                "ReceiveMessageWaitTimeSeconds": "0", "MaximumMessageSize": str(MAX_BODY_BYTES),
            }
            names = set(params.get("AttributeNames") or ())
            return {"Attributes": {k: v for k, v in attributes.items() if "All" in names or k in names}}

    _OPERATIONS: ClassVar[dict] = {
        "ReceiveMessage": _op_receive_message,
        "DeleteMessage": _op_delete_message,
        "DeleteMessageBatch": _op_delete_message_batch,
        "SendMessage": _op_send_message,
        "GetQueueUrl": _op_get_queue_url,
        "GetQueueAttributes": _op_get_queue_attributes,
    }


def _canonical_query(query):
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, values in query.items() for v in values)
    return "&".join(f"{k}={v}" for k, v in pairs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8074)
    parser.add_argument("--queue", action="append", help="queue to create (repeatable); default sp-api-notifications")
    parser.add_argument("--access-key-id", default=DEFAULT_ACCESS_KEY_ID)
    parser.add_argument("--secret-access-key", default=DEFAULT_SECRET_ACCESS_KEY)
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--visibility-timeout", type=int, default=DEFAULT_VISIBILITY_TIMEOUT)
    parser.add_argument("--fault-5xx", type=float, default=0.0, help="share of calls answered 500 InternalError")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    simulator = SqsSimulator(args.host, args.port, FaultConfig(rate_5xx=args.fault_5xx, seed=args.seed),
                             credentials={args.access_key_id: args.secret_access_key},
                             queues=args.queue or ("sp-api-notifications",), region=args.region,
                             visibility_timeout=args.visibility_timeout)
    simulator.start()
    for name in args.queue or ("sp-api-notifications",):
        print(f"SQS simulator on {simulator.url}: queue {simulator.queue_url(name)} ({simulator.queue_arn(name)}), "
              f"access key id {args.access_key_id!r}", flush=True)
    simulator.serve_forever()


if __name__ == "__main__":
    main()
