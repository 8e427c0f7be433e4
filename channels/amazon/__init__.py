"""Amazon Selling Partner API channel: a client over python-amazon-sp-api and the order mapper.

Plain Python, no ORM: ``models/commerce_backend_amazon.py`` is the Odoo side.
"""
