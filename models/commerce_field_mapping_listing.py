from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import html2plaintext


class CommerceFieldMapping(models.Model):
    """Outbound (export) mappings of products, as Amazon listings use them: the value comes
    from an Odoo field, a product attribute (e.g. Brand, Condition) or a fixed default."""

    _inherit = "commerce.field.mapping"

    field_id = fields.Many2one(required=False)
    product_attribute_id = fields.Many2one(
        "product.attribute", string="Product Attribute", ondelete="cascade",
        help="Export: the product's value of this attribute (the variant's own value, else the template's values).")
    default_value = fields.Char(help="Export: sent when the field or attribute gives no value.")

    @api.constrains("field_id", "model_name")
    def _check_field_model(self):
        super(CommerceFieldMapping, self.filtered("field_id"))._check_field_model()

    @api.constrains("direction", "field_id", "product_attribute_id", "default_value")
    def _check_value_source(self):
        for mapping in self:
            if mapping.direction == "import" and not mapping.field_id:
                raise ValidationError(f"{mapping.external_path}: an import mapping writes an Odoo field; choose one")
            if mapping.direction == "export" and not (mapping.field_id or mapping.product_attribute_id
                                                      or mapping.default_value):
                raise ValidationError(f"{mapping.external_path}: choose an Odoo field, a product attribute or a "
                                      "default value")
            if mapping.product_attribute_id and mapping.model_name != "product.template":
                raise ValidationError(f"{mapping.external_path}: product attributes only map products")

    @api.model
    def export_values(self, backend, model_name, record):
        """``{external path: value}`` of ``record`` through the backend's export mappings.

        ``record`` may be a product variant for ``product.template`` mappings: template fields
        read through it, and its sales price includes its attribute extras.
        """
        mappings = self.sudo().search([("backend_id", "=", backend.id), ("direction", "=", "export"),
                                       ("model_name", "=", model_name)])
        values = {}
        for mapping in mappings:
            value = mapping._export_value(record)
            if value in (None, False, "", []):
                value = mapping.default_value or None
            if value is not None:
                values[mapping.external_path.strip()] = value
        return values

    def _export_value(self, record):
        self.ensure_one()
        if self.field_id:
            name = self.field_id.name
            if record._name == "product.product" and name == "list_price":
                return record.lst_price
            value = record[name]
            if self.field_id.ttype == "html":
                return html2plaintext(value or "").strip() or None
            if isinstance(value, models.BaseModel):
                return ", ".join(value.mapped("display_name")) or None
            return value
        if self.product_attribute_id:
            attribute = self.product_attribute_id
            if record._name == "product.product":
                own = record.product_template_attribute_value_ids.filtered(lambda v: v.attribute_id == attribute)
                if own:
                    return ", ".join(own.mapped("name"))
                record = record.product_tmpl_id
            lines = record.attribute_line_ids.filtered(lambda line: line.attribute_id == attribute)
            return ", ".join(lines.value_ids.mapped("name")) or None
        return None
