from datetime import timedelta

from odoo import api, fields, models


class CommerceWatermark(models.Model):
    """How far a polling flow of a backend has read: the next poll starts here (minus overlap)."""

    _name = "commerce.watermark"
    _description = "Commerce Sync Watermark"
    _order = "backend_id, flow"

    backend_id = fields.Many2one("commerce.backend", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    flow = fields.Char(required=True, help="e.g. clarity.orders, amazon.orders.ATVPDKIKX0DER")
    value = fields.Datetime(string="Synced Up To")
    date_last_success = fields.Datetime(string="Last Successful Sync", readonly=True)
    records_last_run = fields.Integer(string="Records Last Run", readonly=True)

    _sql_constraints = [("flow_uniq", "unique(backend_id, flow)", "One watermark per backend and flow.")]

    @api.model
    def get_start(self, backend, flow, overlap_seconds=300, default=None):
        """Where the next read starts: the watermark minus a safety overlap."""
        mark = self.sudo().search([("backend_id", "=", backend.id), ("flow", "=", flow)], limit=1)
        if mark.value:
            return mark.value - timedelta(seconds=overlap_seconds)
        return default

    @api.model
    def advance(self, backend, flow, value, records=0):
        """Record a successful read up to ``value``; never moves a watermark backwards."""
        mark = self.sudo().search([("backend_id", "=", backend.id), ("flow", "=", flow)], limit=1)
        vals = {"date_last_success": fields.Datetime.now(), "records_last_run": records}
        if not mark:
            return self.sudo().create({"backend_id": backend.id, "flow": flow, "value": value, **vals})
        if value and (not mark.value or value > mark.value):
            vals["value"] = value
        mark.write(vals)
        return mark
