import ast
import functools
import re

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..channels.clarity import mapper as clarity_mapper
from ..core import suggest
from ..core.errors import BUSINESS, CommerceError
from .commerce_field_mapping import FIELD_CONVERSIONS
from .commerce_value_map import VALUE_MAP_KIND_SELECTION, VALUE_MAP_KINDS

# The order importer's refusal names the SKUs: "unknown SKU A, B: create the product ...".
_UNKNOWN_SKU = re.compile(r"unknown SKU (.+?): create the product")
# A field mapping's refusal names the kind and the value: "Path: no carrier value map for 'UPS'".
_UNMAPPED_VALUE = re.compile(r"no (\w+) value map for (.+)$")
SUGGESTION_KINDS = [("sku", "SKU")] + [(k, label) for k, label in VALUE_MAP_KIND_SELECTION if VALUE_MAP_KINDS.get(k)] \
    + [("field", "Custom attribute")]
CLARITY_ATTRIBUTE_PATH = "SerializableAttributes.{}.Value"


def _unmapped_values(message):
    """``[(kind, external value)]`` a failure message says have no mapping."""
    found = []
    match = _UNKNOWN_SKU.search(message)
    if match:
        found += [("sku", sku) for sku in match.group(1).split(", ")]
    match = _UNMAPPED_VALUE.search(message)
    if match and VALUE_MAP_KINDS.get(match.group(1)):
        try:
            value = ast.literal_eval(match.group(2))
        except (ValueError, SyntaxError):
            value = match.group(2)
        found.append((match.group(1), str(value)))
    return found


class CommerceMappingSuggestion(models.Model):
    """A proposed mapping of an unmapped external value to an Odoo record, with its score and reason.

    Computed offline by :mod:`..core.suggest` (hourly cron, or the list's button) from failed
    ``business`` jobs (unknown SKUs, values a field mapping found no value map for) and from the
    custom attributes of imported Clarity orders that no field mapping reads. Accepting creates the
    binding, value map or field mapping and retries the jobs that waited for it; a rejected record
    is never proposed again for that value.
    """

    _name = "commerce.mapping.suggestion"
    _description = "Commerce Mapping Suggestion"
    _order = "state, score desc, id desc"
    _rec_name = "external_value"

    backend_id = fields.Many2one("commerce.backend", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    kind = fields.Selection(SUGGESTION_KINDS, required=True, index=True)
    external_value = fields.Char(required=True, index=True)
    res_model = fields.Char(string="Odoo Model", required=True)
    res_id = fields.Many2oneReference(string="Suggested Record", model_field="res_model", required=True)
    suggested_record_ref = fields.Reference(
        selection=[(m, m) for m in ["product.product", "ir.model.fields", *filter(None, VALUE_MAP_KINDS.values())]],
        string="Suggestion", compute="_compute_suggested_record_ref")
    score = fields.Integer(help="0-100: how strongly the evidence points at the suggested record.")
    reason = fields.Text(help="The evidence, in plain words.")
    state = fields.Selection([("proposed", "Proposed"), ("accepted", "Accepted"), ("rejected", "Rejected")],
                             default="proposed", required=True, index=True)
    job_ids = fields.Many2many("commerce.job", string="Waiting Jobs",
                               help="Failed jobs retried when this suggestion is accepted.")
    job_count = fields.Integer(compute="_compute_job_count", string="Jobs")

    _sql_constraints = [("suggestion_uniq", "unique(backend_id, kind, external_value, res_model, res_id)",
                         "This record was already suggested for this value.")]

    @api.depends("res_model", "res_id")
    def _compute_suggested_record_ref(self):
        for suggestion in self:
            record = suggestion.res_model in self.env and self.env[suggestion.res_model].browse(suggestion.res_id)
            suggestion.suggested_record_ref = f"{record._name},{record.id}" if record and record.exists() else False

    @api.depends("job_ids")
    def _compute_job_count(self):
        for suggestion in self:
            suggestion.job_count = len(suggestion.job_ids)

    # -- computing -------------------------------------------------------------------------
    @api.model
    def _cron_compute(self):
        self.action_compute()

    @api.model
    def action_compute(self):
        """The list's "Compute suggestions" button: what the cron does, for the backends one can see."""
        for backend in self.env["commerce.backend"].search([]):
            self._compute_for_backend(backend)
            self._compute_field_suggestions(backend)
        return {"type": "ir.actions.client", "tag": "reload"}

    @api.model
    def _compute_for_backend(self, backend):
        """Propose a record for every value a failed business job of ``backend`` could not map."""
        jobs = self.env["commerce.job"].sudo().search([
            ("backend_id", "=", backend.id), ("state", "=", "failed"), ("error_kind", "=", BUSINESS),
            "|", ("error_message", "ilike", "unknown SKU"), ("error_message", "ilike", "value map for")])
        waiting = {}
        for job in jobs:
            for key in _unmapped_values(job.error_message or ""):
                waiting[key] = waiting.get(key, self.env["commerce.job"]) | job
        Binding = self.env["commerce.binding"]
        products = None
        created = self.browse()
        for (kind, value), value_jobs in waiting.items():
            if kind != "sku":
                created |= self.suggest_value(backend, kind, value, value_jobs)
            elif not Binding.lookup_product(backend, value):  # else mapped since: a plain retry is enough
                products = products or self._product_candidates(backend)
                created |= self._propose(backend, "sku", value, "product.product",
                                         functools.partial(self._rank_records, value, *products), value_jobs)
        return created

    @api.model
    def suggest_value(self, backend, kind, external_value, jobs=None):
        """Propose the record a value-map value (payment method, carrier, category) most likely means."""
        model = VALUE_MAP_KINDS.get(kind)
        if not model:
            raise UserError(_("Values of kind %s are not mapped to records.", kind))
        if self.env["commerce.value.map"].lookup(backend, kind, external_value):
            return self.browse()
        Model = self.env[model]
        domain = [("company_id", "in", (False, backend.company_id.id))] if "company_id" in Model._fields else []
        candidates = [suggest.Candidate(r.id, r.display_name) for r in Model.search(domain)]
        history = [(m.external_value, m.odoo_record.id) for m in backend.value_map_ids
                   if m.kind == kind and m.odoo_record and m.odoo_record._name == model]
        return self._propose(backend, kind, external_value, model,
                             functools.partial(self._rank_records, external_value, candidates, history),
                             jobs or self.env["commerce.job"])

    @api.model
    def _compute_field_suggestions(self, backend, job_limit=200):
        """Propose a sale order field for each custom attribute of recent Clarity orders that no
        field mapping reads, judged by name and by the type of the values seen."""
        if backend.channel != "clarity":
            return self.browse()
        jobs = self.env["commerce.job"].sudo().search([
            ("backend_id", "=", backend.id), ("job_type", "=", "clarity.order.import"),
            ("state", "in", ("done", "failed"))], limit=job_limit)
        samples = {}
        for job in jobs:
            try:
                attributes = clarity_mapper.order_from_clarity(backend._clarity_event_data(job)).attributes
            except CommerceError:
                continue  # a payload the importer refuses says nothing reliable about attributes
            for name, value in attributes.items():
                samples.setdefault(CLARITY_ATTRIBUTE_PATH.format(name), (name, []))[1].append(value)
        mapped = set(self.env["commerce.field.mapping"].sudo().search([
            ("backend_id", "=", backend.id), ("direction", "=", "import"),
            ("model_name", "=", "sale.order")]).mapped("external_path"))
        fields_ = self.env["ir.model.fields"].sudo().search([
            ("model", "=", "sale.order"), ("store", "=", True), ("readonly", "=", False),
            ("ttype", "in", list(FIELD_CONVERSIONS))])
        candidates = [suggest.Candidate(f.id, f.field_description, f.name, field_type=f.ttype) for f in fields_]
        created = self.browse()
        for path, (name, values) in samples.items():
            if path in mapped:
                continue
            rank = functools.partial(self._rank_fields, name, values, candidates)
            created |= self._propose(backend, "field", path, "ir.model.fields", rank, jobs.browse())
        return created

    @api.model
    def _rank_fields(self, attribute, samples, candidates, excluded):
        return suggest.suggest_field(attribute, samples, [c for c in candidates if c.id not in excluded], limit=1)

    @api.model
    def _product_candidates(self, backend):
        products = self.env["product.product"].search_read(
            [("company_id", "in", (False, backend.company_id.id)), "|", ("default_code", "!=", False),
             ("barcode", "!=", False)], ["name", "default_code", "barcode"])
        candidates = [suggest.Candidate(p["id"], p["name"], p["default_code"] or None, p["barcode"] or None)
                      for p in products]
        bindings = self.env["commerce.binding"].sudo().search(
            [("backend_id", "=", backend.id), ("res_model", "=", "product.product")])
        return candidates, [(b.external_id, b.res_id) for b in bindings]

    @api.model
    def _propose(self, backend, kind, value, res_model, rank, jobs):
        """The open suggestion for ``value`` (jobs added), or a new one from ``rank(excluded ids)``;
        nothing when nothing fits."""
        existing = self.sudo().search([("backend_id", "=", backend.id), ("kind", "=", kind),
                                       ("external_value", "=", value)])
        open_one = existing.filtered(lambda s: s.state in ("proposed", "accepted"))[:1]
        if open_one:
            open_one.job_ids = [(4, job.id) for job in jobs]
            return self.browse()
        ranked = rank(set(existing.filtered(lambda s: s.state == "rejected").mapped("res_id")))
        if not ranked:
            return self.browse()
        best = ranked[0]
        return self.sudo().create({
            "backend_id": backend.id, "kind": kind, "external_value": value, "res_model": res_model,
            "res_id": best.candidate_id, "score": best.score, "reason": best.reason,
            "job_ids": [(6, 0, jobs.ids)],
        })

    @api.model
    def _rank_records(self, value, candidates, history, excluded):
        return suggest.suggest(value, [c for c in candidates if c.id not in excluded], accepted=history, limit=1)

    # -- user actions ----------------------------------------------------------------------
    def action_accept(self):
        """Create the binding / value map / field mapping each suggestion proposes, then retry its
        waiting jobs."""
        self.check_access("write")  # the mappings below are written as superuser
        for suggestion in self.filtered(lambda s: s.state == "proposed"):
            record = suggestion.suggested_record_ref
            if not record:
                raise UserError(_("The suggested record of %s no longer exists.", suggestion.external_value))
            backend = suggestion.backend_id
            if suggestion.kind == "sku":
                Binding = self.env["commerce.binding"]
                bound = Binding.lookup_external(backend, record)
                if bound:
                    # Re-binding would silently break the SKU the product is already known by.
                    raise UserError(_("%(product)s is already bound to SKU %(sku)s on %(backend)s.",
                                      product=record.display_name, sku=bound, backend=backend.name))
                Binding.bind(backend, record, suggestion.external_value)
            elif suggestion.kind == "field":
                self.env["commerce.field.mapping"].sudo().create({
                    "backend_id": backend.id, "direction": "import", "model_name": record.model,
                    "external_path": suggestion.external_value, "field_id": record.id})
            else:
                self.env["commerce.value.map"].sudo().create({
                    "backend_id": backend.id, "kind": suggestion.kind,
                    "external_value": suggestion.external_value,
                    "odoo_record": f"{record._name},{record.id}"})
            suggestion.state = "accepted"
            suggestion.job_ids.filtered(lambda j: j.state == "failed").action_retry()
        return True

    def action_reject(self):
        self.filtered(lambda s: s.state == "proposed").write({"state": "rejected"})
        return True
