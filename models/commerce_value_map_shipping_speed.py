from odoo import fields, models


class CommerceValueMap(models.Model):
    """Kind ``shipping_speed``: an Odoo carrier's name -> the Amazon MCF shipping speed
    (Standard, Expedited, Priority) its deliveries get; unmapped carriers ship Standard."""

    _inherit = "commerce.value.map"

    kind = fields.Selection(selection_add=[("shipping_speed", "Amazon shipping speed")],
                            ondelete={"shipping_speed": "cascade"})
