import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..core.errors import CommerceError

_logger = logging.getLogger(__name__)


class CommerceBackend(models.Model):
    """One connected account of a channel (a Clarity store, an Amazon seller account).

    Channel-specific fields and behaviour live in channel files that extend this model, and are
    dispatched by channel code: ``_<channel>_test_connection`` like ``delivery.carrier`` does.
    """

    _name = "commerce.backend"
    _description = "Commerce Backend"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "sequence, name, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    channel = fields.Selection(
        selection=[("clarity", "Clarity eCommerce"), ("amazon", "Amazon")],
        required=True,
        tracking=True,
    )
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, tracking=True
    )
    warehouse_id = fields.Many2one(
        "stock.warehouse",
        check_company=True,
        tracking=True,
        help="Warehouse whose stock this backend publishes and that ships its orders.",
    )
    state = fields.Selection(
        selection=[
            ("draft", "Draft"),
            ("connected", "Connected"),
            ("auth_failed", "Authentication failed"),
            ("disabled", "Disabled"),
        ],
        default="draft",
        required=True,
        tracking=True,
        copy=False,
    )
    state_message = fields.Char(readonly=True, copy=False, help="Outcome of the last connection check.")
    date_last_connection = fields.Datetime(readonly=True, copy=False)
    # Defaults for the orders a backend imports (every channel)
    pricelist_id = fields.Many2one("product.pricelist", check_company=True, tracking=True,
                                   help="Pricelist of imported orders; one in the order's currency is used "
                                        "when the order is in another currency.")
    currency_id = fields.Many2one("res.currency", string="Store Currency",
                                  default=lambda self: self.env.company.currency_id)
    team_id = fields.Many2one("crm.team", string="Sales Team", check_company=True, tracking=True)
    payment_term_id = fields.Many2one("account.payment.term", check_company=True)
    carrier_id = fields.Many2one("delivery.carrier", string="Shipping Method", check_company=True,
                                 help="Carrier whose product carries the shipping amount of imported orders.")
    discount_product_id = fields.Many2one("product.product", string="Discount Product",
                                          help="Service product for order-level discounts.")
    fee_product_id = fields.Many2one("product.product", string="Fee Product",
                                     help="Service product for handling fees and other charges.")
    tax_rule_ids = fields.One2many("commerce.tax.rule", "backend_id", string="Tax Rules")
    value_map_ids = fields.One2many("commerce.value.map", "backend_id", string="Value Maps")
    field_mapping_ids = fields.One2many("commerce.field.mapping", "backend_id", string="Field Mappings")
    manager_ids = fields.Many2many(
        "res.users",
        string="Managers",
        help="Users alerted when this backend fails (authentication, failed jobs).",
    )
    watermark_ids = fields.One2many("commerce.watermark", "backend_id", string="Sync Watermarks")
    job_ids = fields.One2many("commerce.job", "backend_id")
    binding_ids = fields.One2many("commerce.binding", "backend_id")
    job_count = fields.Integer(compute="_compute_counts")
    failed_job_count = fields.Integer(compute="_compute_counts")
    pending_job_count = fields.Integer(compute="_compute_counts")
    binding_count = fields.Integer(compute="_compute_counts")

    _sql_constraints = [
        ("name_company_uniq", "unique(name, company_id)", "A backend with this name already exists."),
    ]

    def _compute_counts(self):
        job_counts = {
            (backend.id, state): count
            for backend, state, count in self.env["commerce.job"]._read_group(
                [("backend_id", "in", self.ids)], ["backend_id", "state"], ["__count"]
            )
        }
        binding_counts = {
            backend.id: count
            for backend, count in self.env["commerce.binding"]._read_group(
                [("backend_id", "in", self.ids)], ["backend_id"], ["__count"]
            )
        }
        for backend in self:
            per_state = {s: job_counts.get((backend.id, s), 0) for s in ("pending", "started", "done", "failed", "cancelled")}
            backend.job_count = sum(per_state.values())
            backend.failed_job_count = per_state["failed"]
            backend.pending_job_count = per_state["pending"] + per_state["started"]
            backend.binding_count = binding_counts.get(backend.id, 0)

    @api.model
    def _http_retry_options(self):
        """In-call retries of channel clients (seconds); the job engine retries beyond them."""
        param = self.env["ir.config_parameter"].sudo().get_param
        return {
            "max_attempts": int(param("commerce_connector.http_max_attempts", 5)),
            "wait_min": float(param("commerce_connector.http_wait_min", 1)),
            "wait_max": float(param("commerce_connector.http_wait_max", 60)),
        }

    # -- connection ------------------------------------------------------------------------
    def action_test_connection(self):
        """Check the credentials against the remote system; the backend's state follows.

        A failure is reported as a notification rather than raised, so the new state
        (``auth_failed`` and its alert) is kept instead of rolled back with the error.
        """
        failures = []
        for backend in self:
            method = getattr(backend, f"_{backend.channel}_test_connection", None)
            if method is None:
                raise UserError(_("The %s channel cannot check its connection.", backend.channel))
            try:
                message = method()
            except CommerceError as error:
                text = backend._scrub_secrets(error.message)
                if error.kind == "auth":
                    backend._set_auth_failed(text)
                else:
                    backend.write({"state_message": text})
                failures.append(_("%(backend)s: %(error)s", backend=backend.name, error=text))
                continue
            backend._set_connected(message or _("Connection successful"))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "danger" if failures else "success",
                "message": "\n".join(failures) if failures else _("Connection successful"),
                "sticky": bool(failures),
                "next": {"type": "ir.actions.act_window_close"} if not failures else False,
            },
        }

    def _set_connected(self, message):
        self.write(
            {"state": "connected", "state_message": message, "date_last_connection": fields.Datetime.now()}
        )
        # Jobs that waited for the credentials run again at the next runner pass.
        self.env["commerce.job"]._trigger_runner()

    def _set_auth_failed(self, message):
        """Suspend the backend: its jobs wait, its managers get an activity to fix credentials."""
        to_alert = self.filtered(lambda b: b.state != "auth_failed")
        self.write({"state": "auth_failed", "state_message": message})
        for backend in to_alert:
            _logger.warning("commerce backend %s (id %s): authentication failed", backend.name, backend.id)
            backend._notify_managers(
                _("Credentials rejected"),
                _("%(channel)s rejected the credentials of %(backend)s: %(error)s. Jobs are waiting "
                  "until the connection is fixed (Test Connection).",
                  channel=backend.channel, backend=backend.name, error=message),
            )

    def _notify_managers(self, summary, note):
        """One open activity per manager and backend: a repeated failure does not pile up."""
        activity_type = self.env.ref("mail.mail_activity_data_warning", raise_if_not_found=False)
        users = self.manager_ids or self.env.ref("base.user_admin", raise_if_not_found=False)
        for user in users:
            existing = self.activity_ids.filtered(
                lambda a: a.user_id == user and a.summary == summary
            )
            if existing:
                existing.write({"note": note})
                continue
            self.activity_schedule(
                activity_type_id=activity_type.id if activity_type else False,
                summary=summary,
                note=note,
                user_id=user.id,
            )

    def action_disable(self):
        self.write({"state": "disabled"})

    def action_reset_to_draft(self):
        self.write({"state": "draft", "state_message": False})

    # -- smart buttons ---------------------------------------------------------------------
    def action_view_jobs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("commerce_connector.action_commerce_job")
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {"default_backend_id": self.id}
        return action

    def action_view_failed_jobs(self):
        action = self.action_view_jobs()
        action["context"] = {"default_backend_id": self.id, "search_default_filter_failed": 1}
        return action

    def action_view_bindings(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("commerce_connector.action_commerce_binding")
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {"default_backend_id": self.id}
        return action

    @api.ondelete(at_uninstall=False)
    def _unlink_except_with_jobs(self):
        if self.env["commerce.job"].search_count([("backend_id", "in", self.ids), ("state", "in", ("pending", "started"))]):
            raise UserError(_("Archive the backend instead: it still has jobs to run."))
