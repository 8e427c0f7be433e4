import json
import os

from odoo import api, models

from ..core import mapping_template
from ..core.errors import PayloadValidationError

TEMPLATES_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "templates")


class CommerceMappingTemplate(models.AbstractModel):
    """A backend's value maps, field mappings and routing rules <-> a portable JSON template.

    Records are named by XML ID (else by name), so a template moves between databases; what
    an import changes is planned first (:meth:`preview`), then applied (:meth:`apply`).
    """

    _name = "commerce.mapping.template"
    _description = "Commerce Mapping Template"

    # -- shipped templates -----------------------------------------------------------------
    @api.model
    def default_templates(self):
        """``[(file name, template name)]`` of the templates shipped in ``data/templates``."""
        found = []
        for name in sorted(os.listdir(TEMPLATES_DIR)):
            if name.endswith(".json"):
                found.append((name, self.load_default(name).get("name") or name))
        return found

    @api.model
    def load_default(self, file_name):
        if os.path.basename(file_name) != file_name or not file_name.endswith(".json"):
            raise PayloadValidationError(f"no shipped template {file_name!r}")
        with open(os.path.join(TEMPLATES_DIR, file_name), encoding="utf-8") as handle:
            return json.load(handle)

    @api.model
    def parse(self, raw):
        """Template bytes -> a validated template dict (PayloadValidationError with paths)."""
        try:
            template = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as error:
            raise PayloadValidationError(f"the file is not valid JSON: {error}") from None
        mapping_template.validate(template)
        return template

    # -- references ------------------------------------------------------------------------
    @api.model
    def _ref(self, record):
        if not record:
            return None
        xml_id = record.get_external_id().get(record.id) or None
        if xml_id and xml_id.startswith("__"):
            xml_id = None  # export/import ids of one database mean nothing elsewhere
        return {"model": record._name, "xml_id": xml_id, "name": record.display_name}

    @api.model
    def _resolve(self, ref, company):
        """The record a reference names in this database, or None."""
        if not ref:
            return None
        Model = self.env[ref["model"]]
        if ref.get("xml_id"):
            record = self.env.ref(ref["xml_id"], raise_if_not_found=False)
            if record and record._name == Model._name:
                return record
        domain = [(Model._rec_name or "name", "=", ref.get("name"))]
        if "company_id" in Model._fields:
            domain.append(("company_id", "in", [False, company.id]))
        record = Model.search(domain, limit=1)
        if not record and Model._name == "product.category":
            record = Model.search([("complete_name", "=", ref.get("name"))], limit=1)
        return record or None

    # -- export ----------------------------------------------------------------------------
    @api.model
    def _rules(self, backend):
        return self.env["commerce.routing.rule"].with_context(active_test=False).search(
            [("backend_ids", "in", backend.ids)])

    @api.model
    def export_backend(self, backend, name=None):
        value_maps = [{
            "kind": entry.kind, "external_value": entry.external_value,
            "odoo_record": self._ref(entry.odoo_record) if entry.odoo_record else None,
            "odoo_value": entry.odoo_value or None,
        } for entry in backend.value_map_ids.sorted(lambda e: (e.kind, e.external_value))]
        field_mappings = [{
            "direction": mapping.direction, "model_name": mapping.model_name,
            "external_path": mapping.external_path, "field": mapping.field_id.name,
            "separator": mapping.separator or None, "value_map_kind": mapping.value_map_kind or None,
            "many2one_search": mapping.many2one_search or None, "required": mapping.required,
            "sequence": mapping.sequence,
        } for mapping in backend.field_mapping_ids]
        routing_rules = [self._rule_entry(rule) for rule in self._rules(backend)]
        return {"format": mapping_template.FORMAT, "version": mapping_template.VERSION,
                "name": name or f"{backend.name} mappings", "channel": backend.channel,
                "value_maps": value_maps, "field_mappings": field_mappings, "routing_rules": routing_rules}

    @api.model
    def _rule_entry(self, rule):
        return {
            "name": rule.name, "sequence": rule.sequence, "active": rule.active, "channel": rule.channel or None,
            "marketplaces": rule.amazon_marketplace_ids.mapped("code"),
            "countries": rule.country_ids.mapped("code"),
            "states": [f"{state.country_id.code}-{state.code}" for state in rule.state_ids],
            "product_categories": [self._ref(c) for c in rule.product_category_ids],
            "product_tags": [self._ref(t) for t in rule.product_tag_ids],
            "amount_min": rule.amount_min, "amount_max": rule.amount_max,
            "fulfillment_channel": rule.fulfillment_channel or None,
            "warehouse": self._ref(rule.warehouse_id), "mcf_backend": rule.mcf_backend_id.name or None,
            "team": self._ref(rule.team_id), "tags": [self._ref(t) for t in rule.tag_ids],
            "hold_for_review": rule.hold_for_review,
        }

    # -- import ----------------------------------------------------------------------------
    @api.model
    def preview(self, backend, template):
        """``[{"section", "key", "action", "details"}]``: what :meth:`apply` would do.

        ``action`` is create / update / unchanged, or skip when the entry names records this
        database does not have (they are listed in ``details``).
        """
        mapping_template.validate(template)
        current = self.export_backend(backend)
        rows = []
        for change in mapping_template.plan(current, template):
            entry = change.entry
            _values, missing = self._values(backend, change.section, entry)
            if missing:
                action, details = "skip", "not found here: " + ", ".join(missing)
            else:
                action = change.action
                details = "; ".join(f"{name}: {_show(old)} -> {_show(new)}" for name, (old, new) in change.changes.items())
            rows.append({"section": change.section, "key": change.label, "action": action, "details": details})
        return rows

    @api.model
    def apply(self, backend, template):
        """Import the template into ``backend``; return the count of rows per action."""
        counts = {"create": 0, "update": 0, "unchanged": 0, "skip": 0}
        mapping_template.validate(template)
        current = self.export_backend(backend)
        for change in mapping_template.plan(current, template):
            entry = change.entry
            values, missing = self._values(backend, change.section, entry)
            if missing:
                counts["skip"] += 1
                continue
            counts[change.action] += 1
            if change.action == "unchanged":
                continue
            existing = self._existing(backend, change.section, entry)
            if existing:  # keys match case-insensitively: keep the backend's own spelling
                existing.write({k: v for k, v in values.items() if k not in mapping_template.SECTIONS[change.section]})
            else:
                self._create(backend, change.section, values)
        return counts

    @api.model
    def _existing(self, backend, section, entry):
        if section == "value_maps":
            return backend.value_map_ids.filtered(
                lambda e: e.kind == entry["kind"] and e.external_value.lower() == entry["external_value"].lower())
        if section == "field_mappings":
            return backend.field_mapping_ids.filtered(
                lambda m: (m.direction, m.model_name, m.external_path.lower(), m.field_id.name.lower()) == (
                    entry["direction"], entry["model_name"], entry["external_path"].lower(), entry["field"].lower()))
        return self._rules(backend).filtered(lambda r: r.name.lower() == entry["name"].lower())[:1]

    @api.model
    def _create(self, backend, section, values):
        if section == "routing_rules":
            self.env["commerce.routing.rule"].create({**values, "backend_ids": [(6, 0, backend.ids)],
                                                      "company_id": backend.company_id.id})
            return
        model = "commerce.value.map" if section == "value_maps" else "commerce.field.mapping"
        self.env[model].create({**values, "backend_id": backend.id})

    @api.model
    def _values(self, backend, section, entry):
        """ORM values of a template entry, and the references this database lacks."""
        method = {"value_maps": self._value_map_values, "field_mappings": self._field_mapping_values,
                  "routing_rules": self._rule_values}[section]
        missing = []
        return method(backend, entry, missing), missing

    @api.model
    def _resolve_into(self, backend, ref, missing):
        record = self._resolve(ref, backend.company_id)
        if ref and not record:
            missing.append(f"{ref['model']} {ref.get('xml_id') or ref.get('name')!r}")
        return record

    @api.model
    def _value_map_values(self, backend, entry, missing):
        record = self._resolve_into(backend, entry.get("odoo_record"), missing)
        return {"kind": entry["kind"], "external_value": entry["external_value"],
                "odoo_record": f"{record._name},{record.id}" if record else False,
                "odoo_value": entry.get("odoo_value") or False}

    @api.model
    def _field_mapping_values(self, backend, entry, missing):
        field = self.env["ir.model.fields"]._get(entry["model_name"], entry["field"])
        if not field:
            missing.append(f"field {entry['model_name']}.{entry['field']}")
        values = {"direction": entry["direction"], "model_name": entry["model_name"],
                  "external_path": entry["external_path"], "field_id": field.id}
        for name in ("separator", "value_map_kind", "many2one_search", "required", "sequence"):
            if name in entry:
                values[name] = entry[name] if entry[name] is not None else False
        return values

    @api.model
    def _rule_values(self, backend, entry, missing):
        def codes(model, field_name, wanted, label):
            records = self.env[model].search([(field_name, "in", wanted or [])])
            for code in set(wanted or []) - set(records.mapped(field_name)):
                missing.append(f"{label} {code}")
            return [(6, 0, records.ids)]

        states = self.env["res.country.state"]
        for name in entry.get("states") or []:
            country, _sep, code = name.partition("-")
            state = states.search([("country_id.code", "=", country), ("code", "=", code)], limit=1)
            if not state:
                missing.append(f"state {name}")
            states |= state
        mcf = self.env["commerce.backend"]
        if entry.get("mcf_backend"):
            mcf = mcf.search([("name", "=", entry["mcf_backend"]), ("channel", "=", "amazon"),
                              ("company_id", "=", backend.company_id.id)], limit=1)
            if not mcf:
                missing.append(f"Amazon backend {entry['mcf_backend']!r}")

        def many(refs):
            return [(6, 0, [r.id for r in (self._resolve_into(backend, ref, missing) for ref in refs or []) if r])]

        warehouse = self._resolve_into(backend, entry.get("warehouse"), missing)
        team = self._resolve_into(backend, entry.get("team"), missing)
        return {
            "name": entry["name"], "sequence": entry.get("sequence", 10), "active": entry.get("active", True),
            "channel": entry.get("channel") or False,
            "amazon_marketplace_ids": codes("commerce.amazon.marketplace", "code", entry.get("marketplaces"),
                                            "marketplace"),
            "country_ids": codes("res.country", "code", entry.get("countries"), "country"),
            "state_ids": [(6, 0, states.ids)],
            "product_category_ids": many(entry.get("product_categories")),
            "product_tag_ids": many(entry.get("product_tags")),
            "amount_min": entry.get("amount_min") or 0.0, "amount_max": entry.get("amount_max") or 0.0,
            "fulfillment_channel": entry.get("fulfillment_channel") or False,
            "warehouse_id": warehouse.id if warehouse else False, "mcf_backend_id": mcf.id,
            "team_id": team.id if team else False, "tag_ids": many(entry.get("tags")),
            "hold_for_review": bool(entry.get("hold_for_review")),
        }


def _show(value):
    if isinstance(value, dict):
        return value.get("xml_id") or value.get("name") or "?"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return "—" if value in (None, "", False) else str(value)
