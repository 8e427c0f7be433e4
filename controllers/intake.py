"""What the signed intake routes (Clarity webhooks, Amazon notifications) share: a bounded body,
the backend's credentials in one read, the sender allowlist, and the JSON answer."""

import logging

from odoo.http import request

from ..core import ip_allowlist

_logger = logging.getLogger(__name__)


def answer(status, message, **extra):
    return request.make_json_response({"status": message, **extra}, status=status)


def read_body(max_bytes):
    """(body, None), or (None, the 413 answer) for a body over ``max_bytes``."""
    httprequest = request.httprequest
    if (httprequest.content_length or 0) > max_bytes:
        return None, answer(413, "body too large")
    body = httprequest.get_data()
    if len(body) > max_bytes:  # chunked bodies carry no length up front
        return None, answer(413, "body too large")
    return body, None


def backend_secret(env, backend_id, channel, secret_field):
    """(secret, None) for a known backend and an allowed sender, or (None, the 404/403 answer).

    Nothing is stored for a refused sender; the reason stays in our log.
    """
    credentials = env["commerce.backend"]._intake_credentials(backend_id, channel, secret_field)
    if credentials is None:
        return None, answer(404, "unknown backend")
    secret, allowlist = credentials
    sender = request.httprequest.remote_addr
    if not ip_allowlist.allows(allowlist, sender):
        _logger.warning("%s intake for backend %s refused: sender %s is not allowed", channel, backend_id, sender)
        return None, answer(403, "sender not allowed")
    return secret, None
