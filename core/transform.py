"""Field mappings as plain Python: read a value at a path of a payload and convert it.

A path is dotted (``SerializableAttributes.SalesChannel.Value``); ``[n]`` picks a list item
(``SalesItems[0].Sku``) and ``[*]`` every item. Several paths joined with ``+`` combine into
one value (many:1, e.g. ``BillingContact.FirstName + BillingContact.LastName``); several
mappings of one path feed several fields (1:many).
"""

import re
from datetime import date, datetime, timezone

from .errors import PayloadValidationError

_STEP = re.compile(r"([^.\[\]]+)|\[(-?\d+|\*)\]")
TRUE_WORDS = {"1", "true", "yes", "y", "on"}
FALSE_WORDS = {"0", "false", "no", "n", "off", ""}


def parse_path(path):
    steps = []
    for name, index in _STEP.findall(path.strip()):
        steps.append(name if name else ("*" if index == "*" else int(index)))
    if not steps:
        raise ValueError(f"empty path {path!r}")
    return steps


def extract(data, path):
    """The value at ``path`` (a list for ``[*]``), or None when any step is missing."""
    values = [data]
    spread = False
    for step in parse_path(path):
        next_values = []
        for value in values:
            if step == "*":
                spread = True
                next_values.extend(value if isinstance(value, list) else [])
            elif isinstance(step, int):
                if isinstance(value, list) and -len(value) <= step < len(value):
                    next_values.append(value[step])
            elif isinstance(value, dict) and step in value:
                next_values.append(value[step])
        values = next_values
    if spread:
        return [v for v in values if v is not None]
    return values[0] if values else None


def extract_combined(data, expression, separator=" "):
    """``a.b + c.d``: the non-empty values at each path, joined (many:1)."""
    paths = [p.strip() for p in expression.split("+") if p.strip()]
    if len(paths) == 1:
        return extract(data, paths[0])
    parts = [extract(data, p) for p in paths]
    text = separator.join(str(p).strip() for p in parts if p not in (None, "", []))
    return text or None


def convert(value, kind, path=""):
    """Convert a payload value for a field of type ``kind`` (str, int, float, bool, date,
    datetime); other kinds (many2one, selection) pass through for the ORM layer to resolve."""
    if value is None:
        return None
    try:
        if kind == "str":
            return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError("a boolean is not an integer")
            number = float(value)
            if number != int(number):
                raise ValueError(f"{value!r} is not a whole number")
            return int(number)
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError("a boolean is not a number")
            return float(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            word = str(value).strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise ValueError(f"{value!r} is not a yes/no value")
        if kind in ("date", "datetime"):
            if isinstance(value, (date, datetime)):
                moment = value
            else:
                moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            if isinstance(moment, datetime) and moment.tzinfo:
                moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
            return moment.date() if kind == "date" and isinstance(moment, datetime) else moment
    except (TypeError, ValueError) as error:
        raise PayloadValidationError(f"{path or 'value'}: cannot convert {value!r} to {kind}: {error}") from None
    return value
