from odoo import Command, api, models
from odoo.tools import float_compare


class CommerceProductImporter(models.AbstractModel):
    """Canonical products from any channel -> product.template and its variants.

    Variants are matched by their attribute values (attributes are created when missing),
    and every variant is bound to its SKU so orders find it.
    """

    _name = "commerce.product.importer"
    _description = "Commerce Product Importer"

    @api.model
    def import_product(self, backend, product):
        Binding = self.env["commerce.binding"]
        Template = self.env["product.template"].with_context(tracking_disable=True, active_test=False)
        template = Binding.lookup(backend, "product.template", product.external_id)
        if not template:
            variant = self.env["product.product"].with_context(active_test=False).search(
                [("default_code", "=", product.sku)], limit=1)
            template = variant.product_tmpl_id
        if template and Binding.is_stale(backend, "product.template", product.external_id, product.updated_at):
            return template
        vals = {"name": product.name, "active": product.active, "sale_ok": True}
        if product.price is not None:
            vals["list_price"] = product.price
        if not product.variants:
            vals["default_code"] = product.sku
        if product.raw:
            vals.update(self.env["commerce.field.mapping"].import_values(backend, "product.template", product.raw))
        if template:
            changed = {k: v for k, v in vals.items() if template[k] != v}
            if changed:
                template.write(changed)
        else:
            template = Template.create({**vals, "type": "consu", "is_storable": True})
        if product.variants:
            self._sync_variants(backend, template, product)
        else:
            Binding.bind(backend, template.product_variant_id, product.sku)
        Binding.bind(backend, template, product.external_id, external_date=product.updated_at)
        return template

    @api.model
    def _sync_variants(self, backend, template, product):
        values_by_attribute = {}
        for variant in product.variants:
            for name, value in variant.attributes.items():
                values_by_attribute.setdefault(name, [])
                if value not in values_by_attribute[name]:
                    values_by_attribute[name].append(value)
        for name, values in values_by_attribute.items():
            attribute = self._attribute(name)
            attribute_values = self._attribute_values(attribute, values)
            line = template.attribute_line_ids.filtered(lambda l: l.attribute_id == attribute)
            if line:
                missing = attribute_values - line.value_ids
                if missing:
                    line.value_ids = [Command.link(v.id) for v in missing]
            else:
                template.attribute_line_ids = [Command.create({
                    "attribute_id": attribute.id, "value_ids": [Command.set(attribute_values.ids)]})]
        Binding = self.env["commerce.binding"]
        for variant in product.variants:
            record = self._find_variant(template, variant.attributes)
            if not record:
                continue  # an attribute combination Odoo excludes: nothing to bind
            vals = {"default_code": variant.sku}
            if (variant.price is not None and product.price is not None
                    and float_compare(variant.price, record.lst_price, precision_digits=2)):
                # Odoo prices a variant as the template price plus its values' extras: the
                # variant's own difference goes on its own attribute values when it is alone.
                own = record.product_template_attribute_value_ids
                if len(own) == 1:
                    own.price_extra = variant.price - template.list_price
            record.write({k: v for k, v in vals.items() if record[k] != v})
            Binding.bind(backend, record, variant.sku, external_date=product.updated_at)

    @api.model
    def _attribute(self, name):
        Attribute = self.env["product.attribute"]
        return Attribute.search([("name", "=ilike", name)], limit=1) or Attribute.create(
            {"name": name, "create_variant": "always"})

    @api.model
    def _attribute_values(self, attribute, names):
        Value = self.env["product.attribute.value"]
        found = Value
        for name in names:
            value = attribute.value_ids.filtered(lambda v: v.name.lower() == name.lower())[:1]
            found |= value or Value.create({"attribute_id": attribute.id, "name": name})
        return found

    @api.model
    def _find_variant(self, template, attributes):
        wanted = {(name.lower(), str(value).lower()) for name, value in attributes.items()}
        for record in template.with_context(active_test=False).product_variant_ids:
            have = {(ptav.attribute_id.name.lower(), ptav.name.lower())
                    for ptav in record.product_template_attribute_value_ids}
            if have == wanted:
                return record
        return self.env["product.product"]
