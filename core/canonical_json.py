"""The canonical dataclasses <-> JSON (the REST API's wire shape), plain Python.

``to_json`` drops ``raw`` (the channel's own payload) and writes dates as RFC 3339 UTC.
``from_json`` is strict: unknown keys, missing required fields and wrong types are all
collected with their path (``lines[0].quantity``) and raised together as one
:class:`CanonicalValidationError`, so a client fixes its payload in one round trip.
"""

import dataclasses
import types
import typing
from datetime import date, datetime

from . import canonical
from .dates import format_datetime, parse_datetime
from .errors import PayloadValidationError

# Element types of the list fields (the dataclasses annotate them as plain ``list``).
LIST_ITEMS = {
    (canonical.Customer, "shipping"): canonical.Address,
    (canonical.OrderLine, "discounts"): canonical.Discount,
    (canonical.OrderLine, "charges"): canonical.Charge,
    (canonical.Order, "lines"): canonical.OrderLine,
    (canonical.Order, "discounts"): canonical.Discount,
    (canonical.Product, "variants"): canonical.ProductVariant,
    (canonical.Invoice, "lines"): canonical.InvoiceLine,
}
SKIPPED = {"raw"}


class CanonicalValidationError(PayloadValidationError):
    """``detail`` is ``[{"path": ..., "message": ...}, ...]``."""

    def __init__(self, errors):
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{first['path'] or 'body'}: {first['message']}{more}", detail=errors)


def to_json(obj):
    """A canonical dataclass (or a list / dict / scalar of them) -> JSON-ready values."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.name not in SKIPPED}
    if isinstance(obj, datetime):
        return format_datetime(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, (list, tuple)):
        return [to_json(item) for item in obj]
    if isinstance(obj, dict):
        return {str(key): to_json(value) for key, value in obj.items()}
    return obj


def from_json(cls, data, keep_raw=True):
    """JSON values -> an instance of the canonical dataclass ``cls``.

    With ``keep_raw`` the input becomes the object's ``raw``, so the backend's field mappings
    apply to API payloads too (by their canonical paths, e.g. ``attributes.gift_note``).
    """
    errors = []
    result = _read_dataclass(cls, data, "", errors)
    if errors:
        raise CanonicalValidationError(errors)
    if keep_raw and any(f.name == "raw" for f in dataclasses.fields(cls)):
        result.raw = data
    return result


def _join(path, name):
    return f"{path}.{name}" if path else name


def _read_dataclass(cls, data, path, errors):
    if not isinstance(data, dict):
        errors.append({"path": path, "message": f"expected an object, got {_kind(data)}"})
        return None
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.name not in SKIPPED}
    for key in data:
        if key not in known:
            errors.append({"path": _join(path, key), "message": "unknown field"})
    values = {}
    missing = False
    for name, spec in known.items():
        field_path = _join(path, name)
        required = spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
        if name not in data:
            if required:
                errors.append({"path": field_path, "message": "required field is missing"})
                missing = True
            continue
        values[name] = _read_value(hints[name], data[name], field_path, errors, LIST_ITEMS.get((cls, name)))
    return None if missing else cls(**values)


def _read_value(hint, value, path, errors, item_cls=None):
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        hint = args[0]
    if value is None:
        if optional:
            return None
        errors.append({"path": path, "message": "must not be null"})
        return None
    if dataclasses.is_dataclass(hint):
        return _read_dataclass(hint, value, path, errors)
    if hint is list:
        if not isinstance(value, list):
            errors.append({"path": path, "message": f"expected an array, got {_kind(value)}"})
            return []
        if item_cls is None:
            return list(value)
        return [_read_dataclass(item_cls, item, f"{path}[{index}]", errors) for index, item in enumerate(value)]
    if hint is dict:
        if not isinstance(value, dict):
            errors.append({"path": path, "message": f"expected an object, got {_kind(value)}"})
            return {}
        return dict(value)
    if hint is datetime:
        try:
            return parse_datetime(value, path)
        except PayloadValidationError as error:
            errors.append({"path": path, "message": error.message.removeprefix(f"{path}: ")})
            return None
    if hint is bool:
        if not isinstance(value, bool):
            errors.append({"path": path, "message": f"expected a boolean, got {_kind(value)}"})
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append({"path": path, "message": f"expected a number, got {_kind(value)}"})
            return 0.0
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            errors.append({"path": path, "message": f"expected a string, got {_kind(value)}"})
            return ""
        return value
    errors.append({"path": path, "message": f"unsupported type {hint!r}"})
    return None


def _kind(value):
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)
