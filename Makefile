# Entry points for newcomers and CI. ODOO_SRC points at an Odoo 18.0 source tree.
ODOO_SRC ?= /opt/odoo/18.0
export ODOO_SRC

.PHONY: test run bench venv dev-install dev-test

test:  ## fresh PostgreSQL + database, module installed, whole suite under pytest-odoo
	bash tools/test.sh

run:  ## sandbox: simulators, demo backends and Odoo on http://127.0.0.1:8069 (admin / admin)
	bash tools/run.sh

bench:  ## benchmarks, printed as one table of ratios measured side by side
	bash tools/bench.sh

venv:  ## only build the Python environment
	bash -c 'source tools/common.sh && ensure_venv'

dev-install:  ## developer loop: persistent database, install or update the module
	bash tools/dev.sh install

dev-test:  ## developer loop: run the suite on the persistent database
	bash tools/dev.sh test

.PHONY: chaos
chaos:  ## the reliability suite at full size: 1,000 Clarity + 1,000 Amazon orders with faults, runner killed, database restarted
	COMMERCE_CHAOS_ORDERS=$${COMMERCE_CHAOS_ORDERS:-1000} COMMERCE_TEST_PATH="tests/test_chaos.py tests/test_runner_crash.py" bash tools/test.sh
