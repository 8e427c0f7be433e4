import logging

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError, ValidationError

from ..core import ip_allowlist, sealing
from .sealed_char import SealedChar, open_stored, server_key_ring

_logger = logging.getLogger(__name__)


class CommerceBackend(models.Model):
    """Credentials of a backend: sealed at rest, masked in the web client, admins only; and the
    addresses its webhook routes accept."""

    _inherit = "commerce.backend"

    secrets_key_configured = fields.Boolean(
        compute="_compute_secrets_status",
        help="Whether the server has a commerce_connector_key to encrypt secrets with.")
    secrets_sealed = fields.Boolean(
        compute="_compute_secrets_status",
        help="Whether every saved secret of this backend is encrypted with the server's current key.")
    secrets_status = fields.Char(compute="_compute_secrets_status")
    webhook_ip_allowlist = fields.Text(
        string="Allowed Sender Addresses",
        help="Addresses or networks (CIDR), one per line or comma-separated, from which this backend's "
             "webhook or notification route accepts requests; empty accepts any address. Behind a reverse "
             "proxy, run Odoo with --proxy-mode so the sender's address is known.")

    # -- which fields are secrets ----------------------------------------------------------
    @api.model
    @tools.ormcache()
    def _commerce_secret_fields(self):
        """Credential fields: sealed at rest, readable by system admins only. Cached per registry:
        the intake routes check a field against it on every delivery."""
        return tuple(name for name, field in self._fields.items()
                     if isinstance(field, SealedChar)
                     or (field.type == "char" and name.endswith(("_secret", "_token"))))

    def _scrub_secrets(self, text):
        """``text`` with this backend's secrets blanked out: for anything stored or logged."""
        if not text:
            return text
        for secret in self._commerce_secret_values():
            text = text.replace(secret, "********")
        return text

    def _commerce_secret_values(self):
        """The secrets' values, to scrub them from anything the connector stores or logs."""
        names = self._commerce_secret_fields()
        values = set()
        for backend in self.sudo():
            values.update(v for v in (backend[name] for name in names) if v and len(v) >= 4)
        return sorted(values, key=len, reverse=True)

    # -- masked in the web client -----------------------------------------------------------
    def web_read(self, specification):
        """Saved secrets go to the browser as a mask, never as their value.

        The form sends back only the fields a user changed, so an untouched secret is kept;
        ``write`` also ignores the mask itself.
        """
        result = super().web_read(specification)
        secret_names = [name for name in self._commerce_secret_fields() if name in specification]
        for values in result:
            for name in secret_names:
                if values.get(name):
                    values[name] = sealing.MASK
        return result

    @api.model
    def _drop_masked_secrets(self, vals):
        return {key: value for key, value in vals.items()
                if not (value == sealing.MASK and key in self._commerce_secret_fields())}

    @api.model_create_multi
    def create(self, vals_list):
        return super().create([self._drop_masked_secrets(vals) for vals in vals_list])

    def write(self, vals):
        return super().write(self._drop_masked_secrets(vals))

    # -- state and rotation ----------------------------------------------------------------
    @api.depends_context("uid")
    def _compute_secrets_status(self):
        ring = server_key_ring()
        states = self._stored_secret_states() if self.env.is_system() else {}
        for backend in self:
            mine = [state for (backend_id, _name), state in states.items() if backend_id == backend._origin.id]
            backend.secrets_key_configured = ring.has_key
            backend.secrets_sealed = ring.has_key and all(state == sealing.CURRENT for state in mine)
            if not ring.has_key:
                backend.secrets_status = _(
                    "No commerce_connector_key is configured on the server: this backend's secrets are "
                    "stored in clear in the database. Set the key in the Odoo configuration file (or the "
                    "COMMERCE_CONNECTOR_KEY environment variable), restart, and press Re-encrypt Secrets.")
            elif sealing.UNREADABLE in mine:
                backend.secrets_status = _(
                    "Some secrets of this backend were sealed with a key the server no longer has: enter "
                    "them again, or add the old key to commerce_connector_previous_keys.")
            elif sealing.CLEAR in mine or sealing.PREVIOUS in mine:
                backend.secrets_status = _(
                    "Some secrets are stored in clear or with a previous key: press Re-encrypt Secrets.")
            else:
                backend.secrets_status = _("Secrets are encrypted with key %s.", ring.fingerprint)

    def _stored_secret_states(self, everywhere=False):
        """{(backend id, field): clear/current/previous/unreadable} of the stored, non-empty secrets."""
        ring = server_key_ring()
        self.flush_model(self._commerce_secret_fields())
        states = {}
        for name, stored_by_id in self._stored_secrets(everywhere).items():
            for backend_id, stored in stored_by_id.items():
                states[(backend_id, name)] = ring.state_of(stored)
        return states

    def _stored_secrets(self, everywhere=False):
        """{field: {backend id: stored text}} of the non-empty secrets: raw columns, read in one
        query, so sealed text stays sealed."""
        names = [name for name in self._commerce_secret_fields() if self._fields[name].store]
        # Column names come from the model's own field definitions, never from input.
        query = "SELECT id, " + ", ".join(f'"{name}"' for name in names) + " FROM commerce_backend"
        params = ()
        if not everywhere:
            query += " WHERE id = ANY(%s)"
            params = ([backend_id for backend_id in self._origin.ids if backend_id],)
        self.env.cr.execute(query, params)
        result = {name: {} for name in names}
        for backend_id, *values in self.env.cr.fetchall():
            for name, stored in zip(names, values):
                if stored:
                    result[name][backend_id] = stored
        return result

    @api.model
    def action_reseal_secrets(self):
        """Re-encrypt every backend's secrets with the current key (clear ones sealed for the first
        time, ones sealed with a previous key moved to the current one). Raw SQL on purpose: the
        values never pass through the cache or any log."""
        if not self.env.is_system():
            raise AccessError(_("Only system administrators can re-encrypt the connector's secrets."))
        ring = server_key_ring()
        if not ring.has_key:
            raise ValidationError(_(
                "Set commerce_connector_key in the Odoo configuration file (or COMMERCE_CONNECTOR_KEY) "
                "first: there is no key to encrypt with."))
        self.flush_model(self._commerce_secret_fields())
        resealed = unreadable = 0
        for name, stored_by_id in self._stored_secrets(everywhere=True).items():
            for backend_id, stored in stored_by_id.items():
                state = ring.state_of(stored)
                if state == sealing.UNREADABLE:
                    unreadable += 1
                    continue
                if state == sealing.CURRENT:
                    continue
                self.env.cr.execute(f'UPDATE commerce_backend SET "{name}" = %s WHERE id = %s',
                                    (ring.reseal(stored), backend_id))
                resealed += 1
        self.env["commerce.backend"].invalidate_model(self._commerce_secret_fields())
        _logger.info("commerce_connector: %s secrets re-encrypted with key %s, %s unreadable",
                     resealed, ring.fingerprint, unreadable)
        message = _("%(count)s secrets re-encrypted with key %(key)s.", count=resealed, key=ring.fingerprint)
        if unreadable:
            message += " " + _("%s secrets could not be opened with any configured key: enter them again.",
                               unreadable)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"type": "warning" if unreadable else "success", "message": message,
                       "sticky": bool(unreadable), "next": {"type": "ir.actions.client", "tag": "soft_reload"}},
        }

    # -- the webhook routes ----------------------------------------------------------------
    @api.constrains("webhook_ip_allowlist")
    def _check_webhook_ip_allowlist(self):
        for backend in self:
            try:
                ip_allowlist.parse(backend.webhook_ip_allowlist)
            except ValueError as error:
                raise ValidationError(_("Allowed Sender Addresses: %s", error)) from None

    @api.model
    def _intake_credentials(self, backend_id, channel, secret_field):
        """(clear secret or "", allowlist text or "") of the active ``channel`` backend
        ``backend_id``, or None when there is none. One indexed read: the webhook routes run it
        for every delivery, and a browse + field read would load every column."""
        if secret_field not in self._commerce_secret_fields():
            raise ValueError(f"{secret_field} is not a secret field")
        self.env.cr.execute(
            f'SELECT "{secret_field}", webhook_ip_allowlist FROM commerce_backend '
            "WHERE id = %s AND channel = %s AND active", (backend_id, channel))
        row = self.env.cr.fetchone()
        if row is None:
            return None
        return open_stored(row[0], f"{secret_field} of backend {backend_id}") or "", row[1] or ""
