import base64

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..core.errors import PayloadValidationError

ACTION_LABELS = {"create": "Create", "update": "Update", "unchanged": "Unchanged", "skip": "Skip"}


class CommerceMappingTemplateImport(models.TransientModel):
    """Import a mapping template (a file or a shipped default) into a backend, after a preview."""

    _name = "commerce.mapping.template.import"
    _description = "Import a Commerce Mapping Template"

    backend_id = fields.Many2one("commerce.backend", required=True, ondelete="cascade")
    source = fields.Selection(selection="_source_selection", required=True, default="file")
    data = fields.Binary(string="Template File", attachment=False)
    filename = fields.Char()
    preview_html = fields.Html(compute="_compute_preview", sanitize=False, string="Preview")
    error = fields.Char(compute="_compute_preview")
    change_count = fields.Integer(compute="_compute_preview")

    @api.model
    def _source_selection(self):
        shipped = self.env["commerce.mapping.template"].default_templates()
        return [("file", _("Upload a file"))] + [(f"default:{name}", label) for name, label in shipped]

    def _template(self):
        self.ensure_one()
        Template = self.env["commerce.mapping.template"]
        if self.source and self.source.startswith("default:"):
            return Template.load_default(self.source.removeprefix("default:"))
        if not self.data:
            raise PayloadValidationError(_("Choose a template file."))
        return Template.parse(base64.b64decode(self.data))

    @api.depends("backend_id", "source", "data")
    def _compute_preview(self):
        for wizard in self:
            wizard.preview_html, wizard.error, wizard.change_count = False, False, 0
            if not wizard.backend_id:
                continue
            try:
                rows = self.env["commerce.mapping.template"].preview(wizard.backend_id, wizard._template())
            except PayloadValidationError as error:
                wizard.error = error.message
                continue
            wizard.change_count = sum(row["action"] in ("create", "update") for row in rows)
            wizard.preview_html = _preview_table(rows)

    def action_apply(self):
        self.ensure_one()
        try:
            counts = self.env["commerce.mapping.template"].apply(self.backend_id, self._template())
        except PayloadValidationError as error:
            raise UserError(error.message) from None
        message = _("%(create)s created, %(update)s updated, %(unchanged)s unchanged, %(skip)s skipped", **counts)
        self.backend_id.message_post(body=_("Mapping template imported: %s", message))
        return {"type": "ir.actions.client", "tag": "display_notification",
                "params": {"type": "success", "message": message, "next": {"type": "ir.actions.act_window_close"}}}


def _preview_table(rows):
    if not rows:
        return Markup("<p>%s</p>") % _("The template is empty.")
    body = Markup("").join(
        Markup("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>") % (
            row["section"].replace("_", " "), row["key"], ACTION_LABELS[row["action"]], row["details"])
        for row in rows)
    head = Markup("<tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>") % (
        _("Section"), _("Entry"), _("Action"), _("Changes"))
    return Markup('<table class="table table-sm"><thead>%s</thead><tbody>%s</tbody></table>') % (head, body)
