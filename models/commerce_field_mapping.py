from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..core import transform
from ..core.errors import BusinessError, PayloadValidationError
from .commerce_value_map import VALUE_MAP_KIND_SELECTION

FIELD_CONVERSIONS = {
    "char": "str", "text": "str", "html": "str", "selection": "str",
    "integer": "int", "float": "float", "monetary": "float", "boolean": "bool",
    "date": "date", "datetime": "datetime", "many2one": "str",
}


class CommerceFieldMapping(models.Model):
    """A payload path <-> an Odoo field, with type conversion, per backend and direction.

    The path logic is plain Python (:mod:`core.transform`); only resolving many2one and
    value-mapped selections touches the ORM, here.
    """

    _name = "commerce.field.mapping"
    _description = "Commerce Field Mapping"
    _order = "backend_id, direction, sequence, id"

    backend_id = fields.Many2one("commerce.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    direction = fields.Selection([("import", "Import"), ("export", "Export")], required=True, default="import")
    model_name = fields.Selection(
        [("sale.order", "Sale order"), ("res.partner", "Customer"), ("product.template", "Product")],
        string="Odoo Model", required=True, default="sale.order")
    external_path = fields.Char(required=True, help="e.g. SerializableAttributes.SalesChannel.Value; "
                                                    "join several with + to combine them into one field")
    separator = fields.Char(default=" ", help="Between combined values.")
    field_id = fields.Many2one("ir.model.fields", string="Odoo Field", required=True, ondelete="cascade",
                               domain="[('model', '=', model_name), ('store', '=', True), "
                                      "('ttype', 'in', %s)]" % list(FIELD_CONVERSIONS))
    value_map_kind = fields.Selection(VALUE_MAP_KIND_SELECTION, string="Translate through value map")
    many2one_search = fields.Char(default="name", help="Field of the target model a many2one value is "
                                                       "looked up by (name, code, ...).")
    required = fields.Boolean(help="A payload without this value is refused (validation error).")

    @api.constrains("field_id", "model_name")
    def _check_field_model(self):
        for mapping in self:
            if mapping.field_id.model != mapping.model_name:
                raise ValidationError(f"{mapping.field_id.name} is not a field of {mapping.model_name}")

    @api.model
    def import_values(self, backend, model_name, data):
        """Values for ``model_name`` read from the raw payload through the backend's mappings."""
        mappings = self.sudo().search([("backend_id", "=", backend.id), ("direction", "=", "import"),
                                       ("model_name", "=", model_name)])
        values = {}
        for mapping in mappings:
            raw = transform.extract_combined(data, mapping.external_path, mapping.separator or " ")
            if raw in (None, "", []):
                if mapping.required:
                    raise PayloadValidationError(f"{mapping.external_path}: required by a field mapping")
                continue
            values[mapping.field_id.name] = mapping._odoo_value(backend, raw)
        return values

    def _odoo_value(self, backend, raw):
        self.ensure_one()
        field = self.env[self.model_name]._fields[self.field_id.name]
        if self.value_map_kind:
            mapped = self.env["commerce.value.map"].lookup(backend, self.value_map_kind, raw)
            if mapped is None:
                raise BusinessError(f"{self.external_path}: no {self.value_map_kind} value map for {raw!r}")
            raw = mapped.id if hasattr(mapped, "_name") else mapped
            if field.type == "many2one":
                return raw
        value = transform.convert(raw, FIELD_CONVERSIONS.get(field.type, "str"), self.external_path)
        if field.type == "many2one":
            target = self.env[field.comodel_name].search([(self.many2one_search or "name", "=ilike", value)], limit=1)
            if not target:
                raise BusinessError(f"{self.external_path}: no {field.comodel_name} named {value!r}")
            return target.id
        if field.type == "selection":
            keys = dict(field._description_selection(self.env))
            if value not in keys:
                by_label = {label.lower(): key for key, label in keys.items()}
                if str(value).lower() not in by_label:
                    raise BusinessError(f"{self.external_path}: {value!r} is not a value of {field.name}")
                value = by_label[str(value).lower()]
        return value
