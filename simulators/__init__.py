"""Loopback simulators of the external systems (Clarity eCommerce, Amazon SP-API).

Plain Python (stdlib HTTP server), no Odoo import: tests, `make run` and benchmarks start them;
each also runs alone with `python -m simulators.<name> --port N` from the repository root.
"""
