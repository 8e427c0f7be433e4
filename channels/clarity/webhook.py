"""Verify Clarity webhook signatures (§6): HMAC-SHA256 over ``timestamp + "." + raw_body``."""

import hashlib
import hmac

from .const import SIGNATURE_VERSION, WEBHOOK_TOLERANCE_SECONDS


class SignatureError(Exception):
    """The request is not a genuine, fresh Clarity event; the reason is for logs, not callers."""


def compute_signature(secret, timestamp, body):
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_signature(secret, timestamp_header, signature_header, body, now, tolerance=WEBHOOK_TOLERANCE_SECONDS):
    """Raise :class:`SignatureError` unless the signature matches and the timestamp is fresh."""
    if not secret:
        raise SignatureError("no webhook secret is configured on the backend")
    try:
        timestamp = int(timestamp_header or "")
    except ValueError:
        raise SignatureError("missing or malformed timestamp") from None
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"timestamp {timestamp} is more than {tolerance} s away from now")
    candidates = [
        part.strip()[len(SIGNATURE_VERSION) + 1:]
        for part in (signature_header or "").split(",")
        if part.strip().startswith(SIGNATURE_VERSION + "=")
    ]
    if not candidates:
        raise SignatureError("missing v1 signature")
    expected = compute_signature(secret, timestamp, body)
    # compare every candidate in constant time; several v1= entries allow secret rotation
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("signature mismatch")
