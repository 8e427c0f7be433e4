"""Open an Odoo registry from a config file, outside odoo-bin (for benchmark processes)."""

import odoo
from odoo.modules.registry import Registry


def open_registry(config_path, database):
    odoo.tools.config.parse_config(["-c", config_path, "--log-level=warn"])
    odoo.netsvc.init_logger()
    return Registry(database)
