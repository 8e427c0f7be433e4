import hmac
import logging

from odoo import http
from odoo.http import request

from ..channels.amazon import notifications
from . import intake

_logger = logging.getLogger(__name__)


class AmazonNotificationController(http.Controller):
    """Takes SP-API notifications from an EventBridge API destination: authenticate, store, answer.

    The connection of the API destination adds the backend's secret in the
    ``X-Commerce-Notification-Secret`` header. The event's ``detail`` is the notification; it is
    stored raw as a job keyed on its notificationId (Amazon delivers at least once) and
    validated by that job, so a bad payload is kept and can be fixed. No order work happens
    in the request.
    """

    @http.route(
        "/commerce_connector/amazon/<int:backend_id>/notification",
        type="http", auth="none", methods=["POST"], csrf=False, readonly=False, save_session=False,
    )
    def amazon_notification(self, backend_id, **_kwargs):
        body, refused = intake.read_body(notifications.MAX_BODY_BYTES)
        if refused:
            return refused
        env = request.env(su=True)
        secret, refused = intake.backend_secret(env, backend_id, "amazon", "amazon_notification_secret")
        if refused:
            return refused
        given = request.httprequest.headers.get(notifications.SECRET_HEADER) or ""
        # No secret set yet refuses everything: an unauthenticated sender never gets a job in.
        if not secret or not hmac.compare_digest(secret.encode(), given.encode()):
            _logger.warning("amazon notification refused for backend %s: wrong or missing secret", backend_id)
            return intake.answer(401, "invalid secret")

        job_id, created = env["commerce.backend"]._amazon_store_notification(backend_id, body)
        return intake.answer(200, "accepted" if created else "duplicate", job_id=job_id)
