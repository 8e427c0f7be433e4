"""Mapping templates: a backend's value maps, field mappings and routing rules as portable JSON.

Entries name Odoo records by XML ID or name (never by database id), so a template moves
between backends and databases. This module checks a template's shape and plans what
importing it into a backend changes, by comparing entries in this same portable form; the
ORM side (``commerce.mapping.template``) turns records into entries and back.
"""

from dataclasses import dataclass, field

from .errors import PayloadValidationError

FORMAT = "commerce_connector.mapping_template"
VERSION = 1
# section -> the keys identifying an entry within a backend
SECTIONS = {
    "value_maps": ("kind", "external_value"),
    "field_mappings": ("direction", "model_name", "external_path", "field"),
    "routing_rules": ("name",),
}


@dataclass
class Change:
    section: str
    key: tuple
    action: str  # "create", "update" or "unchanged"
    changes: dict = field(default_factory=dict)  # field -> (current, template)
    entry: dict = field(default_factory=dict)  # the template's entry

    @property
    def label(self):
        return " / ".join(str(part) for part in self.key)


def entry_key(section, entry):
    return tuple(_normalized(entry.get(name)) for name in SECTIONS[section])


def _normalized(value):
    return value.lower() if isinstance(value, str) else value


def validate(template):
    """Raise a PayloadValidationError naming every problem of the template's shape (with paths)."""
    errors = []
    if not isinstance(template, dict):
        raise PayloadValidationError("the template is not a JSON object", detail=[{"path": "", "message": "not an object"}])
    if template.get("format") != FORMAT:
        errors.append({"path": "format", "message": f"must be {FORMAT!r}"})
    if template.get("version") != VERSION:
        errors.append({"path": "version", "message": f"unsupported version {template.get('version')!r}"})
    for section, keys in SECTIONS.items():
        entries = template.get(section, [])
        if not isinstance(entries, list):
            errors.append({"path": section, "message": "must be an array"})
            continue
        seen = set()
        for index, entry in enumerate(entries):
            path = f"{section}[{index}]"
            if not isinstance(entry, dict):
                errors.append({"path": path, "message": "must be an object"})
                continue
            for key in keys:
                if not isinstance(entry.get(key), str) or not entry[key]:
                    errors.append({"path": f"{path}.{key}", "message": "required text"})
            identity = entry_key(section, entry)
            if identity in seen:
                errors.append({"path": path, "message": "duplicate entry"})
            seen.add(identity)
    if errors:
        raise PayloadValidationError(f"invalid mapping template: {errors[0]['path']}: {errors[0]['message']}",
                                     detail=errors)


def plan(current, template):
    """What importing ``template`` over a backend whose entries are ``current`` changes.

    Both are ``{section: [entry, ...]}`` in the portable form; entries of the backend that the
    template does not mention are kept. Returns the list of :class:`Change`.
    """
    changes = []
    for section, keys in SECTIONS.items():
        existing = {entry_key(section, entry): entry for entry in current.get(section, [])}
        for entry in template.get(section, []):
            key = entry_key(section, entry)
            mine = existing.get(key)
            if mine is None:
                changes.append(Change(section, tuple(entry[k] for k in keys), "create", entry=entry))
                continue
            differences = {name: (mine.get(name), value) for name, value in entry.items()
                           if _comparable(mine.get(name)) != _comparable(value)}
            changes.append(Change(section, tuple(entry[k] for k in keys),
                                  "update" if differences else "unchanged", differences, entry))
    return changes


def _comparable(value):
    """Empty values compare equal (None, "", [], False, 0), lists ignore their order."""
    if value in (None, "", [], False, 0, 0.0):
        return None
    if isinstance(value, list):
        return sorted((_comparable(item) for item in value), key=repr)
    if isinstance(value, dict) and "model" in value:  # a record reference: its XML ID, else its name
        return (value["model"], value.get("xml_id") or value.get("name"))
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if _comparable(v) is not None}
    return value
