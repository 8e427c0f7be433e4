"""Clarity eCommerce channel: the /api/v1 REST client (plain Python, no ORM)."""

from .client import ClarityClient

__all__ = ["ClarityClient"]
