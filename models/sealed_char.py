"""``SealedChar``: a Char field whose value is encrypted in the database (not a model).

The ORM cache holds what the database holds (the sealed text); reading the field opens it,
assigning or writing seals it. So raw SQL, database dumps and backups only ever see sealed
text, while code reading ``backend.clarity_client_secret`` gets the clear value, as before.
Who may read the field at all is still decided by its ``groups`` (system administrators).
"""

import logging
import os

from odoo import fields
from odoo.tools import config

from ..core import sealing

_logger = logging.getLogger(__name__)

CONFIG_KEY = "commerce_connector_key"
CONFIG_PREVIOUS_KEYS = "commerce_connector_previous_keys"
ENV_KEY = "COMMERCE_CONNECTOR_KEY"
ENV_PREVIOUS_KEYS = "COMMERCE_CONNECTOR_PREVIOUS_KEYS"


def server_key_ring():
    """The key ring of the server configuration: the Odoo config file first, then the environment.

    Read on every use (cheaply: the ring is cached per settings), so a test or an operator
    changing the configuration of a running server is taken into account at once.
    """
    current = config.get(CONFIG_KEY) or os.environ.get(ENV_KEY) or ""
    previous = config.get(CONFIG_PREVIOUS_KEYS) or os.environ.get(ENV_PREVIOUS_KEYS) or ""
    return sealing.key_ring(str(current), str(previous))


def open_stored(stored, what="a secret"):
    """The clear value of ``stored`` (a column value read by raw SQL); False when no key opens it."""
    if not stored:
        return stored
    try:
        return server_key_ring().unseal(stored)
    except sealing.SealingError as error:
        _logger.warning("commerce_connector: %s cannot be opened: %s", what, error)
        return False


class SealedChar(fields.Char):
    """A credential: sealed with the server's key when written, opened when read."""

    def convert_to_cache(self, value, record, validate=True):
        value = super().convert_to_cache(value, record, validate)
        if not value:
            return value
        return server_key_ring().seal(value)

    def convert_to_column_update(self, value, record):
        # The cache already holds the sealed text: store it as it is, without opening it.
        return self.convert_to_cache(value, record, validate=False)

    def convert_to_record(self, value, record):
        if not value:
            return False
        return open_stored(value, f"{self.model_name}.{self.name} of record {record.id}")
