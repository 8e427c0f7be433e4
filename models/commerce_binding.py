from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..core.payload import stable_hash


class CommerceBinding(models.Model):
    """The external-ID map: which Odoo record is which record of a backend.

    Importers and exporters go through :meth:`bind`, :meth:`lookup` / :meth:`lookup_external`
    and :meth:`is_unchanged` so a payload already applied is skipped by its hash.
    """

    _name = "commerce.binding"
    _description = "Commerce External ID"
    _order = "backend_id, res_model, external_id"
    _rec_name = "external_id"

    backend_id = fields.Many2one("commerce.backend", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    channel = fields.Selection(related="backend_id.channel", store=True)
    res_model = fields.Char(string="Odoo Model", required=True, index=True)
    res_id = fields.Many2oneReference(string="Odoo Record", model_field="res_model", required=True, index=True)
    res_name = fields.Char(string="Odoo Record Name", compute="_compute_res_name")
    external_id = fields.Char(string="External ID", required=True, index=True)
    sync_hash = fields.Char(help="Hash of the last payload applied in either direction.")
    date_synced = fields.Datetime(string="Last Synced")
    external_date = fields.Datetime(
        string="External Update Date",
        help="The remote record's own modification date: an older event never overwrites newer data.",
    )

    _sql_constraints = [
        ("external_uniq", "unique(backend_id, res_model, external_id)",
         "This external ID is already bound to another record of this backend."),
        ("record_uniq", "unique(backend_id, res_model, res_id)",
         "This record is already bound to another external ID of this backend."),
    ]

    @api.depends("res_model", "res_id")
    def _compute_res_name(self):
        for binding in self:
            record = binding._record()
            binding.res_name = record.display_name if record else False

    def _record(self):
        self.ensure_one()
        if not self.res_model or self.res_model not in self.env or not self.res_id:
            return None
        record = self.env[self.res_model].browse(self.res_id).exists()
        return record or None

    # -- helper API used by every importer and exporter ------------------------------------
    @api.model
    def lookup(self, backend, res_model, external_id):
        """The Odoo record bound to ``external_id``, or an empty recordset."""
        binding = self._find(backend, res_model, external_id=external_id)
        if binding:
            return self.env[res_model].browse(binding.res_id).exists()
        return self.env[res_model]

    @api.model
    def lookup_product(self, backend, sku):
        """The product variant a channel SKU means: its binding, else the internal reference."""
        product = self.lookup(backend, "product.product", sku)
        if not product and sku:
            product = self.env["product.product"].search(
                [("default_code", "=", sku), ("company_id", "in", (False, backend.company_id.id))], limit=1)
        return product

    @api.model
    def lookup_external(self, backend, record):
        """The external ID bound to an Odoo record, or False."""
        binding = self._find(backend, record._name, res_id=record.id)
        return binding.external_id if binding else False

    @api.model
    def bind(self, backend, record, external_id, payload=None, external_date=None):
        """Bind (or re-bind) ``record`` to ``external_id`` and remember the payload's hash."""
        record.ensure_one()
        vals = {"res_id": record.id, "external_id": str(external_id), "date_synced": fields.Datetime.now()}
        if payload is not None:
            vals["sync_hash"] = stable_hash(payload)
        if external_date:
            vals["external_date"] = external_date
        binding = self._find(backend, record._name, external_id=external_id) or self._find(
            backend, record._name, res_id=record.id
        )
        if binding:
            binding.write(vals)
            return binding
        return self.sudo().create({"backend_id": backend.id, "res_model": record._name, **vals})

    @api.model
    def is_unchanged(self, backend, res_model, external_id, payload):
        """True when this exact payload was the last one applied to the bound record."""
        binding = self._find(backend, res_model, external_id=external_id)
        return bool(binding and binding.sync_hash == stable_hash(payload))

    @api.model
    def is_stale(self, backend, res_model, external_id, external_date):
        """True when the bound record already holds data newer than ``external_date``."""
        binding = self._find(backend, res_model, external_id=external_id)
        return bool(binding and binding.external_date and external_date and external_date < binding.external_date)

    @api.model
    def _find(self, backend, res_model, external_id=None, res_id=None):
        domain = [("backend_id", "=", backend.id), ("res_model", "=", res_model)]
        if external_id is not None:
            domain.append(("external_id", "=", str(external_id)))
        if res_id is not None:
            domain.append(("res_id", "=", res_id))
        return self.sudo().search(domain, limit=1)

    def action_open_record(self):
        self.ensure_one()
        if not self._record():
            raise UserError(_("The bound record no longer exists."))
        return {"type": "ir.actions.act_window", "res_model": self.res_model, "res_id": self.res_id,
                "view_mode": "form", "target": "current"}
