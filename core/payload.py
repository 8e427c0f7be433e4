"""Payload helpers: keep raw input as received, hash it for change detection."""

import hashlib
import json

from .errors import PayloadValidationError


def to_text(payload):
    """Store a payload as text: strings and bytes as received, anything else as JSON."""
    if payload is None or payload is False:
        return False
    if isinstance(payload, bytes):
        # Bytes that are not UTF-8 stay visible as \xNN (which no JSON parser accepts), rather
        # than turning silently into U+FFFD and importing a corrupted name.
        return payload.decode("utf-8", errors="backslashreplace")
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)


def storable_text(text, path):
    """``text``, unless PostgreSQL cannot store it: a NUL character or a lone surrogate (JSON's
    ``\\u0000`` and ``\\ud800`` decode to them) would fail the INSERT with no field name."""
    if "\x00" in text:
        raise PayloadValidationError(f"{path}: contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PayloadValidationError(f"{path}: not valid Unicode (a lone surrogate)") from None
    return text


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
