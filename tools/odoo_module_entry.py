"""Run a module of the addon (`python tools/odoo_module_entry.py ADDONS_DIR MODULE ARGS...`).

`python -m odoo.addons.commerce_connector...` cannot work before Odoo knows the addons
path, so this puts ADDONS_DIR on `odoo.addons` first. Used by the benchmarks' processes.
"""

import runpy
import sys

import odoo.addons

if __name__ == "__main__":
    addons_dir, module = sys.argv[1], sys.argv[2]
    odoo.addons.__path__.append(addons_dir)
    sys.argv = [module, *sys.argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
