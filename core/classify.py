"""Classify any exception a job handler raises into one of the four error kinds.

Odoo's own exceptions are mapped by the job model (this module does not import odoo).
"""

import json

import httpx
import psycopg2.errors
import requests

from . import errors

# Database conflicts another transaction caused: the same job will succeed when retried.
_DB_CONFLICTS = (
    psycopg2.errors.LockNotAvailable,
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.DeadlockDetected,
)
# python-amazon-sp-api 2.x speaks httpx, the Clarity client requests
_NETWORK_ERRORS = (requests.Timeout, requests.ConnectionError, httpx.TransportError, TimeoutError, ConnectionError)
# A handler choking on a payload's structure: the input is not what it should be.
_PAYLOAD_ERRORS = (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError, IndexError)


def classify(exc):
    """Return ``(kind, message, retry_after)`` for an exception."""
    if isinstance(exc, errors.CommerceError):
        return exc.kind, exc.message, getattr(exc, "retry_after", None)
    if isinstance(exc, _DB_CONFLICTS):
        return errors.TRANSIENT, f"Database conflict with another transaction ({type(exc).__name__}).", None
    if isinstance(exc, _NETWORK_ERRORS):
        return errors.TRANSIENT, f"Network error: {type(exc).__name__}: {exc}", None
    if isinstance(exc, json.JSONDecodeError):
        return errors.VALIDATION, f"The payload is not valid JSON: {exc}", None
    if isinstance(exc, _PAYLOAD_ERRORS):
        return errors.VALIDATION, f"The payload could not be processed: {type(exc).__name__}: {exc}", None
    return errors.BUSINESS, f"Unexpected error: {type(exc).__name__}: {exc}", None
