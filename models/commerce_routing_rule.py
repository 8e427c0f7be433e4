from odoo import Command, api, fields, models

from ..core.errors import BusinessError

FULFILLMENT_CHANNELS = [("merchant", "Merchant (we ship)"), ("marketplace", "Marketplace (the channel ships)")]


class CommerceRoutingRule(models.Model):
    """Where and how an imported order goes: the first active rule (by sequence) whose
    conditions all hold applies its actions. An empty condition always holds.

    The shared order importer evaluates the rules for every channel on the canonical order,
    before the sale order is created; the rule applied is kept on the order.
    """

    _name = "commerce.routing.rule"
    _description = "Commerce Order Routing Rule"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    # -- conditions ------------------------------------------------------------------------
    channel = fields.Selection(selection="_channel_selection", help="Only orders of this channel.")
    backend_ids = fields.Many2many("commerce.backend", "commerce_routing_rule_backend_rel", "rule_id", "backend_id",
                                   string="Backends", check_company=True, help="Only orders of these backends.")
    amazon_marketplace_ids = fields.Many2many(
        "commerce.amazon.marketplace", "commerce_routing_rule_marketplace_rel", "rule_id", "marketplace_id",
        string="Marketplaces", help="Only orders placed on these marketplaces.")
    country_ids = fields.Many2many("res.country", "commerce_routing_rule_country_rel", "rule_id", "country_id",
                                   string="Ship-to Countries")
    state_ids = fields.Many2many("res.country.state", "commerce_routing_rule_state_rel", "rule_id", "state_id",
                                 string="Ship-to States")
    product_category_ids = fields.Many2many(
        "product.category", "commerce_routing_rule_category_rel", "rule_id", "category_id",
        string="Product Categories", help="Orders with at least one product in these categories (or below).")
    product_tag_ids = fields.Many2many("product.tag", "commerce_routing_rule_product_tag_rel", "rule_id", "tag_id",
                                       string="Product Tags", help="Orders with at least one product with these tags.")
    amount_min = fields.Float(string="Total from", help="Orders whose total is at least this (0: no minimum).")
    amount_max = fields.Float(string="Total up to", help="Orders whose total is at most this (0: no maximum).")
    fulfillment_channel = fields.Selection(FULFILLMENT_CHANNELS)
    # -- actions ---------------------------------------------------------------------------
    warehouse_id = fields.Many2one("stock.warehouse", check_company=True, help="Ship the order from this warehouse.")
    mcf_backend_id = fields.Many2one(
        "commerce.backend", string="Route through Amazon MCF", check_company=True, domain=[("channel", "=", "amazon")],
        help="Ship from this Amazon account's FBA warehouse (Multi-Channel Fulfilment).")
    team_id = fields.Many2one("crm.team", string="Sales Team", check_company=True)
    tag_ids = fields.Many2many("crm.tag", "commerce_routing_rule_crm_tag_rel", "rule_id", "tag_id", string="Tags")
    hold_for_review = fields.Boolean(help="Leave the order unconfirmed with a review activity, even when the "
                                          "channel says it is confirmed.")
    review_user_id = fields.Many2one("res.users", string="Reviewer",
                                     help="Gets the review activity; default: the backend's managers.")
    order_count = fields.Integer(compute="_compute_order_count")

    _sql_constraints = [
        ("amount_range", "CHECK(amount_max = 0 OR amount_max >= amount_min)",
         "The maximum total must not be below the minimum total."),
    ]

    @api.model
    def _channel_selection(self):
        return self.env["commerce.backend"]._fields["channel"]._description_selection(self.env)

    def _compute_order_count(self):
        counts = dict(self.env["sale.order"]._read_group(
            [("commerce_routing_rule_id", "in", self.ids)], ["commerce_routing_rule_id"], ["__count"]))
        for rule in self:
            rule.order_count = counts.get(rule, 0)

    def action_open_orders(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "sale.order", "name": self.name,
                "view_mode": "list,form", "domain": [("commerce_routing_rule_id", "=", self.id)]}

    # -- evaluation ------------------------------------------------------------------------
    @api.model
    def _route(self, backend, order, products, values):
        """Apply the first matching rule to the sale.order ``values``; return it (or no rule)."""
        rules = self.search([("company_id", "=", backend.company_id.id)])
        variants = self.env["product.product"].union(*products.values()) if products else self.env["product.product"]
        rule = next((r for r in rules if r._matches(backend, order, variants)), self.browse())
        if rule:
            values.update(rule._action_values(backend))
        return rule

    def _matches(self, backend, order, variants):
        self.ensure_one()
        shipping = order.shipping if not order.shipping.is_empty() else (
            order.customer.address if order.customer else order.shipping)
        country = (shipping.country_code or "").upper()
        state = (shipping.state_code or "").upper()
        checks = (
            not self.channel or self.channel == backend.channel,
            not self.backend_ids or backend in self.backend_ids,
            not self.amazon_marketplace_ids or order.marketplace_id in self.amazon_marketplace_ids.mapped("code"),
            not self.country_ids or country in self.country_ids.mapped("code"),
            not self.state_ids or any(s.code == state and s.country_id.code == country for s in self.state_ids),
            not self.product_category_ids or bool(variants.filtered_domain(
                [("categ_id", "child_of", self.product_category_ids.ids)])),
            not self.product_tag_ids or bool(variants.all_product_tag_ids & self.product_tag_ids),
            not self.amount_min or order.total >= self.amount_min,
            not self.amount_max or order.total <= self.amount_max,
            not self.fulfillment_channel or order.fulfillment_channel == self.fulfillment_channel,
        )
        return all(checks)

    def _action_values(self, backend):
        self.ensure_one()
        values = {"commerce_routing_rule_id": self.id}
        if self.mcf_backend_id:
            warehouse = self.mcf_backend_id.amazon_fba_warehouse_id
            if not warehouse:
                raise BusinessError(f"routing rule {self.name!r} routes through Amazon MCF, but "
                                    f"{self.mcf_backend_id.name} has no FBA warehouse: set it on the backend")
            values["warehouse_id"] = warehouse.id
        elif self.warehouse_id:
            values["warehouse_id"] = self.warehouse_id.id
        if self.team_id:
            values["team_id"] = self.team_id.id
        if self.tag_ids:
            values["tag_ids"] = [Command.link(tag.id) for tag in self.tag_ids]
        if self.hold_for_review:
            values["commerce_on_hold"] = True
        return values

    def _on_order_created(self, backend, sale_order):
        """Once the order exists: the review activity of a held order."""
        if not self or not sale_order.commerce_on_hold:
            return
        activity_type = self.env.ref("mail.mail_activity_data_todo", raise_if_not_found=False)
        users = self.review_user_id or backend.manager_ids or self.env.ref("base.user_admin", raise_if_not_found=False)
        for user in users:
            sale_order.activity_schedule(
                activity_type_id=activity_type.id if activity_type else False, user_id=user.id,
                summary=f"Review order (routing rule {self.name})",
                note=f"Held for review by the routing rule {self.name}: release the hold, then confirm the order.")
