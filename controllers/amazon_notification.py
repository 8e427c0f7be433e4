import hmac
import logging

from odoo import http
from odoo.http import request

from ..channels.amazon import notifications

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
        httprequest = request.httprequest
        if (httprequest.content_length or 0) > notifications.MAX_BODY_BYTES:
            return self._answer(413, "body too large")
        body = httprequest.get_data()
        if len(body) > notifications.MAX_BODY_BYTES:  # chunked bodies carry no length up front
            return self._answer(413, "body too large")

        env = request.env(su=True)
        secret = env["commerce.backend"]._amazon_notification_secret_of(backend_id)
        if secret is None:
            return self._answer(404, "unknown backend")
        given = httprequest.headers.get(notifications.SECRET_HEADER) or ""
        # No secret set yet refuses everything: an unauthenticated sender never gets a job in.
        if not secret or not hmac.compare_digest(secret.encode(), given.encode()):
            _logger.warning("amazon notification refused for backend %s: wrong or missing secret", backend_id)
            return self._answer(401, "invalid secret")

        kind, notification_id = notifications.peek(body)
        job_id, created = env["commerce.job"]._store_event(
            backend_id, notifications.job_type_of(kind), body, notification_id)
        return self._answer(200, "accepted" if created else "duplicate", job_id=job_id)

    @staticmethod
    def _answer(status, message, **extra):
        return request.make_json_response({"status": message, **extra}, status=status)
