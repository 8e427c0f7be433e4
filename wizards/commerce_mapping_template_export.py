import base64
import json
import re

from odoo import api, fields, models


class CommerceMappingTemplateExport(models.TransientModel):
    """Download a backend's value maps, field mappings and routing rules as one JSON template."""

    _name = "commerce.mapping.template.export"
    _description = "Export a Commerce Mapping Template"

    backend_id = fields.Many2one("commerce.backend", required=True, ondelete="cascade")
    template_name = fields.Char(compute="_compute_template_name", store=True, readonly=False)
    data = fields.Binary(string="Template", readonly=True, attachment=False)
    filename = fields.Char(readonly=True)

    @api.depends("backend_id")
    def _compute_template_name(self):
        for wizard in self:
            wizard.template_name = f"{wizard.backend_id.name} mappings" if wizard.backend_id else False

    def action_export(self):
        self.ensure_one()
        template = self.env["commerce.mapping.template"].export_backend(self.backend_id, self.template_name)
        raw = json.dumps(template, indent=2, ensure_ascii=False).encode() + b"\n"
        slug = re.sub(r"[^a-z0-9]+", "-", template["name"].lower()).strip("-") or "template"
        self.write({"data": base64.b64encode(raw), "filename": f"{slug}.json"})
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id,
                "view_mode": "form", "target": "new"}
