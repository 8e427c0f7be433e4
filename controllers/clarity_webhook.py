import logging
import time

from odoo import http
from odoo.http import request

from ..channels.clarity import const
from ..channels.clarity.webhook import SignatureError, verify_signature
from . import intake

_logger = logging.getLogger(__name__)


class ClarityWebhookController(http.Controller):
    """Takes Clarity events: verify, store the raw event as a job, answer at once.

    No work on sale orders happens in the request: the job runner does it, so Clarity gets
    its answer within its 10 s delivery timeout whatever the load.
    """

    @http.route(
        "/commerce_connector/clarity/<int:backend_id>/webhook",
        type="http", auth="none", methods=["POST"], csrf=False, readonly=False, save_session=False,
    )
    def clarity_webhook(self, backend_id, **_kwargs):
        body, refused = intake.read_body(const.WEBHOOK_MAX_BODY_BYTES)
        if refused:
            return refused
        env = request.env(su=True)
        secret, refused = intake.backend_secret(env, backend_id, "clarity", "clarity_webhook_secret")
        if refused:
            return refused
        headers = request.httprequest.headers
        try:
            verify_signature(
                secret,
                headers.get(const.HEADER_TIMESTAMP),
                headers.get(const.HEADER_SIGNATURE),
                body,
                now=time.time(),
            )
        except SignatureError as error:
            # Forged or replayed: nothing is stored. The reason stays in our log only.
            _logger.warning("clarity webhook rejected for backend %s: %s", backend_id, error)
            return intake.answer(401, "invalid signature")

        event = headers.get(const.HEADER_EVENT) or ""
        event_id = headers.get(const.HEADER_EVENT_ID) or None
        job_type = const.EVENT_JOB_TYPES.get(event, const.UNKNOWN_EVENT_JOB_TYPE)
        job_id, created = env["commerce.job"]._store_event(backend_id, job_type, body, event_id)
        return intake.answer(200, "accepted" if created else "duplicate", job_id=job_id)
