"""ISO-8601 / RFC 3339 dates in channel payloads <-> naive UTC datetimes (what Odoo stores)."""

from datetime import datetime, timezone

from .errors import PayloadValidationError


def parse_datetime(value, path="date"):
    """ISO-8601 text -> naive UTC datetime; a clear validation error naming ``path`` otherwise."""
    if not isinstance(value, str):
        raise PayloadValidationError(f"{path}: expected an ISO-8601 date, got {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadValidationError(f"{path}: {value!r} is not an ISO-8601 date") from None
    if moment.tzinfo:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def format_datetime(moment):
    """Naive UTC datetime -> ``2026-01-31T12:00:00Z``; None stays None."""
    return moment.replace(microsecond=0).isoformat() + "Z" if moment else None
