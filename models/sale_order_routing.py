from odoo import _, fields, models
from odoo.exceptions import UserError


class SaleOrder(models.Model):
    _inherit = "sale.order"

    commerce_routing_rule_id = fields.Many2one("commerce.routing.rule", string="Routing Rule", readonly=True,
                                               copy=False, index="btree_not_null",
                                               help="The connector's routing rule applied when the order was imported.")
    commerce_on_hold = fields.Boolean(string="Held by Routing Rule", readonly=True, copy=False, tracking=True,
                                      help="A routing rule holds the order: it cannot be confirmed until released.")

    def action_confirm(self):
        held = self.filtered("commerce_on_hold")
        if held:
            raise UserError(_("Release the routing rule hold of %s before confirming.", ", ".join(held.mapped("name"))))
        return super().action_confirm()

    def action_commerce_release_hold(self):
        """The review is done: the order can be confirmed; its review activities are closed."""
        for order in self.filtered("commerce_on_hold"):
            order.commerce_on_hold = False
            order.activity_ids.filtered(lambda a: a.summary and a.summary.startswith("Review order")).action_feedback(
                feedback=_("Hold released by %s", self.env.user.name))
        return True
