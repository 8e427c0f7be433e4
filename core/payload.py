"""Payload helpers: keep raw input as received, hash it for change detection."""

import hashlib
import json


def to_text(payload):
    """Store a payload as text: strings and bytes as received, anything else as JSON."""
    if payload is None or payload is False:
        return False
    if isinstance(payload, bytes):
        return payload.decode("utf-8", errors="replace")
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)


def parse(text):
    """Decode a stored payload; raises ValueError (json.JSONDecodeError) when it is not JSON."""
    if not text:
        return None
    return json.loads(text)


def stable_hash(data):
    """A hash of the content, independent of key order: the binding's sync_hash."""
    if isinstance(data, (bytes, str)):
        raw = data.encode("utf-8") if isinstance(data, str) else data
    else:
        raw = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()
