"""Plain-Python core of the connector: no ORM here, so it is fast and testable alone.

Models call into it; it never imports odoo.
"""
