from odoo import api, models

from ..channels.amazon import const


class CommerceOrderImporter(models.AbstractModel):
    """What Amazon orders add to the shared importer: offers, marketplace settings, FBA."""

    _inherit = "commerce.order.importer"

    @api.model
    def _products(self, backend, skus):
        if backend.channel != const.CHANNEL:
            return super()._products(backend, skus)
        marketplace = self._amazon_marketplace()
        found = self.env["commerce.amazon.offer"].products_by_sku(backend, skus, marketplace)
        rest = [sku for sku in dict.fromkeys(skus) if sku not in found]
        if rest:
            found.update(super()._products(backend, rest))  # raises on unknown SKUs, naming them
        return found

    @api.model
    def _order_values(self, backend, order, currency, partner, invoice_partner, shipping_partner):
        values = super()._order_values(backend, order, currency, partner, invoice_partner, shipping_partner)
        if order.channel != const.CHANNEL:
            return values
        marketplace = self._amazon_marketplace()
        settings = backend._amazon_marketplace_settings(marketplace) if marketplace else None
        if settings and settings.pricelist_id and settings.pricelist_id.currency_id == currency:
            values["pricelist_id"] = settings.pricelist_id.id
        if settings and settings.team_id:
            values["team_id"] = settings.team_id.id
        if order.fulfillment_channel == "marketplace" and backend.amazon_fba_warehouse_id:
            values["warehouse_id"] = backend.amazon_fba_warehouse_id.id
        attributes = order.attributes
        order_type = "business" if attributes.get("is_business") else "prime" if attributes.get("is_prime") \
            else "standard"
        values.update({
            "amazon_marketplace_id": marketplace.id if marketplace else False,
            "amazon_fulfillment_channel": order.fulfillment_channel or False,
            "amazon_order_type": order_type,
            "amazon_programs": ", ".join(attributes.get("programs") or []) or False,
            "amazon_purchase_order_number": attributes.get("purchase_order_number") or False,
            "amazon_marketplace_tax": attributes.get("marketplace_tax") or 0.0,
        })
        return values

    @api.model
    def _line_extra_values(self, backend, order, line):
        values = super()._line_extra_values(backend, order, line)
        if order.channel == const.CHANNEL:
            values["amazon_order_item_id"] = line.attributes.get("order_item_id") or False
            values["amazon_gift_message"] = line.attributes.get("gift_message") or False
        return values

    @api.model
    def _amazon_marketplace(self):
        """The marketplace of the order being imported (set by the Amazon backend in the context)."""
        marketplace_id = self.env.context.get("commerce_amazon_marketplace_id")
        return self.env["commerce.amazon.marketplace"].browse(marketplace_id) if marketplace_id \
            else self.env["commerce.amazon.marketplace"]
