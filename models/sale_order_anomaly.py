from odoo import _, fields, models
from odoo.exceptions import UserError

from ..core import anomaly


class SaleOrder(models.Model):
    """Imported orders that look unusual for their backend: flagged, explained, held if asked."""

    _inherit = "sale.order"

    commerce_anomaly = fields.Boolean(string="Unusual Order", readonly=True, copy=False, index="btree_not_null")
    commerce_anomaly_reason = fields.Text(string="Why Unusual", readonly=True, copy=False)
    commerce_anomaly_score = fields.Float(string="Anomaly Score", readonly=True, copy=False,
                                          help="The largest robust z-score among the checks (3.5 and more is unusual).")
    commerce_anomaly_date = fields.Datetime(string="Flagged On", readonly=True, copy=False)
    commerce_anomaly_backend_id = fields.Many2one("commerce.backend", string="Flagged By Backend", readonly=True,
                                                  copy=False, index="btree_not_null")
    commerce_anomaly_hold = fields.Boolean(
        string="Held for Review", readonly=True, copy=False,
        help="The backend holds unusual orders: the import leaves it a quotation until someone releases it.")

    # -- checks ------------------------------------------------------------------------------
    def _commerce_check_anomalies(self, backend):
        """Compare this just-imported order with the backend's past orders; flag it if unusual.

        Never raises for an unusual order: it is only held (left unconfirmed) when the backend
        says so. Returns the :class:`core.anomaly.Flag` list.
        """
        self.ensure_one()
        if not backend.anomaly_enabled:
            return []
        options = backend._anomaly_options()
        self.env.flush_all()  # the history is read in SQL
        total, orders_seen = self._commerce_anomaly_total(backend, options)
        flags = [total] if total else []
        if orders_seen >= options["min_history"]:  # fewer orders cannot hold enough lines of a product
            flags += self._commerce_anomaly_lines(backend, options)
        if flags:
            self._commerce_flag_anomaly(backend, flags)
        return flags

    def _commerce_anomaly_total(self, backend, options):
        history = [row[0] for row in self._commerce_history(backend, """
            SELECT so.amount_total FROM sale_order so {join}
             WHERE so.id != %(order)s AND so.currency_id = %(currency)s AND so.state != 'cancel'
          ORDER BY so.date_order DESC, so.id DESC LIMIT %(limit)s""", options)]
        flag = anomaly.check(
            self.amount_total, history, metric="total", transform=anomaly.log_scale, floor=anomaly.LOG_FLOOR,
            threshold=options["threshold"], min_history=options["min_history"],
            describe=anomaly.describe_ratio("total", what="orders"))
        return flag, len(history)

    def _commerce_anomaly_lines(self, backend, options):
        lines = self.order_line.filtered(
            lambda l: l.product_id and not l.display_type and not l.is_delivery and l.product_id.type != "service")
        history = {}  # product id -> [(quantity, price)], newest first, one query for every product
        for product_id, quantity, price in self._commerce_history(backend, """
                SELECT product_id, product_uom_qty, price_unit FROM (
                    SELECT sol.product_id, sol.product_uom_qty, sol.price_unit,
                           row_number() OVER (PARTITION BY sol.product_id ORDER BY sol.id DESC) AS rank
                      FROM sale_order_line sol
                      JOIN sale_order so ON so.id = sol.order_id {join}
                     WHERE sol.order_id != %(order)s AND sol.product_id = ANY(%(products)s)
                       AND so.state != 'cancel' AND so.currency_id = %(currency)s) recent
                 WHERE rank <= %(limit)s""", options, products=lines.product_id.ids):
            history.setdefault(product_id, []).append((quantity, price))
        flags = []
        for product in lines.product_id:
            rows = history.get(product.id, [])
            label = product.display_name
            for line in lines.filtered(lambda l: l.product_id == product):
                quantity = anomaly.check(
                    line.product_uom_qty, [row[0] for row in rows], metric="quantity", transform=anomaly.log_scale,
                    floor=anomaly.LOG_FLOOR,
                    threshold=options["threshold"], min_history=options["min_history"],
                    describe=lambda value, center, count, label=label: (
                        f"quantity {value:,.0f} of {label} is {anomaly.times(value, center)} the median of "
                        f"{center:,.0f} over the last {count} lines of this product"))
                flags += [quantity] if quantity else []
                flags += [flag for flag in [self._commerce_anomaly_price(line, rows, options)] if flag]
        return flags

    def _commerce_anomaly_price(self, line, rows, options):
        """The price against the product's list price, judged by how this backend usually sells it."""
        list_price = line.product_id.lst_price
        if not list_price or self.currency_id != self.company_id.currency_id or not line.price_unit:
            return None
        ratios = [row[1] / list_price for row in rows if row[1]]
        ratio = line.price_unit / list_price
        currency = self.currency_id

        def describe(value, center, count):
            return (f"price {currency.format(line.price_unit)} of {line.product_id.display_name} is "
                    f"{anomaly.times(value, 1.0)} its list price {currency.format(list_price)} "
                    f"(usually {anomaly.times(center, 1.0)} over the last {count} lines)")

        return anomaly.check(ratio, ratios, metric="price", transform=anomaly.log_scale, floor=anomaly.LOG_FLOOR,
                             threshold=options["threshold"], min_history=options["min_history"], describe=describe)

    def _commerce_history(self, backend, query, options, **params):
        """Rows of ``query`` over this backend's imported orders (``{join}`` restricts to them)."""
        join = ("JOIN commerce_binding binding ON binding.res_id = so.id AND binding.res_model = 'sale.order' "
                "AND binding.backend_id = %(backend)s")
        self.env.cr.execute(query.format(join=join), {
            "backend": backend.id, "order": self.id, "currency": self.currency_id.id,
            "limit": options["history_size"], **params})
        return self.env.cr.fetchall()

    def _commerce_flag_anomaly(self, backend, flags):
        reason = "\n".join(flag.reason for flag in flags)
        self.write({
            "commerce_anomaly": True,
            "commerce_anomaly_reason": reason,
            "commerce_anomaly_score": max(abs(flag.score) for flag in flags),
            "commerce_anomaly_date": fields.Datetime.now(),
            "commerce_anomaly_backend_id": backend.id,
            "commerce_anomaly_hold": backend.anomaly_hold_orders,
        })
        users = backend.manager_ids or self.env.ref("base.user_admin", raise_if_not_found=False)
        activity_type = self.env.ref("mail.mail_activity_data_todo", raise_if_not_found=False)
        for user in users:
            self.activity_schedule(
                activity_type_id=activity_type.id if activity_type else False,
                summary=self._commerce_review_summary(), note=reason, user_id=user.id)

    # -- review --------------------------------------------------------------------------------
    def _commerce_review_summary(self):
        return _("Review unusual order")

    def action_confirm(self):
        held = self.filtered("commerce_anomaly_hold")
        if held and self.env.context.get("commerce_import_backend_id"):
            # An import leaves held orders as quotations; the other orders go on.
            rest = self - held
            return super(SaleOrder, rest).action_confirm() if rest else True
        if held:
            raise UserError(_("%s is held for review as unusual: release it first.",
                              ", ".join(held.mapped("name"))))
        return super().action_confirm()

    def action_commerce_release_anomaly(self):
        """The order was reviewed: it may be confirmed; the review activities are done."""
        self.write({"commerce_anomaly_hold": False})
        self.activity_ids.filtered(lambda a: a.summary == self._commerce_review_summary()).action_done()
        return True
